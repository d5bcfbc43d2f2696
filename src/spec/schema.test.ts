import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderDocs, DOCS_FILE } from '../../scripts/gen-spec-docs.ts';
import { renderSchema, SCHEMA_FILE } from '../../scripts/gen-json-schema.ts';
import { PROVIDER_REGISTRY } from '../plan/providers.ts';
import {
  agentSpecFields,
  AgentSpecSchema,
  type AgentSpec,
  ignoredFieldPaths,
  PROVIDER_NAMES,
} from './schema.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'examples', 'agents');

/** Step 3 of the original README, as printed there (the contract). */
const README_HELLO_AGENT = `# ~/.scitex/agent-container/agents/hello-agent-1/spec.yaml
apiVersion: scitex-agent-container/v3
kind: Agent

spec:
  runtime: apptainer

  apptainer:
    image: ~/.scitex/agent-container/containers/sac-base.sif

  claude:
    model: haiku
    flags:
      - --dangerously-skip-permissions

  startup_prompts:
    - "Reply with the string 'Hello! I am hello-agent-1' and nothing else."

  health:
    enabled: true
    interval: 60
    method: sdk-alive

  restart:
    policy: never
`;

const BASE = { apiVersion: 'scitex-agent-container/v3', kind: 'Agent' } as const;

function ok(input: unknown): AgentSpec {
  const r = AgentSpecSchema.safeParse(input);
  if (!r.success) throw new Error(JSON.stringify(r.error.issues, null, 2));
  return r.data;
}

function issues(input: unknown): { code: string; path: PropertyKey[]; message: string }[] {
  const r = AgentSpecSchema.safeParse(input);
  expect(r.success).toBe(false);
  return r.success ? [] : r.error.issues;
}

const withSpec = (spec: Record<string, unknown>): unknown => ({ ...BASE, spec });

describe('AgentSpecSchema', () => {
  it('loads the original README hello-agent spec', () => {
    const doc = ok(parse(README_HELLO_AGENT));
    expect(doc.spec.runtime).toBe('apptainer');
    expect(doc.spec.apptainer.image).toBe('~/.scitex/agent-container/containers/sac-base.sif');
    expect(doc.spec.claude.model).toBe('haiku');
    expect(doc.spec.claude.flags).toEqual(['--dangerously-skip-permissions']);
    expect(doc.spec.health).toMatchObject({ enabled: true, interval: 60, timeout: 5 });
    expect(doc.spec.restart.policy).toBe('never');
  });

  it('ships the README hello-agent spec verbatim as examples/agents/hello-agent', () => {
    expect(readFileSync(join(EXAMPLES, 'hello-agent', 'spec.yaml'), 'utf8')).toBe(
      README_HELLO_AGENT,
    );
  });

  it('loads every example', () => {
    const names = readdirSync(EXAMPLES);
    expect(names).toEqual(
      expect.arrayContaining([
        'hello-agent',
        'hello-bwrap',
        'minimal-agent',
        'full-agent',
        'deepseek-agent',
      ]),
    );
    for (const name of names) {
      const text = readFileSync(join(EXAMPLES, name, 'spec.yaml'), 'utf8');
      expect(() => ok(parse(text)), name).not.toThrow();
      if (name !== 'hello-agent') {
        expect(text.split('\n')[0], name).toBe(
          '# yaml-language-server: $schema=../../../schema/agent-spec.schema.json',
        );
      }
    }
  });

  it('writes every accepted field in full-agent except proxy and hosts', () => {
    const raw = parse(readFileSync(join(EXAMPLES, 'full-agent', 'spec.yaml'), 'utf8')) as unknown;
    const has = (path: string): boolean => {
      let cur: unknown = raw;
      for (const seg of path.split('.')) {
        if (cur === null || typeof cur !== 'object' || !(seg in cur)) return false;
        cur = (cur as Record<string, unknown>)[seg];
      }
      return true;
    };
    const missing = agentSpecFields()
      .map((f) => f.path)
      // list items, map values, sub-keys of ignored blocks and the two exclusive keys
      .filter((p) => !p.includes('[]') && !p.includes('*'))
      .filter((p) => ![...ignoredFieldPaths().keys()].some((i) => p.startsWith(`${i}.`)))
      .filter((p) => !p.startsWith('spec.proxy') && p !== 'spec.hosts')
      .filter((p) => !p.startsWith('spec.claude.provider.'))
      .filter((p) => !has(p));
    expect(missing).toEqual([]);
  });

  it('resolves every nested default for a spec that writes nothing', () => {
    const doc = ok(BASE);
    expect(doc.metadata.labels).toEqual({});
    expect(doc.spec.restart).toEqual({
      policy: 'never',
      max_retries: 3,
      backoff: { initial: 30, max: 300, multiplier: 2 },
      prune_on_stop: false,
    });
    expect(doc.spec.health).toEqual({
      enabled: false,
      interval: 30,
      timeout: 5,
      method: 'sdk-alive',
      stall_after: null,
      on_stall: 'report',
    });
    expect(doc.spec.a2a).toEqual({ host: '127.0.0.1', port: 'auto' });
    expect(doc.spec.autonomous).toEqual({
      enabled: false,
      drive_until: 'DONE',
      max_turns: 50,
      idle_kick_after_s: 120,
      kick_text: 'Continue. Print DONE when finished.',
    });
    expect(doc.spec.claude).toEqual({
      model: 'sonnet',
      flags: [],
      raw_options: {},
      session: 'fresh',
      resume_id: '',
      provider: null,
    });
    expect(doc.spec.apptainer).toMatchObject({
      image: '',
      container_workdir: '/work',
      tmpfs_size: '2G',
      overlay_create_if_missing: true,
      nv: false,
      rocm: false,
      relaxed: false,
      fakeroot: false,
    });
    expect(doc.spec).toMatchObject({
      residency: 'resident',
      workdir: null,
      to_home: './to_home',
      mounts: [],
      env: {},
      sandbox: { network: 'host' },
      user: '',
      harness: 'anthropic',
      startup_commands: [],
      startup_prompts: [],
    });
    expect(doc.spec.runtime).toBeUndefined();
    // ignored keys get no defaults: they are absent unless written
    expect(doc.spec.watchdog).toBeUndefined();
    expect(doc.spec.claude.account).toBeUndefined();
  });

  it('resolves defaults inside a partly written block', () => {
    const doc = ok(withSpec({ restart: { policy: 'always', backoff: { max: 60 } } }));
    expect(doc.spec.restart.backoff).toEqual({ initial: 30, max: 60, multiplier: 2 });
    expect(doc.spec.restart.max_retries).toBe(3);
  });

  it.each([
    [{ ...BASE, spek: {} }, []],
    [withSpec({ imag: 'x' }), ['spec']],
    [withSpec({ restart: { backoff: { intial: 1 } } }), ['spec', 'restart', 'backoff']],
    [withSpec({ claude: { modle: 'haiku' } }), ['spec', 'claude']],
    [
      withSpec({ apptainer: { binds: [{ src: '/a', dst: '/b', opts: 'x' }] } }),
      ['spec', 'apptainer', 'binds', 0],
    ],
    [{ ...BASE, metadata: { labels: {}, annotations: {} } }, ['metadata']],
    [withSpec({ watchdog: { enable: true } }), ['spec', 'watchdog']],
  ])('rejects an unknown key (%#)', (input, path) => {
    const found = issues(input).filter((i) => i.code === 'unrecognized_keys');
    expect(found.map((i) => i.path)).toContainEqual(path);
  });

  it('accepts the free-form maps', () => {
    const doc = ok({
      ...BASE,
      metadata: { labels: { role: 'worker', cardinality: 1 } },
      spec: {
        extensions: { anything: { goes: [1, 2] } },
        claude: { raw_options: { maxTurns: 3 } },
        mcp_servers: { fs: { command: 'npx', args: ['-y', 'x'], futureField: true } },
      },
    });
    expect(doc.metadata.labels).toEqual({ role: 'worker', cardinality: '1' });
    expect(doc.spec.mcp_servers.fs).toMatchObject({ command: 'npx', futureField: true });
  });

  it('requires apiVersion v3 and a known kind', () => {
    expect(issues({ ...BASE, apiVersion: 'cld-agent/v1' })[0]?.message).toBe(
      "expected 'scitex-agent-container/v3', got 'cld-agent/v1'",
    );
    expect(issues({ ...BASE, kind: 'Pod' })[0]?.path).toEqual(['kind']);
    expect(issues({ kind: 'Agent' })[0]?.path).toEqual(['apiVersion']);
  });

  it.each([
    ['new', 'fresh'],
    ['new-session', 'fresh'],
    [null, 'fresh'],
    ['continue-or-new', 'continue'],
    ['continue', 'continue'],
    ['resume', 'resume'],
  ])('normalises claude.session %s to %s', (written, effective) => {
    expect(ok(withSpec({ claude: { session: written } })).spec.claude.session).toBe(effective);
  });

  it('lets spec.session win over claude.session', () => {
    const doc = ok(withSpec({ session: 'new', claude: { session: 'continue' } }));
    expect(doc.spec.claude.session).toBe('fresh');
  });

  it('folds the deprecated spec.provider alias into harness', () => {
    expect(ok(withSpec({ provider: 'openai' })).spec.harness).toBe('openai');
    expect(ok(withSpec({ harness: 'codex', provider: null })).spec.harness).toBe('codex');
    expect(ok(withSpec({ harness: '' })).spec.harness).toBe('anthropic');
  });

  it("treats claude.model '' as sonnet", () => {
    expect(ok(withSpec({ claude: { model: '' } })).spec.claude.model).toBe('sonnet');
  });

  it('takes a registered provider name or {base_url, auth_token_env}', () => {
    expect(ok(withSpec({ claude: { provider: 'deepseek' } })).spec.claude.provider).toBe(
      'deepseek',
    );
    const custom = { base_url: 'https://llm.example.org/anthropic', auth_token_env: 'MY_KEY' };
    expect(ok(withSpec({ claude: { provider: custom } })).spec.claude.provider).toEqual(custom);
    issues(withSpec({ claude: { provider: 'openrouter' } }));
    issues(withSpec({ claude: { provider: { base_url: 'https://x.org' } } }));
    issues(withSpec({ claude: { provider: { base_url: 'ftp://x.org', auth_token_env: 'K' } } }));
    issues(
      withSpec({ claude: { provider: { base_url: 'https://x.org', auth_token_env: 'MY-KEY' } } }),
    );
  });

  it('knows the same provider names as the relay registry', () => {
    expect([...PROVIDER_NAMES].sort()).toEqual(Object.keys(PROVIDER_REGISTRY).sort());
  });

  it('takes a2a.port auto, a port, or null', () => {
    expect(ok(withSpec({ a2a: { port: 19001 } })).spec.a2a.port).toBe(19001);
    expect(ok(withSpec({ a2a: { port: null } })).spec.a2a.port).toBeNull();
    issues(withSpec({ a2a: { port: 0 } }));
    issues(withSpec({ a2a: { port: 70000 } }));
    issues(withSpec({ a2a: { port: 'random' } }));
  });

  it('checks mount syntax and normalises legacy bind objects', () => {
    const doc = ok(
      withSpec({
        mounts: ['~/data:/data:ro', '$HOME/x:/x'],
        apptainer: {
          binds: [
            { src: '/s', dst: '/d', mode: 'ro' },
            { src: '/t', dst: '/e' },
          ],
        },
      }),
    );
    expect(doc.spec.apptainer.binds).toEqual(['/s:/d:ro', '/t:/e']);
    expect(issues(withSpec({ mounts: ['/data'] }))[0]?.message).toBe(
      "expected host:container[:ro|rw] with an absolute container path, got '/data'",
    );
    issues(withSpec({ mounts: ['/a:relative'] }));
    issues(withSpec({ mounts: ['/a:/b:rx'] }));
    issues(withSpec({ apptainer: { binds: [{ src: '/a', dst: 'rel' }] } }));
  });

  it('checks env names and turns scalar values into strings', () => {
    const doc = ok(withSpec({ env: { PORT: 8080, DEBUG: true, NAME: 'x' } }));
    expect(doc.spec.env).toEqual({ PORT: '8080', DEBUG: 'true', NAME: 'x' });
    expect(issues(withSpec({ env: { '1BAD': 'x' } }))[0]?.path).toEqual(['spec', 'env', '1BAD']);
    issues(withSpec({ env: { 'A-B': 'x' } }));
  });

  it('rejects bare-string startup_commands with a hint', () => {
    const [issue] = issues(withSpec({ startup_commands: ['echo hi'] }));
    expect(issue?.path).toEqual(['spec', 'startup_commands', 0]);
    expect(issue?.message).toContain('bare strings are not accepted');
    expect(
      ok(withSpec({ startup_commands: [{ command: 'echo hi' }] })).spec.startup_commands,
    ).toEqual([{ delay: 0, command: 'echo hi' }]);
    issues(withSpec({ startup_commands: [{ delay: -1, command: 'x' }] }));
  });

  it('rejects invalid listen entries instead of dropping them', () => {
    expect(issues(withSpec({ listen: [{ proto: 'tcp' }] }))[0]?.path).toEqual([
      'spec',
      'listen',
      0,
      'port',
    ]);
    expect(issues(withSpec({ listen: [{ proto: 'unix' }] }))[0]?.path).toEqual([
      'spec',
      'listen',
      0,
      'path',
    ]);
    expect(ok(withSpec({ listen: [{ port: 80 }] })).spec.listen).toEqual([
      { port: 80, proto: 'tcp' },
    ]);
  });

  it('checks MCP server entries', () => {
    ok(withSpec({ mcp_servers: { web: { type: 'http', url: 'http://127.0.0.1:9/mcp' } } }));
    expect(issues(withSpec({ mcp_servers: { a: { url: 'http://x' } } }))[0]?.message).toContain(
      'type: http',
    );
    issues(withSpec({ mcp_servers: { a: { type: 'sse' } } }));
    issues(withSpec({ mcp_servers: { a: {} } }));
  });

  it('checks spec.user shapes', () => {
    for (const user of ['', 'host', '1000', '1000:1000']) ok(withSpec({ user }));
    for (const user of ['alice', '1000:', ':1000', 'host:1']) issues(withSpec({ user }));
  });

  it('checks resume_id is a UUID when set', () => {
    ok(withSpec({ claude: { resume_id: '123e4567-e89b-12d3-a456-426614174000' } }));
    issues(withSpec({ claude: { resume_id: 'not-a-uuid' } }));
  });

  it('accepts the original legacy runtime values', () => {
    for (const runtime of ['', 'tui', 'claude-agent-sdk', 'apptainer', 'bwrap', 'host']) {
      ok(withSpec({ runtime }));
    }
    expect(issues(withSpec({ runtime: 'docker' }))[0]?.message).toBe(
      "expected bwrap, apptainer or host, got 'docker'",
    );
  });

  it('accepts the AgentProxy shape', () => {
    const doc = ok({
      ...BASE,
      kind: 'AgentProxy',
      spec: { proxy: { upstream: 'http://127.0.0.1:9000' } },
    });
    expect(doc.spec.proxy).toEqual({
      upstream: 'http://127.0.0.1:9000',
      trust: 'untrusted',
      redact: [],
      timeout_s: 30,
    });
    issues({ ...BASE, kind: 'AgentProxy', spec: { proxy: { upstream: 'tcp://x' } } });
  });
});

describe('ignoredFieldPaths', () => {
  it('covers every key sac accepts but does not implement', () => {
    const ignored = ignoredFieldPaths();
    const expected = [
      'spec.engines',
      'spec.access',
      'spec.python-venv',
      'spec.env-file',
      'spec.multiplexer',
      'spec.host',
      'spec.hosts',
      'spec.screen',
      'spec.startup',
      'spec.watchdog',
      'spec.context_management',
      'spec.telegram',
      'spec.comms',
      'spec.lineage',
      'spec.exclude_hooks',
      'spec.exclude_skills',
      'spec.to_home_layers',
      'spec.container',
      'spec.listen',
      'spec.claude.channels',
      'spec.claude.auto_accept',
      'spec.claude.account',
      'spec.claude.credentials_file',
      'spec.claude.credentials_files',
      'spec.claude.continue_max_age_minutes',
      'spec.apptainer.post',
      'spec.apptainer.environment',
      'spec.apptainer.def_file',
      'spec.apptainer.nested_build',
      'spec.apptainer.jail',
      'spec.a2a.handler',
      'spec.hooks.on_compact',
      'spec.hooks.on_diff',
    ];
    expect([...ignored.keys()].sort()).toEqual([...expected].sort());
    for (const reason of ignored.values()) expect(reason).toMatch(/^\S.{5,}$/);
  });

  it('names only keys that exist in the schema', () => {
    const paths = new Set(agentSpecFields().map((f) => f.path));
    for (const key of ignoredFieldPaths().keys()) expect(paths.has(key), key).toBe(true);
  });

  it('does not mark implemented keys', () => {
    const ignored = ignoredFieldPaths();
    for (const key of [
      'spec.mounts',
      'spec.env',
      'spec.claude.model',
      'spec.apptainer.binds',
      'spec.hooks.pre_start',
    ]) {
      expect(ignored.has(key), key).toBe(false);
    }
  });
});

describe('field docs', () => {
  it('describes every field, with its default where it has one', () => {
    for (const f of agentSpecFields()) {
      expect(f.description, f.path).not.toBe('');
    }
    const byPath = new Map(agentSpecFields().map((f) => [f.path, f]));
    expect(byPath.get('spec.restart.backoff.initial')?.default).toBe(30);
    expect(byPath.get('spec.env')?.default).toEqual({});
    expect(byPath.get('spec.apptainer.binds')?.default).toEqual([]);
    expect(byPath.get('spec.claude.session')?.default).toBe('fresh');
  });
});

describe('generated files', () => {
  it('schema/agent-spec.schema.json matches the schema', () => {
    const committed: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(committed).toEqual(JSON.parse(renderSchema()));
  });

  it('docs/spec-reference.md matches the schema', async () => {
    const current = readFileSync(DOCS_FILE, 'utf8');
    expect(await renderDocs(current)).toBe(current);
  });
});
