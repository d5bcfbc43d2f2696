import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  childrenOf,
  isAlive,
  isSameProcess,
  parseStat,
  processTree,
  readStat,
  startTicks,
} from './proc.ts';

describe('parseStat', () => {
  it('reads state, ppid and start time, even with spaces and parens in comm', () => {
    const rest = Array.from({ length: 50 }, (_, i) => String(i + 4));
    rest[0] = '42'; // field 4: ppid
    rest[18] = '123456'; // field 22: starttime
    const st = parseStat(`77 (we ird) (x)) S ${rest.join(' ')}`);
    expect(st).toEqual({ pid: 77, comm: 'we ird) (x)', state: 'S', ppid: 42, startTicks: 123456 });
  });

  it('rejects garbage', () => {
    expect(parseStat('nonsense')).toBeNull();
  });
});

describe('live /proc', () => {
  it('knows this process', () => {
    expect(isAlive(process.pid)).toBe(true);
    const ticks = startTicks(process.pid);
    expect(ticks).toBeGreaterThan(0);
    expect(isSameProcess(process.pid, ticks ?? 0)).toBe(true);
    expect(isSameProcess(process.pid, (ticks ?? 0) + 1)).toBe(false);
    expect(readStat(process.pid)?.ppid).toBe(process.ppid);
  });

  it('treats missing pids as dead', () => {
    expect(isAlive(2 ** 22 + 17)).toBe(false);
    expect(startTicks(2 ** 22 + 17)).toBeNull();
    expect(processTree(2 ** 22 + 17)).toEqual([]);
  });

  it('finds children and the tree, and a zombie counts as dead', async () => {
    // sh → sleep; sh stays the parent because it waits on a background job.
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pid = child.pid ?? 0;
    let kids: number[] = [];
    for (let i = 0; i < 200 && kids.length === 0; i++) {
      kids = childrenOf(pid);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(kids).toHaveLength(1);
    expect(processTree(pid)).toEqual([pid, kids[0]]);
    const grandchild = kids[0] ?? 0;
    // Kill the sleep: until sh reaps it, it may be a zombie; either way it is dead.
    process.kill(grandchild, 'SIGKILL');
    for (let i = 0; i < 200 && isAlive(grandchild); i++) await new Promise((r) => setTimeout(r, 5));
    expect(isAlive(grandchild)).toBe(false);
    await exited;
    expect(isAlive(pid)).toBe(false);
  });
});
