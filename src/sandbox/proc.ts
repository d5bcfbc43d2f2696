/**
 * Process facts read from /proc (Linux). Liveness is judged by the state letter in
 * `/proc/<pid>/stat`: a zombie (`Z`) or a missing entry is dead. `kill -0` is never used, because
 * zombies answer it and pids are reused. These are synchronous on purpose: /proc reads do not block
 * on other processes, and the SDK's `kill()` hook must decide synchronously.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, t, X, I, ... */
  state: string;
  ppid: number;
  /** Start time in clock ticks since boot (field 22): with the pid, a reuse-proof identity. */
  startTicks: number;
}

/** Parse one `/proc/<pid>/stat` line. `comm` may hold spaces and ')' so split at the last ')'. */
export function parseStat(line: string): ProcStat | null {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(line.slice(0, open).trim());
  const rest = line.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!state || !Number.isInteger(pid) || !Number.isFinite(ppid) || !Number.isFinite(startTicks))
    return null;
  return { pid, comm: line.slice(open + 1, close), state, ppid, startTicks };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie (or dead-marked `X`). */
export function isAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Field 22 of `/proc/<pid>/stat`, or null when there is no such process. */
export function startTicks(pid: number): number | null {
  return readStat(pid)?.startTicks ?? null;
}

/** True when `pid` is alive and still the process first seen with `ticks` (not a reused pid). */
export function isSameProcess(pid: number, ticks: number): boolean {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X' && st.startTicks === ticks;
}

/** Every process on the host (in our pid namespace), one stat each. */
export function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) out.push(st);
  }
  return out;
}

/** Direct children of `pid`: the kernel's children list, else a PPid scan of /proc. */
export function childrenOf(pid: number): number[] {
  let text: string | null = null;
  try {
    // Lists children of the main thread only: right for bwrap's single-threaded reaper, which is
    // what this is for. Needs CONFIG_PROC_CHILDREN; without it the file is missing.
    text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  } catch {
    text = null;
  }
  if (text !== null) return text ? text.split(/\s+/).map(Number) : [];
  return allStats()
    .filter((s) => s.ppid === pid)
    .map((s) => s.pid);
}

/** `pid` followed by all its descendants (breadth first); empty when `pid` does not exist. */
export function processTree(pid: number): number[] {
  const stats = allStats();
  if (!stats.some((s) => s.pid === pid)) return [];
  const kids = new Map<number, number[]>();
  for (const s of stats) {
    const list = kids.get(s.ppid);
    if (list) list.push(s.pid);
    else kids.set(s.ppid, [s.pid]);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const k of kids.get(out[i] as number) ?? []) if (!out.includes(k)) out.push(k);
  }
  return out;
}
