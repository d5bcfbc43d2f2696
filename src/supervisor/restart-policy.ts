/**
 * Whether and when to restart Claude Code after it exits. Pure: the supervisor applies the decision
 * with its own monotonic clock, and tests drive it with plain numbers.
 *
 * Semantics (pm2-like, documented in docs/lifecycle.md):
 * - `never`: no restart; the launch ends `failed` after a crash, `stopped` after a clean exit.
 * - `on-failure`: restart after a non-zero exit or a signal; a clean exit (0) ends the launch.
 * - `always`: restart after any exit, clean ones too.
 * - At most `max_retries` restarts in a row; the counter resets once Claude Code has stayed up for
 *   `stableAfterMs` (default: the backoff's maximum, at least 60 s).
 * - Delay: `initial * multiplier^n` seconds, capped at `max`, for the n-th consecutive restart.
 * @module
 */

export interface RestartPolicy {
  policy: 'never' | 'on-failure' | 'always';
  max_retries: number;
  backoff: { initial: number; max: number; multiplier: number };
}

export interface ExitInfo {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  /** How long this Claude Code process ran, ms (monotonic). */
  uptimeMs: number;
}

export type RestartDecision =
  | { kind: 'restart'; delayMs: number; attempt: number }
  | { kind: 'give-up'; reason: 'policy-never' | 'clean-exit' | 'max-retries'; attempt: number };

/** How long Claude Code must stay up before the retry counter starts again from zero. */
export function stableAfterMs(p: RestartPolicy): number {
  return Math.max(p.backoff.max, 60) * 1000;
}

/** The delay before the `attempt`-th consecutive restart (1-based). */
export function backoffMs(p: RestartPolicy, attempt: number): number {
  const seconds = p.backoff.initial * Math.pow(p.backoff.multiplier, Math.max(0, attempt - 1));
  return Math.round(Math.min(seconds, p.backoff.max) * 1000);
}

/**
 * Decide what follows an exit. `consecutive` is how many restarts already happened in a row
 * (reset by the caller's use of `stableAfterMs`, folded in here via `exit.uptimeMs`).
 */
export function decideRestart(
  p: RestartPolicy,
  exit: ExitInfo,
  consecutive: number,
): RestartDecision {
  const clean = exit.code === 0 && exit.signal === null;
  const prior = exit.uptimeMs >= stableAfterMs(p) ? 0 : consecutive;
  const attempt = prior + 1;
  if (p.policy === 'never') return { kind: 'give-up', reason: 'policy-never', attempt };
  if (clean && p.policy === 'on-failure') return { kind: 'give-up', reason: 'clean-exit', attempt };
  if (prior >= p.max_retries) return { kind: 'give-up', reason: 'max-retries', attempt };
  return { kind: 'restart', delayMs: backoffMs(p, attempt), attempt };
}
