/**
 * Cross-field rules of the agent spec: what the schema cannot say about one field alone (kind
 * couplings, mutually exclusive keys, the model check that depends on the provider, how
 * `spec.mounts`/`spec.env` merge with `spec.apptainer.binds`/`env`, the effective runtime).
 * Pure: no IO, no clock.
 *
 * `checkRules` takes the parsed spec AND the plain YAML before defaults (`raw`), because several
 * rules apply only to what the author actually wrote (a default `claude` block on an AgentProxy
 * is fine; a written one is not).
 * @module
 */
import { posix } from 'node:path';
import { LEGACY_RUNTIME_HINT, LEGACY_RUNTIMES } from './legacy.ts';
import { type AgentSpec, CLAUDE_MODEL_RE, MOUNT_RE } from './schema.ts';

export type PathSegment = string | number;

export interface RuleIssue {
  /** `error` fails validation; `warning` is reported and the spec loads. */
  severity: 'error' | 'warning';
  /** Stable machine-readable kind, one of {@link RULE_CODES}. */
  code: RuleCode;
  /** Path of the offending node in the YAML document (`['spec', 'claude', 'model']`). */
  path: PathSegment[];
  message: string;
  hint?: string;
}

/** Every code `checkRules` can return, with what it means. Codes are API: never renamed. */
export const RULE_CODES = {
  proxy_on_agent: 'spec.proxy written on kind Agent',
  proxy_missing: 'kind AgentProxy without spec.proxy',
  forbidden_on_proxy:
    'claude, engines, startup_prompts or startup_commands written on kind AgentProxy',
  one_shot_on_proxy: 'residency one-shot on kind AgentProxy',
  one_shot_without_prompts: 'residency one-shot without startup_prompts',
  host_and_hosts: 'both spec.host and spec.hosts written',
  provider_and_account: 'claude.provider together with claude.account or claude.credentials_files',
  invalid_model: 'claude.model is not a Claude model alias or id (and no provider is set)',
  harness_conflict: 'spec.harness and its alias spec.provider disagree',
  harness_unsupported: 'a harness other than anthropic, which sac cannot start',
  harness_alias: 'the deprecated spec.provider alias of spec.harness',
  legacy_runtime: 'runtime tui or claude-agent-sdk, mapped to the SDK driver under apptainer',
  apptainer_unused: 'apptainer-only settings on an agent whose runtime is not apptainer',
  mount_conflict: 'one container path mounted twice with a different source or mode',
  mount_reserved:
    'a mount over a path the sandbox owns (/, /proc, /sys, /dev, /home/agent, /run/sac, /opt/sac)',
  workdir_container_path:
    "spec.workdir looks like a container path (the original's later meaning); sac reads a host path",
  env_conflict: 'one variable set in spec.env and apptainer.env to different values',
  env_managed: 'a variable sac sets itself (credentials, endpoint, HOME)',
  gpu_both: 'apptainer.nv and apptainer.rocm both on',
  autonomous_without_prompts: 'autonomous loop without startup_prompts to start it',
  autonomous_on_proxy: 'autonomous loop on kind AgentProxy',
  backoff_range: 'restart.backoff.initial above restart.backoff.max',
  a2a_exposed: 'the agent endpoint binds a non-loopback address',
  on_stall_without_stall_after: 'health.on_stall written without health.stall_after',
  prune_on_stop_unused: 'restart.prune_on_stop with a policy other than never',
  session_shortcut: 'spec.session and spec.claude.session disagree (spec.session wins)',
  resume_without_id: 'claude.session resume without claude.resume_id',
  user_root: 'spec.user names uid 0',
} as const;
export type RuleCode = keyof typeof RULE_CODES;

// ---------------------------------------------------------------------------------------------
// reading what was written
// ---------------------------------------------------------------------------------------------

function rawAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PathSegment, unknown>)[seg];
  }
  return cur;
}

/** The key is present in the written YAML (even with a null value). */
function written(raw: unknown, path: readonly PathSegment[]): boolean {
  const parent = rawAt(raw, path.slice(0, -1));
  const key = path.at(-1);
  return (
    key !== undefined &&
    parent !== null &&
    typeof parent === 'object' &&
    Object.prototype.hasOwnProperty.call(parent, key)
  );
}

/** Written with a value Python would call truthy (the original's `if spec.get(k):`). */
function writtenNonEmpty(raw: unknown, path: readonly PathSegment[]): boolean {
  const v = rawAt(raw, path);
  if (v === undefined || v === null || v === '' || v === false || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** A stated harness value: absent, null and '' state nothing. */
function stated(raw: unknown, path: readonly PathSegment[]): string | undefined {
  const v = rawAt(raw, path);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

const dotted = (path: readonly PathSegment[]): string =>
  path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg),
    '',
  );

// ---------------------------------------------------------------------------------------------
// derived views, exported for `explain`, the planner and the sandbox
// ---------------------------------------------------------------------------------------------

export type Runtime = 'bwrap' | 'apptainer' | 'host';

/**
 * The sandbox this agent runs in. An explicit value wins (the original's `tui` and
 * `claude-agent-sdk` mean apptainer); omitted or `''` means apptainer when the spec names an image
 * (`apptainer.image`, or the legacy `container.image` unless `container.runtime: none`), else bwrap.
 */
export function effectiveRuntime(doc: AgentSpec): { runtime: Runtime; reason: string } {
  const written = doc.spec.runtime;
  switch (written) {
    case 'bwrap':
    case 'apptainer':
    case 'host':
      return { runtime: written, reason: `spec.runtime: ${written}` };
    case 'tui':
    case 'claude-agent-sdk':
      return {
        runtime: 'apptainer',
        reason: `spec.runtime: ${written} (the original's Claude Code inside apptainer)`,
      };
    case '':
    case undefined:
      break;
  }
  if (doc.spec.apptainer.image !== '') {
    return { runtime: 'apptainer', reason: 'spec.apptainer.image names an image' };
  }
  const legacy = doc.spec.container;
  if (legacy?.image && legacy.runtime !== 'none') {
    return { runtime: 'apptainer', reason: 'the legacy spec.container.image names an image' };
  }
  return { runtime: 'bwrap', reason: 'the spec names no image' };
}

/** True when `claude.provider` sends model traffic somewhere other than Anthropic. */
export function providerIsActive(doc: AgentSpec): boolean {
  const p = doc.spec.claude.provider;
  return p !== null && p !== 'anthropic';
}

export interface MergedMount {
  /** Host source as written (`~` and `$VAR` not yet expanded), normalised. */
  host: string;
  /** Absolute container destination, normalised (no trailing slash). */
  container: string;
  mode: 'ro' | 'rw';
  /** Where it was declared (`spec.mounts[0]`, `spec.apptainer.binds[2]`); the first wins. */
  declaredAt: string[];
}

export interface MergedEnvVar {
  name: string;
  value: string;
  /** Where it was set (`spec.env.FOO`, `spec.apptainer.env.FOO`); the first wins. */
  declaredAt: string[];
}

interface MountDecl {
  host: string;
  container: string;
  mode: 'ro' | 'rw';
  path: PathSegment[];
}

function normalisePath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function mountDecls(doc: AgentSpec): MountDecl[] {
  const lists: [PathSegment[], string[]][] = [
    [['spec', 'mounts'], doc.spec.mounts],
    [['spec', 'apptainer', 'binds'], doc.spec.apptainer.binds],
  ];
  const out: MountDecl[] = [];
  for (const [base, list] of lists) {
    list.forEach((text, i) => {
      // the schema already enforced the syntax; this only splits it
      const m = MOUNT_RE.exec(text);
      if (!m) return;
      out.push({
        host: normalisePath(m[1] ?? ''),
        container: normalisePath(m[2] ?? ''),
        mode: m[3] === 'ro' ? 'ro' : 'rw',
        path: [...base, i],
      });
    });
  }
  return out;
}

function analyseMounts(doc: AgentSpec): { mounts: MergedMount[]; issues: RuleIssue[] } {
  const byDest = new Map<string, { merged: MergedMount; first: MountDecl }>();
  const issues: RuleIssue[] = [];
  for (const d of mountDecls(doc)) {
    const seen = byDest.get(d.container);
    if (!seen) {
      byDest.set(d.container, {
        merged: {
          host: d.host,
          container: d.container,
          mode: d.mode,
          declaredAt: [dotted(d.path)],
        },
        first: d,
      });
      continue;
    }
    if (seen.first.host === d.host && seen.first.mode === d.mode) {
      seen.merged.declaredAt.push(dotted(d.path));
      continue;
    }
    issues.push({
      severity: 'error',
      code: 'mount_conflict',
      path: d.path,
      message: `${dotted(d.path)} mounts ${d.host} at ${d.container} (${d.mode}), but ${dotted(seen.first.path)} already mounts ${seen.first.host} there (${seen.first.mode})`,
      hint: 'declare each container path once (spec.mounts and spec.apptainer.binds are merged)',
    });
  }
  return { mounts: [...byDest.values()].map((v) => v.merged), issues };
}

/** The mounts the agent gets: spec.mounts then spec.apptainer.binds, identical repeats merged. */
export function mergedMounts(doc: AgentSpec): MergedMount[] {
  return analyseMounts(doc).mounts;
}

function analyseEnv(doc: AgentSpec): { env: MergedEnvVar[]; issues: RuleIssue[] } {
  const byName = new Map<string, MergedEnvVar>();
  const issues: RuleIssue[] = [];
  const sources: [PathSegment[], Record<string, string>][] = [
    [['spec', 'env'], doc.spec.env],
    [['spec', 'apptainer', 'env'], doc.spec.apptainer.env],
  ];
  for (const [base, vars] of sources) {
    for (const [name, value] of Object.entries(vars)) {
      const path = [...base, name];
      const seen = byName.get(name);
      if (!seen) {
        byName.set(name, { name, value, declaredAt: [dotted(path)] });
      } else if (seen.value === value) {
        seen.declaredAt.push(dotted(path));
      } else {
        issues.push({
          severity: 'error',
          code: 'env_conflict',
          path,
          message: `${dotted(path)} is ${JSON.stringify(value)}, but ${seen.declaredAt[0] ?? ''} sets it to ${JSON.stringify(seen.value)}`,
          hint: 'set each variable once (spec.env and spec.apptainer.env are merged)',
        });
      }
    }
  }
  return { env: [...byName.values()], issues };
}

/** The agent's variables from the spec: spec.env then spec.apptainer.env, identical repeats merged. */
export function mergedEnv(doc: AgentSpec): MergedEnvVar[] {
  return analyseEnv(doc).env;
}

// ---------------------------------------------------------------------------------------------
// the rules
// ---------------------------------------------------------------------------------------------

type Rule = (doc: AgentSpec, raw: unknown) => RuleIssue[];

const S = 'spec';

const kindRules: Rule = (doc, raw) => {
  const out: RuleIssue[] = [];
  if (doc.kind === 'Agent') {
    if (written(raw, [S, 'proxy'])) {
      out.push({
        severity: 'error',
        code: 'proxy_on_agent',
        path: [S, 'proxy'],
        message: 'spec.proxy is only meaningful when kind: AgentProxy; remove it for kind: Agent.',
        hint: 'delete spec.proxy, or set kind: AgentProxy',
      });
    }
    return out;
  }
  if (doc.spec.proxy === undefined) {
    out.push({
      severity: 'error',
      code: 'proxy_missing',
      path: written(raw, [S]) ? [S] : ['kind'],
      message: 'spec.proxy is required when kind: AgentProxy (no upstream to forward to).',
      hint: 'add   proxy:\n      upstream: http://127.0.0.1:9000',
    });
  }
  for (const key of ['claude', 'engines', 'startup_prompts', 'startup_commands']) {
    if (writtenNonEmpty(raw, [S, key])) {
      out.push({
        severity: 'error',
        code: 'forbidden_on_proxy',
        path: [S, key],
        message: `spec.${key} is not allowed when kind: AgentProxy (proxy has no SDK to configure / prompt). Remove the field.`,
      });
    }
  }
  if (doc.spec.residency === 'one-shot') {
    out.push({
      severity: 'error',
      code: 'one_shot_on_proxy',
      path: [S, 'residency'],
      message:
        "spec.residency: one-shot is not accepted on kind: AgentProxy — the proxy forwarder is inherently resident (it serves until stopped, it has no conversation to complete). Delete the line or write 'residency: resident'.",
    });
  }
  if (doc.spec.autonomous.enabled) {
    out.push({
      severity: 'warning',
      code: 'autonomous_on_proxy',
      path: [S, 'autonomous', 'enabled'],
      message: 'spec.autonomous has no effect on kind: AgentProxy (there is no session to drive)',
    });
  }
  return out;
};

const residencyRules: Rule = (doc) => {
  if (doc.kind !== 'Agent') return [];
  const out: RuleIssue[] = [];
  if (doc.spec.residency === 'one-shot' && doc.spec.startup_prompts.length === 0) {
    out.push({
      severity: 'error',
      code: 'one_shot_without_prompts',
      path: [S, 'residency'],
      message:
        'spec.residency: one-shot needs spec.startup_prompts: a one-shot agent runs them and exits',
      hint: 'add startup_prompts, or write residency: resident',
    });
  }
  if (doc.spec.autonomous.enabled && doc.spec.startup_prompts.length === 0) {
    out.push({
      severity: 'warning',
      code: 'autonomous_without_prompts',
      path: [S, 'autonomous', 'enabled'],
      message:
        'spec.autonomous is enabled but there are no startup_prompts: the loop starts with the first turn someone sends',
    });
  }
  return out;
};

const placementRules: Rule = (_doc, raw) =>
  written(raw, [S, 'host']) && written(raw, [S, 'hosts'])
    ? [
        {
          severity: 'error',
          code: 'host_and_hosts',
          path: [S, 'hosts'],
          message:
            'spec.host and spec.hosts are mutually exclusive — set exactly one (host: singleton, hosts: multi-instance)',
        },
      ]
    : [];

const claudeRules: Rule = (doc) => {
  const out: RuleIssue[] = [];
  const c = doc.spec.claude;
  const active = providerIsActive(doc);
  if (active && c.account) {
    out.push({
      severity: 'error',
      code: 'provider_and_account',
      path: [S, 'claude', 'account'],
      message:
        'spec.claude.provider and spec.claude.account are mutually exclusive — a provider backend uses an API key, not Anthropic OAuth. Set exactly one.',
    });
  }
  if (active && c.credentials_files && c.credentials_files.length > 0) {
    out.push({
      severity: 'error',
      code: 'provider_and_account',
      path: [S, 'claude', 'credentials_files'],
      message:
        'spec.claude.provider and spec.claude.credentials_files are mutually exclusive — a provider backend uses an API key, not an Anthropic OAuth credentials pool. Set exactly one.',
    });
  }
  if (!active && !CLAUDE_MODEL_RE.test(c.model)) {
    out.push({
      severity: 'error',
      code: 'invalid_model',
      path: [S, 'claude', 'model'],
      message: `spec.claude.model '${c.model}' is not an accepted alias. Use a bare alias ('opus', 'sonnet', 'haiku', 'inherit', 'default'), optionally with a context suffix like 'opus[1m]'; OR the full versioned form 'claude-<family>-N-M[-<tail>]' (e.g. 'claude-opus-4-7', 'claude-opus-4-7[1m]', 'claude-haiku-4-5-20251001'). Abbreviated forms like 'claude-opus[1m]' are rejected by the SDK without raising — every turn returns 0 tokens. (When spec.claude.provider is set, the model field accepts the provider's own model id instead.)`,
      hint: "fix the model name, or set spec.claude.provider if this is another backend's model",
    });
  }
  if (c.session === 'resume' && c.resume_id === '') {
    out.push({
      severity: 'warning',
      code: 'resume_without_id',
      path: [S, 'claude', 'session'],
      message:
        "claude.session: resume without claude.resume_id resumes the agent's last session, like continue",
      hint: 'set claude.resume_id, or write session: continue',
    });
  }
  return out;
};

const sessionRules: Rule = (_doc, raw) => {
  const short = rawAt(raw, [S, 'session']);
  const nested = rawAt(raw, [S, 'claude', 'session']);
  const norm = (v: unknown): string | undefined =>
    typeof v !== 'string'
      ? undefined
      : v === 'new' || v === 'new-session'
        ? 'fresh'
        : v === 'continue-or-new'
          ? 'continue'
          : v;
  const a = norm(short);
  const b = norm(nested);
  return a !== undefined && b !== undefined && a !== b
    ? [
        {
          severity: 'warning',
          code: 'session_shortcut',
          path: [S, 'session'],
          message: `spec.session (${a}) and spec.claude.session (${b}) disagree; spec.session wins`,
          hint: 'keep one of them',
        },
      ]
    : [];
};

const harnessRules: Rule = (doc, raw) => {
  const out: RuleIssue[] = [];
  const canonical = stated(raw, [S, 'harness']);
  const legacy = stated(raw, [S, 'provider']);
  if (canonical !== undefined && legacy !== undefined && canonical !== legacy) {
    out.push({
      severity: 'error',
      code: 'harness_conflict',
      path: [S, 'provider'],
      message: `spec.harness='${canonical}' and spec.provider='${legacy}' disagree. \`provider\` is the DEPRECATED alias of \`harness\` (they select the agent harness: which agent SDK runs the session — NOT spec.claude.provider, which points the Claude SDK at an Anthropic-compatible inference backend). Two different values means the spec does not say which harness it wants, and sac refuses to guess: delete the \`provider:\` line and keep \`harness: <the one you meant>\`.`,
    });
    return out;
  }
  if (legacy !== undefined && canonical === undefined) {
    out.push({
      severity: 'warning',
      code: 'harness_alias',
      path: [S, 'provider'],
      message: 'spec.provider is the deprecated alias of spec.harness',
      hint: 'rename the key to harness (spec.claude.provider is a different setting)',
    });
  }
  if (doc.spec.harness !== 'anthropic') {
    out.push({
      severity: 'warning',
      code: 'harness_unsupported',
      path: [S, canonical !== undefined ? 'harness' : 'provider'],
      message: `harness '${doc.spec.harness}' cannot be started by sac (it runs Claude Code through the Claude Agent SDK: harness anthropic); \`sac agents start\` refuses this agent`,
      hint: 'write harness: anthropic',
    });
  }
  return out;
};

/** apptainer.* keys that do nothing outside the apptainer runtime (binds and env always merge). */
const APPTAINER_ONLY = [
  'image',
  'raw_args',
  'container_workdir',
  'nv',
  'rocm',
  'overlay',
  'overlay_size',
  'overlay_create_if_missing',
  'tmpfs_size',
  'relaxed',
  'fakeroot',
] as const;

const runtimeRules: Rule = (doc, raw) => {
  const out: RuleIssue[] = [];
  const rt = doc.spec.runtime;
  if (rt === 'tui' || rt === 'claude-agent-sdk') {
    out.push({
      severity: 'warning',
      code: 'legacy_runtime',
      path: [S, 'runtime'],
      message: LEGACY_RUNTIMES[rt],
      hint: LEGACY_RUNTIME_HINT,
    });
  }
  const { runtime } = effectiveRuntime(doc);
  if (runtime !== 'apptainer') {
    const unused = APPTAINER_ONLY.filter((k) => written(raw, [S, 'apptainer', k]));
    const first = unused[0];
    if (first !== undefined) {
      out.push({
        severity: 'warning',
        code: 'apptainer_unused',
        path: [S, 'apptainer', first],
        message: `spec.apptainer.${unused.join(', ')} ${unused.length === 1 ? 'has' : 'have'} no effect with runtime ${runtime} (apptainer.binds and apptainer.env still apply)`,
        hint: 'delete them, or write runtime: apptainer',
      });
    }
  }
  if (doc.spec.apptainer.nv && doc.spec.apptainer.rocm) {
    out.push({
      severity: 'warning',
      code: 'gpu_both',
      path: [S, 'apptainer', 'rocm'],
      message: 'apptainer.nv and apptainer.rocm are both on; a host has one kind of GPU stack',
      hint: 'keep the one matching your GPUs',
    });
  }
  return out;
};

/** Container paths the sandbox itself provides; mounting over them breaks isolation or the agent. */
const RESERVED_DESTINATIONS = ['/', '/proc', '/sys', '/dev', '/home/agent', '/run/sac', '/opt/sac'];
const RESERVED_TREES = ['/proc/', '/sys/', '/dev/', '/run/sac/', '/opt/sac/'];

const mountRules: Rule = (doc) => {
  const { issues } = analyseMounts(doc);
  for (const d of mountDecls(doc)) {
    const c = d.container;
    const reserved =
      RESERVED_DESTINATIONS.includes(c) || RESERVED_TREES.some((p) => c.startsWith(p));
    if (reserved) {
      issues.push({
        severity: 'error',
        code: 'mount_reserved',
        path: d.path,
        message: `${dotted(d.path)} mounts over ${c}, which the sandbox provides itself`,
        hint:
          c === '/home/agent'
            ? 'mount below it (/home/agent/<dir>) or put files in to_home/'
            : 'choose another container path',
      });
    }
  }
  return issues;
};

/** Variables sac sets itself: a spec value is overridden, and a credential here would leak into the sandbox. */
const MANAGED_ENV: Readonly<Record<string, string>> = {
  ANTHROPIC_API_KEY: 'credentials stay on the host: the relay attaches them; set claude.provider',
  ANTHROPIC_AUTH_TOKEN:
    'credentials stay on the host: the relay attaches them; set claude.provider',
  CLAUDE_CODE_OAUTH_TOKEN: 'credentials stay on the host: the relay attaches them',
  ANTHROPIC_BASE_URL: 'the model endpoint is chosen with claude.provider',
  HOME: "the agent's HOME is always /home/agent",
};

const envRules: Rule = (doc) => {
  const { env, issues } = analyseEnv(doc);
  for (const v of env) {
    const why = MANAGED_ENV[v.name];
    if (why === undefined) continue;
    const at = v.declaredAt[0]?.startsWith('spec.apptainer.')
      ? [S, 'apptainer', 'env', v.name]
      : [S, 'env', v.name];
    issues.push({
      severity: 'warning',
      code: 'env_managed',
      path: at,
      message: `${v.name} is set by sac and this value is not used: ${why}`,
      hint: `delete ${v.name}`,
    });
  }
  return issues;
};

/**
 * The original first bound `workdir` (a host path) at /work, later made it the in-container --pwd
 * with the mount declared in apptainer.binds. sac reads a host path; say so when it looks like
 * the later meaning.
 */
const workdirRules: Rule = (doc) => {
  const w = doc.spec.workdir;
  if (w === null) return [];
  const n = normalisePath(w);
  const inMount = mountDecls(doc).some((d) => n === d.container || n.startsWith(`${d.container}/`));
  if (!(n === '/home/agent' || n.startsWith('/home/agent/') || inMount)) return [];
  return [
    {
      severity: 'warning',
      code: 'workdir_container_path',
      path: [S, 'workdir'],
      message: `spec.workdir ${w} looks like a path inside the sandbox (the original's later meaning); sac reads workdir as a HOST directory and mounts it read-write as the agent's working directory`,
      hint: 'write the host directory (for example ~/proj/x), or omit workdir for a per-agent one',
    },
  ];
};

const restartRules: Rule = (doc) => {
  const out: RuleIssue[] = [];
  const r = doc.spec.restart;
  if (r.backoff.initial > r.backoff.max) {
    out.push({
      severity: 'error',
      code: 'backoff_range',
      path: [S, 'restart', 'backoff', 'initial'],
      message: `restart.backoff.initial (${r.backoff.initial}) is above restart.backoff.max (${r.backoff.max})`,
    });
  }
  if (r.prune_on_stop && r.policy !== 'never') {
    out.push({
      severity: 'warning',
      code: 'prune_on_stop_unused',
      path: [S, 'restart', 'prune_on_stop'],
      message: `restart.prune_on_stop only acts with policy never (this agent has ${r.policy})`,
    });
  }
  return out;
};

const healthRules: Rule = (doc, raw) =>
  doc.spec.health.stall_after === null && written(raw, [S, 'health', 'on_stall'])
    ? [
        {
          severity: 'warning',
          code: 'on_stall_without_stall_after',
          path: [S, 'health', 'on_stall'],
          message: 'health.on_stall has no effect without health.stall_after',
          hint: 'set health.stall_after (seconds)',
        },
      ]
    : [];

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

const a2aRules: Rule = (doc) => {
  const { host, port } = doc.spec.a2a;
  if (port === null || isLoopback(host)) return [];
  return [
    {
      severity: 'warning',
      code: 'a2a_exposed',
      path: [S, 'a2a', 'host'],
      message: `the agent's endpoint binds ${host}${port === 'auto' ? '' : `:${port}`}, reachable beyond this host (bearer-protected)`,
      hint: 'keep a2a.host: 127.0.0.1 and reach agents through `sac listen`, unless you mean it',
    },
  ];
};

const userRules: Rule = (doc) =>
  /^0(?::|$)/.test(doc.spec.user)
    ? [
        {
          severity: 'error',
          code: 'user_root',
          path: [S, 'user'],
          message: 'spec.user names uid 0: agents never run as root',
          hint: 'omit spec.user (sac picks an unprivileged uid) or name a non-zero uid',
        },
      ]
    : [];

const RULES: readonly Rule[] = [
  kindRules,
  residencyRules,
  placementRules,
  harnessRules,
  claudeRules,
  sessionRules,
  runtimeRules,
  mountRules,
  envRules,
  workdirRules,
  restartRules,
  healthRules,
  a2aRules,
  userRules,
];

/**
 * Every cross-field problem of a spec that passed the schema. `raw` is the plain parsed YAML
 * before defaults, used to tell written keys from defaulted ones.
 */
export function checkRules(doc: AgentSpec, raw: unknown): RuleIssue[] {
  return RULES.flatMap((rule) => rule(doc, raw));
}
