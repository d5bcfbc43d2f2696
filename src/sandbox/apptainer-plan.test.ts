/**
 * The apptainer planner against committed golden files (src/sandbox/__golden__/apptainer/*.txt):
 * argv one per line, then the spawn environment and the directories to prepare. Regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run src/sandbox/apptainer` and review the diff like code.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { API_VERSION, AgentSpecSchema } from '../spec/schema.ts';
import { buildApptainerInvocation, DEFAULT_LAUNCHER_PATH } from './apptainer-plan.ts';
import type { ApptainerInput, ApptainerInvocation, ApptainerSettings } from './apptainer-plan.ts';
import { APPTAINER_PREFLIGHT, PREFLIGHT_NAME } from './apptainer-preflight.ts';

const GOLDEN_DIR = fileURLToPath(new URL('./__golden__/apptainer/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Distinctive, and full of what a shell or apptainer would mangle: it must arrive byte for byte. */
const SECRET = `sk-ant-SECRET-7f3a$(touch /tmp/pwned)\`id\`'"\\$HOME-end`;

/** The schema's own defaults, so the goldens move when a default does. */
const DEFAULTS: ApptainerSettings = AgentSpecSchema.parse({
  apiVersion: API_VERSION,
  kind: 'Agent',
}).spec.apptainer;

const BASE: ApptainerInput = {
  apptainer: DEFAULTS,
  image: '/srv/sac/containers/sac-base.sif',
  homeDir: '/srv/sac/runtime/a1/home',
  workDir: '/srv/projects/a1',
  runDir: '/srv/sac/runtime/a1/run',
  claudeBinary: '/opt/claude-code/2.1.332/claude',
  entryScript: '/srv/sac/runtime/a1/entry.sh',
  network: 'host',
  scratchDir: '/srv/sac/runtime/a1/tmp-scratch',
  env: {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/home/agent',
    LANG: 'C.UTF-8',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:41234',
    ANTHROPIC_API_KEY: SECRET,
    MULTILINE: 'first line\nsecond line',
  },
  launcherEnv: { HOME: '/home/operator' },
  command: ['/bin/bash', '/opt/sac/entry.sh', '/opt/sac/claude', '--output-format', 'stream-json'],
};

const MOUNTS: ApptainerInput['mounts'] = [
  { host: '/data/out', container: '/mnt/out', mode: 'rw' },
  { host: '/data/reference', container: '/mnt/ref', mode: 'ro' },
  // nested under the home: its parent must exist in the host home before apptainer starts
  { host: '/srv/creds/gh-hosts.yml', container: '/home/agent/.config/gh/hosts.yml', mode: 'ro' },
  // declared before its parent on purpose: the planner orders shallow first
  { host: '/data/out-logs', container: '/mnt/out/logs', mode: 'rw' },
];

function withSettings(over: Partial<ApptainerSettings>, rest: Partial<ApptainerInput> = {}) {
  return { ...BASE, ...rest, apptainer: { ...DEFAULTS, ...over } };
}

/** The golden matrix: one file per case. */
const CASES: Record<string, ApptainerInput> = {
  'hardened-default': { ...BASE, mounts: MOUNTS },
  relaxed: withSettings({ relaxed: true }),
  fakeroot: withSettings({ fakeroot: true }),
  'relaxed-fakeroot': withSettings({ relaxed: true, fakeroot: true }),
  'overlay-dir': withSettings({ overlay: 'overlay' }, { overlayKind: 'dir' }),
  'overlay-image': withSettings(
    { overlay: '/srv/sac/runtime/a1/overlay.img', overlay_size: '2G' },
    { overlayKind: 'image' },
  ),
  'tmpfs-off': withSettings({ tmpfs_size: '' }, { scratchDir: undefined }),
  'raw-args-contain-workdir': withSettings(
    { raw_args: ['--contain', '-W', '/scratch/a1', '--pid', '--no-eval'] },
    { scratchDir: undefined },
  ),
  'raw-args-shorthand': withSettings({ raw_args: ['-Ce', '--home=/srv/other:/home/agent'] }),
  nv: withSettings({ nv: true }),
  'gpu-both': withSettings({ nv: true, rocm: true }),
  'network-none': withSettings({}, { network: 'none' }),
  'workdir-under-home': withSettings({ container_workdir: '/home/agent/project' }),
  'singularity-ce': withSettings({}, { flavour: 'singularity-ce' }),
  'remote-image': withSettings({}, { image: 'docker://ghcr.io/example/agent:1.2' }),
};

/** argv one per line (the preflight constant by name: its text is pinned by its own test). */
function render(inv: ApptainerInvocation): string {
  const arg = (a: string): string =>
    a === APPTAINER_PREFLIGHT
      ? '<APPTAINER_PREFLIGHT>'
      : /^$|[\n\r]/.test(a)
        ? JSON.stringify(a)
        : a;
  return [
    '# argv',
    ...inv.argv.map(arg),
    '# env',
    ...Object.keys(inv.env)
      .sort()
      .map((k) => `${k}=${JSON.stringify(inv.env[k])}`),
    '# prepareDirs',
    ...inv.prepareDirs,
    '',
  ].join('\n');
}

async function golden(name: string, text: string): Promise<void> {
  const file = join(GOLDEN_DIR, `${name}.txt`);
  if (UPDATE) {
    await mkdir(GOLDEN_DIR, { recursive: true });
    await writeFile(file, text);
    return;
  }
  const want = await readFile(file, 'utf8').catch(() => {
    throw new Error(
      `no golden file ${file}; create it with UPDATE_GOLDEN=1 npx vitest run src/sandbox/apptainer`,
    );
  });
  expect(text).toBe(want);
}

function build(over: Partial<ApptainerInput> = {}): ApptainerInvocation {
  return buildApptainerInvocation({ ...BASE, ...over });
}

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('buildApptainerInvocation: golden matrix', () => {
  for (const [name, input] of Object.entries(CASES)) {
    it(name, async () => {
      await golden(name, render(buildApptainerInvocation(input)));
    });
  }

  it.skipIf(UPDATE)('has no golden file without a case', async () => {
    const files = (await readdir(GOLDEN_DIR)).filter((f) => f.endsWith('.txt'));
    expect(files.map((f) => f.slice(0, -4)).sort()).toEqual(Object.keys(CASES).sort());
  });
});

describe('buildApptainerInvocation: secrets and environment', () => {
  it('no environment value appears anywhere in argv, in any case of the matrix', () => {
    for (const input of Object.values(CASES)) {
      const { argv, env } = buildApptainerInvocation(input);
      const joined = argv.join('\0');
      for (const value of Object.values(input.env).filter((v) => v !== '/home/agent')) {
        expect(joined).not.toContain(value);
      }
      expect(joined).not.toContain('SECRET');
      expect(argv.filter((a) => a === '--env' || a.startsWith('--env='))).toEqual([]);
      // ...and it does reach apptainer, as a variable, byte for byte
      const key = input.flavour === 'singularity-ce' ? 'SINGULARITYENV_' : 'APPTAINERENV_';
      expect(env[`${key}ANTHROPIC_API_KEY`]).toBe(SECRET);
    }
  });

  it('the environment is complete and closed: launcher keys plus prefixed sandbox variables', () => {
    const { env } = build();
    expect(env).toEqual({
      PATH: DEFAULT_LAUNCHER_PATH,
      HOME: '/home/operator',
      APPTAINERENV_PATH: '/usr/local/bin:/usr/bin:/bin',
      APPTAINERENV_LANG: 'C.UTF-8',
      APPTAINERENV_ANTHROPIC_BASE_URL: 'http://127.0.0.1:41234',
      APPTAINERENV_ANTHROPIC_API_KEY: SECRET,
      APPTAINERENV_MULTILINE: 'first line\nsecond line',
    });
  });

  it('HOME is set by --home, never forwarded; a different HOME is refused', () => {
    expect(build().env).not.toHaveProperty('APPTAINERENV_HOME');
    const e = thrown(() => build({ env: { HOME: '/root' } }));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.message).toContain('HOME is always /home/agent');
  });

  it.each([
    ['UID', '1000', 'never forwards UID'],
    ['PREPEND_PATH', '/x', 'prepend to PATH'],
    ['APPTAINER_BIND', '/', "apptainer's own settings"],
    ['SINGULARITYENV_X', '1', "apptainer's own settings"],
    ['BAD-NAME', '1', 'not a portable variable name'],
    ['LITERAL', 'a\\u000Ab', 'turns into a newline'],
  ])('refuses %s', (name, value, why) => {
    const e = thrown(() => build({ env: { [name]: value } }));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.message).toContain(why);
  });

  it('launcher variables outside the allow-list are a caller bug', () => {
    const launcherEnv = { APPTAINER_BIND: '/root' } as unknown as ApptainerInput['launcherEnv'];
    expect(thrown(() => build({ launcherEnv })).code).toBe('INTERNAL');
  });

  it.each([['--env', 'K=V'], ['--env=K=V'], ['--env-file', '/tmp/e']])(
    'refuses %s in raw_args',
    (...raw_args) => {
      const e = thrown(() => buildApptainerInvocation(withSettings({ raw_args })));
      expect(e.code).toBe('SPEC_INVALID');
      expect(e.message).toMatch(/--env/);
    },
  );
});

describe('buildApptainerInvocation: structure', () => {
  it('hardened: the command runs behind the preflight, strict unless fakeroot', () => {
    const tail = (inv: ApptainerInvocation): string[] =>
      inv.argv.slice(inv.argv.indexOf(BASE.image) + 1);
    expect(tail(build())).toEqual([
      '/bin/sh',
      '-c',
      APPTAINER_PREFLIGHT,
      PREFLIGHT_NAME,
      'strict',
      ...BASE.command,
    ]);
    expect(tail(buildApptainerInvocation(withSettings({ fakeroot: true })))[4]).toBe('fakeroot');
    expect(
      tail(buildApptainerInvocation(withSettings({ raw_args: ['-f'] })))[4],
      'fakeroot written in raw_args counts too',
    ).toBe('fakeroot');
    expect(tail(buildApptainerInvocation(withSettings({ relaxed: true })))).toEqual(BASE.command);
  });

  it('raw_args come verbatim, after sac flags and right before the image', () => {
    const raw_args = ['--pid', '--ipc', '--hostname', 'x y'];
    const { argv } = buildApptainerInvocation(withSettings({ raw_args }));
    const at = argv.indexOf(BASE.image);
    expect(argv.slice(at - raw_args.length, at)).toEqual(raw_args);
  });

  it('each hardening flag appears once, also when raw_args has its short form', () => {
    const { argv } = buildApptainerInvocation(withSettings({ raw_args: ['-Ce', '-f'] }));
    for (const f of ['--containall', '--cleanenv', '--fakeroot']) expect(argv).not.toContain(f);
    expect(argv).toContain('--writable-tmpfs');
  });

  it('prepareDirs: workdir and mount parents below the home, overlay upper/work, the scratch dir', () => {
    const { prepareDirs } = buildApptainerInvocation({
      ...withSettings(
        { overlay: 'ov', container_workdir: '/home/agent/src/proj' },
        { overlayKind: 'dir' },
      ),
      mounts: [
        { host: '/a', container: '/home/agent/.config/gh', mode: 'ro' },
        { host: '/b', container: '/home/agent/direct', mode: 'ro' },
        { host: '/c', container: '/mnt/c', mode: 'rw' },
      ],
    });
    expect(prepareDirs).toEqual([
      '/srv/sac/runtime/a1/home/src/proj',
      '/srv/sac/runtime/a1/home/.config',
      '/srv/projects/a1/ov/upper',
      '/srv/projects/a1/ov/work',
      '/srv/sac/runtime/a1/tmp-scratch',
    ]);
  });

  it.each([
    ['/proc/x', 'overlaps /proc'],
    ['/run/sac/model.sock', 'overlaps /run/sac'],
    ['/home/agent', 'replace the agent home'],
    ['/work', 'replace the agent home or workdir'],
    ['/', 'container root'],
    ['relative', 'not an absolute path'],
    ['/a/../b', 'not a normalised path'],
    ['/a,b', "':' or ','"],
  ])('refuses mount target %s', (container, why) => {
    const e = thrown(() => build({ mounts: [{ host: '/h', container, mode: 'ro' }] }));
    expect(e.code).toBe('SPEC_INVALID');
    expect(e.message).toContain(why);
  });

  it('refuses a duplicate mount target and a comma in a mount source', () => {
    const twice = [
      { host: '/h1', container: '/mnt/x', mode: 'ro' as const },
      { host: '/h2', container: '/mnt/x', mode: 'ro' as const },
    ];
    expect(thrown(() => build({ mounts: twice })).message).toContain('declared twice');
    const comma = [{ host: '/h,1', container: '/mnt/x', mode: 'ro' as const }];
    expect(thrown(() => build({ mounts: comma })).code).toBe('SPEC_INVALID');
  });

  it('network none may not be overridden by a raw --network', () => {
    const input = withSettings({ raw_args: ['--network=bridge'] }, { network: 'none' });
    expect(thrown(() => buildApptainerInvocation(input)).code).toBe('SPEC_INVALID');
  });

  it('caller bugs are INTERNAL: unresolved image, relative host path, missing facts, no command', () => {
    expect(thrown(() => build({ image: 'ubuntu:24.04' })).code).toBe('INTERNAL');
    expect(thrown(() => build({ homeDir: 'home' })).code).toBe('INTERNAL');
    expect(thrown(() => build({ scratchDir: undefined })).code).toBe('INTERNAL');
    expect(thrown(() => build({ command: [] })).code).toBe('INTERNAL');
    const overlay = withSettings({ overlay: '/o' });
    expect(thrown(() => buildApptainerInvocation(overlay)).code).toBe('INTERNAL');
  });

  it('is pure: the same input gives the same output and is not mutated', () => {
    const input = structuredClone({ ...BASE, mounts: MOUNTS });
    const before = JSON.stringify(input);
    expect(buildApptainerInvocation(input)).toEqual(buildApptainerInvocation(input));
    expect(JSON.stringify(input)).toBe(before);
  });
});
