/**
 * The probe script the fake model asks the Bash tool to run inside the sandbox. It prints one
 * `key=value` line per fact; values never include a token (only the per-agent token's hash), so the
 * tool result that travels back to the fake carries no secret.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ProbeInput {
  /** The host temp root: must be invisible inside. */
  hostRoot: string;
  /** A host loopback TCP port (the fake API): reachable with network host only. */
  loopbackPort: number;
}

export function probeScript(p: ProbeInput): string {
  return `#!/bin/bash
p() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' ' ')"; }
st() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status; }
p uid "$(id -u)"
p gid "$(id -g)"
p groups "$(id -G)"
p whoami "$(whoami 2>&1)"
p capinh "$(st CapInh)"
p capprm "$(st CapPrm)"
p capeff "$(st CapEff)"
p capbnd "$(st CapBnd)"
p capamb "$(st CapAmb)"
p nonewprivs "$(st NoNewPrivs)"
p seccomp "$(st Seccomp)"
p canary "$(cat /work/canary 2>&1)"
p home "$HOME"
p pwd "$(pwd)"
p root_dir "$(ls -d /root 2>&1)"
p root_ssh "$(ls -d /root/.ssh /root/.claude 2>&1)"
p host_root "$(ls -d ${p.hostRoot} 2>&1)"
p host_repo "$(ls -d /work/main 2>&1)"
p var "$(ls -d /var /srv /mnt/ro 2>&1)"
p shadow "$(ls -l /etc/shadow 2>&1)"
p etc "$(ls /etc)"
p resolv "$(ls /etc/resolv.conf 2>&1)"
p env_names "$(env | cut -d= -f1 | sort)"
p key_sha "$(printf '%s' "$ANTHROPIC_API_KEY" | sha256sum | cut -d' ' -f1)"
p unshare_r "$(unshare -r id 2>&1; echo rc=$?)"
p unshare_u "$(unshare -U true 2>&1; echo rc=$?)"
p tmp "$(ls -A /tmp)"
p procs "$(for d in /proc/[0-9]*; do printf '%s:%s,' "\${d#/proc/}" "$(cat "$d/comm" 2>/dev/null)"; done)"
p ps "$(ps -e -o pid=,user=,comm= 2>&1)"
p w_usr "$(touch /usr/probe 2>&1; echo rc=$?)"
p w_etc "$(touch /etc/probe 2>&1; echo rc=$?)"
p w_root "$(touch /probe 2>&1; echo rc=$?)"
p w_opt "$(touch /opt/sac/probe 2>&1; echo rc=$?)"
p w_work "$(touch /work/probe-ok 2>&1; echo rc=$?)"
p w_home "$(touch /home/agent/probe-ok 2>&1; echo rc=$?)"
p w_tmp "$(touch /tmp/probe-ok 2>&1; echo rc=$?)"
p ro_mount "$(touch /mnt/ro/probe 2>&1; echo rc=$?)"
p ro_read "$(cat /mnt/ro/data.txt 2>&1)"
p rw_mount "$(echo written-inside > /mnt/rw/probe 2>&1; echo rc=$?)"
p fds "$(ls /proc/self/fd)"
p hostname "$(hostname)"
p loopback "$( (exec 3<>/dev/tcp/127.0.0.1/${p.loopbackPort}) 2>/dev/null && echo open || echo closed)"
p netdevs "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ')"
p threads "$(seq 1 200000 | sort --parallel=4 -S 8M -n | tail -1)"
p claude_threads "$(ls /proc/2/task | wc -l)"
p kill_init "$(kill -TERM 1 2>&1; echo rc=$?)"
p model_sock "$(ls -l /run/sac 2>&1)"
p done "yes"
`;
}

/** Write the probe into the agent's workdir (root-owned, world-readable). */
export async function writeProbe(workDir: string, p: ProbeInput): Promise<string> {
  const path = join(workDir, 'probe.sh');
  await writeFile(path, probeScript(p));
  await chmod(path, 0o755);
  return '/work/probe.sh';
}
