/**
 * The Agent SDK's `spawnClaudeCodeProcess`, running Claude Code inside a bwrap sandbox.
 *
 * The SDK stops its child with stdin EOF, then (after ~2 s) `kill('SIGTERM')`, then (5 s later)
 * `kill('SIGKILL')`. A SIGTERM to bwrap is not forwarded (bwrap just dies and its die-with-parent
 * SIGKILLs everything inside), and the reaper ignores it, so polite signals go to the inner Claude
 * Code pid instead, which exits and lets bwrap follow. SIGKILL still goes to bwrap (whole pid ns).
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { SandboxPlan } from './bwrap-plan.ts';
import { SANDBOX_PATHS } from './sandbox-files.ts';
import { spawnSandbox } from './spawn.ts';
import type { SandboxProcess } from './spawn.ts';

type ExitListener = (code: number | null, signal: NodeJS.Signals | null) => void;
type ErrorListener = (error: Error) => void;

/** A `SpawnedProcess` for the SDK whose `kill()` knows about the sandbox's inner pid. */
export class SandboxedClaude implements SpawnedProcess {
  readonly sandbox: SandboxProcess;
  #killed = false;

  constructor(sandbox: SandboxProcess) {
    this.sandbox = sandbox;
  }

  get stdin(): Writable {
    return this.sandbox.child.stdin as Writable;
  }

  get stdout(): Readable {
    return this.sandbox.child.stdout as Readable;
  }

  get killed(): boolean {
    return this.#killed || this.sandbox.child.killed;
  }

  get exitCode(): number | null {
    return this.sandbox.child.exitCode;
  }

  get signalCode(): NodeJS.Signals | null {
    return this.sandbox.child.signalCode;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (signal !== 'SIGKILL' && this.sandbox.signalInnerNow(signal)) {
      this.#killed = true;
      return true;
    }
    // SIGKILL, or the inner pid is unknown/gone: bwrap dies and takes the pid namespace with it.
    if (signal === 'SIGKILL') {
      this.sandbox.killAll();
      this.#killed = true;
      return true;
    }
    return this.sandbox.child.kill(signal);
  }

  on(event: 'exit', listener: ExitListener): void;
  on(event: 'error', listener: ErrorListener): void;
  on(event: 'exit' | 'error', listener: ExitListener | ErrorListener): void {
    this.sandbox.child.on(event, listener);
  }

  once(event: 'exit', listener: ExitListener): void;
  once(event: 'error', listener: ErrorListener): void;
  once(event: 'exit' | 'error', listener: ExitListener | ErrorListener): void {
    this.sandbox.child.once(event, listener);
  }

  off(event: 'exit', listener: ExitListener): void;
  off(event: 'error', listener: ErrorListener): void;
  off(event: 'exit' | 'error', listener: ExitListener | ErrorListener): void {
    this.sandbox.child.off(event, listener);
  }
}

export interface ClaudeSpawnerOptions {
  /** Everything but the command; the command is Claude Code with the SDK's arguments. */
  plan: Omit<SandboxPlan, 'command'>;
  /** Claude Code's stderr, chunk by chunk (the SDK does not read it from custom spawns). */
  onStderr?: (chunk: string) => void;
  /** Called with each sandbox started (the supervisor records its pids). */
  onSpawn?: (sandbox: SandboxProcess) => void;
}

/**
 * Build `options.spawnClaudeCodeProcess`. The SDK's `command` (a host path) and `cwd` are ignored:
 * the binary is bound at /opt/sac/claude and the working directory is the plan's workdir.
 * The SDK's `env` (ours, plus its own CLAUDE_CODE_ENTRYPOINT & co.) goes to spawn() as is.
 */
export function claudeSpawner(opts: ClaudeSpawnerOptions): (o: SpawnOptions) => SpawnedProcess {
  return ({ args, env }) => {
    const sandbox = spawnSandbox(
      { ...opts.plan, command: [SANDBOX_PATHS.claude, ...args] },
      { env, stderr: opts.onStderr ? 'pipe' : 'ignore' },
    );
    if (opts.onStderr) {
      const cb = opts.onStderr;
      sandbox.child.stderr?.setEncoding('utf8').on('data', (d: string) => cb(d));
    }
    opts.onSpawn?.(sandbox);
    return new SandboxedClaude(sandbox);
  };
}
