import { describe, expect, it } from 'vitest';
import { planLaunch } from '../plan/launch-plan.ts';
import { parseSpecText } from '../spec/parse.ts';
import type { AgentSpec } from '../spec/schema.ts';
import { readinessFindings } from './findings.ts';
import type { HostProbe, PathFact } from './host-probe.ts';

function spec(body: string): AgentSpec {
  const r = parseSpecText(
    `apiVersion: scitex-agent-container/v3\nkind: Agent\nspec:\n${body}`,
    't.yaml',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.spec;
}

const ref = {
  name: 'a1',
  scope: 'user' as const,
  specPath: '/agents/a1/spec.yaml',
  agentDir: '/agents/a1',
  runtimeDir: '/rt/a1',
};

function probe(
  over: Partial<HostProbe> = {},
  paths: Record<string, PathFact> = {},
  env: Record<string, string> = {},
): HostProbe {
  return {
    platform: 'linux',
    arch: 'x64',
    wsl: false,
    uid: 1000,
    gid: 1000,
    bins: { bwrap: '/usr/bin/bwrap', setpriv: '/usr/bin/setpriv', socat: '/usr/bin/socat' },
    usernsProblems: [],
    bwrapVersion: '0.8.0',
    apptainerVersionText: undefined,
    freeBytes: () => undefined,
    claudeBinary: '/x/claude',
    envSet: (n) => (env[n] ?? '') !== '',
    claudeLogin: undefined,
    path: (p) => paths[p] ?? { exists: false, isDir: false },
    ...over,
  };
}

function findings(body: string, host: HostProbe, uid = host.uid): string[] {
  const s = spec(body);
  const plan = planLaunch(ref, s, { uid, gid: uid, uidRange: [61000, 61999], env: {} });
  return readinessFindings(s, plan, host).map((f) => `${f.severity}:${f.code}`);
}

describe('readiness findings', () => {
  it('a bwrap agent with a credential on a capable host is ready', () => {
    expect(findings('  runtime: bwrap\n', probe({}, {}, { ANTHROPIC_API_KEY: 'k' }))).toEqual([]);
  });

  it('names a missing sandbox binary and how to install it', () => {
    const s = spec('  runtime: bwrap\n');
    const plan = planLaunch(ref, s, { uid: 1000, gid: 1000, uidRange: [61000, 61999], env: {} });
    const f = readinessFindings(s, plan, probe({ bins: {} }, {}, { ANTHROPIC_API_KEY: 'k' }));
    expect(f[0]).toMatchObject({ severity: 'blocker', code: 'runtime_missing' });
    expect(f[0]!.fix).toMatch(/apt-get install bubblewrap/);
  });

  it('never moves an apptainer spec elsewhere: missing apptainer is a blocker with the fix', () => {
    const f = findings(
      '  apptainer:\n    image: /img/x.sif\n',
      probe(
        { freeBytes: () => 64 * 2 ** 30 },
        { '/img/x.sif': { exists: true, isDir: false } },
        { ANTHROPIC_API_KEY: 'k' },
      ),
    );
    expect(f).toEqual(['blocker:runtime_missing']);
  });

  it('reports a missing image, provider token, and non-root without user namespaces', () => {
    const f = findings(
      '  runtime: apptainer\n  apptainer:\n    image: /nope.sif\n  claude:\n    provider: deepseek\n',
      probe({
        bins: { apptainer: '/usr/bin/apptainer' },
        apptainerVersionText: 'apptainer version 1.3.4',
        freeBytes: () => 64 * 2 ** 30,
      }),
    );
    expect(f).toEqual(['blocker:image_missing', 'blocker:token_missing', 'info:apptainer_version']);
    // too little room for the 2G tmpfs scratch is its own blocker
    expect(
      findings(
        '  runtime: apptainer\n  apptainer:\n    image: /img/x.sif\n',
        probe(
          {
            bins: { apptainer: '/usr/bin/apptainer' },
            apptainerVersionText: 'apptainer version 1.3.4',
            freeBytes: () => 2 ** 20,
          },
          { '/img/x.sif': { exists: true, isDir: false } },
          { ANTHROPIC_API_KEY: 'k' },
        ),
      ),
    ).toContain('blocker:tmpfs_space');
    expect(
      findings(
        '  runtime: bwrap\n',
        probe(
          { usernsProblems: ['user namespaces are disabled (user.max_user_namespaces = 0)'] },
          {},
          { ANTHROPIC_API_KEY: 'k' },
        ),
      ),
    ).toEqual(['blocker:userns_disabled']);
  });

  it('accepts a Claude login instead of ANTHROPIC_API_KEY', () => {
    expect(
      findings('  runtime: bwrap\n', probe({ claudeLogin: '/h/.claude/.credentials.json' })),
    ).toEqual([]);
  });

  it("checks mount sources, and as root the agent uid's write access to rw mounts", () => {
    const paths = {
      '/data/ro': { exists: true, isDir: true, uid: 0, gid: 0, mode: 0o755 },
      '/data/rw': { exists: true, isDir: true, uid: 0, gid: 0, mode: 0o755 },
      '/data/open': { exists: true, isDir: true, uid: 0, gid: 0, mode: 0o777 },
    };
    const body =
      '  mounts:\n    - /data/ro:/ro:ro\n    - /data/rw:/rw\n    - /data/open:/open:rw\n    - /data/gone:/gone\n';
    const env = { ANTHROPIC_API_KEY: 'k' };
    expect(findings(body, probe({ uid: 0, gid: 0 }, paths, env))).toEqual([
      'blocker:mount_missing',
      'advice:mount_not_writable',
    ]);
    expect(findings(body, probe({}, paths, env))).toEqual(['blocker:mount_missing']);
  });

  it('flags root without setpriv, network none without socat, and the host runtime', () => {
    const env = { ANTHROPIC_API_KEY: 'k' };
    expect(
      findings('  runtime: bwrap\n', probe({ uid: 0, bins: { bwrap: 'b' } }, {}, env)),
    ).toEqual(['blocker:setpriv_missing']);
    expect(
      findings('  sandbox:\n    network: none\n', probe({ bins: { bwrap: 'b' } }, {}, env)),
    ).toEqual(['blocker:socat_missing']);
    expect(findings('  runtime: host\n', probe({}, {}, env))).toEqual(['advice:no_isolation']);
  });

  it('refuses bwrap older than 0.8.0, and a Claude binary the agent uid cannot execute', () => {
    const env = { ANTHROPIC_API_KEY: 'k' };
    expect(findings('  runtime: bwrap\n', probe({ bwrapVersion: '0.7.1' }, {}, env))).toEqual([
      'blocker:runtime_too_old',
    ]);
    const locked = { '/x/claude': { exists: true, isDir: false, uid: 0, gid: 0, mode: 0o750 } };
    expect(findings('  runtime: bwrap\n', probe({}, locked, env))).toEqual([
      'blocker:claude_not_executable',
    ]);
    expect(findings('  runtime: host\n', probe({}, locked, env))).toEqual(['advice:no_isolation']);
  });

  it('refuses what sac cannot run', () => {
    const env = { ANTHROPIC_API_KEY: 'k' };
    expect(findings('  harness: openai\n', probe({}, {}, env))).toContain(
      'blocker:harness_unsupported',
    );
    expect(findings('  runtime: bwrap\n', probe({ claudeBinary: undefined }, {}, env))).toEqual([
      'blocker:claude_missing',
    ]);
    expect(findings('  runtime: host\n', probe({ platform: 'darwin' }, {}, env))).toEqual([
      'advice:no_isolation',
    ]);
    expect(findings('  runtime: bwrap\n', probe({ platform: 'darwin' }, {}, env))).toEqual([
      'blocker:runtime_unavailable',
    ]);
  });
});
