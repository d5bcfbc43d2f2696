import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runSac, tempDir, testEnv } from '../helpers.ts';

function withAgent(env: Record<string, string>, name: string, example = name): string {
  const dir = join(env.SAC_HOME!, 'agents', name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO, 'examples/agents', example, 'spec.yaml'), join(dir, 'spec.yaml'));
  return dir;
}

const MANY_FAULTS = `apiVersion: scitex-agent-container/v3
kind: Agent
spec:
  model: haiku
  bogus: true
  restart:
    policy: sometimes
    backoff:
      initial: "thirty"
`;

describe('sac agents check', () => {
  it("passes the seed README's hello-agent, with missing runtime pieces only as warnings", async () => {
    const env = testEnv();
    withAgent(env, 'hello-agent');
    const r = await runSac(['agents', 'check', 'hello-agent'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('spec: valid');
    expect(r.stdout).toMatch(
      /warning: neither apptainer nor singularity is on PATH; sac never runs an apptainer spec in another runtime/,
    );
    expect(r.stdout).toMatch(/fix: install apptainer, or set runtime: bwrap/);
    const strict = await runSac(['agents', 'check', '--strict', 'hello-agent'], { env });
    expect(strict.code).toBe(9);
  });

  it('lists every fault of a spec with line:col and hints, exit 3, no stack trace', async () => {
    const env = testEnv();
    const dir = join(env.SAC_HOME!, 'agents', 'faulty');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'spec.yaml'), MANY_FAULTS);
    const r = await runSac(['agents', 'check', 'faulty'], { env });
    expect(r.code).toBe(3);
    const spec = join(dir, 'spec.yaml');
    expect(r.stdout).toContain(`${spec}:4:3  spec.model  spec.model is no longer accepted`);
    expect(r.stdout).toContain('hint: move it to spec.claude.model');
    expect(r.stdout).toContain(`${spec}:5:3  spec.bogus  unknown key "bogus"`);
    expect(r.stdout).toContain(`${spec}:7:13  spec.restart.policy`);
    expect(r.stdout).toContain(`${spec}:9:16  spec.restart.backoff.initial`);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);

    const json = await runSac(['--json', 'agents', 'check', 'faulty'], { env });
    expect(json.code).toBe(3);
    const body = JSON.parse(json.stdout) as {
      agents: { issues: { path: string; line: number }[] }[];
    };
    expect(body.agents[0]!.issues.map((i) => i.path)).toEqual([
      'spec.model',
      'spec.bogus',
      'spec.restart.policy',
      'spec.restart.backoff.initial',
    ]);
  });

  it('locates YAML syntax errors with the invalid-spec exit code', async () => {
    const env = testEnv();
    const dir = join(env.SAC_HOME!, 'agents', 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'spec.yaml'), 'apiVersion: x\nspec:\n  a: [1,\n');
    const r = await runSac(['agents', 'check', 'broken'], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/spec\.yaml:\d+:\d+ {2}\(document\) {2}/);
  });

  it('checks several targets: names, spec files and directories', async () => {
    const env = testEnv();
    withAgent(env, 'hello-bwrap');
    const r = await runSac(
      [
        '--json',
        'agents',
        'check',
        'hello-bwrap',
        join(REPO, 'examples/agents/minimal-agent'),
        join(REPO, 'examples/agents/deepseek-agent/spec.yaml'),
      ],
      { env },
    );
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as {
      agents: { name: string; valid: boolean; findings: { code: string }[] }[];
    };
    expect(body.agents.map((a) => [a.name, a.valid])).toEqual([
      ['hello-bwrap', true],
      ['minimal-agent', true],
      ['deepseek-agent', true],
    ]);
    expect(body.agents[2]!.findings.map((f) => f.code)).toContain('token_missing');
    const withKey = await runSac(
      ['--json', 'agents', 'check', join(REPO, 'examples/agents/deepseek-agent')],
      {
        env: { ...env, DEEPSEEK_API_KEY: 'sk-test' },
      },
    );
    expect(JSON.stringify(JSON.parse(withKey.stdout))).not.toContain('token_missing');
  });
});

describe('sac agents explain', () => {
  it('prints JSON with every default resolved and the launch plan', async () => {
    const env = testEnv();
    withAgent(env, 'hello-agent');
    const r = await runSac(['agents', 'explain', 'hello-agent', '--json'], { env });
    expect(r.code).toBe(0);
    const x = JSON.parse(r.stdout) as {
      spec: {
        spec: { restart: unknown; a2a: unknown; sandbox: unknown; claude: { session: string } };
      };
      plan: { runtime: { name: string; reason: string }; env: { names: string[] } };
    };
    expect(x.spec.spec.restart).toEqual({
      policy: 'never',
      max_retries: 3,
      backoff: { initial: 30, max: 300, multiplier: 2 },
      prune_on_stop: false,
    });
    expect(x.spec.spec.a2a).toMatchObject({ host: '127.0.0.1', port: 'auto' });
    expect(x.spec.spec.sandbox).toEqual({ network: 'host' });
    expect(x.spec.spec.claude.session).toBe('fresh');
    expect(x.plan.runtime.name).toBe('apptainer');
    expect(x.plan.runtime.reason).toMatch(/runtime: apptainer/);
  });

  it('explains in plain text too, with env names but no values', async () => {
    const env = testEnv();
    const dir = withAgent(env, 'envy', 'minimal-agent');
    writeFileSync(
      join(dir, 'spec.yaml'),
      'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n  env:\n    MY_SECRET: hunter2\n',
    );
    const r = await runSac(['agents', 'explain', 'envy'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('runtime:   bwrap');
    expect(r.stdout).toMatch(/Environment \(names only\):.*MY_SECRET/);
    expect(r.stdout.split('Effective spec')[0]).not.toContain('hunter2');
  });

  it('fails with the invalid-spec code on a bad spec', async () => {
    const env = testEnv();
    const dir = join(env.SAC_HOME!, 'agents', 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'spec.yaml'), MANY_FAULTS);
    const r = await runSac(['agents', 'explain', 'bad'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error\[SPEC_INVALID\]/);
    expect(r.stderr).toMatch(/spec\.yaml:5:3 {2}spec\.bogus/);
  });
});

describe('sac agents new, list, find', () => {
  it('scaffolds an agent that validates, and never overwrites one', async () => {
    const env = testEnv();
    const r = await runSac(['agents', 'new', 'fresh-one'], { env });
    expect(r.code).toBe(0);
    expect(existsSync(join(env.SAC_HOME!, 'agents/fresh-one/spec.yaml'))).toBe(true);
    expect(existsSync(join(env.SAC_HOME!, 'agents/fresh-one/to_home/CLAUDE.md'))).toBe(true);
    const check = await runSac(['--json', 'agents', 'check', 'fresh-one'], { env });
    expect(JSON.parse(check.stdout)).toMatchObject({ agents: [{ valid: true, issues: [] }] });
    const again = await runSac(['agents', 'new', 'fresh-one'], { env });
    expect(again.code).toBe(14);
    expect(again.stderr).toMatch(/error\[AGENT_EXISTS\]/);
  });

  it('refuses ../x, .hidden and a/b before any file is touched', async () => {
    const env = testEnv();
    for (const name of ['../x', '.hidden', 'a/b', '-rf', 'x'.repeat(64)]) {
      const r = await runSac(['agents', 'new', '--', name], { env });
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(/error\[NAME_INVALID\]: invalid agent name/);
      for (const cmd of [
        ['agents', 'check', name],
        ['agents', 'explain', name],
      ]) {
        const c = await runSac(cmd, { env });
        expect(c.code, `${cmd.join(' ')}`).not.toBe(0);
      }
    }
    expect(existsSync(env.SAC_HOME!)).toBe(false);
  });

  it('lists agents with their state, and finds them by capability', async () => {
    const env = testEnv();
    await runSac(['agents', 'new', 'a-one'], { env });
    withAgent(env, 'full-agent');
    const bad = join(env.SAC_HOME!, 'agents', 'z-bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'spec.yaml'), MANY_FAULTS);
    const r = await runSac(['--json', 'agents', 'list'], { env });
    expect(r.code).toBe(0);
    const { agents } = JSON.parse(r.stdout) as {
      agents: { name: string; state: string; runtime: string | null }[];
    };
    expect(agents.map((a) => [a.name, a.state])).toEqual([
      ['a-one', 'stopped'],
      ['full-agent', 'stopped'],
      ['z-bad', 'invalid'],
    ]);
    const text = await runSac(['agents', 'list'], { env });
    expect(text.stdout).toMatch(/^NAME\s+SCOPE\s+STATE\s+RUNTIME\s+MODEL\s+SPEC/);
    const quiet = await runSac(['agents', 'list', '-q'], { env });
    expect(quiet.stdout).toBe('a-one\nfull-agent\nz-bad\n');
    const found = await runSac(['--json', 'agents', 'find', 'REFERENCE'], { env });
    expect(
      (JSON.parse(found.stdout) as { agents: { name: string }[] }).agents.map((a) => a.name),
    ).toEqual(['full-agent']);
  });

  it('sees a changed spec on the next list (the cache is keyed by file identity)', async () => {
    const env = testEnv();
    const dir = withAgent(env, 'changing', 'minimal-agent');
    const first = JSON.parse((await runSac(['--json', 'agents', 'list'], { env })).stdout) as {
      agents: { model: string }[];
    };
    writeFileSync(
      join(dir, 'spec.yaml'),
      'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n  claude:\n    model: opus\n',
    );
    const second = JSON.parse((await runSac(['--json', 'agents', 'list'], { env })).stdout) as {
      agents: { model: string }[];
    };
    expect(first.agents[0]!.model).not.toBe('opus');
    expect(second.agents[0]!.model).toBe('opus');
  });

  it('reports a name defined in two scopes, and --scope chooses', async () => {
    const env = testEnv();
    const project = tempDir('sac-proj-');
    mkdirSync(join(project, '.git'));
    const pdir = join(project, '.scitex/agent-container/agents/twin');
    mkdirSync(pdir, { recursive: true });
    cpSync(join(REPO, 'examples/agents/minimal-agent/spec.yaml'), join(pdir, 'spec.yaml'));
    withAgent(env, 'twin', 'minimal-agent');
    const r = await runSac(['agents', 'explain', 'twin'], { env, cwd: project });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(pdir);
    expect(r.stderr).toContain(join(env.SAC_HOME!, 'agents/twin'));
    const chosen = await runSac(['--json', '--scope', 'project', 'agents', 'explain', 'twin'], {
      env,
      cwd: project,
    });
    expect(chosen.code).toBe(0);
    expect((JSON.parse(chosen.stdout) as { scope: string }).scope).toBe('project');
    expect(readdirSync(join(project, '.scitex/agent-container'))).toEqual(['agents']);
  });
});
