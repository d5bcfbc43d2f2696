import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  checkRules,
  effectiveRuntime,
  mergedEnv,
  mergedMounts,
  providerIsActive,
  RULE_CODES,
  type RuleIssue,
} from './rules.ts';
import { type AgentSpec, AgentSpecSchema } from './schema.ts';

const HEAD = 'apiVersion: scitex-agent-container/v3\n';

/** Parse YAML the way the loader does and return the parsed spec with its raw form. */
function load(yamlText: string): { doc: AgentSpec; raw: unknown } {
  const raw: unknown = parse(HEAD + yamlText);
  const r = AgentSpecSchema.safeParse(raw);
  if (!r.success) throw new Error(JSON.stringify(r.error.issues, null, 2));
  return { doc: r.data, raw };
}

function rules(yamlText: string): RuleIssue[] {
  const { doc, raw } = load(yamlText);
  return checkRules(doc, raw);
}

const codes = (yamlText: string): string[] => rules(yamlText).map((i) => i.code);

function only(yamlText: string, code: string): RuleIssue {
  const found = rules(yamlText).filter((i) => i.code === code);
  expect(found, code).toHaveLength(1);
  return found[0]!;
}

describe('checkRules', () => {
  it('finds nothing in a plain agent', () => {
    expect(rules('kind: Agent\nspec:\n  startup_prompts: [hi]\n')).toEqual([]);
  });

  describe('kinds', () => {
    it('refuses spec.proxy on kind Agent', () => {
      const i = only('kind: Agent\nspec:\n  proxy: {upstream: "http://x"}\n', 'proxy_on_agent');
      expect(i).toMatchObject({ severity: 'error', path: ['spec', 'proxy'] });
    });

    it('requires spec.proxy on kind AgentProxy', () => {
      expect(only('kind: AgentProxy\nspec: {}\n', 'proxy_missing').path).toEqual(['spec']);
      expect(only('kind: AgentProxy\n', 'proxy_missing').path).toEqual(['kind']);
    });

    it('forbids written claude and startup blocks on AgentProxy, not their defaults', () => {
      const proxy = 'kind: AgentProxy\nspec:\n  proxy: {upstream: "http://127.0.0.1:9000"}\n';
      expect(rules(proxy)).toEqual([]);
      const found = rules(
        `${proxy}  claude: {model: haiku}\n  startup_prompts: [hi]\n  startup_commands: [{command: x}]\n  engines: {a: {model: x}}\n`,
      ).filter((i) => i.code === 'forbidden_on_proxy');
      expect(found.map((i) => i.path)).toEqual([
        ['spec', 'claude'],
        ['spec', 'engines'],
        ['spec', 'startup_prompts'],
        ['spec', 'startup_commands'],
      ]);
      // written but empty: the original let these through
      expect(codes(`${proxy}  startup_prompts: []\n  claude: {}\n`)).toEqual([]);
    });

    it('refuses one-shot on AgentProxy', () => {
      const i = only(
        'kind: AgentProxy\nspec:\n  residency: one-shot\n  proxy: {upstream: "http://x"}\n',
        'one_shot_on_proxy',
      );
      expect(i.path).toEqual(['spec', 'residency']);
    });
  });

  it('requires startup_prompts for one-shot agents', () => {
    expect(
      only('kind: Agent\nspec:\n  residency: one-shot\n', 'one_shot_without_prompts').severity,
    ).toBe('error');
    expect(codes('kind: Agent\nspec:\n  residency: one-shot\n  startup_prompts: [go]\n')).toEqual(
      [],
    );
  });

  it('allows autonomous with one-shot and warns without prompts', () => {
    expect(
      codes(
        'kind: Agent\nspec:\n  residency: one-shot\n  startup_prompts: [go]\n  autonomous: {enabled: true}\n',
      ),
    ).toEqual([]);
    expect(
      only('kind: Agent\nspec:\n  autonomous: {enabled: true}\n', 'autonomous_without_prompts')
        .severity,
    ).toBe('warning');
  });

  it('refuses host together with hosts', () => {
    const i = only('kind: Agent\nspec:\n  host: a\n  hosts: all\n', 'host_and_hosts');
    expect(i).toMatchObject({ severity: 'error', path: ['spec', 'hosts'] });
    expect(codes('kind: Agent\nspec:\n  host: a\n')).toEqual([]);
  });

  describe('claude', () => {
    it('refuses a provider together with an account', () => {
      const i = only(
        'kind: Agent\nspec:\n  claude: {provider: deepseek, model: deepseek-chat, account: alice}\n',
        'provider_and_account',
      );
      expect(i.path).toEqual(['spec', 'claude', 'account']);
      expect(
        codes('kind: Agent\nspec:\n  claude: {provider: anthropic, account: alice}\n'),
      ).not.toContain('provider_and_account');
    });

    it.each([
      'haiku',
      'opus[1m]',
      'claude-opus-4-7',
      'claude-haiku-4-5-20251001',
      'claude-opus-4-7[1m]',
      'inherit',
      'default',
    ])('accepts the model %s', (model) => {
      expect(codes(`kind: Agent\nspec:\n  claude: {model: "${model}"}\n`)).toEqual([]);
    });

    it.each(['claude-opus[1m]', 'gpt-4o', 'Sonnet', 'deepseek-chat'])(
      'refuses the model %s without a provider',
      (model) => {
        const i = only(`kind: Agent\nspec:\n  claude: {model: "${model}"}\n`, 'invalid_model');
        expect(i.path).toEqual(['spec', 'claude', 'model']);
      },
    );

    it('accepts any model id with a provider, but not with provider anthropic', () => {
      expect(
        codes('kind: Agent\nspec:\n  claude: {model: deepseek-chat, provider: deepseek}\n'),
      ).toEqual([]);
      expect(
        codes(
          'kind: Agent\nspec:\n  claude:\n    model: my-model\n    provider: {base_url: "https://x.org", auth_token_env: K}\n',
        ),
      ).toEqual([]);
      expect(
        codes('kind: Agent\nspec:\n  claude: {model: deepseek-chat, provider: anthropic}\n'),
      ).toEqual(['invalid_model']);
    });

    it('warns about resume without a resume_id', () => {
      expect(
        only('kind: Agent\nspec:\n  claude: {session: resume}\n', 'resume_without_id').severity,
      ).toBe('warning');
    });

    it('warns when spec.session and claude.session disagree', () => {
      const i = only(
        'kind: Agent\nspec:\n  session: new\n  claude: {session: continue}\n',
        'session_shortcut',
      );
      expect(i.message).toContain('spec.session wins');
      expect(codes('kind: Agent\nspec:\n  session: new\n  claude: {session: fresh}\n')).toEqual([]);
    });
  });

  describe('harness', () => {
    it('refuses harness and provider that disagree', () => {
      const i = only(
        'kind: Agent\nspec:\n  harness: anthropic\n  provider: openai\n',
        'harness_conflict',
      );
      expect(i).toMatchObject({ severity: 'error', path: ['spec', 'provider'] });
    });

    it('accepts harness and provider that agree, and ignores empty ones', () => {
      expect(codes('kind: Agent\nspec:\n  harness: anthropic\n  provider: anthropic\n')).toEqual(
        [],
      );
      expect(codes('kind: Agent\nspec:\n  harness: anthropic\n  provider:\n')).toEqual([]);
    });

    it('warns that other harnesses cannot be started', () => {
      const i = only('kind: Agent\nspec:\n  harness: openai\n', 'harness_unsupported');
      expect(i).toMatchObject({ severity: 'warning', path: ['spec', 'harness'] });
      expect(i.message).toContain('cannot be started by sac');
    });

    it('warns about the deprecated alias', () => {
      expect(codes('kind: Agent\nspec:\n  provider: anthropic\n')).toEqual(['harness_alias']);
    });
  });

  describe('runtime', () => {
    it.each(['tui', 'claude-agent-sdk'] as const)(
      'maps runtime %s to apptainer with a warning',
      (rt) => {
        const i = only(`kind: Agent\nspec:\n  runtime: ${rt}\n`, 'legacy_runtime');
        expect(i).toMatchObject({
          severity: 'warning',
          hint: 'set runtime: bwrap to run without apptainer',
        });
        if (rt === 'tui') expect(i.message).toContain('interactive driver is not available yet');
      },
    );

    it('warns about apptainer settings on another runtime', () => {
      const i = only(
        'kind: Agent\nspec:\n  runtime: bwrap\n  apptainer: {image: x.sif, nv: true}\n',
        'apptainer_unused',
      );
      expect(i.path).toEqual(['spec', 'apptainer', 'image']);
      expect(i.message).toContain('image, nv');
      expect(
        codes(
          'kind: Agent\nspec:\n  runtime: bwrap\n  apptainer: {binds: ["/a:/b"], env: {A: b}}\n',
        ),
      ).toEqual([]);
    });

    it('warns about nv together with rocm', () => {
      expect(
        only('kind: Agent\nspec:\n  apptainer: {image: x.sif, nv: true, rocm: true}\n', 'gpu_both')
          .severity,
      ).toBe('warning');
    });
  });

  describe('mounts', () => {
    it('reports one container path with two sources, naming both entries', () => {
      const i = only(
        'kind: Agent\nspec:\n  mounts: ["/a:/data:ro"]\n  apptainer: {binds: ["/b:/data/"]}\n',
        'mount_conflict',
      );
      expect(i).toMatchObject({ severity: 'error', path: ['spec', 'apptainer', 'binds', 0] });
      expect(i.message).toContain('spec.mounts[0]');
      expect(i.message).toContain('spec.apptainer.binds[0]');
    });

    it('reports one container path with two modes', () => {
      only(
        'kind: Agent\nspec:\n  mounts: ["/a:/data:ro"]\n  apptainer: {binds: [{src: /a, dst: /data, mode: rw}]}\n',
        'mount_conflict',
      );
    });

    it('reports duplicates within one list too', () => {
      expect(
        only('kind: Agent\nspec:\n  mounts: ["/a:/d", "/b:/d"]\n', 'mount_conflict').path,
      ).toEqual(['spec', 'mounts', 1]);
    });

    it('refuses mounts over sandbox-owned paths', () => {
      for (const dest of [
        '/',
        '/proc',
        '/proc/self',
        '/home/agent',
        '/home/agent/',
        '/run/sac/x',
        '/opt/sac',
      ]) {
        expect(codes(`kind: Agent\nspec:\n  mounts: ["/a:${dest}"]\n`), dest).toEqual([
          'mount_reserved',
        ]);
      }
      expect(codes('kind: Agent\nspec:\n  mounts: ["/a:/home/agent/proj"]\n')).toEqual([]);
    });
  });

  describe('env', () => {
    it('reports one variable with two values, naming both', () => {
      const i = only(
        'kind: Agent\nspec:\n  env: {A: "1"}\n  apptainer: {env: {A: 2}}\n',
        'env_conflict',
      );
      expect(i.path).toEqual(['spec', 'apptainer', 'env', 'A']);
      expect(i.message).toContain('spec.env.A');
      expect(codes('kind: Agent\nspec:\n  env: {A: "1"}\n  apptainer: {env: {A: 1}}\n')).toEqual(
        [],
      );
    });

    it('warns about variables sac manages', () => {
      const i = only(
        'kind: Agent\nspec:\n  apptainer: {env: {ANTHROPIC_API_KEY: sk}}\n',
        'env_managed',
      );
      expect(i.path).toEqual(['spec', 'apptainer', 'env', 'ANTHROPIC_API_KEY']);
    });
  });

  it('refuses backoff.initial above backoff.max', () => {
    const i = only('kind: Agent\nspec:\n  restart: {backoff: {initial: 400}}\n', 'backoff_range');
    expect(i.path).toEqual(['spec', 'restart', 'backoff', 'initial']);
    expect(codes('kind: Agent\nspec:\n  restart: {backoff: {initial: 300}}\n')).toEqual([]);
  });

  it('warns about prune_on_stop with a restarting policy', () => {
    only(
      'kind: Agent\nspec:\n  restart: {policy: always, prune_on_stop: true}\n',
      'prune_on_stop_unused',
    );
  });

  it('warns about on_stall without stall_after', () => {
    only('kind: Agent\nspec:\n  health: {on_stall: restart}\n', 'on_stall_without_stall_after');
    expect(codes('kind: Agent\nspec:\n  health: {on_stall: restart, stall_after: 60}\n')).toEqual(
      [],
    );
  });

  it('warns about an endpoint beyond loopback', () => {
    expect(
      only('kind: Agent\nspec:\n  a2a: {host: 0.0.0.0, port: 8000}\n', 'a2a_exposed').message,
    ).toContain('0.0.0.0:8000');
    expect(codes('kind: Agent\nspec:\n  a2a: {host: 0.0.0.0, port: null}\n')).toEqual([]);
    expect(codes('kind: Agent\nspec:\n  a2a: {host: 127.0.0.2, port: 8000}\n')).toEqual([]);
  });

  it('warns when workdir looks like a container path', () => {
    expect(
      only('kind: Agent\nspec:\n  workdir: /home/agent/work\n', 'workdir_container_path').severity,
    ).toBe('warning');
    only(
      'kind: Agent\nspec:\n  workdir: /work/x\n  apptainer: {binds: ["~/p:/work:rw"]}\n',
      'workdir_container_path',
    );
    expect(codes('kind: Agent\nspec:\n  workdir: ~/proj/x\n')).toEqual([]);
  });

  it('refuses uid 0', () => {
    expect(only('kind: Agent\nspec:\n  user: "0:1000"\n', 'user_root').severity).toBe('error');
    expect(codes('kind: Agent\nspec:\n  user: "1000:0"\n')).toEqual([]);
  });

  it('only returns documented codes', () => {
    const all = rules(
      'kind: AgentProxy\nspec:\n  runtime: tui\n  residency: one-shot\n  claude: {model: x}\n  host: a\n  hosts: all\n',
    );
    expect(all.length).toBeGreaterThan(3);
    for (const i of all) expect(Object.keys(RULE_CODES)).toContain(i.code);
  });
});

describe('effectiveRuntime', () => {
  const rt = (y: string): string => effectiveRuntime(load(`kind: Agent\n${y}`).doc).runtime;

  it('takes an explicit value', () => {
    expect(rt('spec: {runtime: host, apptainer: {image: x.sif}}\n')).toBe('host');
    expect(rt('spec: {runtime: bwrap}\n')).toBe('bwrap');
    expect(rt('spec: {runtime: apptainer}\n')).toBe('apptainer');
  });

  it('maps the legacy launch modes to apptainer', () => {
    expect(rt('spec: {runtime: tui}\n')).toBe('apptainer');
    expect(rt('spec: {runtime: claude-agent-sdk}\n')).toBe('apptainer');
  });

  it('derives apptainer from an image, else bwrap', () => {
    expect(rt('spec: {}\n')).toBe('bwrap');
    expect(rt('spec: {runtime: ""}\n')).toBe('bwrap');
    expect(rt('spec: {apptainer: {image: x.sif}}\n')).toBe('apptainer');
    expect(rt('spec: {container: {image: docker://alpine}}\n')).toBe('apptainer');
    expect(rt('spec: {container: {runtime: none, image: scitex-agent-container:latest}}\n')).toBe(
      'bwrap',
    );
  });

  it('says why', () => {
    expect(effectiveRuntime(load('kind: Agent\nspec: {}\n').doc).reason).toBe(
      'the spec names no image',
    );
  });
});

describe('mergedMounts and mergedEnv', () => {
  it('merges spec.mounts then apptainer.binds, identical repeats once, mode rw by default', () => {
    const { doc } = load(
      'kind: Agent\nspec:\n  mounts: ["~/a:/a:ro", "/b:/b/"]\n  apptainer:\n    binds: ["~/a:/a:ro", {src: /c, dst: /c}]\n',
    );
    expect(mergedMounts(doc)).toEqual([
      {
        host: '~/a',
        container: '/a',
        mode: 'ro',
        declaredAt: ['spec.mounts[0]', 'spec.apptainer.binds[0]'],
      },
      { host: '/b', container: '/b', mode: 'rw', declaredAt: ['spec.mounts[1]'] },
      { host: '/c', container: '/c', mode: 'rw', declaredAt: ['spec.apptainer.binds[1]'] },
    ]);
  });

  it('merges spec.env then apptainer.env', () => {
    const { doc } = load(
      'kind: Agent\nspec:\n  env: {A: x, B: "1"}\n  apptainer: {env: {B: 1, C: y}}\n',
    );
    expect(mergedEnv(doc)).toEqual([
      { name: 'A', value: 'x', declaredAt: ['spec.env.A'] },
      { name: 'B', value: '1', declaredAt: ['spec.env.B', 'spec.apptainer.env.B'] },
      { name: 'C', value: 'y', declaredAt: ['spec.apptainer.env.C'] },
    ]);
  });
});

describe('providerIsActive', () => {
  it('is false for no provider and for anthropic', () => {
    expect(providerIsActive(load('kind: Agent\n').doc)).toBe(false);
    expect(providerIsActive(load('kind: Agent\nspec: {claude: {provider: anthropic}}\n').doc)).toBe(
      false,
    );
    expect(
      providerIsActive(load('kind: Agent\nspec: {claude: {provider: mimo, model: x}}\n').doc),
    ).toBe(true);
  });
});
