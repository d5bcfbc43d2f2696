/**
 * End to end as a NON-ROOT operator (laptops, HPC login nodes): the real `sac` CLI runs as an
 * unprivileged user, so its supervisor runs bwrap unprivileged and the agent keeps the operator's
 * own uid inside a user namespace (docs/sandbox.md, "Operator modes"). The test process stays root
 * only to create that user, to host the fake Anthropic API on loopback, to plant a root-owned
 * canary, and to look at the running agent from outside through /proc.
 *
 * Each isolation property of architecture §3 is asserted from INSIDE the agent: the fake model asks
 * the Bash tool to run a probe script that prints `key=value` facts (values never contain a token).
 * The same run then drives `send`, `status`, `tail` and `stop`, and proves by /proc that nothing of
 * the agent is left.
 *
 * Everything is asynchronous: the fake runs in this process, and spawnSync next to an in-process
 * server deadlocks (feasibility gotcha 5).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/sandbox/proc.ts';
import { findExecutable } from '../../src/sandbox/host.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fixtures/fake-anthropic.ts';
import { REPO, SAC_BIN } from '../helpers.ts';
import {
  CLAUDE_BIN,
  cmdlinesContaining,
  environsContaining,
  filesContaining,
  parseProbe,
  sha256,
  waitDead,
} from '../sandbox/harness.ts';

/** The unprivileged operator. Created once per machine and left in place (creation is idempotent). */
const OPERATOR = 'sac-e2e-user';
const ZERO_CAPS = '0000000000000000';
/** Where the tools the host needs live; vitest may run with a PATH that lacks /usr/sbin. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The operator's PATH: node first (it may live outside /usr/bin), then the system. */
const OPERATOR_PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (async only: see the module comment). */
function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' },
      cwd: opts.cwd ?? '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // a missing binary is a result (code null), not an exception: skip checks rely on it
    child.on('error', (e) => resolve({ code: null, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Operator {
  uid: number;
  gid: number;
}

/** `cmd args` as the operator: real and effective ids dropped, its own groups, no capabilities. */
function runAs(
  op: Operator,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  return run(
    'setpriv',
    [`--reuid=${op.uid}`, `--regid=${op.gid}`, '--init-groups', cmd, ...args],
    opts,
  );
}

/** Create the operator if needed and decide whether this machine can run the test at all. */
async function prepareMachine(): Promise<Operator | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'needs Linux' };
  if (process.getuid?.() !== 0) return { skip: 'needs root to create the unprivileged operator' };
  for (const tool of ['setpriv', 'bwrap', 'socat', 'unshare', 'id']) {
    if (!findExecutable(tool, SYSTEM_PATH)) return { skip: `${tool} is not installed` };
  }
  if (!existsSync(CLAUDE_BIN)) return { skip: `Claude Code binary missing at ${CLAUDE_BIN}` };
  if ((await run('id', ['-u', OPERATOR])).code !== 0) {
    if (!findExecutable('useradd', SYSTEM_PATH)) return { skip: 'useradd is not installed' };
    const made = await run('useradd', ['-M', '-s', '/bin/bash', OPERATOR]);
    // exit 9: created meanwhile by a concurrent run, which is just as good
    if (made.code !== 0 && made.code !== 9)
      return { skip: `useradd ${OPERATOR} failed: ${made.stderr.trim()}` };
  }
  const uid = Number((await run('id', ['-u', OPERATOR])).stdout.trim());
  const gid = Number((await run('id', ['-g', OPERATOR])).stdout.trim());
  if (!Number.isInteger(uid) || uid === 0) return { skip: `${OPERATOR} has no usable uid` };
  const op = { uid, gid };
  // The operator must be able to run this checkout as it is; never chmod someone's repository.
  const version = await runAs(op, process.execPath, [SAC_BIN, '--version'], {
    env: { PATH: OPERATOR_PATH },
  });
  if (version.code !== 0) {
    return {
      skip: `${OPERATOR} cannot run ${SAC_BIN} with ${process.execPath} (is ${REPO} readable by others?): ${version.stderr.trim().split('\n')[0] ?? ''}`,
    };
  }
  if ((await runAs(op, 'test', ['-x', CLAUDE_BIN])).code !== 0)
    return { skip: `${CLAUDE_BIN} is not executable by ${OPERATOR} (needs o+x)` };
  const userns = await runAs(op, 'unshare', ['-U', 'true']);
  if (userns.code !== 0)
    return { skip: `unprivileged user namespaces are disabled: ${userns.stderr.trim()}` };
  return op;
}

const machine = await prepareMachine();
const skip = 'skip' in machine ? machine.skip : undefined;
if (skip) console.log(`skipping non-root operator e2e tests: ${skip}`);

const token = (prefix: string): string => `${prefix}-${randomBytes(18).toString('hex')}`;
/** The real provider credential. Its prefix is searched for inside the sandbox (see the probe). */
const REAL_PREFIX = 'sk-ant-e2e-REAL';
const REAL = token(REAL_PREFIX);

/** Host paths the agent must not see, planted per agent by `layout()`. */
interface Layout {
  root: string;
  operatorHome: string;
  sacHome: string;
  xdg: string;
  ro: string;
  rw: string;
  /** A file in the host's /tmp: the sandbox's /tmp must not show it. */
  hostTmpMarker: string;
  canarySecret: string;
  operatorSecret: string;
}

/**
 * A private tree owned by the operator (as a real operator's would be), plus a root-owned
 * read-only data dir with a 0600 canary that the operator's uid cannot read.
 * Short paths: sockets live under `xdg` and are limited to 100 bytes.
 */
async function layout(op: Operator, name: string, network: string): Promise<Layout> {
  const root = await mkdtemp('/tmp/sac-e2eu-');
  const l: Layout = {
    root,
    operatorHome: join(root, 'home'),
    sacHome: join(root, 'sac'),
    xdg: join(root, 'xdg'),
    ro: join(root, 'ro'),
    rw: join(root, 'rw'),
    hostTmpMarker: `${root}-host-tmp-marker`,
    canarySecret: token('CANARY'),
    operatorSecret: token('OPERATOR_SSH_KEY'),
  };
  const agentDir = join(l.sacHome, 'agents', name);
  for (const d of [l.operatorHome, join(l.operatorHome, '.ssh'), agentDir, l.xdg, l.ro, l.rw])
    await mkdir(d, { recursive: true });
  await writeFile(join(l.operatorHome, '.ssh', 'id_ed25519'), `${l.operatorSecret}\n`, {
    mode: 0o600,
  });
  await writeFile(
    join(agentDir, 'spec.yaml'),
    `apiVersion: scitex-agent-container/v3
kind: Agent
spec:
  runtime: bwrap
  claude:
    model: haiku
    flags: [--dangerously-skip-permissions]
    provider: {base_url: "http://127.0.0.1:${fake.port}", auth_token_env: FAKE_KEY}
  sandbox: {network: ${network}}
  mounts: ["${l.ro}:/mnt/ro:ro", "${l.rw}:/mnt/rw:rw"]
  env: {CLAUDE_CODE_MAX_RETRIES: "1"}
  startup_prompts: ["hello there"]
`,
  );
  // Everything the operator owns: root dir 0700, like a real home would be.
  for (const p of [
    root,
    l.operatorHome,
    join(l.operatorHome, '.ssh'),
    join(l.operatorHome, '.ssh', 'id_ed25519'),
    l.sacHome,
    join(l.sacHome, 'agents'),
    agentDir,
    join(agentDir, 'spec.yaml'),
    l.xdg,
    l.rw,
  ])
    await chown(p, op.uid, op.gid);
  await chmod(root, 0o700);
  await chmod(l.xdg, 0o700);
  // The declared read-only mount: root's, world-readable, with a root-only canary inside.
  await chmod(l.ro, 0o755);
  await writeFile(join(l.ro, 'canary'), `${l.canarySecret}\n`, { mode: 0o600 });
  await writeFile(join(l.ro, 'data.txt'), 'read-only data\n', { mode: 0o644 });
  await writeFile(join(l.ro, 'probe.sh'), probeScript(l), { mode: 0o755 });
  await writeFile(l.hostTmpMarker, 'host tmp\n', { mode: 0o644 });
  return l;
}

/**
 * The script the agent's Bash tool runs. No value it prints can be a token: the real credential is
 * looked for by its sha256 (environments) and by its prefix, split so that the prefix itself never
 * appears in the script, the prompt or the transcript (files).
 */
function probeScript(l: Layout): string {
  const realSha = sha256(REAL);
  const [head, tail] = [REAL_PREFIX.slice(0, 8), REAL_PREFIX.slice(8)];
  return `#!/bin/bash
p() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' ' ')"; }
st() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status; }
p uid "$(id -u)"
p gid "$(id -g)"
p whoami "$(whoami 2>&1)"
p uid_map "$(cat /proc/self/uid_map)"
p userns "$(readlink /proc/self/ns/user)"
p capeff "$(st CapEff)"
p capprm "$(st CapPrm)"
p capbnd "$(st CapBnd)"
p capamb "$(st CapAmb)"
p nonewprivs "$(st NoNewPrivs)"
p seccomp "$(st Seccomp)"
p home "$HOME"
p pwd "$(pwd)"
p home_dir "$(ls -A /home)"
p root_ls "$(ls -A /)"
p mnt_ls "$(ls -A /mnt)"
p mountpoints "$(awk '{print $5}' /proc/self/mountinfo | sort -u)"
p op_home "$(ls -d ${l.operatorHome} ${l.operatorHome}/.ssh 2>&1)"
p host_root "$(ls -d ${l.root} ${l.sacHome} ${l.sacHome}/runtime/state.db 2>&1)"
p host_repo "$(ls -d ${REPO} 2>&1)"
p sys_dirs "$(ls -d /root /var /srv 2>&1)"
p canary "$(cat /mnt/ro/canary 2>&1)"
p ro_read "$(cat /mnt/ro/data.txt 2>&1)"
p shadow "$(ls -l /etc/shadow 2>&1)"
p etc "$(ls /etc)"
p resolv "$(ls /etc/resolv.conf 2>&1)"
p key_sha "$(printf '%s' "$ANTHROPIC_API_KEY" | sha256sum | cut -d' ' -f1)"
p env_real "$(for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" 2>/dev/null; done | sed 's/^[^=]*=//' | while IFS= read -r v; do printf '%s' "$v" | sha256sum; done | grep -c ${realSha})"
p files_real "$(grep -rlsF "${head}""${tail}" /home /work /tmp /etc /mnt /run /opt 2>/dev/null | head -5)"
p unshare_r "$(unshare -r id 2>&1; echo rc=$?)"
p unshare_u "$(unshare -U true 2>&1; echo rc=$?)"
p tmp "$(ls -A /tmp)"
p host_tmp "$(ls ${l.hostTmpMarker} 2>&1)"
p procs "$(for d in /proc/[0-9]*; do printf '%s:%s,' "\${d#/proc/}" "$(cat "$d/comm" 2>/dev/null)"; done)"
p w_usr "$(touch /usr/probe 2>&1; echo rc=$?)"
p w_etc "$(touch /etc/probe 2>&1; echo rc=$?)"
p w_root "$(touch /probe 2>&1; echo rc=$?)"
p w_opt "$(touch /opt/sac/probe 2>&1; echo rc=$?)"
p w_home_parent "$(touch /home/probe 2>&1; echo rc=$?)"
p w_var "$(mkdir -p /var/probe 2>&1; echo rc=$?)"
p w_op_home "$(mkdir -p ${l.operatorHome}/probe-dir 2>&1; echo rc=$?)"
p w_ro "$(touch /mnt/ro/probe 2>&1; echo rc=$?)"
p w_work "$(touch /work/probe-ok 2>&1; echo rc=$?)"
p w_home "$(touch /home/agent/probe-ok 2>&1; echo rc=$?)"
p w_tmp "$(touch /tmp/probe-ok 2>&1; echo rc=$?)"
p w_rw "$(echo written-inside > /mnt/rw/probe 2>&1; echo rc=$?)"
p loopback "$( (exec 3<>/dev/tcp/127.0.0.1/${fake.port}) 2>/dev/null && echo open || echo closed)"
p done "yes"
`;
}

/** Every live (non-zombie) process whose real uid is `uid`. */
async function liveProcessesOf(uid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid && isAlive(Number(name))) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** One field of /proc/<pid>/status. */
async function procStatus(pid: number, field: string): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

let fake: FakeAnthropic;
/** Per-agent tokens, learned while the agents run; the fake flags any request carrying one. */
const FORBIDDEN: string[] = [];

beforeAll(async () => {
  if (skip) return;
  fake = await startFakeAnthropic({ expectToken: REAL, forbidden: FORBIDDEN });
});
afterAll(async () => {
  await fake?.close();
});

describe.skipIf(skip).each(['host', 'none'] as const)(
  'a non-root operator runs an agent (network %s)',
  (network) => {
    const op = machine as Operator;
    const name = `e2e-${network}`;
    let l: Layout;
    let env: Record<string, string>;
    const sac = (...args: string[]): Promise<Run> =>
      runAs(op, process.execPath, [SAC_BIN, ...args], { env, cwd: l.root });

    let probe: Record<string, string>;
    let supervisorPid: number;
    let claudePid: number;
    let agentToken: string;
    /** Every process of the operator's uid seen while the agent ran (supervisor included). */
    let agentPids: number[];
    let host: {
      cmdlines: string[];
      environReal: number[];
      filesReal: string[];
      sacHomeReal: string[];
      claudeUid: string | undefined;
      claudeUserns: string;
      supervisorUid: string | undefined;
      supervisorCapEff: string | undefined;
    };

    beforeAll(async () => {
      l = await layout(op, name, network);
      env = {
        PATH: OPERATOR_PATH,
        LANG: 'C.UTF-8',
        HOME: l.operatorHome,
        SAC_HOME: l.sacHome,
        XDG_RUNTIME_DIR: l.xdg,
        SCITEX_AGENT_CONTAINER_YAML_DIRS: '',
        FAKE_KEY: REAL,
      };
      const started = await sac('agents', 'start', name);
      expect(started.code, started.stderr).toBe(0);
      const heartbeat = JSON.parse(
        await readFile(join(l.sacHome, 'runtime', name, 'heartbeat.json'), 'utf8'),
      ) as { pid: number };
      supervisorPid = heartbeat.pid;
      const status = await sac('--json', 'agents', 'status', name);
      claudePid = (JSON.parse(status.stdout) as { claude_pid: number }).claude_pid;
      // The per-agent token, read from outside (root may); it must never reach the provider.
      const environ = (await readFile(`/proc/${claudePid}/environ`)).toString('utf8');
      agentToken = /(?:^|\0)ANTHROPIC_API_KEY=([^\0]*)/.exec(environ)?.[1] ?? '';
      if (agentToken) FORBIDDEN.push(agentToken);

      const turn = await sac('--json', 'agents', 'send', name, 'USE_BASH: bash /mnt/ro/probe.sh');
      expect(turn.code, turn.stderr).toBe(0);
      const reply = JSON.parse(turn.stdout) as { state: string; text: string };
      expect(reply.state).toBe('done');
      probe = parseProbe(reply.text.replace(/^TOOL_RESULT_SEEN: /, ''));

      // While Claude Code idles in its sandbox, look from the host.
      agentPids = await liveProcessesOf(op.uid);
      const sandboxPids = agentPids.filter((p) => p !== supervisorPid);
      host = {
        cmdlines: await cmdlinesContaining([REAL, agentToken]),
        environReal: await environsContaining(sandboxPids, REAL),
        filesReal: (
          await Promise.all(
            ['home', 'work', 'tmp', 'run', 'etc', 'mnt', 'opt'].map((d) =>
              filesContaining(`/proc/${claudePid}/root/${d}`, REAL),
            ),
          )
        ).flat(),
        // sac's own records (transcript, logs, state.db) never hold the credential either
        sacHomeReal: await filesContaining(l.sacHome, REAL),
        claudeUid: await procStatus(claudePid, 'Uid'),
        claudeUserns: await readlink(`/proc/${claudePid}/ns/user`),
        supervisorUid: await procStatus(supervisorPid, 'Uid'),
        supervisorCapEff: await procStatus(supervisorPid, 'CapEff'),
      };
    }, 120_000);

    afterAll(async () => {
      // A failed test may leave the agent up: stop it by force, and only then remove its files.
      if (l && supervisorPid && isAlive(supervisorPid))
        await sac('agents', 'stop', '--force', name);
      if (agentPids) await waitDead(agentPids, 10_000);
      if (l) {
        await rm(l.root, { recursive: true, force: true });
        await rm(l.hostTmpMarker, { force: true });
      }
    }, 60_000);

    it('the probe ran to the end inside the sandbox', () => {
      expect(probe.done, JSON.stringify(probe)).toBe('yes');
    });

    it("runs as the operator's own uid, inside its own user namespace, without privileges", async () => {
      expect(probe.uid).toBe(String(op.uid));
      expect(probe.gid).toBe(String(op.gid));
      expect(probe.whoami).toBe('agent');
      // one uid mapped, the operator's; nothing else (no root) exists in the namespace
      expect(probe.uid_map?.trim().split(/\s+/)).toEqual([String(op.uid), expect.any(String), '1']);
      expect(probe.userns).toMatch(/^user:\[\d+\]$/);
      expect(probe.userns).not.toBe(await readlink('/proc/self/ns/user'));
      for (const k of ['capeff', 'capprm', 'capbnd', 'capamb']) expect(probe[k], k).toBe(ZERO_CAPS);
      expect(probe.nonewprivs).toBe('1');
      expect(probe.seccomp).toBe('2');
      // seen from the host: the kernel uid is the operator's, in a user namespace of its own
      const u = String(op.uid);
      expect(host.claudeUid?.split(/\s+/)).toEqual([u, u, u, u]);
      expect(host.claudeUserns).toBe(probe.userns);
      // and sac itself really ran unprivileged
      expect(host.supervisorUid?.split(/\s+/)).toEqual([u, u, u, u]);
      expect(host.supervisorCapEff).toBe(ZERO_CAPS);
    });

    it('has $HOME = /home/agent and starts in /work', () => {
      expect(probe.home).toBe('/home/agent');
      expect(probe.pwd).toBe('/work');
      expect(probe.home_dir).toBe('agent');
    });

    it("sees only declared mounts: not the operator's home, SAC_HOME, the repo or host dirs", () => {
      expect(probe.op_home).toMatch(/home'?: No such file or directory.*\.ssh'?: No such file/);
      expect(probe.op_home).not.toContain(l.operatorSecret);
      expect(probe.host_root?.match(/No such file or directory/g)).toHaveLength(3);
      expect(probe.host_repo).toMatch(/No such file or directory/);
      expect(probe.sys_dirs).toMatch(/\/root.*No such file.*\/var.*No such file.*\/srv.*No such/);
      expect(probe.mnt_ls?.trim().split(' ')).toEqual(['ro', 'rw']);
      const allowedTop = ['bin', 'dev', 'etc', 'home', 'lib', 'lib64', 'mnt', 'opt', 'proc'];
      allowedTop.push('run', 'sbin', 'tmp', 'usr', 'work');
      for (const entry of probe.root_ls?.trim().split(' ') ?? [])
        expect(allowedTop, `unexpected /${entry}`).toContain(entry);
      // every mount point is one sac declares: system pieces, home, workdir, the spec's mounts
      const exact = ['/', '/tmp', '/home/agent', '/work', '/mnt/ro', '/mnt/rw', '/run/sac'];
      const under = ['/usr', '/proc', '/dev', '/etc', '/opt/sac'];
      for (const m of probe.mountpoints?.trim().split(' ') ?? []) {
        const ok = exact.includes(m) || under.some((u) => m === u || m.startsWith(`${u}/`));
        expect(ok, `unexpected mount point ${m}`).toBe(true);
      }
    });

    it('cannot read a root-owned 0600 canary in a declared read-only mount', () => {
      expect(probe.canary).toMatch(/Permission denied/);
      expect(probe.canary).not.toContain(l.canarySecret);
      expect(probe.ro_read).toBe('read-only data');
    });

    it('holds only the per-agent token; the real one reaches the provider alone', () => {
      expect(agentToken).toMatch(/^sac-agent-[0-9a-f]{48}$/);
      expect(probe.key_sha).toBe(sha256(agentToken));
      expect(probe.env_real).toBe('0');
      expect(probe.files_real).toBe('');
      expect(host.environReal).toEqual([]);
      expect(host.filesReal).toEqual([]);
      expect(host.sacHomeReal).toEqual([]);
      const requests = fake.requests.filter((r) => r.url.startsWith('/v1/messages'));
      expect(requests.length).toBeGreaterThanOrEqual(3);
      for (const r of requests) {
        expect(r.tokenOk).toBe(true);
        expect(r.bodyText).not.toContain(agentToken);
      }
      expect(fake.requests.some((r) => r.forbiddenSeen)).toBe(false);
    });

    it('has no /etc/shadow, and a curated /etc', () => {
      expect(probe.shadow).toMatch(/No such file or directory/);
      for (const f of ['passwd', 'group', 'hosts', 'hostname', 'nsswitch.conf'])
        expect(probe.etc?.split(' ')).toContain(f);
      if (network === 'none') expect(probe.resolv).toMatch(/No such file/);
    });

    it('cannot create user namespaces', () => {
      expect(probe.unshare_r).toMatch(/Operation not permitted/);
      expect(probe.unshare_r).not.toMatch(/rc=0$/);
      expect(probe.unshare_u).not.toMatch(/rc=0$/);
    });

    it('has a private /tmp and cannot see host processes', () => {
      expect(probe.tmp).toBe('claude-agent');
      expect(probe.host_tmp).toMatch(/No such file or directory/);
      const procs = (probe.procs ?? '').split(',').filter(Boolean);
      const comms = procs.map((p) => p.slice(p.indexOf(':') + 1));
      expect(procs[0]).toBe('1:bwrap');
      expect(procs).toContain('2:claude');
      // the supervisor (node), the test runner and everything else of the host stay outside
      expect(comms).not.toContain('node');
      expect(comms.some((c) => /sac-supervisor|vitest|setpriv/.test(c))).toBe(false);
      expect(procs.length).toBeLessThan(12);
    });

    it('writes only to the workdir, home, /tmp and rw mounts', async () => {
      for (const k of ['w_usr', 'w_etc', 'w_root', 'w_opt', 'w_home_parent', 'w_var', 'w_ro'])
        expect(probe[k], k).toMatch(/Read-only file system.*rc=1/);
      for (const k of ['w_work', 'w_home', 'w_tmp', 'w_rw']) expect(probe[k], k).toBe('rc=0');
      // the rw mount is the host directory itself, and the file is the operator's
      const written = join(l.rw, 'probe');
      expect(await readFile(written, 'utf8')).toBe('written-inside\n');
      expect((await stat(written)).uid).toBe(op.uid);
      expect(existsSync(join(l.ro, 'probe'))).toBe(false);
      // the operator's home path lies under /tmp here, so inside it names the private /tmp:
      // creating it there works and never reaches the host
      expect(probe.w_op_home).toBe('rc=0');
      expect(existsSync(join(l.operatorHome, 'probe-dir'))).toBe(false);
    });

    it('reaches host loopback only with network host', () => {
      expect(probe.loopback).toBe(network === 'host' ? 'open' : 'closed');
    });

    it('puts no secret on any host command line', () => {
      expect(agentPids).toContain(supervisorPid);
      expect(agentPids).toContain(claudePid);
      expect(host.cmdlines).toEqual([]);
    });

    it('answers send, status and tail; stop leaves no process of the agent', async () => {
      const reply = await sac('agents', 'send', name, 'hello again');
      expect(reply.code, reply.stderr).toBe(0);
      expect(reply.stdout.trim()).toBe('FAKE_REPLY: hello again');

      const status = await sac('--json', 'agents', 'status', name);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        name,
        state: 'idle',
        liveness: 'running',
        runtime: 'bwrap',
        isolated: true,
        pid: supervisorPid,
        claude_pid: claudePid,
        turns: 3,
      });

      const tail = await sac('agents', 'tail', name, '-n', '50');
      expect(tail.code, tail.stderr).toBe(0);
      expect(tail.stdout).toContain('FAKE_REPLY: hello again');

      // every process the operator's uid has now belongs to this agent (the uid is the test's own)
      const before = await liveProcessesOf(op.uid);
      const stopped = await sac('agents', 'stop', name);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(await waitDead([...new Set([...agentPids, ...before])], 5000)).toEqual([]);
      expect(await liveProcessesOf(op.uid)).toEqual([]);

      const after = await sac('--json', 'agents', 'status', name);
      expect(JSON.parse(after.stdout)).toMatchObject({ liveness: 'stopped' });
      expect(existsSync(join(l.sacHome, 'runtime', name, 'control.sock'))).toBe(false);
    });
  },
);
