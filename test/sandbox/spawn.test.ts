/**
 * The sandbox spawner and the seccomp filter with real bwrap, without Claude Code: fast checks of
 * process handling (inner pid, signals, kill-all, errors) and of what the filter blocks and allows.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { chmod, chown } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.ts';
import { buildBwrapInvocation } from '../../src/sandbox/bwrap-plan.ts';
import type { SandboxPlan } from '../../src/sandbox/bwrap-plan.ts';
import { readinessFindings } from '../../src/check/findings.ts';
import { probeHost } from '../../src/check/host-probe.ts';
import { planLaunch } from '../../src/plan/launch-plan.ts';
import { hostFacts } from '../../src/sandbox/host.ts';
import { parseSpecText } from '../../src/spec/parse.ts';
import { isAlive, readStat } from '../../src/sandbox/proc.ts';
import { namespaceSeccompFilter } from '../../src/sandbox/seccomp.ts';
import { SandboxedClaude } from '../../src/sandbox/claude-spawner.ts';
import { spawnSandbox } from '../../src/sandbox/spawn.ts';
import type { SandboxProcess } from '../../src/sandbox/spawn.ts';
import {
  AGENT_UID,
  CLAUDE_BIN,
  makeAgentDirs,
  parseProbe,
  removeDirs,
  skipReason,
  sleep,
  waitDead,
} from './harness.ts';
import type { AgentDirs } from './harness.ts';

const skip = skipReason();
const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/agent', LANG: 'C.UTF-8' };

/** Run `script` in a sandbox and collect its stdout. */
async function run(
  plan: SandboxPlan,
  started: SandboxProcess[],
): Promise<{ out: string; code: number | null }> {
  const sb = spawnSandbox(plan, { env: ENV, stderr: 'pipe' });
  started.push(sb);
  sb.child.stdin?.end();
  let out = '';
  sb.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  sb.child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exit = await sb.exited;
  return { out, code: exit.code };
}

/** bwrap died by SIGKILL, or (if the reaper's death reached it first) passed 137 on. */
const killedHard = (e: { code: number | null; signal: string | null }): boolean =>
  e.signal === 'SIGKILL' || e.code === 137;

describe.skipIf(skip)('bwrap sandbox process handling (real bwrap)', () => {
  let dirs: AgentDirs;
  let plan: Omit<SandboxPlan, 'command'>;
  const started: SandboxProcess[] = [];

  beforeAll(async () => {
    dirs = await makeAgentDirs();
    plan = {
      operator: 'root',
      uid: AGENT_UID,
      gid: AGENT_UID,
      homeDir: dirs.home,
      workDir: dirs.work,
      network: 'none',
      runDir: dirs.run,
      claudeBinary: CLAUDE_BIN,
      seccomp: namespaceSeccompFilter(),
      ...hostFacts(),
    };
  });
  afterAll(async () => {
    for (const s of started) {
      s.killAll();
      await s.exited;
    }
    if (dirs) await removeDirs(dirs);
  });

  describe('seccomp filter', () => {
    const script = [
      'p() { printf "%s=%s\\n" "$1" "$(printf %s "$2" | tr "\\n" " ")"; }',
      'p unshare "$(unshare -r id 2>&1; echo rc=$?)"',
      'p unshare_net "$(unshare -n true 2>&1; echo rc=$?)"',
      'p id "$(id -u)"',
      'p fork "$(for i in 1 2 3; do (echo $i) & done; wait; /bin/echo exec-ok)"',
      'p threads "$(seq 1 100000 | sort --parallel=4 -S 4M -n | tail -1)"',
      'p claude "$(/opt/sac/claude --version 2>&1)"',
    ].join('\n');

    it('blocks nested user namespaces; bash, id, fork/exec, threads and Claude Code still work', async () => {
      const { out, code } = await run({ ...plan, command: ['/bin/bash', '-c', script] }, started);
      const r = parseProbe(out);
      expect(code).toBe(0);
      expect(r.unshare).toMatch(/unshare failed: Operation not permitted rc=1/);
      expect(r.unshare_net).toMatch(/Operation not permitted rc=1/);
      expect(r.id).toBe(String(AGENT_UID));
      expect(r.fork).toMatch(/exec-ok/);
      expect(r.threads).toBe('100000');
      expect(r.claude).toMatch(/^\d+\.\d+\.\d+ \(Claude Code\)/);
    });

    it('is what blocks them: without it, unshare -r gives uid 0 in a new user namespace', async () => {
      const { out } = await run(
        { ...plan, seccomp: undefined, command: ['/bin/bash', '-c', script] },
        started,
      );
      expect(parseProbe(out).unshare).toMatch(/uid=0\(root\).*rc=0/);
    });
  });

  it('finds the inner pid (the reaper’s child) and stops it with SIGTERM', async () => {
    const sb = spawnSandbox({ ...plan, command: ['/bin/sleep', '30'] }, { env: ENV });
    started.push(sb);
    const reaper = await sb.reaperPid();
    const inner = await sb.innerPid();
    expect(reaper).not.toBeNull();
    expect(inner).not.toBeNull();
    expect(readStat(inner ?? -1)?.ppid).toBe(reaper);
    // Same pid through setpriv → bash (entry.sh) → exec sleep.
    for (let i = 0; i < 200 && readStat(inner ?? -1)?.comm !== 'sleep'; i++) await sleep(5);
    expect(readStat(inner ?? -1)?.comm).toBe('sleep');
    expect(sb.knownInnerPid).toBe(inner);
    const pids = sb.pids();
    expect(pids).toEqual(expect.arrayContaining([sb.pid, reaper, inner]));
    const t0 = performance.now();
    expect(await sb.signalInner('SIGTERM')).toBe(true);
    const exit = await sb.exited;
    console.log(`SIGTERM to inner → bwrap exit: ${Math.round(performance.now() - t0)} ms`);
    expect(exit).toMatchObject({ code: 143, signal: null, bwrapExitCode: 143 });
    expect(await waitDead(pids)).toEqual([]);
    expect(await sb.signalInner('SIGTERM')).toBe(false); // gone: never signals a reused pid
  });

  it('the reaper ignores SIGTERM from outside; killAll takes down the whole pid namespace', async () => {
    const sb = spawnSandbox(
      { ...plan, command: ['/bin/bash', '-c', 'sleep 30 & sleep 30 & wait'] },
      { env: ENV },
    );
    started.push(sb);
    const reaper = (await sb.reaperPid()) ?? -1;
    await sb.innerPid();
    process.kill(reaper, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(readStat(reaper)?.state).not.toBe('Z');
    let pids = sb.pids();
    for (let i = 0; i < 100 && pids.length < 5; i++) {
      await new Promise((r) => setTimeout(r, 10));
      pids = sb.pids(); // bwrap, reaper, bash, sleep, sleep
    }
    expect(pids.length).toBeGreaterThanOrEqual(5);
    sb.killAll();
    const exit = await sb.exited;
    expect(killedHard(exit)).toBe(true);
    expect(await waitDead(pids)).toEqual([]);
  });

  it('SandboxedClaude (the SDK-facing process) routes polite signals inside, SIGKILL to bwrap', async () => {
    const polite = spawnSandbox({ ...plan, command: ['/bin/sleep', '30'] }, { env: ENV });
    started.push(polite);
    const a = new SandboxedClaude(polite);
    await polite.innerPid();
    expect(a.exitCode).toBeNull();
    expect(a.kill('SIGTERM')).toBe(true);
    expect(a.killed).toBe(true);
    // Code 143 (bwrap passed the inner exit on), not a signal death of bwrap itself.
    expect(await new Promise((r) => a.once('exit', (code, sig) => r([code, sig])))).toEqual([
      143,
      null,
    ]);

    const forced = spawnSandbox({ ...plan, command: ['/bin/sleep', '30'] }, { env: ENV });
    started.push(forced);
    const b = new SandboxedClaude(forced);
    await forced.innerPid();
    const pids = forced.pids();
    expect(b.kill('SIGKILL')).toBe(true);
    expect(killedHard(await forced.exited)).toBe(true);
    expect(await waitDead(pids)).toEqual([]);
  });

  it('dies with its supervisor: kill -9 of the parent takes the whole sandbox down', async () => {
    const fixture = resolve(import.meta.dirname, '../fixtures/sandbox-parent.ts');
    const serialisable = { ...plan, seccomp: undefined }; // a Buffer does not survive JSON
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fixture,
        JSON.stringify({ ...serialisable, command: ['/bin/sleep', '60'] }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const gone = new Promise((r) => parent.once('exit', r));
    const line = await new Promise<string>((r) =>
      parent.stdout.setEncoding('utf8').once('data', r),
    );
    const pids = JSON.parse(line) as { bwrap: number; reaper: number; inner: number };
    expect(Object.values(pids).every((p) => typeof p === 'number' && isAlive(p))).toBe(true);
    const t0 = performance.now();
    parent.kill('SIGKILL');
    await gone;
    // bwrap and the reaper may linger as zombies of an absent reaper of orphans: dead all the same.
    expect(await waitDead(Object.values(pids))).toEqual([]);
    console.log(`supervisor kill -9 → sandbox dead: ${Math.round(performance.now() - t0)} ms`);
  });

  it('reports a missing bwrap as SANDBOX_UNAVAILABLE', async () => {
    const sb = spawnSandbox(
      { ...plan, command: ['/bin/true'] },
      { env: ENV, bwrapPath: '/nonexistent/bwrap' },
    );
    const exit = await sb.exited;
    expect(isAppError(exit.error) && exit.error.code).toBe('SANDBOX_UNAVAILABLE');
    expect(await sb.innerPid()).toBeNull();
  });

  it('survives bwrap failing before it reads its fds (no unhandled EPIPE)', async () => {
    const sb = spawnSandbox(
      { ...plan, homeDir: '/nonexistent/home', command: ['/bin/true'] },
      { env: ENV },
    );
    let err = '';
    sb.child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exit = await sb.exited;
    expect(exit.code).toBe(1);
    expect(exit.bwrapExitCode).toBeNull();
    expect(err).toMatch(/Can't find source path \/nonexistent\/home/);
    expect(await sb.innerPid()).toBeNull();
  });

  it('times bwrap + setpriv + entry.sh → /bin/true (host / none)', async () => {
    for (const network of ['host', 'none'] as const) {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const env = network === 'none' ? { ...ENV, SAC_BRIDGE_PORT: '8377' } : ENV;
        const sb = spawnSandbox({ ...plan, network, command: ['/bin/true'] }, { env });
        started.push(sb);
        sb.child.stdin?.end();
        expect((await sb.exited).code).toBe(0);
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      console.log(
        `sandbox start → /bin/true exit, network ${network}: median ${Math.round(ms[2] ?? 0)} ms`,
      );
    }
  });
});

describe.skipIf(skip)(
  'user operator mode (bwrap run by a non-root uid, unprivileged userns)',
  () => {
    const OPERATOR = 61240;
    let dirs: AgentDirs;

    beforeAll(async () => {
      dirs = await makeAgentDirs({ uid: OPERATOR });
      await chown(dirs.run, OPERATOR, OPERATOR);
      await chmod(dirs.root, 0o711); // the operator must reach its own dirs (mkdtemp made it 0700 root)
    });
    afterAll(async () => {
      if (dirs) await removeDirs(dirs);
    });

    it('maps the operator’s own uid, keeps no caps, and blocks nested user namespaces', async () => {
      const { argv, fdData } = buildBwrapInvocation({
        operator: 'user',
        uid: OPERATOR,
        gid: OPERATOR,
        homeDir: dirs.home,
        workDir: dirs.work,
        network: 'none',
        runDir: dirs.run,
        claudeBinary: CLAUDE_BIN,
        seccomp: namespaceSeccompFilter(),
        ...hostFacts(),
        command: [
          '/bin/bash',
          '-c',
          'echo uid=$(id -u); grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status | tr -d "\\t" | sed "s/:/=/"; echo unshare=$(unshare -r id 2>&1; echo rc=$?); echo shadow=$(ls /etc/shadow 2>&1); echo canary=$(cat /work/canary 2>&1); echo usr=$(touch /usr/x 2>&1); echo home=$HOME',
        ],
      });
      // What a non-root operator does: run bwrap as themselves (the root here only switches to them).
      const maxFd = Math.max(...Object.keys(fdData).map(Number));
      const child = spawn('bwrap', argv, {
        uid: OPERATOR,
        gid: OPERATOR,
        env: ENV,
        stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(maxFd - 2).fill('pipe')],
      });
      for (const [fd, data] of Object.entries(fdData)) {
        const w = child.stdio[Number(fd)] as Writable;
        w.on('error', () => undefined);
        w.end(data);
      }
      child.stdin?.end();
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      const r = parseProbe(out.replace(/^(CapEff|CapBnd|NoNewPrivs)=/gm, (m) => m.toLowerCase()));
      expect(code, out).toBe(0);
      expect(r.uid).toBe(String(OPERATOR));
      expect(r.capeff).toBe('0000000000000000');
      expect(r.capbnd).toBe('0000000000000000');
      expect(r.nonewprivs).toBe('1');
      expect(r.unshare).toMatch(/Operation not permitted|No space left on device/);
      expect(r.unshare).toMatch(/rc=1/);
      expect(r.shadow).toMatch(/No such file/);
      expect(r.canary).toMatch(/Permission denied/);
      expect(r.usr).toMatch(/Read-only file system/);
      expect(r.home).toBe('/home/agent');
    });
  },
);

describe.skipIf(skip)('host readiness, probed for real', () => {
  it('finds nothing missing for a bwrap agent on a prepared host (both networks)', () => {
    const host = probeHost();
    expect(host.bwrapVersion).toMatch(/^\d+\.\d+\.\d+$/);
    for (const network of ['host', 'none'] as const) {
      const r = parseSpecText(
        `apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n  sandbox: {network: ${network}}\n  claude: {provider: {base_url: "http://127.0.0.1:9", auth_token_env: PATH}}\n`,
        'probe.yaml',
      );
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      const ref = {
        name: 'p',
        scope: 'path' as const,
        specPath: '/x/p/spec.yaml',
        agentDir: '/x/p',
        runtimeDir: '/x/rt/p',
      };
      const plan = planLaunch(ref, r.spec, {
        uid: host.uid,
        gid: host.gid,
        uidRange: [61000, 61999],
        env: process.env,
      });
      expect(readinessFindings(r.spec, plan, host)).toEqual([]);
    }
  });
});
