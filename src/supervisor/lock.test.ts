import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLockHeld, SupervisorLock } from './lock.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lockPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'sac-lock-'));
  dirs.push(d);
  return join(d, 'a.lock');
}

describe('SupervisorLock', () => {
  it('is exclusive within and across processes, and released on release()', async () => {
    const p = lockPath();
    expect(isLockHeld(p)).toBe(false);
    const lock = SupervisorLock.tryAcquire(p);
    expect(lock).toBeDefined();
    expect(SupervisorLock.tryAcquire(p)).toBeUndefined();
    expect(isLockHeld(p)).toBe(true);
    // another process sees it held
    const held = await new Promise<string>((resolve) => {
      let out = '';
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import('${join(import.meta.dirname, 'lock.ts')}').then(m => process.stdout.write(String(m.isLockHeld('${p}'))))`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out));
    });
    expect(held).toBe('true');
    lock!.release();
    expect(isLockHeld(p)).toBe(false);
    SupervisorLock.tryAcquire(p)!.release();
  });

  it('is released by the kernel when the holder is killed with SIGKILL', async () => {
    const p = lockPath();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${join(import.meta.dirname, 'lock.ts')}').then(m => { m.SupervisorLock.tryAcquire('${p}'); process.stdout.write('locked'); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(isLockHeld(p)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(isLockHeld(p)).toBe(false);
  });
});
