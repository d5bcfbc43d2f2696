/**
 * The small files generated for each sandbox: a curated /etc and the entry script. They reach bwrap
 * through pipes (`--ro-bind-data FD`), never through argv or a host file, and carry no secrets.
 * @module
 */

export const SANDBOX_USER = 'agent';
export const SANDBOX_HOSTNAME = 'sac-agent';

/** Inside-the-sandbox paths shared by the planner, the env builder and the docs. */
export const SANDBOX_PATHS = {
  /** The entry interpreter (see ENTRY_SH for why bash). */
  shell: '/bin/bash',
  home: '/home/agent',
  work: '/work',
  claude: '/opt/sac/claude',
  entry: '/opt/sac/entry.sh',
  run: '/run/sac',
  modelSocket: '/run/sac/model.sock',
  tmp: '/tmp',
  claudeTmp: '/tmp/claude-agent',
} as const;

export interface EtcInput {
  uid: number;
  gid: number;
  hostname: string;
}

/** The generated /etc files, keyed by their path inside the sandbox. */
export function etcFiles(input: EtcInput): Record<string, string> {
  const { uid, gid, hostname } = input;
  // The agent's own entry must exist (whoami, ssh, Python's getpass); nothing else of the host's.
  const passwd = [
    'root:x:0:0:root:/root:/usr/sbin/nologin',
    `${SANDBOX_USER}:x:${uid}:${gid}:${SANDBOX_USER}:${SANDBOX_PATHS.home}:/bin/bash`,
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  ];
  const group = ['root:x:0:', `${SANDBOX_USER}:x:${gid}:`, 'nogroup:x:65534:'];
  // uid 0 or the overflow ids would produce duplicate names; drop our line rather than shadow root.
  const keepPasswd =
    uid === 0 || uid === 65534 ? passwd.filter((l) => !l.startsWith(SANDBOX_USER)) : passwd;
  const keepGroup =
    gid === 0 || gid === 65534 ? group.filter((l) => !l.startsWith(SANDBOX_USER)) : group;
  return {
    '/etc/passwd': lines(keepPasswd),
    '/etc/group': lines(keepGroup),
    '/etc/hosts': lines([
      `127.0.0.1 localhost ${hostname}`,
      '::1 localhost ip6-localhost ip6-loopback',
    ]),
    '/etc/hostname': lines([hostname]),
    // files first, so glibc never loads the host's systemd/mdns NSS modules (they are not mounted).
    '/etc/nsswitch.conf': lines([
      'passwd: files',
      'group: files',
      'shadow: files',
      'hosts: files dns',
      'networks: files',
      'protocols: files',
      'services: files',
    ]),
  };
}

/**
 * The entry script, run by bash as the agent. Static text: every value comes from the environment.
 * 1. Closes every inherited fd above 2. Node's spawn passes on any fd the supervisor itself
 *    inherited without close-on-exec (seen: a harness pipe on fd 251), and bwrap does not close
 *    them; a leaked directory fd would let the agent escape its mount namespace. bash (not dash)
 *    because only bash can close fds above 9, and it keeps its own script fd safe while doing so.
 * 2. With network none, bridges 127.0.0.1:$SAC_BRIDGE_PORT to the relay's unix socket (socat's
 *    stdout goes to /dev/null: it shares Claude Code's protocol stream) and waits until it
 *    listens, reading /proc/net/tcp (no extra tools). Exit 97 if it never does.
 * 3. `exec`s the command, which keeps this pid: the supervisor signals that pid to stop politely.
 */
export const ENTRY_SH = `set -eu
for fd in /proc/$$/fd/*; do
  n=\${fd##*/}
  case $n in 0|1|2) ;; *) eval "exec $n>&-" 2>/dev/null || true ;; esac
done
if [ -n "\${CLAUDE_CODE_TMPDIR:-}" ]; then mkdir -p -m 700 "$CLAUDE_CODE_TMPDIR"; fi
if [ -n "\${SAC_BRIDGE_PORT:-}" ]; then
  socat TCP-LISTEN:"$SAC_BRIDGE_PORT",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:${SANDBOX_PATHS.modelSocket} </dev/null >/dev/null &
  hex=$(printf '%04X' "$SAC_BRIDGE_PORT"); n=0
  until grep -q ":$hex 00000000:0000 0A" /proc/net/tcp; do
    n=$((n+1)); [ "$n" -lt 500 ] || { echo "sac: socat bridge not listening" >&2; exit 97; }; sleep 0.01
  done
  unset SAC_BRIDGE_PORT
fi
exec "$@"
`;

function lines(ls: string[]): string {
  return ls.join('\n') + '\n';
}
