/**
 * From what a user typed (a NAME, a spec file, an agent directory) to one agent definition.
 *
 * Search order is the original's: the project's `.scitex/agent-container/agents/` at the git root,
 * then the user's (`$SAC_HOME` or `~/.scitex/agent-container`), then `SCITEX_AGENT_CONTAINER_YAML_DIRS`.
 * A name found in more than one scope is an error naming each, unless a scope is chosen.
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import {
  type Env,
  expandHome,
  extraAgentDirs,
  isDir,
  layout,
  projectRoot,
  sacRoot,
} from '../paths.ts';
import { assertAgentName, nameProblem } from './names.ts';

export const SCOPES = ['project', 'user', 'dirs'] as const;
export type Scope = (typeof SCOPES)[number];

/** One agent definition on disk. */
export interface AgentRef {
  name: string;
  scope: Scope | 'path';
  specPath: string;
  agentDir: string;
  /** `runtime/<name>/`: project agents keep theirs in the project, as the original did. */
  runtimeDir: string;
}

export interface ResolveOptions {
  env?: Env;
  cwd?: string;
  /** From `--scope`; falls back to `SAC_AGENT_SCOPE`. */
  scope?: string | undefined;
}

interface ScopeDir {
  scope: Scope;
  agentsDir: string;
  runtimeRoot: string;
}

/** The directories searched for agents, in order. */
export function scopeDirs(opts: ResolveOptions = {}): ScopeDir[] {
  const env = opts.env ?? process.env;
  const user = layout(sacRoot(env));
  const out: ScopeDir[] = [];
  const project = projectRoot(opts.cwd ?? process.cwd());
  if (project) {
    const p = layout(project);
    out.push({ scope: 'project', agentsDir: p.agents, runtimeRoot: p.runtime });
  }
  out.push({ scope: 'user', agentsDir: user.agents, runtimeRoot: user.runtime });
  for (const dir of extraAgentDirs(env)) {
    out.push({ scope: 'dirs', agentsDir: dir, runtimeRoot: user.runtime });
  }
  return out;
}

function chosenScope(opts: ResolveOptions): Scope | undefined {
  const raw = opts.scope ?? (opts.env ?? process.env).SAC_AGENT_SCOPE;
  if (raw === undefined || raw === '') return undefined;
  if (!(SCOPES as readonly string[]).includes(raw)) {
    throw new AppError('USAGE', `unknown scope ${JSON.stringify(raw)}`, {
      hint: `choose one of ${SCOPES.join(', ')} (--scope or SAC_AGENT_SCOPE)`,
    });
  }
  return raw as Scope;
}

/** The spec file inside an agent directory: `spec.yaml`, or the legacy `<name>.yaml`. */
export function specFileIn(agentDir: string): string | undefined {
  for (const file of ['spec.yaml', `${basename(agentDir)}.yaml`]) {
    const p = join(agentDir, file);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function looksLikePath(target: string): boolean {
  return (
    target.includes('/') ||
    target.startsWith('.') ||
    target.startsWith('~') ||
    /\.ya?ml$/i.test(target)
  );
}

function refFromPath(target: string, opts: ResolveOptions): AgentRef | undefined {
  const env = opts.env ?? process.env;
  const abs = resolve(opts.cwd ?? process.cwd(), expandHome(target, env));
  let specPath: string | undefined;
  try {
    const st = statSync(abs);
    specPath = st.isDirectory() ? specFileIn(abs) : abs;
  } catch {
    return undefined;
  }
  if (!specPath) return undefined;
  const agentDir = dirname(specPath);
  const name = assertAgentName(basename(agentDir));
  // A path inside a known scope keeps that scope (and its runtime dir).
  const owner = scopeDirs(opts).find((s) => resolve(s.agentsDir) === dirname(agentDir));
  const runtimeRoot = owner?.runtimeRoot ?? layout(sacRoot(env)).runtime;
  return {
    name,
    scope: owner?.scope ?? 'path',
    specPath,
    agentDir,
    runtimeDir: join(runtimeRoot, name),
  };
}

/** Every scope in which `name` is defined (usually zero or one). */
export function findByName(name: string, opts: ResolveOptions = {}): AgentRef[] {
  assertAgentName(name);
  const scope = chosenScope(opts);
  const hits: AgentRef[] = [];
  for (const dir of scopeDirs(opts)) {
    if (scope && dir.scope !== scope) continue;
    const agentDir = join(dir.agentsDir, name);
    const specPath = isDir(agentDir) ? specFileIn(agentDir) : undefined;
    if (specPath) {
      hits.push({
        name,
        scope: dir.scope,
        specPath,
        agentDir,
        runtimeDir: join(dir.runtimeRoot, name),
      });
    }
  }
  return hits;
}

/** Resolve one NAME, spec file or agent directory to its definition. */
export function resolveAgent(target: string, opts: ResolveOptions = {}): AgentRef {
  if (looksLikePath(target)) {
    const ref = refFromPath(target, opts);
    if (ref) return ref;
    const problem = nameProblem(target);
    if (problem) {
      throw new AppError(
        'NAME_INVALID',
        `${JSON.stringify(target)} is neither a spec file or agent directory nor a valid agent name (${problem})`,
        { details: { target } },
      );
    }
  }
  const hits = findByName(target, opts);
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new AppError(
      'AGENT_AMBIGUOUS',
      `agent ${JSON.stringify(target)} is defined in more than one scope: ${hits
        .map((h) => `${h.scope} (${h.specPath})`)
        .join(', ')}`,
      {
        hint: 'choose one with --scope project|user|dirs or SAC_AGENT_SCOPE',
        details: { candidates: hits },
      },
    );
  }
  const searched = scopeDirs(opts).map((d) => `${d.scope}: ${d.agentsDir}`);
  throw new AppError('AGENT_NOT_FOUND', `no agent named ${JSON.stringify(target)}`, {
    hint: `looked in ${searched.join('; ')}. Create one with \`sac agents new ${target}\``,
    details: { searched },
  });
}

/** Every agent definition in every scope (duplicates across scopes are all returned). */
export function listAgents(opts: ResolveOptions = {}): AgentRef[] {
  const scope = chosenScope(opts);
  const out: AgentRef[] = [];
  for (const dir of scopeDirs(opts)) {
    if (scope && dir.scope !== scope) continue;
    let entries: string[];
    try {
      entries = readdirSync(dir.agentsDir);
    } catch {
      continue;
    }
    for (const entry of entries.sort()) {
      // `_shared` holds the to_home baseline; other underscore/dot dirs are not agents either
      if (entry.startsWith('_') || nameProblem(entry)) continue;
      const agentDir = join(dir.agentsDir, entry);
      const specPath = specFileIn(agentDir);
      if (!specPath) continue;
      out.push({
        name: entry,
        scope: dir.scope,
        specPath,
        agentDir,
        runtimeDir: join(dir.runtimeRoot, entry),
      });
    }
  }
  return out;
}

/**
 * Expand bulk targets: a directory that is not itself an agent directory stands for every agent
 * directory directly under it (`<dir>/<name>/spec.yaml`), as in the original. Other targets pass
 * through unchanged.
 */
export function expandTargets(targets: readonly string[], opts: ResolveOptions = {}): string[] {
  const env = opts.env ?? process.env;
  return targets.flatMap((t) => {
    if (!looksLikePath(t)) return [t];
    const abs = resolve(opts.cwd ?? process.cwd(), expandHome(t, env));
    if (!isDir(abs) || specFileIn(abs)) return [t];
    let entries: string[];
    try {
      entries = readdirSync(abs).sort();
    } catch {
      return [t];
    }
    const agents = entries
      .filter((e) => !e.startsWith('_') && !nameProblem(e) && specFileIn(join(abs, e)))
      .map((e) => join(abs, e));
    return agents.length ? agents : [t];
  });
}
