/**
 * What older specs wrote and where it went: the original's relocation and removal hints as data,
 * with tiny lookups. Users of the original know these texts, so the relocation messages keep its
 * wording. Pure: no schema import, no IO.
 *
 * `spec.mounts` and `spec.env` are NOT relocated here: unlike the original (which moved them to
 * `spec.apptainer.binds`/`env`), sac accepts them as runtime-neutral fields.
 * @module
 */

export type PathSegment = string | number;

/** A known old spelling: an error with a precise message and the fix. */
export interface LegacyHint {
  /** `relocated`: the key moved; `removed`: it is gone; `legacy_api_version`; `legacy_value`. */
  code: 'relocated' | 'removed' | 'legacy_api_version' | 'legacy_value';
  message: string;
  hint: string;
}

/** `spec.<key>` → its new home (dotted), as the original's `_V3_RELOCATED_FIELDS` plus later moves. */
export const RELOCATED_SPEC_FIELDS: Readonly<Record<string, string>> = {
  image: 'spec.apptainer.image',
  model: 'spec.claude.model',
  dot_claude: 'spec.to_home',
  // v2 spelling of the virtualenv key
  venv: 'spec.python-venv',
};

/** Relocations whose target changed shape keep the original's own, longer message. */
const RELOCATION_MESSAGES: Readonly<Record<string, string>> = {
  dot_claude:
    "spec.dot_claude is no longer accepted; the dot_claude/ layout was removed (see ADR-0006). Use spec.to_home and a 'to_home/' dir next to spec.yaml, with the $HOME-relative layout to_home/{CLAUDE.md,.mcp.json,.env,.claude/{hooks,skills}}.",
};

/** `spec.<key>` → why it is gone and what to write instead (the original's `_V3_REMOVED_FIELDS` and friends). */
export const REMOVED_SPEC_FIELDS: Readonly<Record<string, string>> = {
  skills:
    'spec.skills is no longer accepted; skills now live under to_home/.claude/skills/ (§3 Removed).',
  remote:
    'spec.remote is no longer accepted in scitex-agent-container/v3. Use spec.host: <peer> (singleton on one peer) or spec.hosts: [peer1, peer2] (multi-instance). See docs/spec-reference.md "From older specs" for the cross-host fields.',
  scheduling:
    "spec.scheduling block is no longer accepted. Use spec.host (singleton, optionally with fallback list) or spec.hosts (multi-instance, 'all' or list).",
  dockerfile:
    'spec.dockerfile was dropped with docker support (2026-05-13). Build an image with `sac image build` and name it in spec.apptainer.image.',
  hub: 'spec.hub (cld-agent/v1) is no longer accepted. Agents are reached through their own endpoint (spec.a2a) and the host control plane `sac listen`.',
};

/** Short fixes for removed keys (the messages above already explain). */
const REMOVED_HINTS: Readonly<Record<string, string>> = {
  skills: 'move the skill files to to_home/.claude/skills/ and delete spec.skills',
  remote: 'write spec.host: <peer> instead (sac loads it; cross-host dispatch comes later)',
  scheduling:
    'write spec.host or spec.hosts instead (sac loads them; cross-host dispatch comes later)',
  dockerfile: 'delete spec.dockerfile and set spec.apptainer.image',
  hub: 'delete spec.hub',
};

export const METADATA_NAME_MESSAGE =
  'metadata.name is no longer accepted; the agent name is derived from the parent directory (dir-as-SSoT). Remove the metadata.name field and ensure the YAML lives at <name>/spec.yaml.';

export const API_VERSION_V3 = 'scitex-agent-container/v3';

/** apiVersions of the original before v3: recognised so the error says what to do. */
export const LEGACY_API_VERSION_RE = /^(?:cld-agent|scitex-agent-container)\/v[12]$/;

export const LEGACY_API_VERSION_HINT =
  'v1/v2 specs are not converted automatically (the original did not either): set apiVersion: scitex-agent-container/v3, then move metadata.name to the directory name, spec.model to spec.claude.model, container.image to spec.apptainer.image, spec.scheduling to spec.host/hosts, spec.venv to spec.python-venv (see docs/spec-reference.md, "From older specs")';

/**
 * The original's later `spec.runtime` launch modes. Both ran Claude Code inside apptainer there;
 * sac maps them to its SDK driver under the `apptainer` runtime (warnings, not errors).
 */
export const LEGACY_RUNTIMES = {
  'claude-agent-sdk':
    'runtime: claude-agent-sdk is the original\'s "Claude Code SDK runner inside apptainer"; sac runs this agent with its SDK driver under runtime apptainer',
  tui: "runtime: tui is the original's interactive Claude Code inside apptainer; sac runs this agent with its SDK driver under runtime apptainer (the interactive driver is not available yet)",
} as const;

export const LEGACY_RUNTIME_HINT = 'set runtime: bwrap to run without apptainer';

/** Runtime values of older versions that no longer mean anything. */
const DEAD_RUNTIMES: Readonly<Record<string, string>> = {
  'claude-code':
    'cld-agent/v1 ran Claude Code in screen/tmux on the host; write runtime: bwrap (sandboxed) or runtime: host (no isolation)',
  slurm: 'SLURM runtimes were removed; run sac inside the allocation instead',
  'slurm-tenant': 'SLURM runtimes were removed; run sac inside the allocation instead',
  docker:
    'docker was removed (2026-05-13); write runtime: apptainer with an image, or runtime: bwrap',
  podman:
    'podman was removed (2026-05-13); write runtime: apptainer with an image, or runtime: bwrap',
  none: 'runtime: none meant no container; write runtime: host (no isolation) or omit it for bwrap',
};

const DEAD_HEALTH_METHODS: Readonly<Record<string, string>> = {
  'multiplexer-alive': 'a fossil default of the original that its validator rejected when written',
  'screen-alive': 'the v2 screen check, gone with screen',
  'a2a-card': 'implemented but rejected by the original, and it probed a removed path',
};

function same(path: readonly PathSegment[], expected: readonly string[]): boolean {
  return path.length === expected.length && expected.every((seg, i) => path[i] === seg);
}

/**
 * The hint for a key written at `parentPath` that the schema does not know, when it is an old
 * spelling (`legacyKeyHint(['spec'], 'image')`). Undefined for plain unknown keys.
 */
export function legacyKeyHint(
  parentPath: readonly PathSegment[],
  key: string,
): LegacyHint | undefined {
  if (same(parentPath, ['metadata']) && key === 'name') {
    return {
      code: 'removed',
      message: METADATA_NAME_MESSAGE,
      hint: "delete metadata.name: the agent's name is its directory's name",
    };
  }
  if (!same(parentPath, ['spec'])) return undefined;
  const target = RELOCATED_SPEC_FIELDS[key];
  if (target !== undefined) {
    return {
      code: 'relocated',
      message:
        RELOCATION_MESSAGES[key] ??
        `spec.${key} is no longer accepted at the top level; move it to ${target} (v3 spec realignment §3).`,
      hint: `move it to ${target}`,
    };
  }
  const removed = REMOVED_SPEC_FIELDS[key];
  if (removed !== undefined) {
    return { code: 'removed', message: removed, hint: REMOVED_HINTS[key] ?? `delete spec.${key}` };
  }
  return undefined;
}

/**
 * The hint for a value the schema rejects when it is an old spelling
 * (`legacyValueHint(['apiVersion'], 'cld-agent/v1')`). Undefined otherwise.
 */
export function legacyValueHint(
  path: readonly PathSegment[],
  value: unknown,
): LegacyHint | undefined {
  if (typeof value !== 'string') return undefined;
  if (same(path, ['apiVersion']) && LEGACY_API_VERSION_RE.test(value)) {
    return {
      code: 'legacy_api_version',
      message: `apiVersion must be one of ('${API_VERSION_V3}',), got '${value}'`,
      hint: LEGACY_API_VERSION_HINT,
    };
  }
  if (same(path, ['spec', 'runtime'])) {
    const hint = DEAD_RUNTIMES[value];
    if (hint !== undefined) {
      return {
        code: 'legacy_value',
        message: `spec.runtime '${value}' is no longer accepted; expected bwrap, apptainer or host`,
        hint,
      };
    }
  }
  if (same(path, ['spec', 'health', 'method'])) {
    const why = DEAD_HEALTH_METHODS[value];
    if (why !== undefined) {
      return {
        code: 'legacy_value',
        message: `spec.health.method must be 'sdk-alive', got '${value}' (${why})`,
        hint: 'write method: sdk-alive or delete the line',
      };
    }
  }
  if (same(path, ['spec', 'claude', 'provider']) && value === 'codex') {
    return {
      code: 'legacy_value',
      message:
        "spec.claude.provider 'codex' (the original's local scitex-genai gateway) is not bundled",
      hint: 'write provider: {base_url: http://127.0.0.1:18765, auth_token_env: SCITEX_GENAI_GATEWAY_API_KEY}',
    };
  }
  return undefined;
}
