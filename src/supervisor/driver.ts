/**
 * The Driver port: how a supervisor runs one Claude Code process and talks to it. The first (and
 * so far only) implementation drives `@anthropic-ai/claude-agent-sdk` in streaming-input mode; an
 * interactive TUI driver can come later behind the same interface.
 * @module
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

export interface SessionExit {
  /** Claude Code's exit code (bwrap passes it on), or null when it died by a signal. */
  code: number | null;
  signal: string | null;
  /** The SDK's error, when its iterator threw (e.g. "exited with code 137"). */
  error?: string;
}

/** One running Claude Code process with one conversation. */
export interface DriverSession {
  /** Queue a user turn. */
  send(text: string): void;
  /** Interrupt the turn in progress (like ESC in the terminal). */
  interrupt(): Promise<void>;
  /** End the input: Claude Code finishes what it is doing, flushes its transcript and exits 0. */
  endInput(): void;
  /** Signal what runs inside the sandbox (SIGTERM to Claude Code; SIGKILL takes the whole sandbox). */
  signal(sig: 'SIGTERM' | 'SIGKILL'): void;
  /** Every message Claude Code emits, in order; ends when the process exits. */
  readonly messages: AsyncIterable<SDKMessage>;
  /** Settles when the process is gone. */
  readonly exited: Promise<SessionExit>;
  /** Resolves once Claude Code answered the SDK's initialize request (it is up). */
  readonly initialized: Promise<void>;
  /** Host pids that belong to this session (sandbox, Claude Code, its children), for verification. */
  pids(): number[];
  /** Claude Code's own pid on the host, once known. */
  claudePid(): number | undefined;
}

export interface DriverStartOptions {
  /** Resume this session id (after a crash, or `claude.session: resume|continue`). */
  resume?: string | undefined;
  model: string;
}

export interface Driver {
  start(opts: DriverStartOptions): DriverSession;
}
