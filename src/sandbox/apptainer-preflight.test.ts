/**
 * The D5 preflight: its text is pinned (sha256), and it is RUN here with the host's /bin/sh (it is
 * plain POSIX sh, as inside any image), as root, as an unprivileged uid, and in a root-mapped user
 * namespace (what apptainer's --fakeroot gives). Then the host-side rules, from fake probes.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { PathFact } from '../check/host-probe.ts';
import { API_VERSION, AgentSpecSchema } from '../spec/schema.ts';
import type { ApptainerSettings } from './apptainer-plan.ts';
import {
  APPTAINER_PREFLIGHT,
  APPTAINER_PREFLIGHT_SHA256,
  PREFLIGHT_EXIT,
  apptainerPreflightHost,
  parseApptainerVersion,
  preflightArgv,
  rawArgFlags,
  sizeMiB,
} from './apptainer-preflight.ts';
import type { ApptainerHostProbe } from './apptainer-preflight.ts';

// ---------------------------------------------------------------------------------------------
// the script
// ---------------------------------------------------------------------------------------------

/**
 * Pinned on purpose: changing the preflight changes what operators attest. Update this only
 * together with the script, and say why in the change.
 */
const PINNED_SHA256 = '6076d122927f5a55fea24b0fd2d4e4fa9d926946762c5d8411bcac8e528cf9df';

const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const PATH = '/usr/local/bin:/usr/bin:/bin';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run argv (async, never spawnSync) with exactly `env`, optionally as another uid (root only). */
function run(argv: string[], env: Record<string, string>, uid?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const child = spawn(file, args, {
      env,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The inner command: prints its arguments one per line, proving they arrive unquoted and whole. */
const ECHO_ARGS = ['/bin/sh', '-c', 'printf "<%s>\\n" "$@"', 'inner', 'a b', '$HOME', "it's", ''];
const ECHOED = "<a b>\n<$HOME>\n<it's>\n<>\n";

const preflight = (mode: 'strict' | 'fakeroot'): string[] =>
  preflightArgv(ECHO_ARGS, mode === 'fakeroot');

/** Can an unprivileged uid make a root-mapped user namespace here (`unshare -r`)? */
async function usernsFor(uid: number): Promise<boolean> {
  if (!IS_ROOT) return false;
  const r = await run(['unshare', '-r', 'true'], { PATH }, uid).catch(() => undefined);
  return r?.code === 0;
}

describe('APPTAINER_PREFLIGHT (the D5 script)', () => {
  it('is pinned by its sha256', () => {
    expect(APPTAINER_PREFLIGHT_SHA256).toMatch(/^[0-9a-f]{64}$/);
    expect(APPTAINER_PREFLIGHT_SHA256).toBe(PINNED_SHA256);
  });

  it('is one constant with the exit codes and messages of the original', () => {
    expect(APPTAINER_PREFLIGHT).toContain('exit 11');
    expect(APPTAINER_PREFLIGHT).toContain('exit 12');
    expect(APPTAINER_PREFLIGHT).toContain('ERROR[sac-preflight]:');
    expect(APPTAINER_PREFLIGHT).toContain('/home/agent');
    expect(APPTAINER_PREFLIGHT.trimEnd().endsWith('exec "$@"')).toBe(true);
  });

  it.runIf(IS_ROOT)('as root: refuses with exit 11 and a message on stderr', async () => {
    const r = await run(preflight('strict'), { PATH, HOME: '/home/agent' });
    expect(r.code).toBe(PREFLIGHT_EXIT.root);
    expect(r.stderr).toMatch(/^ERROR\[sac-preflight\]: running as root \(uid 0\)/);
    expect(r.stdout).toBe('');
  });

  it.runIf(IS_ROOT)('as root with the fakeroot mode but a 0→0 mapping: still exit 11', async () => {
    const r = await run(preflight('fakeroot'), { PATH, HOME: '/home/agent' });
    expect(r.code).toBe(PREFLIGHT_EXIT.root);
  });

  it.runIf(IS_ROOT)(
    'unprivileged with HOME=/home/agent: execs the command, args intact',
    async () => {
      const r = await run(preflight('strict'), { PATH, HOME: '/home/agent' }, NOBODY);
      expect(r).toEqual({ code: 0, stdout: ECHOED, stderr: '' });
    },
  );

  it.runIf(IS_ROOT)('unprivileged with a wrong or missing HOME: exit 12', async () => {
    const wrong = await run(preflight('strict'), { PATH, HOME: '/root' }, NOBODY);
    expect(wrong.code).toBe(PREFLIGHT_EXIT.home);
    expect(wrong.stderr).toContain("ERROR[sac-preflight]: HOME is '/root', not /home/agent");
    expect(wrong.stdout).toBe('');
    const unset = await run(preflight('strict'), { PATH }, NOBODY);
    expect(unset.code).toBe(PREFLIGHT_EXIT.home);
  });

  it.runIf(!IS_ROOT)(
    'as a non-root user: HOME decides (12 when wrong, exec when right)',
    async () => {
      expect((await run(preflight('strict'), { PATH, HOME: '/tmp' })).code).toBe(12);
      expect(await run(preflight('strict'), { PATH, HOME: '/home/agent' })).toEqual({
        code: 0,
        stdout: ECHOED,
        stderr: '',
      });
    },
  );

  it('leaves none of its own variables to the command', async () => {
    const argv = preflightArgv(['/bin/sh', '-c', 'set | grep "^sac_" || true'], false);
    const r = await run(argv, { PATH, HOME: '/home/agent' }, IS_ROOT ? NOBODY : undefined);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('uid 0 in a user namespace mapped to an unprivileged uid: accepted only in fakeroot mode', async (ctx) => {
    if (!(await usernsFor(NOBODY))) {
      ctx.skip('needs root here and unprivileged user namespaces (unshare -r as uid 65534)');
    }
    const env = { PATH, HOME: '/home/agent' };
    const fake = await run(['unshare', '-r', ...preflight('fakeroot')], env, NOBODY);
    expect(fake).toEqual({ code: 0, stdout: ECHOED, stderr: '' });
    const strict = await run(['unshare', '-r', ...preflight('strict')], env, NOBODY);
    expect(strict.code).toBe(PREFLIGHT_EXIT.root);
  });
});

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

describe('rawArgFlags', () => {
  it('reads long, long=value, short and combined short options; values are not options', () => {
    const flags = rawArgFlags([
      '--contain',
      '--home=/x:/home/agent',
      '-W',
      '/tmp/w',
      '-Ce',
      '-B/a:/b',
      '--network',
      'none',
    ]);
    expect([...flags].sort()).toEqual(
      ['bind', 'cleanenv', 'contain', 'containall', 'home', 'network', 'workdir'].sort(),
    );
  });

  it('stops at a shorthand that takes a glued value', () => {
    expect([...rawArgFlags(['-Wfoo'])]).toEqual(['workdir']);
  });
});

describe('sizeMiB', () => {
  it.each([
    ['512M', 512],
    ['512MB', 512],
    ['2G', 2048],
    ['2gb', 2048],
    ['1.5G', 1536],
  ])('%s → %i MiB', (s, n) => expect(sizeMiB(s)).toBe(n));

  it.each(['', '10K', '1T', '100', 'G', '0M'])('refuses %j', (s) => {
    expect(sizeMiB(s)).toBeUndefined();
  });
});

describe('parseApptainerVersion', () => {
  it('reads the three families', () => {
    expect(parseApptainerVersion('apptainer version 1.3.4-1.el9')).toEqual({
      family: 'apptainer',
      major: 1,
      minor: 3,
      patch: 4,
    });
    expect(parseApptainerVersion('singularity-ce version 3.11.4-jammy')?.family).toBe(
      'singularity-ce',
    );
    expect(parseApptainerVersion('singularity version 3.8.7')?.family).toBe('singularity');
    expect(parseApptainerVersion('command not found')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// the host preflight
// ---------------------------------------------------------------------------------------------

const DEFAULTS: ApptainerSettings = AgentSpecSchema.parse({
  apiVersion: API_VERSION,
  kind: 'Agent',
}).spec.apptainer;

const FILE: PathFact = { exists: true, isDir: false };
const DIR: PathFact = { exists: true, isDir: true };
const NONE: PathFact = { exists: false, isDir: false };
const GIB = 1024 ** 3;

function host(
  over: Partial<ApptainerHostProbe> = {},
  settings: Partial<ApptainerSettings> = {},
  paths: Record<string, PathFact> = {},
): ApptainerHostProbe {
  const fs: Record<string, PathFact> = { '/img/base.sif': FILE, ...paths };
  return {
    apptainer: { ...DEFAULTS, ...settings },
    image: '/img/base.sif',
    binary: { path: '/usr/bin/apptainer', versionText: 'apptainer version 1.3.4' },
    uid: 1000,
    path: (p) => fs[p] ?? NONE,
    scratch: { dir: '/rt/a1/tmp-scratch', freeBytes: 50 * GIB },
    ...over,
  };
}

const codes = (p: ApptainerHostProbe): string[] => apptainerPreflightHost(p).map((f) => f.code);
const find = (p: ApptainerHostProbe, code: string) =>
  apptainerPreflightHost(p).find((f) => f.code === code);

describe('apptainerPreflightHost', () => {
  it('a ready host: only the recorded version', () => {
    expect(apptainerPreflightHost(host())).toEqual([
      {
        severity: 'info',
        code: 'apptainer_version',
        message: 'apptainer 1.3.4 at /usr/bin/apptainer',
      },
    ]);
  });

  it('no binary: a blocker with the fix to install apptainer or use bwrap', () => {
    const f = find(host({ binary: undefined }), 'runtime_missing');
    expect(f?.severity).toBe('blocker');
    expect(f?.fix).toBe('install apptainer, or set runtime: bwrap');
  });

  it.each([
    ['apptainer version 1.0.3', 'blocker'],
    ['singularity-ce version 3.9.9', 'blocker'],
    ['singularity version 3.8.7', 'blocker'],
    ['singularity-ce version 3.10.0', 'info'],
    ['apptainer version 1.1.0', 'info'],
  ])('version %s → %s', (versionText, severity) => {
    const [first] = apptainerPreflightHost(host({ binary: { path: '/b', versionText } }));
    expect(first?.severity).toBe(severity);
  });

  it('an unreadable version is advice, not a blocker', () => {
    expect(codes(host({ binary: { path: '/b' } }))).toEqual(['apptainer_version_unknown']);
  });

  it('images: missing file, directory without .singularity.d, sandbox dir, remote, relative', () => {
    expect(codes(host({ image: '/img/nope.sif' }))).toContain('image_missing');
    expect(codes(host({ image: '/img/dir' }, {}, { '/img/dir': DIR }))).toContain('image_invalid');
    const sandbox = host(
      { image: '/img/sb' },
      {},
      { '/img/sb': DIR, '/img/sb/.singularity.d': DIR },
    );
    expect(codes(sandbox)).toEqual(['apptainer_version']);
    expect(find(host({ image: 'docker://alpine:3' }), 'image_remote')?.severity).toBe('info');
    expect(find(host({ image: 'base.sif' }), 'image_invalid')?.severity).toBe('blocker');
  });

  it('overlay: present dir or image is fine; missing without size is a blocker', () => {
    const set = { overlay: 'ov' };
    expect(codes(host({ overlayPath: '/w/ov' }, set, { '/w/ov': DIR }))).toEqual([
      'apptainer_version',
    ]);
    expect(codes(host({ overlayPath: '/w/ov' }, set, { '/w/ov': FILE }))).toEqual([
      'apptainer_version',
    ]);
    const missing = find(host({ overlayPath: '/w/ov' }, set), 'overlay_missing');
    expect(missing?.severity).toBe('blocker');
    expect(missing?.fix).toContain('overlay_size');
  });

  it('overlay: missing with a size is created (in MiB) unless creation is off', () => {
    const sized = { overlay: '/w/ov.img', overlay_size: '1G' };
    expect(find(host({}, sized), 'overlay_create')?.message).toContain(
      'apptainer overlay create --size 1024 /w/ov.img',
    );
    const off = find(host({}, { ...sized, overlay_create_if_missing: false }), 'overlay_missing');
    expect(off?.severity).toBe('blocker');
  });

  it('overlay_size: K is refused; a size on a directory overlay is ignored (advice)', () => {
    expect(codes(host({}, { overlay: '/w/ov.img', overlay_size: '512K' }))).toContain(
      'overlay_size_invalid',
    );
    const dir = host({}, { overlay: '/w/ov', overlay_size: '1G' }, { '/w/ov': DIR });
    expect(find(dir, 'overlay_size_ignored')?.severity).toBe('advice');
  });

  it('tmpfs_size: free space is compared with the size', () => {
    const tight = host({ scratch: { dir: '/rt/s', freeBytes: 1 * GIB } });
    const f = find(tight, 'tmpfs_space');
    expect(f?.severity).toBe('blocker');
    expect(f?.message).toContain('1024 MiB free, less than apptainer.tmpfs_size 2G (2048 MiB)');
    expect(codes(host({ scratch: { dir: '/rt/s', freeBytes: 2 * GIB } }))).not.toContain(
      'tmpfs_space',
    );
    expect(codes(host({ scratch: { dir: '/rt/s' } }))).toContain('tmpfs_space_unknown');
  });

  it("tmpfs_size: '' opts out; raw --workdir/-W skips the check; relaxed gets advice", () => {
    const tight = { scratch: { dir: '/rt/s', freeBytes: 0 } };
    expect(codes(host(tight, { tmpfs_size: '' }))).toEqual(['apptainer_version']);
    expect(codes(host(tight, { raw_args: ['-W', '/big'] }))).toContain('tmpfs_raw_workdir');
    expect(codes(host(tight, { raw_args: ['-W', '/big'] }))).not.toContain('tmpfs_space');
    expect(codes(host({}, { relaxed: true }))).toContain('tmpfs_relaxed');
  });

  it('nv and rocm together: advice', () => {
    expect(find(host({}, { nv: true, rocm: true }), 'gpu_both')?.severity).toBe('advice');
  });

  it('root operator: a blocker when hardened (the preflight would exit 11), advice when relaxed', () => {
    expect(find(host({ uid: 0 }), 'apptainer_as_root')?.severity).toBe('blocker');
    expect(find(host({ uid: 0 }, { relaxed: true }), 'apptainer_as_root')?.severity).toBe('advice');
  });

  it('raw_args with --env or --env-file: a blocker (the planner refuses them too)', () => {
    expect(codes(host({}, { raw_args: ['--env', 'A=1'] }))).toContain('raw_args_refused');
    expect(codes(host({}, { raw_args: ['--env-file=/e'] }))).toContain('raw_args_refused');
  });

  it('sorts blockers first', () => {
    const sev = apptainerPreflightHost(
      host({ binary: undefined, uid: 0 }, { nv: true, rocm: true }),
    ).map((f) => f.severity);
    expect(sev).toEqual(
      [...sev].sort(
        (a, b) =>
          ['blocker', 'advice', 'info'].indexOf(a) - ['blocker', 'advice', 'info'].indexOf(b),
      ),
    );
    expect(sev[0]).toBe('blocker');
  });
});
