/**
 * Issue 3 acceptance: stop leaves nothing behind, foreground + SIGINT, interrupts, spec changes,
 * and bad input (each with its own error code and exit code).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, processTree } from '../../src/sandbox/proc.ts';
import { SAC_BIN } from '../helpers.ts';
import { e2e, e2eSkipReason, json, waitFor } from './harness.ts';

const skip = e2eSkipReason();

interface Status {
  liveness: string;
  state: string;
  pid: number | null;
  claude_pid: number | null;
  spec_changed: boolean;
  exit_reason: string | null;
}

describe.skipIf(!!skip)('agent lifecycle', () => {
  it('stop leaves no process of the agent behind (judged by /proc)', async () => {
    const t = await e2e();
    t.agent('tidy', '  startup_prompts: ["USE_BASH: sleep 300 & echo started"]\n');
    expect((await t.sac(['agents', 'start', 'tidy'])).code).toBe(0);
    await waitFor('background tool child', () =>
      t.transcript('tidy').some((r) => r.type === 'result'),
    );
    const hb = t.heartbeat('tidy');
    const tree = processTree(hb.pid);
    expect(tree.length).toBeGreaterThan(2); // supervisor, bwrap, reaper, claude, sleep, ...
    const r = await t.sac(['agents', 'stop', 'tidy']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('every process gone', () => tree.every((p) => !isAlive(p)), 10_000);
    expect(json<Status>(await t.sac(['--json', 'agents', 'status', 'tidy'])).liveness).toBe(
      'stopped',
    );
  });

  it('--foreground streams the transcript and stops the agent cleanly on SIGINT', async () => {
    const t = await e2e();
    t.agent('fg', '  startup_prompts: ["foreground hello"]\n');
    const child = spawn(process.execPath, [SAC_BIN, 'agents', 'start', 'fg', '--foreground'], {
      env: t.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', () => {});
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => resolve(code)),
    );
    await waitFor('reply streamed', () => out.includes('FAKE_REPLY: foreground hello'));
    const hb = t.heartbeat('fg');
    const tree = processTree(hb.pid);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await waitFor('every process gone', () => tree.every((p) => !isAlive(p)), 10_000);
    expect(out).toMatch(/\[user\] foreground hello/);
    expect(json<Status>(await t.sac(['--json', 'agents', 'status', 'fg']))).toMatchObject({
      liveness: 'stopped',
      exit_reason: 'operator-stop',
    });
  });

  it('send --key ESC interrupts the turn in progress; the agent keeps taking turns', async () => {
    const t = await e2e();
    t.agent('esc', '  startup_prompts: ["hi"]\n');
    expect((await t.sac(['agents', 'start', 'esc'])).code).toBe(0);
    const queued = json<{ turn_id: string }>(
      await t.sac(['--json', 'agents', 'send', 'esc', 'SLOW story please', '--no-wait']),
    );
    expect(queued.turn_id).toBeTruthy();
    await waitFor('turn running', () => t.heartbeat('esc').state === 'working');
    await waitFor('streaming', () =>
      t.fake.requests.some((r) => r.bodyText.includes('SLOW story')),
    );
    const r = json<{ interrupted: boolean }>(
      await t.sac(['--json', 'agents', 'send', 'esc', '--key', 'ESC']),
    );
    expect(r.interrupted).toBe(true);
    const after = await t.sac(['agents', 'send', 'esc', 'still there?']);
    expect(after).toMatchObject({ code: 0, stdout: 'FAKE_REPLY: still there?\n' });
  });

  it('says when the spec changed since start; start refuses, restart applies it', async () => {
    const t = await e2e();
    const dir = t.agent('drift', '  startup_prompts: ["v1"]\n');
    expect((await t.sac(['agents', 'start', 'drift'])).code).toBe(0);
    writeFileSync(
      join(dir, 'spec.yaml'),
      readFileSync(join(dir, 'spec.yaml'), 'utf8').replace('v1', 'v2'),
    );
    const s = json<Status>(await t.sac(['--json', 'agents', 'status', 'drift']));
    expect(s.spec_changed).toBe(true);
    expect((await t.sac(['agents', 'status', 'drift'])).stdout).toContain(
      'spec changed since start',
    );
    const again = await t.sac(['agents', 'start', 'drift']);
    expect(again.code).toBe(7);
    expect(again.stderr).toMatch(/error\[AGENT_RUNNING\].*already running/);
    expect((await t.sac(['agents', 'restart', 'drift'])).code).toBe(0);
    expect(json<Status>(await t.sac(['--json', 'agents', 'status', 'drift'])).spec_changed).toBe(
      false,
    );
    await waitFor('v2 prompt', () =>
      t.transcript('drift').some((r) => r.type === 'user' && r.text === 'v2'),
    );
  });

  it('starts exactly one supervisor for two concurrent starts of the same agent', async () => {
    const t = await e2e();
    t.agent('twice', '  startup_prompts: ["once only"]\n');
    const [a, b] = await Promise.all([
      t.sac(['agents', 'start', 'twice']),
      t.sac(['agents', 'start', 'twice']),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 7]);
    expect((a.code === 7 ? a : b).stderr).toMatch(/AGENT_RUNNING/);
    await waitFor('answered', () => t.transcript('twice').some((r) => r.type === 'result'));
    expect(t.transcript('twice').filter((r) => r.type === 'user')).toHaveLength(1);
  });
});

describe.skipIf(!!skip)('bad input', () => {
  it('an invalid spec starts nothing', async () => {
    const t = await e2e();
    t.agent('broken', '  restart:\n    policy: sometimes\n');
    const r = await t.sac(['agents', 'start', 'broken']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error\[SPEC_INVALID\][\s\S]*spec\.restart\.policy/);
    expect(existsSync(t.runtimeDir('broken'))).toBe(false);
  });

  it('unknown agent, not running (send, stop), bad and over-long names: distinct codes', async () => {
    const t = await e2e();
    t.agent('idle', '');
    expect((await t.sac(['agents', 'start', 'nobody'])).code).toBe(4);
    const send = await t.sac(['agents', 'send', 'idle', 'hello?']);
    expect(send.code).toBe(8);
    expect(send.stderr).toMatch(/error\[AGENT_NOT_RUNNING\]: idle is not running/);
    expect((await t.sac(['agents', 'stop', 'idle'])).code).toBe(8);
    const long = await t.sac(['agents', 'start', 'x'.repeat(64)]);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/at most 63/);
    expect((await t.sac(['agents', 'start', '../escape'])).code).toBe(2);
  });

  it('names a missing sandbox binary and how to install it', async () => {
    const t = await e2e();
    t.agent('nobwrap', '');
    const { runSac } = await import('../helpers.ts');
    const missing = await runSac(['agents', 'start', 'nobwrap'], {
      env: { ...t.env, PATH: '/nonexistent' },
    });
    expect(missing.code).toBe(10);
    expect(missing.stderr).toMatch(
      /error\[SANDBOX_UNAVAILABLE\]: nobwrap: bubblewrap \(bwrap\) is not installed/,
    );
    expect(missing.stderr).toMatch(
      /hint: install bubblewrap \(Debian\/Ubuntu: apt-get install bubblewrap/,
    );
  });

  it('refuses an over-long socket path with a clear error', async () => {
    const base = `/tmp/${'s'.repeat(60)}`;
    const dir = join(base, 'x'.repeat(40));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const t = await e2e({ XDG_RUNTIME_DIR: dir });
    t.agent('deep-socket-agent-name', '');
    try {
      const r = await t.sac(['agents', 'start', 'deep-socket-agent-name']);
      expect(r.code).toBe(11);
      expect(r.stderr).toMatch(/error\[PATH_TOO_LONG\]: control socket path is \d+ bytes/);
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(base, { recursive: true, force: true });
    }
  });
});
