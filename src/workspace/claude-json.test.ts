import { describe, expect, it } from 'vitest';
import { seedClaudeJson } from './claude-json.ts';

describe('seedClaudeJson', () => {
  it('marks onboarding done and the workdir trusted in a new home', () => {
    expect(seedClaudeJson(undefined, undefined, { trustedDirs: ['/work'] })).toEqual({
      hasCompletedOnboarding: true,
      projects: { '/work': { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
    });
  });

  it("never clobbers Claude Code's keys, except the ones that would block the agent", () => {
    const existing = {
      numStartups: 7,
      hasCompletedOnboarding: false,
      projects: {
        '/work': { history: ['x'], hasTrustDialogAccepted: false },
        '/elsewhere': { history: [] },
      },
    };
    expect(
      seedClaudeJson(existing, { numStartups: 0, theme: 'light' }, { trustedDirs: ['/work'] }),
    ).toEqual({
      numStartups: 7,
      theme: 'light',
      hasCompletedOnboarding: true,
      projects: {
        '/work': {
          history: ['x'],
          hasTrustDialogAccepted: true,
          hasCompletedProjectOnboarding: true,
        },
        '/elsewhere': { history: [] },
      },
    });
  });

  it("to_home's seed fills missing nested keys only", () => {
    const out = seedClaudeJson({ a: { x: 1 } }, { a: { x: 2, y: 2 }, b: 3 }, { trustedDirs: [] });
    expect(out).toMatchObject({ a: { x: 1, y: 2 }, b: 3 });
  });
});
