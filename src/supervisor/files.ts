/**
 * The agent's live record in `runtime/<name>/`: small files written atomically (temp + rename) so a
 * reader never sees half a file, and the append-only transcript `session.jsonl`.
 * @module
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RuntimeFiles {
  dir: string;
  sessionJsonl: string;
  sessionId: string;
  heartbeat: string;
  usage: string;
  instanceId: string;
  supervisorLog: string;
  claudeStderr: string;
  controlLink: string;
}

export function runtimeFiles(runtimeDir: string): RuntimeFiles {
  return {
    dir: runtimeDir,
    sessionJsonl: join(runtimeDir, 'session.jsonl'),
    sessionId: join(runtimeDir, 'session_id'),
    heartbeat: join(runtimeDir, 'heartbeat.json'),
    usage: join(runtimeDir, 'usage.json'),
    instanceId: join(runtimeDir, 'instance_id'),
    supervisorLog: join(runtimeDir, 'supervisor.log'),
    claudeStderr: join(runtimeDir, 'claude.stderr.log'),
    controlLink: join(runtimeDir, 'control.sock'),
  };
}

/** Write a whole file atomically (readers see the old or the new content, never a mix). */
export function writeAtomic(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Read a small text file, or undefined when it does not exist. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readJson<T>(path: string): T | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Append one record to a JSON-lines file. One `write(2)` per line with O_APPEND, so concurrent
 * appenders never interleave within a line.
 */
export function appendJsonLine(path: string, record: unknown): void {
  appendFileSync(path, JSON.stringify(record) + '\n', { mode: 0o600 });
}
