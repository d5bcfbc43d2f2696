/**
 * Execute a `SandboxPlan`: spawn bwrap with stdio pipes plus its extra fds, follow its JSON status
 * fd, and find the process that matters. bwrap's reported `child-pid` is its reaper (pid 1 inside,
 * which ignores SIGTERM/SIGINT from outside); the command (Claude Code) is the reaper's only child,
 * pid 2 inside, and is what polite signals must reach.
 * @module
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '../errors.ts';
import { buildBwrapInvocation } from './bwrap-plan.ts';
import type { SandboxPlan } from './bwrap-plan.ts';
import { findExecutable } from './host.ts';
import { childrenOf, isSameProcess, processTree, startTicks } from './proc.ts';

export interface SpawnSandboxOptions {
  /** The complete environment of the sandbox. Never merged with process.env (secrets stay out). */
  env: Readonly<Record<string, string | undefined>>;
  /** What to do with the command's stderr. Default `pipe` (read `child.stderr`). */
  stderr?: 'pipe' | 'inherit' | 'ignore';
  /** The bwrap executable. Default `bwrap`, looked up on the host's PATH. */
  bwrapPath?: string;
}

export interface SandboxExit {
  /** bwrap's exit code (it passes the command's on, 128+n after a signal). */
  code: number | null;
  /** Set when bwrap itself died by a signal (then there is no `bwrapExitCode`). */
  signal: NodeJS.Signals | null;
  /** The `exit-code` bwrap wrote on its status fd, when it got that far. */
  bwrapExitCode: number | null;
  /** Spawning failed (bwrap missing: AppError SANDBOX_UNAVAILABLE). */
  error?: Error;
}

interface Identity {
  pid: number;
  ticks: number;
}

const INNER_POLL_MS = 5;
const INNER_POLL_LIMIT = 400; // 2 s: the reaper forks at once; this only covers a loaded host
const STATUS_GRACE_MS = 500;

/** A running sandbox. Create it with `spawnSandbox`. */
export class SandboxProcess {
  /** The bwrap process: stdin/stdout (and stderr when piped) are the command's. */
  readonly child: ChildProcess;
  /** Settles once bwrap has exited and its status fd is drained. Never rejects. */
  readonly exited: Promise<SandboxExit>;
  #reaper: Promise<Identity | null>;
  #inner: Promise<Identity | null>;
  #innerKnown: Identity | null = null;
  #reaperKnown: Identity | null = null;
  #exitCode: number | null = null;
  #bwrapKnown: Identity | null = null;

  constructor(plan: SandboxPlan, opts: SpawnSandboxOptions) {
    const { argv, fdData, statusFd } = buildBwrapInvocation(plan);
    const maxFd = Math.max(statusFd, ...Object.keys(fdData).map(Number));
    const stdio: ('pipe' | 'inherit' | 'ignore')[] = ['pipe', 'pipe', opts.stderr ?? 'pipe'];
    for (let fd = 3; fd <= maxFd; fd++) stdio.push('pipe');
    // Resolved on the host's PATH: spawn() would search the sandbox env's PATH instead.
    const bwrap = opts.bwrapPath ?? findExecutable('bwrap') ?? 'bwrap';
    this.child = spawn(bwrap, argv, { env: { ...opts.env }, stdio });
    const child = this.child;
    const bwrapTicks = child.pid === undefined ? null : startTicks(child.pid);
    if (child.pid !== undefined && bwrapTicks !== null)
      this.#bwrapKnown = { pid: child.pid, ticks: bwrapTicks };
    let spawnError: Error | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError =
        e.code === 'ENOENT'
          ? new AppError('SANDBOX_UNAVAILABLE', `cannot run bwrap: ${e.message}`, {
              hint: 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or set runtime: host',
              cause: e,
            })
          : e;
    });

    for (const [fd, data] of Object.entries(fdData)) {
      const stream = child.stdio[Number(fd)] as Writable | null | undefined;
      // bwrap may exit before reading (bad argv): without a handler the EPIPE/ECONNRESET would
      // crash the supervisor (recipe gotcha 5).
      stream?.on('error', () => undefined);
      stream?.end(data);
    }

    const status = child.stdio[statusFd] as Readable | null | undefined;
    status?.on('error', () => undefined);
    let resolveReaper!: (id: Identity | null) => void;
    this.#reaper = new Promise((r) => (resolveReaper = r));
    const statusDrained = new Promise<void>((resolve) => {
      if (!status) return resolve();
      const rl = createInterface({ input: status });
      rl.on('line', (line) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // not ours to judge; bwrap writes one JSON object per line
        }
        const pid = msg['child-pid'];
        if (typeof pid === 'number') {
          const ticks = startTicks(pid);
          this.#reaperKnown = ticks === null ? null : { pid, ticks };
          resolveReaper(this.#reaperKnown);
        }
        if (typeof msg['exit-code'] === 'number') this.#exitCode = msg['exit-code'];
      });
      rl.on('close', () => resolve());
    });

    const exitEvent = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        // Only a failed spawn ends it here; other 'error's (a failed kill) leave bwrap running.
        child.once('error', () => {
          if (child.pid === undefined) resolve({ code: null, signal: null });
        });
      },
    );
    this.exited = exitEvent.then(async ({ code, signal }) => {
      resolveReaper(null);
      await Promise.race([statusDrained, delay(STATUS_GRACE_MS)]);
      return {
        code,
        signal,
        bwrapExitCode: this.#exitCode,
        ...(spawnError ? { error: spawnError } : {}),
      };
    });
    this.#inner = this.#reaper.then((r) => (r ? this.#findInner(r) : null));
    void this.#inner.then((id) => (this.#innerKnown = id));
  }

  /** bwrap's pid on the host. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** bwrap's reaper (pid 1 of the sandbox), once bwrap reported it. */
  async reaperPid(): Promise<number | null> {
    return (await this.#reaper)?.pid ?? null;
  }

  /** The command's pid on the host (pid 2 inside), or null if it never started. */
  async innerPid(): Promise<number | null> {
    return (await this.#inner)?.pid ?? null;
  }

  /** The inner pid if already known (synchronous, for kill hooks). */
  get knownInnerPid(): number | null {
    return this.#innerKnown?.pid ?? null;
  }

  /** Send `sig` to the inner command. False when it is not (or no longer) running. */
  async signalInner(sig: NodeJS.Signals): Promise<boolean> {
    await this.#inner;
    return this.signalInnerNow(sig);
  }

  /** Like `signalInner`, but only if the inner pid is already known. Checks it was not reused. */
  signalInnerNow(sig: NodeJS.Signals): boolean {
    const id = this.#innerKnown;
    if (!id || !isSameProcess(id.pid, id.ticks)) return false;
    try {
      process.kill(id.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL the reaper (which takes the whole pid namespace with it) and bwrap. */
  killAll(): void {
    const r = this.#reaperKnown;
    if (r && isSameProcess(r.pid, r.ticks)) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Every host pid that belongs to this sandbox right now: bwrap, the reaper and its descendants. */
  pids(): number[] {
    const out: number[] = [];
    // Only identities still valid: after exit a pid may already belong to someone else.
    for (const id of [this.#bwrapKnown, this.#reaperKnown]) {
      if (!id || out.includes(id.pid) || !isSameProcess(id.pid, id.ticks)) continue;
      out.push(...processTree(id.pid).filter((p) => !out.includes(p)));
    }
    return out;
  }

  async #findInner(reaper: Identity): Promise<Identity | null> {
    for (let i = 0; i < INNER_POLL_LIMIT; i++) {
      if (!isSameProcess(reaper.pid, reaper.ticks)) return null;
      const pid = childrenOf(reaper.pid)[0];
      if (pid !== undefined) {
        const ticks = startTicks(pid);
        return ticks === null ? null : { pid, ticks };
      }
      await delay(INNER_POLL_MS);
    }
    return null;
  }
}

/** Spawn `plan` under bwrap. Errors while spawning arrive on `exited` (and the child's 'error'). */
export function spawnSandbox(plan: SandboxPlan, opts: SpawnSandboxOptions): SandboxProcess {
  return new SandboxProcess(plan, opts);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
