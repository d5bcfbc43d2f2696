import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { buildBwrapInvocation, mountTargetProblem } from './bwrap-plan.ts';
import type { SandboxPlan } from './bwrap-plan.ts';
import { ENTRY_SH } from './sandbox-files.ts';

const base: SandboxPlan = {
  operator: 'root',
  uid: 61234,
  gid: 61234,
  homeDir: '/srv/a/home',
  workDir: '/srv/a/work',
  network: 'none',
  runDir: '/srv/a/run',
  claudeBinary: '/opt/bin/claude',
  localtime: '/usr/share/zoneinfo/Etc/UTC',
  command: ['/opt/sac/claude', '--output-format', 'stream-json'],
};

/** The argv as one line per option, which makes order and pairing easy to read in snapshots. */
function render(argv: string[]): string {
  return argv.join(' ').replace(/ --/g, '\n--');
}

/** Index of the option `flag` whose following args are `args`. */
function at(argv: string[], flag: string, ...args: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag && args.every((a, k) => argv[i + 1 + k] === a)) return i;
  }
  return -1;
}

describe('buildBwrapInvocation', () => {
  it('root operator, network none (snapshot)', () => {
    const inv = buildBwrapInvocation(base);
    expect(render(inv.argv)).toMatchSnapshot();
    expect(inv.statusFd).toBe(3);
    expect(Object.keys(inv.fdData)).toEqual(['4', '5', '6', '7', '8', '9']);
    expect(inv.fdData[9]).toBe(ENTRY_SH);
    expect(String(inv.fdData[4])).toContain('agent:x:61234:61234:agent:/home/agent:/bin/bash');
  });

  it('root operator: caps cleared then only what setpriv needs, uid dropped by setpriv', () => {
    const { argv } = buildBwrapInvocation(base);
    const drop = at(argv, '--cap-drop', 'ALL');
    expect(drop).toBeGreaterThan(-1);
    const adds = argv.flatMap((a, i) => (a === '--cap-add' ? [argv[i + 1]] : []));
    expect(adds).toEqual(['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP']);
    expect(at(argv, '--cap-add', 'CAP_SETUID')).toBeGreaterThan(drop);
    expect(argv).not.toContain('--unshare-user');
    expect(argv).not.toContain('--uid');
    const sep = argv.indexOf('--');
    expect(argv.slice(sep + 1)).toEqual([
      '/usr/bin/setpriv',
      '--reuid=61234',
      '--regid=61234',
      '--clear-groups',
      '--inh-caps=-all',
      '--ambient-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      '/bin/bash',
      '/opt/sac/entry.sh',
      '/opt/sac/claude',
      '--output-format',
      'stream-json',
    ]);
  });

  it('user operator, network host (snapshot): userns, no caps, no setpriv', () => {
    const inv = buildBwrapInvocation({
      ...base,
      operator: 'user',
      uid: 1000,
      gid: 1000,
      network: 'host',
    });
    expect(render(inv.argv)).toMatchSnapshot();
    const { argv } = inv;
    expect(at(argv, '--unshare-user')).toBeGreaterThan(-1);
    expect(at(argv, '--uid', '1000')).toBeGreaterThan(-1);
    expect(at(argv, '--gid', '1000')).toBeGreaterThan(-1);
    expect(argv).toContain('--disable-userns');
    expect(argv).not.toContain('--cap-add');
    expect(argv).not.toContain('/usr/bin/setpriv');
    expect(argv.slice(argv.indexOf('--') + 1, argv.indexOf('--') + 3)).toEqual([
      '/bin/bash',
      '/opt/sac/entry.sh',
    ]);
  });

  it('network: --unshare-net only for none, resolv.conf only for host', () => {
    const none = buildBwrapInvocation(base).argv;
    const host = buildBwrapInvocation({ ...base, network: 'host' }).argv;
    expect(none).toContain('--unshare-net');
    expect(none).not.toContain('/etc/resolv.conf');
    expect(host).not.toContain('--unshare-net');
    expect(at(host, '--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf')).toBeGreaterThan(-1);
  });

  it.each([
    ['root', 'host'],
    ['root', 'none'],
    ['user', 'host'],
    ['user', 'none'],
  ] as const)(
    'operator %s × network %s: the mode-specific flags and nothing else',
    (operator, network) => {
      const { argv } = buildBwrapInvocation({ ...base, operator, network });
      expect(argv.includes('--unshare-user')).toBe(operator === 'user');
      expect(argv.includes('--disable-userns')).toBe(operator === 'user');
      expect(argv.includes('--cap-drop')).toBe(operator === 'root');
      expect(argv.includes('/usr/bin/setpriv')).toBe(operator === 'root');
      expect(argv.includes('--unshare-net')).toBe(network === 'none');
      expect(argv.includes('/etc/resolv.conf')).toBe(network === 'host');
      expect(argv.slice(-5, -3)).toEqual(['/bin/bash', '/opt/sac/entry.sh']);
    },
  );

  it('every --ro-bind-data is preceded by --perms 0644', () => {
    const { argv } = buildBwrapInvocation(base);
    const idx = argv.flatMap((a, i) => (a === '--ro-bind-data' ? [i] : []));
    expect(idx.length).toBe(6);
    for (const i of idx) expect(argv.slice(i - 2, i)).toEqual(['--perms', '0644']);
  });

  it('creates parents with --dir before binding into them', () => {
    const { argv } = buildBwrapInvocation(base);
    for (const [dir, bind] of [
      ['/home', '/home/agent'],
      ['/opt/sac', '/opt/sac/claude'],
      ['/run', '/run/sac'],
      ['/etc/ssl', '/etc/ssl/certs'],
    ] as const) {
      const d = at(argv, '--dir', dir);
      expect(d, dir).toBeGreaterThan(-1);
      expect(argv.indexOf(bind)).toBeGreaterThan(d);
    }
  });

  it('keeps the fixed skeleton: status fd, die-with-parent, ro remount last, chdir', () => {
    const { argv } = buildBwrapInvocation({ ...base, workDirInSandbox: '/project' });
    expect(argv.slice(0, 2)).toEqual(['--die-with-parent', '--new-session']);
    expect(at(argv, '--json-status-fd', '3')).toBeGreaterThan(-1);
    expect(at(argv, '--bind', '/srv/a/work', '/project')).toBeGreaterThan(-1);
    expect(at(argv, '--ro-bind', '/srv/a/run', '/run/sac')).toBeGreaterThan(-1);
    expect(at(argv, '--ro-bind', '/opt/bin/claude', '/opt/sac/claude')).toBeGreaterThan(-1);
    const sep = argv.indexOf('--');
    expect(argv.slice(sep - 4, sep)).toEqual(['--remount-ro', '/', '--chdir', '/project']);
    expect(argv).not.toContain('--setenv');
  });

  it('mounts: ro → --ro-bind, rw → --bind, parents created, shallow first', () => {
    const { argv } = buildBwrapInvocation({
      ...base,
      mounts: [
        { host: '/data/deep', container: '/mnt/data/deep', mode: 'rw' },
        { host: '/data/ro', container: '/mnt/data', mode: 'ro' },
        { host: '/scratch', container: '/work/scratch', mode: 'rw' },
      ],
    });
    const ro = at(argv, '--ro-bind', '/data/ro', '/mnt/data');
    const rw = at(argv, '--bind', '/data/deep', '/mnt/data/deep');
    expect(at(argv, '--dir', '/mnt')).toBeGreaterThan(-1);
    expect(at(argv, '--dir', '/mnt')).toBeLessThan(ro);
    expect(ro).toBeLessThan(rw);
    expect(at(argv, '--bind', '/scratch', '/work/scratch')).toBeGreaterThan(
      at(argv, '--bind', '/srv/a/work', '/work'),
    );
    expect(argv.filter((a) => a === '/mnt').length).toBe(1); // --dir /mnt once
  });

  it('seccomp program goes to its own fd', () => {
    const prog = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const { argv, fdData } = buildBwrapInvocation({ ...base, seccomp: prog });
    const i = argv.indexOf('--seccomp');
    expect(i).toBeGreaterThan(-1);
    expect(fdData[Number(argv[i + 1])]).toBe(prog);
  });

  it('tmp size, hostname and localtime are configurable', () => {
    const { argv, fdData } = buildBwrapInvocation({
      ...base,
      tmpSizeBytes: 4096,
      hostname: 'box',
      localtime: undefined,
    });
    expect(at(argv, '--perms', '1777', '--size', '4096', '--tmpfs', '/tmp')).toBeGreaterThan(-1);
    expect(at(argv, '--hostname', 'box')).toBeGreaterThan(-1);
    expect(argv).not.toContain('/etc/localtime');
    expect(Object.values(fdData)).toContain('box\n');
  });

  it.each([
    ['relative', 'data'],
    ['root', '/'],
    ['under /usr', '/usr/local/x'],
    ['the etc', '/etc'],
    ['the relay dir', '/run/sac/x'],
    ['dot-dot', '/mnt/../etc'],
    ['trailing slash', '/mnt/'],
    ['the home itself', '/home/agent'],
    ['the workdir itself', '/work'],
  ])('rejects a mount target that is %s', (_what, container) => {
    let err: unknown;
    try {
      buildBwrapInvocation({ ...base, mounts: [{ host: '/x', container, mode: 'ro' }] });
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('SPEC_INVALID');
  });

  it('rejects duplicate mount targets', () => {
    expect(() =>
      buildBwrapInvocation({
        ...base,
        mounts: [
          { host: '/a', container: '/mnt/a', mode: 'ro' },
          { host: '/b', container: '/mnt/a', mode: 'rw' },
        ],
      }),
    ).toThrow(/declared twice/);
  });

  it('mountTargetProblem accepts ordinary paths', () => {
    expect(mountTargetProblem('/mnt/data')).toBeUndefined();
    expect(mountTargetProblem('/home/agent/data')).toBeUndefined();
    expect(mountTargetProblem('/usr2')).toBeUndefined();
  });
});
