/**
 * Lifecycle hooks (`spec.hooks.{pre_start,post_start,pre_stop,post_stop,on_restart}`).
 *
 * Each entry is either an `http(s)://` URL, POSTed `{event, name, ts}` as JSON, or a shell command
 * run on the HOST by `/bin/sh -c`, in the agent's directory, with the operator's environment plus
 * `SCITEX_AGENT_CONTAINER_NAME`, `SCITEX_AGENT_CONTAINER_CONFIG_PATH`, `SAC_NAME` and `SAC_EVENT`.
 * Hooks are the operator's code with the operator's privileges, outside the sandbox: that is why a
 * spec coming from an agent may never set them (architecture §6).
 *
 * Every hook has a timeout. A shell hook runs in its own process group, so on timeout the whole
 * group (the shell and whatever it started) gets SIGTERM, then SIGKILL after a grace period; a
 * hook that finished in time may leave background processes running (a hook that starts a helper
 * daemon is legitimate). Output is appended line by line to a log file, each line prefixed with
 * the event and the hook's position (`pre_start[1] out| ...`).
 *
 * A failing `pre_start` hook fails the start (HOOK_FAILED, with the tail of its output) and the
 * hooks after it do not run; for every other event failures are reported and the rest still run.
 * @module
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../errors.ts';
import type { Env } from '../paths.ts';
import { redactSecrets } from '../util/redact.ts';

export const HOOK_EVENTS = [
  'pre_start',
  'post_start',
  'pre_stop',
  'post_stop',
  'on_restart',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;
/** Between SIGTERM and SIGKILL of a timed-out hook's process group. */
export const DEFAULT_KILL_GRACE_MS = 2_000;
/** Lines of output kept for the error and the result. */
export const TAIL_LINES = 20;
/** After a shell exits, how long its pipes may stay open (a background child holding them). */
const DRAIN_MS = 200;
/** A line longer than this is cut into pieces (a hook printing megabytes without a newline). */
const MAX_LINE = 64 * 1024;
/** Characters of one tail line kept in results and errors. */
const TAIL_LINE_CHARS = 500;
/** Bytes of an HTTP hook's response body that are logged. */
const HTTP_BODY_BYTES = 4096;

export interface HookContext {
  /** The agent's name. */
  name: string;
  /** The agent's directory: the working directory of shell hooks. */
  agentDir: string;
  /** The agent's spec file (`SCITEX_AGENT_CONTAINER_CONFIG_PATH`). */
  specPath: string;
  /** Where output is appended (created 0600 with its directory if missing). */
  logFile: string;
  /** The operator's environment; default `process.env`. */
  env?: Env;
  /** Per hook; default 60 s. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL of a timed-out shell hook; default 2 s. */
  killGraceMs?: number;
}

export interface HookResult {
  event: HookEvent;
  /** 1-based position in the event's list. */
  index: number;
  kind: 'shell' | 'http';
  /** The command or URL, with known secret shapes redacted. */
  hook: string;
  ok: boolean;
  /** Shell: the exit code (null when killed by a signal or never started). */
  exitCode: number | null;
  /** Shell: the signal that ended it, if any. */
  signal: string | null;
  /** HTTP: the response status (undefined when no response came). */
  status?: number;
  timedOut: boolean;
  durationMs: number;
  /** Why it failed, in words. */
  error?: string;
  /** Last lines of its output (redacted). */
  tail: string[];
}

export interface HookReport {
  event: HookEvent;
  results: HookResult[];
  failed: HookResult[];
}

/** An `http://` or `https://` URL (no whitespace): POSTed to; anything else is a shell command. */
export function isHttpHook(entry: string): boolean {
  return /^https?:\/\/\S+$/.test(entry.trim()) && URL.canParse(entry.trim());
}

/** Run `commands` for `event` in order; see the module comment for what failure does. */
export async function runHooks(
  event: HookEvent,
  commands: readonly string[],
  ctx: HookContext,
): Promise<HookReport> {
  const report: HookReport = { event, results: [], failed: [] };
  if (commands.length === 0) return report;
  const log = new HookLog(ctx.logFile);
  try {
    for (const [i, entry] of commands.entries()) {
      const index = i + 1;
      const prefix = `${event}[${index}]`;
      const result = isHttpHook(entry)
        ? await runHttp(event, index, entry.trim(), ctx, log.scoped(prefix))
        : await runShell(event, index, entry, ctx, log.scoped(prefix));
      report.results.push(result);
      if (result.ok) continue;
      report.failed.push(result);
      if (event === 'pre_start') throw hookFailed(result, ctx.logFile);
    }
  } finally {
    await log.close();
  }
  return report;
}

function hookFailed(r: HookResult, logFile: string): AppError {
  const tail = r.tail.length > 0 ? `\n${r.tail.map((l) => `  | ${l}`).join('\n')}` : '';
  return new AppError(
    'HOOK_FAILED',
    `${r.event} hook ${r.index} (${r.hook}) ${r.error ?? 'failed'}${tail}`,
    {
      hint: `the agent was not started; fix the hook (full output in ${logFile}) or remove it from spec.hooks.${r.event}`,
      details: { ...r, logFile },
    },
  );
}

// ------------------------------------------------------------------------------------------ log

type LineSink = (line: string) => void;

/** The hook log: one append stream per runHooks call, every line stamped and prefixed. */
class HookLog {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(file: string) {
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (err) {
      throw new AppError(
        'FAILED',
        `cannot create the hook log directory for ${file}: ${String(err)}`,
        {
          details: { path: file },
          cause: err,
        },
      );
    }
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    // a log that cannot be written must not crash the start; close() reports it
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  scoped(prefix: string): LineSink {
    return (line) => {
      if (this.failure === undefined) {
        this.stream.write(`${new Date().toISOString()} ${prefix} ${redactSecrets(line)}\n`);
      }
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed) {
        resolve();
        return;
      }
      this.stream.end(() => resolve());
    });
  }
}

/** Last `n` lines, each cut to a readable length. */
class Tail {
  readonly lines: string[] = [];
  push(line: string): void {
    this.lines.push(
      redactSecrets(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line),
    );
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }
}

/** Split a byte stream into lines (UTF-8 safe across chunk boundaries). */
function splitLines(stream: Readable, onLine: (line: string) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const take = (text: string): void => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      onLine(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
    }
    while (pending.length > MAX_LINE) {
      onLine(pending.slice(0, MAX_LINE));
      pending = pending.slice(MAX_LINE);
    }
  };
  stream.on('data', (chunk: Buffer) => take(decoder.write(chunk)));
  let flushed = false;
  return () => {
    if (flushed) return;
    flushed = true;
    take(decoder.end());
    if (pending !== '') onLine(pending);
    pending = '';
  };
}

// ---------------------------------------------------------------------------------------- shell

function hookEnv(event: HookEvent, ctx: HookContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(ctx.env ?? process.env)) if (v !== undefined) env[k] = v;
  env.SCITEX_AGENT_CONTAINER_NAME = ctx.name;
  env.SCITEX_AGENT_CONTAINER_CONFIG_PATH = ctx.specPath;
  env.SAC_NAME = ctx.name;
  env.SAC_EVENT = event;
  return env;
}

/** Signal a whole process group; it may be gone already. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every member has exited
  }
}

function runShell(
  event: HookEvent,
  index: number,
  command: string,
  ctx: HookContext,
  log: LineSink,
): Promise<HookResult> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const graceMs = ctx.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const started = performance.now();
  const hook = redactSecrets(command);
  const tail = new Tail();
  log(`$ ${command}`);

  return new Promise((resolve) => {
    // detached: the shell leads a new process group, so a timeout can kill everything it started
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: ctx.agentDir,
      env: hookEnv(event, ctx),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lineTo =
      (tag: string) =>
      (line: string): void => {
        log(`${tag}| ${line}`);
        tail.push(line);
      };
    const flushOut = splitLines(child.stdout, lineTo('out'));
    const flushErr = splitLines(child.stderr, lineTo('err'));

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let openPipes = 2;
    let drainOver = false;
    let timedOut = false;
    let killPending = false;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    /** Resolve once the shell has exited, its output is in, and a timeout's kill is complete. */
    const settle = (): void => {
      if (settled) return;
      const done =
        spawnError !== undefined ||
        (exit !== undefined && (openPipes === 0 || drainOver) && !killPending);
      if (!done) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      flushOut();
      flushErr();
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(shellResult(exit, spawnError, timedOut));
    };

    const shellResult = (
      ex: typeof exit,
      spawnErr: Error | undefined,
      late: boolean,
    ): HookResult => {
      const durationMs = Math.round(performance.now() - started);
      const code = ex?.code ?? null;
      const signal = ex?.signal ?? null;
      const error = spawnErr
        ? `could not run: ${spawnErr.message}`
        : late
          ? `timed out after ${timeoutMs} ms (its process group was killed)`
          : code === 0
            ? undefined
            : code === null
              ? `was killed by ${signal ?? 'a signal'}`
              : `exited with ${code}`;
      log(
        error === undefined ? `exit 0 (${durationMs} ms)` : `failed: ${error} (${durationMs} ms)`,
      );
      return {
        event,
        index,
        kind: 'shell',
        hook,
        ok: error === undefined,
        exitCode: code,
        signal,
        timedOut: late,
        durationMs,
        ...(error === undefined ? {} : { error }),
        tail: tail.lines,
      };
    };

    const pipeClosed = (): void => {
      openPipes--;
      settle();
    };
    child.stdout.on('close', pipeClosed);
    child.stderr.on('close', pipeClosed);

    const timeoutTimer = setTimeout(() => {
      const pid = child.pid;
      if (pid === undefined) return;
      timedOut = true;
      killPending = true;
      killGroup(pid, 'SIGTERM');
      // then SIGKILL whatever ignored SIGTERM (a trap, a child that outlived the shell)
      setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        killPending = false;
        settle();
      }, graceMs);
    }, timeoutMs);

    child.on('error', (err) => {
      spawnError = err;
      settle();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A background process may hold the pipes open for its whole life: wait a little for the
      // last output, then stop listening rather than wait for it.
      drainTimer = setTimeout(() => {
        drainOver = true;
        settle();
      }, DRAIN_MS);
      settle();
    });
  });
}

// ----------------------------------------------------------------------------------------- http

/** The URL for logs: no userinfo (a `user:password@` would otherwise land in the log). */
function displayUrl(url: string): string {
  const u = new URL(url);
  if (u.username !== '' || u.password !== '') {
    u.username = '';
    u.password = '';
  }
  return redactSecrets(u.toString());
}

/** At most `max` bytes of a response body; the rest is never downloaded. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (res.body === null) return '';
  // fetch bodies are byte streams; @types/node leaves the chunk type open
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, max));
}

async function runHttp(
  event: HookEvent,
  index: number,
  url: string,
  ctx: HookContext,
  log: LineSink,
): Promise<HookResult> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const started = performance.now();
  const hook = displayUrl(url);
  const tail = new Tail();
  const body = JSON.stringify({ event, name: ctx.name, ts: new Date().toISOString() });
  log(`POST ${hook} ${body}`);
  const base = { event, index, kind: 'http' as const, hook, exitCode: null, signal: null };
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await readCapped(res, HTTP_BODY_BYTES);
    for (const line of text.split('\n')) {
      if (line === '') continue;
      log(`body| ${line}`);
      tail.push(line);
    }
    const durationMs = Math.round(performance.now() - started);
    const ok = res.ok;
    const error = ok ? undefined : `answered HTTP ${res.status}`;
    log(ok ? `http ${res.status} (${durationMs} ms)` : `failed: ${error} (${durationMs} ms)`);
    return {
      ...base,
      ok,
      status: res.status,
      timedOut: false,
      durationMs,
      ...(error ? { error } : {}),
      tail: tail.lines,
    };
  } catch (err) {
    const durationMs = Math.round(performance.now() - started);
    const timedOut = (err as Error).name === 'TimeoutError';
    const cause = (err as { cause?: unknown }).cause;
    const why = cause instanceof Error ? cause.message : (err as Error).message;
    const error = timedOut ? `timed out after ${timeoutMs} ms` : `request failed: ${why}`;
    log(`failed: ${error} (${durationMs} ms)`);
    return { ...base, ok: false, timedOut, durationMs, error, tail: tail.lines };
  }
}
