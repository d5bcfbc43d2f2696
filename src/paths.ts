/**
 * Where sac keeps things. The layout is the original's (`~/.scitex/agent-container/...`);
 * `SAC_HOME` relocates the whole root and `SCITEX_DIR` (the original's umbrella) is honoured too.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** The per-host sac root: `$SAC_HOME`, else `$SCITEX_DIR/agent-container`, else `~/.scitex/agent-container`. */
export function sacRoot(env: Env = process.env): string {
  if (env.SAC_HOME) return resolve(env.SAC_HOME);
  if (env.SCITEX_DIR) return resolve(env.SCITEX_DIR, 'agent-container');
  return join(env.HOME || homedir(), '.scitex', 'agent-container');
}

/** The fixed directories under one sac root (user or project). */
export interface RootLayout {
  root: string;
  agents: string;
  runtime: string;
  containers: string;
  accounts: string;
  tokens: string;
  config: string;
}

export function layout(root: string): RootLayout {
  return {
    root,
    agents: join(root, 'agents'),
    runtime: join(root, 'runtime'),
    containers: join(root, 'containers'),
    accounts: join(root, 'accounts'),
    tokens: join(root, 'tokens'),
    config: join(root, 'config.yaml'),
  };
}

/** The git work tree containing `cwd`, or undefined. A `.git` file (worktrees) counts too. */
export function gitRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The project-scope root `<git root>/.scitex/agent-container`, when that project has agents. */
export function projectRoot(cwd: string = process.cwd()): string | undefined {
  const top = gitRoot(cwd);
  if (!top) return undefined;
  const root = join(top, '.scitex', 'agent-container');
  return isDir(join(root, 'agents')) ? root : undefined;
}

/** Extra agent directories from `SCITEX_AGENT_CONTAINER_YAML_DIRS` (colon-separated). */
export function extraAgentDirs(env: Env = process.env): string[] {
  return (env.SCITEX_AGENT_CONTAINER_YAML_DIRS ?? '')
    .split(':')
    .filter((d) => d.trim() !== '')
    .map((d) => resolve(expandHome(d, env)));
}

/**
 * Expand `~` in a user-written path. `~/.scitex/agent-container/...` means "under the sac root",
 * so specs written for the original follow `SAC_HOME` (and tests never touch the real home).
 */
export function expandHome(p: string, env: Env = process.env): string {
  const legacyRoot = '~/.scitex/agent-container';
  if (p === legacyRoot || p.startsWith(legacyRoot + '/')) {
    return join(sacRoot(env), p.slice(legacyRoot.length));
  }
  if (p === '~' || p.startsWith('~/')) return join(env.HOME || homedir(), p.slice(1));
  return p;
}

/** Resolve a user-written path against a base directory, expanding `~` first. */
export function resolveUserPath(p: string, baseDir: string, env: Env = process.env): string {
  const expanded = expandHome(p, env);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Expand `$VAR` and `${VAR}` from `env` (unset variables expand to ''), as a shell would. */
export function expandVars(p: string, env: Env = process.env): string {
  return p.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a?: string, b?: string) => env[(a ?? b)!] ?? '',
  );
}
