import { describe, expect, it } from 'vitest';
import { backoffMs, decideRestart, type RestartPolicy } from './restart-policy.ts';

const policy = (p: Partial<RestartPolicy> = {}): RestartPolicy => ({
  policy: 'on-failure',
  max_retries: 3,
  backoff: { initial: 30, max: 300, multiplier: 2 },
  ...p,
});
const crash = { code: 1, signal: null, uptimeMs: 1000 };
const clean = { code: 0, signal: null, uptimeMs: 1000 };

describe('decideRestart', () => {
  it('never restarts with policy never', () => {
    expect(decideRestart(policy({ policy: 'never' }), crash, 0)).toMatchObject({
      kind: 'give-up',
      reason: 'policy-never',
    });
  });

  it('on-failure restarts after crashes and signals, not after a clean exit', () => {
    expect(decideRestart(policy(), crash, 0)).toEqual({
      kind: 'restart',
      delayMs: 30_000,
      attempt: 1,
    });
    expect(decideRestart(policy(), { code: null, signal: 'SIGKILL', uptimeMs: 5 }, 0).kind).toBe(
      'restart',
    );
    expect(decideRestart(policy(), clean, 0)).toMatchObject({
      kind: 'give-up',
      reason: 'clean-exit',
    });
  });

  it('always restarts after a clean exit too', () => {
    expect(decideRestart(policy({ policy: 'always' }), clean, 0).kind).toBe('restart');
  });

  it('backs off exponentially up to max, then gives up after max_retries', () => {
    const p = policy();
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(p, n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 300_000, 300_000,
    ]);
    expect(decideRestart(p, crash, 2)).toEqual({ kind: 'restart', delayMs: 120_000, attempt: 3 });
    expect(decideRestart(p, crash, 3)).toMatchObject({
      kind: 'give-up',
      reason: 'max-retries',
      attempt: 4,
    });
  });

  it('starts counting again after Claude Code stayed up long enough', () => {
    const p = policy();
    expect(decideRestart(p, { ...crash, uptimeMs: 300_000 }, 3)).toEqual({
      kind: 'restart',
      delayMs: 30_000,
      attempt: 1,
    });
    expect(decideRestart(p, { ...crash, uptimeMs: 299_999 }, 3).kind).toBe('give-up');
  });

  it('handles fractional seconds (tests use sub-second backoff)', () => {
    expect(backoffMs(policy({ backoff: { initial: 0.2, max: 1, multiplier: 3 } }), 3)).toBe(1000);
  });
});
