import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { expandTargets, findByName, listAgents, resolveAgent } from './resolve.ts';

let root: string;
let env: Record<string, string>;
let project: string;

function agent(agentsDir: string, name: string, file = 'spec.yaml'): string {
  mkdirSync(join(agentsDir, name), { recursive: true });
  const p = join(agentsDir, name, file);
  writeFileSync(p, 'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec: {}\n');
  return p;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isAppError(err) ? err.code : 'not-an-app-error';
  }
  return undefined;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sac-resolve-'));
  project = join(root, 'proj');
  mkdirSync(join(project, '.git'), { recursive: true });
  mkdirSync(join(project, '.scitex/agent-container/agents'), { recursive: true });
  env = {
    HOME: join(root, 'home'),
    SAC_HOME: join(root, 'sac'),
    SCITEX_AGENT_CONTAINER_YAML_DIRS: `${join(root, 'extra1')}:${join(root, 'extra2')}`,
  };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('resolveAgent', () => {
  it('finds a name in the user scope, with the runtime dir under the sac root', () => {
    const spec = agent(join(root, 'sac/agents'), 'alpha');
    const ref = resolveAgent('alpha', { env, cwd: root });
    expect(ref).toEqual({
      name: 'alpha',
      scope: 'user',
      specPath: spec,
      agentDir: join(root, 'sac/agents/alpha'),
      runtimeDir: join(root, 'sac/runtime/alpha'),
    });
  });

  it("keeps project agents' runtime in the project, and searches project first", () => {
    agent(join(project, '.scitex/agent-container/agents'), 'beta');
    const ref = resolveAgent('beta', { env, cwd: join(project) });
    expect(ref.scope).toBe('project');
    expect(ref.runtimeDir).toBe(join(project, '.scitex/agent-container/runtime/beta'));
  });

  it('searches SCITEX_AGENT_CONTAINER_YAML_DIRS, and accepts the legacy <name>/<name>.yaml', () => {
    const spec = agent(join(root, 'extra2'), 'gamma', 'gamma.yaml');
    const ref = resolveAgent('gamma', { env, cwd: root });
    expect(ref.scope).toBe('dirs');
    expect(ref.specPath).toBe(spec);
  });

  it('refuses a name defined in two scopes unless one is chosen', () => {
    agent(join(root, 'sac/agents'), 'dup');
    agent(join(project, '.scitex/agent-container/agents'), 'dup');
    expect(codeOf(() => resolveAgent('dup', { env, cwd: project }))).toBe('AGENT_AMBIGUOUS');
    expect(resolveAgent('dup', { env, cwd: project, scope: 'user' }).scope).toBe('user');
    expect(
      resolveAgent('dup', { env: { ...env, SAC_AGENT_SCOPE: 'project' }, cwd: project }).scope,
    ).toBe('project');
    expect(codeOf(() => resolveAgent('dup', { env, cwd: project, scope: 'nope' }))).toBe('USAGE');
  });

  it('takes a spec file or an agent directory path', () => {
    const spec = agent(join(root, 'elsewhere'), 'delta');
    expect(resolveAgent(spec, { env, cwd: root }).name).toBe('delta');
    expect(resolveAgent('./elsewhere/delta', { env, cwd: root })).toMatchObject({
      name: 'delta',
      scope: 'path',
      runtimeDir: join(root, 'sac/runtime/delta'),
    });
  });

  it('maps ~/.scitex/agent-container paths onto SAC_HOME', () => {
    agent(join(root, 'sac/agents'), 'eps');
    const ref = resolveAgent('~/.scitex/agent-container/agents/eps/spec.yaml', { env, cwd: root });
    expect(ref).toMatchObject({ name: 'eps', scope: 'user' });
  });

  it('refuses bad names before touching anything, and reports unknown agents', () => {
    expect(codeOf(() => resolveAgent('../x', { env, cwd: root }))).toBe('NAME_INVALID');
    expect(codeOf(() => resolveAgent('.hidden', { env, cwd: root }))).toBe('NAME_INVALID');
    expect(codeOf(() => resolveAgent('a/b', { env, cwd: root }))).toBe('NAME_INVALID');
    expect(codeOf(() => resolveAgent('nobody', { env, cwd: root }))).toBe('AGENT_NOT_FOUND');
  });
});

describe('listAgents', () => {
  it('lists every scope in order and skips non-agents', () => {
    agent(join(root, 'sac/agents'), 'b-user');
    agent(join(root, 'sac/agents'), 'a-user');
    agent(join(root, 'extra1'), 'c-dirs');
    agent(join(project, '.scitex/agent-container/agents'), 'z-proj');
    mkdirSync(join(root, 'sac/agents/_shared/to_home'), { recursive: true });
    mkdirSync(join(root, 'sac/agents/no-spec'), { recursive: true });
    const names = listAgents({ env, cwd: project }).map((r) => `${r.scope}:${r.name}`);
    expect(names).toEqual(['project:z-proj', 'user:a-user', 'user:b-user', 'dirs:c-dirs']);
    expect(findByName('a-user', { env, cwd: project })).toHaveLength(1);
  });
});

describe('expandTargets', () => {
  it('expands a directory of agent directories, and leaves names and agent dirs alone', () => {
    agent(join(root, 'fleet'), 'b');
    agent(join(root, 'fleet'), 'a');
    mkdirSync(join(root, 'fleet', '_shared'), { recursive: true });
    const single = agent(join(root, 'one'), 'solo');
    expect(
      expandTargets(['./fleet', 'by-name', join(root, 'one', 'solo')], { env, cwd: root }),
    ).toEqual([
      join(root, 'fleet', 'a'),
      join(root, 'fleet', 'b'),
      'by-name',
      join(root, 'one', 'solo'),
    ]);
    expect(single).toContain('solo');
  });
});
