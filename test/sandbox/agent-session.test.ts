/**
 * End to end: the Agent SDK drives a real Claude Code inside bwrap as uid 61234, model traffic goes
 * through the relay to the fake API, and the fake model asks the Bash tool to run a probe. The
 * isolation properties are asserted from what the sandbox itself reports (the tool result), and
 * from the host (/proc of the running sandbox, the fake's request log).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.ts';
import type { FakeAnthropic } from '../fixtures/fake-anthropic.ts';
import {
  AGENT_UID,
  AgentSession,
  MOUNTS,
  cmdlinesContaining,
  environsContaining,
  filesContaining,
  makeAgentDirs,
  newToken,
  parseProbe,
  removeDirs,
  sha256,
  skipReason,
  waitDead,
} from './harness.ts';
import type { AgentDirs } from './harness.ts';
import { writeProbe } from './probe.ts';

const skip = skipReason();
if (skip) console.log(`skipping sandbox session tests: ${skip}`);

const ZERO_CAPS = '0000000000000000';
const HOST_CANARY_ENV = 'SAC_TEST_HOST_ONLY_VAR';
const timings: Record<string, number> = {};

describe.skipIf(skip)('Claude Code in bwrap via the Agent SDK (root operator)', () => {
  const REAL = newToken('sk-ant-api03-REAL');
  /** Per-agent tokens: the fake flags any request whose raw headers or body contain one. */
  const FORBIDDEN: string[] = [];
  let fake: FakeAnthropic;

  beforeAll(async () => {
    // Expects the real token; a per-agent token reaching it is checked per session below.
    fake = await startFakeAnthropic({ expectToken: REAL, forbidden: FORBIDDEN });
    process.env[HOST_CANARY_ENV] = 'must-not-reach-the-sandbox';
  });
  afterAll(async () => {
    delete process.env[HOST_CANARY_ENV];
    await fake?.close();
    console.log('sandbox timings (ms):', JSON.stringify(timings));
  });

  describe('network none: one session, probed from inside', () => {
    const AGENT = newToken('sac-agent');
    const MARKER = `CLAUDE_MD_MARKER_${newToken('m')}`;
    let dirs: AgentDirs;
    let session: AgentSession;
    let probe: Record<string, string>;
    let hostScan: {
      cmdlines: string[];
      environReal: number[];
      filesReal: string[];
      pids: number[];
    };

    beforeAll(async () => {
      fake.requests.length = 0;
      FORBIDDEN.push(AGENT);
      dirs = await makeAgentDirs({ marker: MARKER });
      const probePath = await writeProbe(dirs.work, {
        hostRoot: dirs.root,
        loopbackPort: fake.port,
      });
      const t0 = performance.now();
      session = await AgentSession.start({
        network: 'none',
        dirs,
        fake,
        realToken: REAL,
        agentToken: AGENT,
        mounts: MOUNTS(dirs),
      });
      const hello = await session.send('hello from the test');
      timings.noneFirstReply = Math.round(performance.now() - t0);
      expect(hello.result.subtype).toBe('success');
      const turn = await session.send(`USE_BASH: bash ${probePath}`);
      timings.noneProbeTurn = turn.ms;
      expect(turn.toolResults).toHaveLength(1);
      probe = parseProbe(turn.toolResults[0] ?? '');
      // While Claude Code idles in the sandbox, look from the host side.
      const inner = await session.sandbox.innerPid();
      const pids = session.sandbox.pids();
      hostScan = {
        cmdlines: await cmdlinesContaining([REAL, AGENT]),
        environReal: await environsContaining(pids, REAL),
        filesReal: (
          await Promise.all(
            ['home/agent', 'work', 'tmp', 'run/sac', 'etc', 'mnt'].map((d) =>
              filesContaining(`/proc/${inner}/root/${d}`, REAL),
            ),
          )
        ).flat(),
        pids,
      };
    });
    afterAll(async () => {
      await session?.close();
      if (dirs) await removeDirs(dirs);
    });

    it('the probe ran to the end', () => {
      expect(probe.done, JSON.stringify(probe)).toBe('yes');
    });

    it('runs as the real unprivileged uid with no capabilities, no-new-privs and seccomp', () => {
      expect(probe.uid).toBe(String(AGENT_UID));
      expect(probe.gid).toBe(String(AGENT_UID));
      expect(probe.groups).toBe(String(AGENT_UID));
      expect(probe.whoami).toBe('agent');
      for (const k of ['capinh', 'capprm', 'capeff', 'capbnd', 'capamb'])
        expect(probe[k], k).toBe(ZERO_CAPS);
      expect(probe.nonewprivs).toBe('1');
      expect(probe.seccomp).toBe('2');
      expect(probe.kill_init).toMatch(/Operation not permitted.*rc=1/);
    });

    it('cannot read a root-owned 0600 file in its own workdir', () => {
      expect(probe.canary).toMatch(/Permission denied/);
      expect(probe.canary).not.toContain('CANARY_SECRET');
    });

    it('has its own HOME and workdir; operator and host dirs are invisible', () => {
      expect(probe.home).toBe('/home/agent');
      expect(probe.pwd).toBe('/work');
      expect(probe.root_dir).toMatch(/No such file or directory/);
      expect(probe.root_ssh).toMatch(/\/root\/\.ssh.*No such file.*\/root\/\.claude.*No such file/);
      expect(probe.host_root).toMatch(/No such file or directory/);
      expect(probe.host_repo).toMatch(/No such file or directory/);
      expect(probe.var).toMatch(/\/var.*No such file.*\/srv.*No such file/);
    });

    it('sees a curated /etc without shadow', () => {
      expect(probe.shadow).toMatch(/No such file or directory/);
      expect(probe.etc?.trim().split(' ').sort()).toEqual(
        [
          'alternatives',
          'group',
          'hostname',
          'hosts',
          'ld.so.cache',
          'ld.so.conf',
          'ld.so.conf.d',
          'localtime',
          'nsswitch.conf',
          'passwd',
          'ssl',
        ].sort(),
      );
      expect(probe.resolv).toMatch(/No such file/); // network none: no resolver
      expect(probe.hostname).toBe('sac-agent');
    });

    it('gets an allow-listed environment with the per-agent token only', () => {
      expect(probe.key_sha).toBe(sha256(AGENT));
      const names = (probe.env_names ?? '').trim().split(' ');
      expect(names).toContain('ANTHROPIC_API_KEY');
      expect(names).not.toContain('ANTHROPIC_AUTH_TOKEN');
      expect(names).not.toContain('IS_SANDBOX');
      expect(names).not.toContain('SAC_BRIDGE_PORT'); // entry.sh unsets it before exec
      // Nothing of the test runner's own environment leaks in. Allowed besides ours: what the SDK
      // adds to every spawn, and what Claude Code's Bash tool and bash itself set.
      expect(names).not.toContain(HOST_CANARY_ENV);
      const added = [
        'CLAUDE_CODE_ENTRYPOINT',
        'CLAUDE_AGENT_SDK_VERSION',
        'CLAUDE_CODE_SDK_READS_SESSION_STATE',
        'BUN_ENABLE_CRASH_REPORTING',
      ];
      const shell = [
        'PWD',
        'OLDPWD',
        'SHLVL',
        '_',
        'NoDefaultCurrentDirectoryInExePath',
        'CLAUDECODE',
      ];
      const allowed = new Set([...Object.keys(session.env), ...added, ...shell]);
      const leaked = Object.keys(process.env).filter((k) => !allowed.has(k) && names.includes(k));
      expect(leaked).toEqual([]);
    });

    it('cannot create user namespaces (seccomp)', () => {
      expect(probe.unshare_r).toMatch(/Operation not permitted/);
      expect(probe.unshare_r).not.toMatch(/uid=0/);
      expect(probe.unshare_u).toMatch(/rc=1/);
    });

    it('has a private /tmp and its own pid namespace', () => {
      expect(probe.tmp).toContain('claude-agent');
      expect(probe.tmp).not.toContain('sac-it-');
      const comms = (probe.procs ?? '')
        .split(',')
        .filter(Boolean)
        .map((e) => e.split(':')[1]);
      expect(comms).not.toContain('node');
      expect(comms.length).toBeLessThan(20);
      const byPid = new Map(
        (probe.procs ?? '')
          .split(',')
          .filter(Boolean)
          .map((e) => e.split(':') as [string, string]),
      );
      expect(byPid.get('1')).toBe('bwrap'); // the reaper
      expect(byPid.get('2')).toBe('claude'); // entry.sh exec'd it: pid 2
      expect(new Set(byPid.values())).toEqual(new Set(['bwrap', 'claude', 'socat', 'bash']));
      expect(probe.ps).toMatch(/1 root +bwrap/);
      expect(probe.ps).not.toMatch(/node|vitest/);
    });

    it('can write only to its workdir, home, /tmp and rw mounts', async () => {
      for (const k of ['w_usr', 'w_etc', 'w_root', 'w_opt'])
        expect(probe[k], k).toMatch(/Read-only file system.*rc=1/);
      for (const k of ['w_work', 'w_home', 'w_tmp']) expect(probe[k], k).toBe('rc=0');
      expect(probe.ro_mount).toMatch(/Read-only file system.*rc=1/);
      expect(probe.ro_read).toBe('read-only data');
      expect(probe.rw_mount).toBe('rc=0');
      const written = await stat(join(dirs.rwData, 'probe'));
      expect(written.uid).toBe(AGENT_UID);
      expect(await readFile(join(dirs.rwData, 'probe'), 'utf8')).toBe('written-inside\n');
    });

    it('inherits no stray file descriptors', () => {
      expect(probe.fds?.trim()).toBe('0 1 2 3'); // 3 is ls reading /proc/self/fd
    });

    it('has no network but loopback; the host loopback is unreachable', () => {
      expect(probe.netdevs?.trim()).toBe('lo');
      expect(probe.loopback).toBe('closed');
      expect(probe.model_sock).toMatch(/srw------- +1 agent +agent .* model\.sock/);
    });

    it('threads and fork/exec still work under the filter', () => {
      expect(probe.threads).toBe('200000');
      expect(Number(probe.claude_threads)).toBeGreaterThan(1);
    });

    it('never exposes the real token: host cmdlines, sandbox environments, sandbox files', () => {
      expect(hostScan.pids.length).toBeGreaterThanOrEqual(3);
      expect(hostScan.cmdlines).toEqual([]); // neither token on any command line
      expect(hostScan.environReal).toEqual([]);
      expect(hostScan.filesReal).toEqual([]);
    });

    it('the fake saw the real token on every request and never the per-agent token', () => {
      const msgs = fake.requests.filter((r) => r.url.startsWith('/v1/messages'));
      expect(msgs.length).toBeGreaterThanOrEqual(3);
      expect(msgs.every((r) => r.tokenOk === true && r.status === 200)).toBe(true);
      expect(fake.requests.filter((r) => r.forbiddenSeen)).toEqual([]);
      expect(session.relayLog.every((i) => i.outcome === 'ok')).toBe(true);
    });

    it("delivers the home's CLAUDE.md to the model (in messages[0], not system)", () => {
      const first = fake.requests.find((r) => r.url.startsWith('/v1/messages') && r.body);
      expect(first?.bodyText).toContain(MARKER);
      expect(JSON.stringify(first?.body?.messages?.[0])).toContain(MARKER);
      expect(JSON.stringify(first?.body?.system ?? '')).not.toContain(MARKER);
    });

    it('stops gracefully: end of input → claude exits 0 → bwrap follows, nothing left alive', async () => {
      const sb = session.sandbox;
      const pids = sb.pids();
      const t0 = performance.now();
      session.input.end();
      const exit = await sb.exited;
      timings.noneGracefulStop = Math.round(performance.now() - t0);
      expect(exit).toMatchObject({ code: 0, signal: null, bwrapExitCode: 0 });
      expect(await waitDead(pids)).toEqual([]);
      expect(await session.consumed).toBeUndefined();
    });
  });

  describe('network host: kill -9, then resume', () => {
    const AGENT = newToken('sac-agent');
    let dirs: AgentDirs;
    const sessions: AgentSession[] = [];

    beforeAll(async () => {
      FORBIDDEN.push(AGENT);
      dirs = await makeAgentDirs();
    });
    afterAll(async () => {
      for (const s of sessions) await s.close();
      if (dirs) await removeDirs(dirs);
    });

    it('keeps the session id and the history across a kill -9 of Claude Code', async () => {
      fake.requests.length = 0;
      const t0 = performance.now();
      const first = await AgentSession.start({
        network: 'host',
        dirs,
        fake,
        realToken: REAL,
        agentToken: AGENT,
      });
      sessions.push(first);
      const r1 = await first.send('first turn RESUME_HISTORY_MARK');
      timings.hostFirstReply = Math.round(performance.now() - t0);
      const sessionId = r1.result.session_id;
      const probePath = await writeProbe(dirs.work, {
        hostRoot: dirs.root,
        loopbackPort: fake.port,
      });
      const probe = parseProbe(
        (await first.send(`USE_BASH: bash ${probePath}`)).toolResults[0] ?? '',
      );
      // Same identity rules with the host network; the differences are documented limits.
      expect(probe.uid).toBe(String(AGENT_UID));
      expect(probe.capeff).toBe(ZERO_CAPS);
      expect(probe.unshare_r).toMatch(/Operation not permitted/);
      expect(probe.resolv).toBe('/etc/resolv.conf');
      expect(probe.loopback).toBe('open'); // host loopback is reachable with network host
      const before =
        fake.requests.filter((r) => r.url.startsWith('/v1/messages')).at(-1)?.nMessages ?? 0;

      const sb = first.sandbox;
      const inner = await sb.innerPid();
      expect(inner).not.toBeNull();
      const pids = sb.pids();
      const tk = performance.now();
      process.kill(inner ?? -1, 'SIGKILL');
      const exit = await sb.exited;
      timings.kill9ToBwrapExit = Math.round(performance.now() - tk);
      expect(exit.code).toBe(137);
      const err = await first.consumed;
      expect(err?.message).toMatch(/exited with code 137/);
      expect(await waitDead(pids)).toEqual([]);

      const tr = performance.now();
      const second = await AgentSession.start({
        network: 'host',
        dirs,
        fake,
        realToken: REAL,
        agentToken: AGENT,
        resume: sessionId,
      });
      sessions.push(second);
      const r2 = await second.send('after the crash');
      timings.resumeFirstReply = Math.round(performance.now() - tr);
      expect(r2.result.session_id).toBe(sessionId);
      const last = fake.requests.filter((r) => r.url.startsWith('/v1/messages')).at(-1);
      expect(last?.nMessages).toBeGreaterThan(before);
      expect(last?.bodyText).toContain('RESUME_HISTORY_MARK');
      expect(last?.sessionId).toBe(sessionId);
      expect(fake.requests.every((r) => r.tokenOk === true)).toBe(true);
      expect(fake.requests.filter((r) => r.forbiddenSeen)).toEqual([]);

      const pids2 = second.sandbox.pids();
      const tg = performance.now();
      second.input.end();
      expect(await second.sandbox.exited).toMatchObject({ code: 0, bwrapExitCode: 0 });
      timings.hostGracefulStop = Math.round(performance.now() - tg);
      expect(await waitDead(pids2)).toEqual([]);
    });
  });
});
