/**
 * `~/.claude.json` is Claude Code's own state file (startup counts, per-project history, tips,
 * settings it manages). sac only makes sure nothing interactive blocks a headless agent: the
 * onboarding wizard is marked done and the agent's working directory is trusted. Pure.
 *
 * Merge order, lowest first: to_home's `.claude.json` fills keys that are MISSING (it seeds a new
 * home; it never clobbers what Claude Code wrote since), then the existing file, then sac's few
 * keys, which always win because a prompt nobody can answer would hang the agent.
 * @module
 */
import { isRecord } from './interpolate.ts';

export interface ClaudeJsonOptions {
  /** Paths, as Claude Code inside the sandbox sees them, to mark trusted (the workdir). */
  trustedDirs: readonly string[];
}

/** Fill `target`'s missing keys from `defaults`, recursing into objects present in both. */
export function fillMissing(
  target: Record<string, unknown>,
  defaults: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(defaults)) {
    const have = out[k];
    if (have === undefined) out[k] = v;
    else if (isRecord(have) && isRecord(v)) out[k] = fillMissing(have, v);
  }
  return out;
}

/**
 * The new `.claude.json`: `existing` (Claude Code's, or undefined for a new home) with to_home's
 * seed filled in and onboarding/trust forced on.
 */
export function seedClaudeJson(
  existing: Record<string, unknown> | undefined,
  fromToHome: Record<string, unknown> | undefined,
  opts: ClaudeJsonOptions,
): Record<string, unknown> {
  const base = fillMissing(existing ?? {}, fromToHome ?? {});
  const projects: Record<string, unknown> = isRecord(base.projects) ? { ...base.projects } : {};
  for (const dir of opts.trustedDirs) {
    const prev = projects[dir];
    projects[dir] = {
      ...(isRecord(prev) ? prev : {}),
      hasTrustDialogAccepted: true,
      hasCompletedProjectOnboarding: true,
    };
  }
  return { ...base, hasCompletedOnboarding: true, projects };
}
