/**
 * End-to-end harness: the real `sac` CLI, real supervisors, real Claude Code in real bubblewrap,
 * against the scripted Anthropic endpoint this process starts on loopback. Every agent a test
 * starts is stopped by the test, and checked dead by /proc.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { isAlive } from '../../src/sandbox/proc.ts';
import { findExecutable } from '../../src/sandbox/host.ts';
import { claudeBinaryPath } from '../../src/plan/claude-binary.ts';
import { startFakeAnthropic, type FakeAnthropic } from '../fixtures/fake-anthropic.ts';
import { runSac, testEnv, type RunResult } from '../helpers.ts';

export const REAL_TOKEN = 'sk-ant-e2e-REALTOKEN-0123456789abcdef';

/** Why these tests cannot run here, or undefined. */
export function e2eSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'end-to-end tests need Linux';
  if (!findExecutable('bwrap')) return 'bwrap is not installed (apt-get install bubblewrap)';
  if (!findExecutable('socat')) return 'socat is not installed (apt-get install socat)';
  if (!claudeBinaryPath()) return 'the Claude Code binary is not installed (npm ci)';
  return undefined;
}

export interface E2E {
  fake: FakeAnthropic;
  env: Record<string, string>;
  sac: (args: string[], input?: string) => Promise<RunResult>;
  /**
   * Write agents/<name>/spec.yaml (and optional to_home files); `body` is the part under `spec:`
   * (a `claude:` block in it replaces the default one, which talks to the fake endpoint).
   */
  agent: (name: string, body?: string, toHome?: Record<string, string>) => string;
  runtimeDir: (name: string) => string;
  transcript: (name: string) => Record<string, unknown>[];
  heartbeat: (name: string) => {
    pid: number;
    claude_pid: number | null;
    session_id: string | null;
    state: string;
  };
}

/** A fake endpoint, a fresh SAC_HOME, and cleanup that stops every agent and checks /proc. */
export async function e2e(extraEnv: Record<string, string> = {}): Promise<E2E> {
  const fake = await startFakeAnthropic({ expectToken: REAL_TOKEN });
  const env = testEnv({ FAKE_KEY: REAL_TOKEN, ...extraEnv });
  const root = env.SAC_HOME!;
  const sac = (args: string[], input?: string): Promise<RunResult> =>
    runSac(args, { env, ...(input !== undefined ? { input } : {}) });
  const pidsOf = (): number[] => {
    const pids: number[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(join(root, 'runtime'));
    } catch {
      return pids;
    }
    for (const n of names) {
      try {
        const hb = JSON.parse(readFileSync(join(root, 'runtime', n, 'heartbeat.json'), 'utf8')) as {
          pid: number;
          claude_pid: number | null;
        };
        pids.push(hb.pid);
        if (hb.claude_pid) pids.push(hb.claude_pid);
      } catch {
        // no heartbeat
      }
    }
    return pids;
  };
  onTestFinished(async () => {
    await sac(['agents', 'stop', '--all', '--force']);
    const deadline = Date.now() + 10_000;
    let alive = pidsOf().filter(isAlive);
    while (alive.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      alive = alive.filter(isAlive);
    }
    for (const p of alive) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await fake.close();
    if (alive.length) throw new Error(`processes left behind: ${alive.join(', ')}`);
  });
  return {
    fake,
    env,
    sac,
    agent: (name, body = '', toHome = {}) => {
      const dir = join(root, 'agents', name);
      mkdirSync(join(dir, 'to_home'), { recursive: true });
      const claude =
        body.includes('\n  claude:') || body.startsWith('  claude:')
          ? ''
          : `  claude:
    model: haiku
    flags: [--dangerously-skip-permissions]
    provider: {base_url: "${fake.url}", auth_token_env: FAKE_KEY}
`;
      const spec = `apiVersion: scitex-agent-container/v3
kind: Agent
spec:
  runtime: bwrap
${claude}  env: {CLAUDE_CODE_MAX_RETRIES: "1"}
${body}`;
      writeFileSync(join(dir, 'spec.yaml'), spec);
      for (const [rel, text] of Object.entries(toHome)) {
        mkdirSync(join(dir, 'to_home', rel, '..'), { recursive: true });
        writeFileSync(join(dir, 'to_home', rel), text);
      }
      return dir;
    },
    runtimeDir: (name) => join(root, 'runtime', name),
    transcript: (name) =>
      readFileSync(join(root, 'runtime', name, 'session.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    heartbeat: (name) =>
      JSON.parse(readFileSync(join(root, 'runtime', name, 'heartbeat.json'), 'utf8')) as {
        pid: number;
        claude_pid: number | null;
        session_id: string | null;
        state: string;
      },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = fn();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function json<T>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}
