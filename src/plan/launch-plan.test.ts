import { describe, expect, it } from 'vitest';
import { parseSpecText } from '../spec/parse.ts';
import { planLaunch } from './launch-plan.ts';
import { relayDirName } from '../supervisor/sockets.ts';

const ref = {
  name: 'a1',
  scope: 'user' as const,
  specPath: '/agents/a1/spec.yaml',
  agentDir: '/agents/a1',
  runtimeDir: '/rt/a1',
};

function plan(body: string, uid = 1000, env: Record<string, string> = { HOME: '/home/op' }) {
  const r = parseSpecText(
    `apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:${body ? `\n${body}` : ' {}\n'}`,
    't.yaml',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return planLaunch(ref, r.spec, { uid, gid: uid, uidRange: [61000, 61999], env });
}

describe('planLaunch', () => {
  it('defaults to bwrap with the agent home, workdir and relay dir mounted', () => {
    const p = plan('  startup_prompts: [hi]\n');
    expect(p.runtime).toMatchObject({ name: 'bwrap', isolated: true });
    expect(p.runtime.reason).toMatch(/image/);
    expect(p.mounts).toEqual([
      { host: '/rt/a1/home', container: '/home/agent', mode: 'rw', origin: 'home' },
      { host: '/rt/a1/work', container: '/work', mode: 'rw', origin: 'workdir' },
      expect.objectContaining({
        host: `/tmp/sac-1000/${relayDirName('a1', '/rt/a1')}`,
        container: '/run/sac',
        mode: 'ro',
      }),
    ]);
    expect(p.toHome).toBe('/agents/a1/to_home');
    expect(p.turns.startupPrompts).toBe(1);
    expect(p.network.mode).toBe('host');
    expect(p.notes.join()).toMatch(/loopback services/);
  });

  it('chooses apptainer when an image is named, and uses its container_workdir', () => {
    const p = plan('  apptainer:\n    image: /x.sif\n    container_workdir: /proj\n');
    expect(p.runtime.name).toBe('apptainer');
    expect(p.workdir.sandbox).toBe('/proj');
    expect(p.apptainerImage).toBe('/x.sif');
  });

  it('resolves mounts (~, $VAR, relative) and merges apptainer.binds', () => {
    const p = plan(
      '  mounts:\n    - ~/data:/data:ro\n    - $PROJ/out:/out\n  apptainer:\n    binds:\n      - ./rel:/rel:rw\n',
      1000,
      {
        HOME: '/home/op',
        PROJ: '/p',
      },
    );
    const extra = p.mounts.filter((m) => m.origin.startsWith('spec.'));
    expect(extra.map((m) => [m.host, m.container, m.mode])).toEqual([
      ['/home/op/data', '/data', 'ro'],
      ['/p/out', '/out', 'rw'],
      ['/agents/a1/rel', '/rel', 'rw'],
    ]);
  });

  it('lists environment names, never values', () => {
    const p = plan('  env:\n    SECRET_THING: hunter2\n');
    expect(p.env.fromSpec).toEqual(['SECRET_THING']);
    expect(p.env.names).toContain('ANTHROPIC_BASE_URL');
    expect(JSON.stringify(p)).not.toContain('hunter2');
  });

  it('says who the agent runs as', () => {
    expect(plan('').identity).toMatchObject({ operator: 'user', runsAs: '1000:1000' });
    expect(plan('', 0).identity).toMatchObject({
      operator: 'root',
      runsAs: 'one uid from 61000-61999',
    });
    expect(plan("  user: '5000:5001'\n", 0).identity.runsAs).toBe('5000:5001');
  });

  it('is loud about the host runtime', () => {
    const p = plan('  runtime: host\n');
    expect(p.runtime.isolated).toBe(false);
    expect(p.mounts).toEqual([]);
    expect(p.notes[0]).toMatch(/NO ISOLATION/);
  });

  it('resolves providers to endpoint and token variable name', () => {
    expect(plan('  claude:\n    provider: deepseek\n').model.provider).toMatchObject({
      name: 'deepseek',
      tokenEnv: 'DEEPSEEK_API_KEY',
    });
    expect(
      plan('  claude:\n    provider: {base_url: "http://127.0.0.1:9", auth_token_env: MY_KEY}\n')
        .model.provider,
    ).toEqual({ name: 'custom', baseUrl: 'http://127.0.0.1:9', tokenEnv: 'MY_KEY' });
  });
});
