/** Shared helpers for integration tests: temp homes and the real CLI as a subprocess. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SAC_BIN = join(REPO, 'bin', 'sac.js');

/** A fresh directory removed when the current test finishes. */
export function tempDir(prefix = 'sac-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An environment whose SAC_HOME is a fresh temp dir and that can never reach the real home. */
export function testEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const root = tempDir('sac-home-');
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: join(root, 'operator-home'),
    SAC_HOME: join(root, 'sac'),
    SCITEX_AGENT_CONTAINER_YAML_DIRS: '',
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built `sac` CLI (asynchronously: never spawnSync next to an in-process server). */
export function runSac(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SAC_BIN, ...args], {
      env: opts.env ?? testEnv(),
      cwd: opts.cwd ?? REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
