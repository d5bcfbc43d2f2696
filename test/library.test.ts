/** The package's main export, as a user imports it (the built `sac` package, not src/). */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, testEnv } from './helpers.ts';

describe("import ... from 'sac'", () => {
  it('validates, checks, explains and lists agents as data', async () => {
    const sac = await import('sac');
    const env = testEnv();
    mkdirSync(join(env.SAC_HOME!, 'agents', 'hello-bwrap'), { recursive: true });
    cpSync(
      join(REPO, 'examples/agents/hello-bwrap/spec.yaml'),
      join(env.SAC_HOME!, 'agents/hello-bwrap/spec.yaml'),
    );

    const parsed = sac.parseSpecFile(join(REPO, 'examples/agents/hello-bwrap/spec.yaml'));
    expect(parsed.ok).toBe(true);

    const bad = sac.parseSpecText(
      'apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n  nope: 1\n',
      'x.yaml',
    );
    expect(bad.ok).toBe(false);
    expect(bad.issues.map(sac.formatIssue)).toEqual([
      'x.yaml:4:3  spec.nope  unknown key "nope"\n    hint: tool-specific data belongs under spec.extensions',
    ]);

    const [report] = sac.checkAgents(['hello-bwrap'], { env, cwd: env.SAC_HOME });
    expect(report).toMatchObject({ name: 'hello-bwrap', valid: true });

    const x = sac.explainAgent('hello-bwrap', { env, cwd: env.SAC_HOME });
    expect(x.plan.runtime.name).toBe('bwrap');
    expect(x.plan.home.host).toBe(join(env.SAC_HOME!, 'runtime/hello-bwrap/home'));

    const listed = await sac.listDefinedAgents({ env, cwd: env.SAC_HOME });
    expect(listed.map((a) => [a.name, a.state])).toEqual([['hello-bwrap', 'stopped']]);

    try {
      sac.resolveAgent('../escape', { env });
      expect.unreachable();
    } catch (err) {
      expect(sac.isAppError(err) && [err.code, err.exitCode]).toEqual(['NAME_INVALID', 2]);
    }
  });
});
