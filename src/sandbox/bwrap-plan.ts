/**
 * Pure planner: a `SandboxPlan` in, the exact bwrap argv plus the bytes for its extra fds out.
 * Nothing here touches the file system or the environment, so unit tests snapshot the result and
 * only integration tests spawn anything. The argv follows docs/sandbox.md (and the validated recipe);
 * the order of the mount operations matters, because bwrap applies them one after another.
 * @module
 */
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import { ENTRY_SH, SANDBOX_HOSTNAME, SANDBOX_PATHS, etcFiles } from './sandbox-files.ts';

/** `root`: bwrap runs as root and setpriv drops to the agent's real uid. `user`: unprivileged userns. */
export type OperatorMode = 'root' | 'user';
export type NetworkMode = 'host' | 'none';

export interface SandboxMount {
  /** Absolute host path (file or directory). */
  host: string;
  /** Absolute path inside the sandbox. */
  container: string;
  mode: 'ro' | 'rw';
}

export interface SandboxPlan {
  operator: OperatorMode;
  /** The uid/gid the agent runs as. In `user` mode: the operator's own ids (mapped to themselves). */
  uid: number;
  gid: number;
  /** Host dir bound read-write at /home/agent. */
  homeDir: string;
  /** Host dir bound read-write at `workDirInSandbox`. */
  workDir: string;
  /** Default `/work`. */
  workDirInSandbox?: string;
  mounts?: readonly SandboxMount[];
  network: NetworkMode;
  /** Host dir bound read-only at /run/sac (holds the relay's model.sock). */
  runDir: string;
  /** Host path of the Claude Code binary (must be executable by others); bound at /opt/sac/claude. */
  claudeBinary: string;
  /** A seccomp program (`namespaceSeccompFilter()`); fed to `--seccomp` through an fd. */
  seccomp?: Buffer;
  /** Size of the private /tmp tmpfs, bytes. Default 1 GiB. */
  tmpSizeBytes?: number;
  /** Default `sac-agent`. */
  hostname?: string;
  /** Target of the host's /etc/localtime symlink (see `hostFacts()`), or undefined for UTC. */
  localtime?: string;
  /** The command to run inside, e.g. `['/opt/sac/claude', ...sdkArgs]`. */
  command: readonly string[];
}

export interface BwrapInvocation {
  /** Arguments for the bwrap executable (without argv[0]). */
  argv: string[];
  /** What to write (then close) on each extra fd, keyed by fd number. */
  fdData: Record<number, string | Buffer>;
  /** The fd bwrap writes its JSON status lines to (read it). */
  statusFd: number;
}

export const STATUS_FD = 3;
export const DEFAULT_TMP_SIZE = 1024 * 1024 * 1024;

/** Container paths a declared mount may not cover: the sandbox's own skeleton. */
const RESERVED = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib64',
  '/proc',
  '/dev',
  '/etc',
  '/opt/sac',
  '/run/sac',
];

/** Why `container` cannot be a mount target (or undefined when it can). Shared with spec checks. */
export function mountTargetProblem(
  container: string,
  reserved: readonly string[] = [],
): string | undefined {
  if (!posix.isAbsolute(container)) return 'it is not an absolute path';
  if (posix.normalize(container) !== container || container.endsWith('/'))
    return 'it is not a normalised path (no "..", ".", "//" or trailing "/")';
  if (container === '/') return 'it is the sandbox root';
  for (const r of [...RESERVED, ...reserved]) {
    if (container === r || container.startsWith(r + '/'))
      return `it overlaps ${r}, which the sandbox provides`;
  }
  return undefined;
}

/** Build the bwrap command line for `plan`. Throws AppError SPEC_INVALID for an unusable mount. */
export function buildBwrapInvocation(plan: SandboxPlan): BwrapInvocation {
  const work = plan.workDirInSandbox ?? SANDBOX_PATHS.work;
  const hostname = plan.hostname ?? SANDBOX_HOSTNAME;
  const workProblem = mountTargetProblem(work, [SANDBOX_PATHS.home, '/tmp', '/run']);
  if (workProblem) throw badTarget(work, workProblem, 'workdir');
  const mounts = [...(plan.mounts ?? [])].sort((a, b) => depth(a.container) - depth(b.container));
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.container)) throw badTarget(m.container, 'it is declared twice', 'mount');
    seen.add(m.container);
    // Nested mounts under the home or workdir are fine (they are laid on top); replacing them is not.
    const problem =
      m.container === SANDBOX_PATHS.home || m.container === work
        ? 'it would replace the agent home or workdir'
        : mountTargetProblem(m.container);
    if (problem) throw badTarget(m.container, problem, 'mount');
  }

  const a: string[] = [];
  const fdData: Record<number, string | Buffer> = {};
  let nextFd = STATUS_FD + 1;
  const dataFd = (data: string | Buffer): string => {
    fdData[nextFd] = data;
    return String(nextFd++);
  };
  // bwrap creates missing parents 0700, which the agent could not traverse (recipe gotcha 2).
  const made = new Set<string>(['/']);
  const dirs = (path: string): void => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      if (!made.has(p)) a.push('--dir', p);
      made.add(p);
    }
  };
  const mark = (p: string): void => void made.add(p);

  a.push('--die-with-parent', '--new-session');
  if (plan.operator === 'user') {
    // Map the operator's own ids; no caps inside; and since there is a userns, bwrap can also
    // forbid nested ones (the seccomp filter is a second layer).
    a.push(
      '--unshare-user',
      '--uid',
      String(plan.uid),
      '--gid',
      String(plan.gid),
      '--disable-userns',
    );
  }
  a.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  if (plan.network === 'none') a.push('--unshare-net');
  a.push('--hostname', hostname);
  if (plan.operator === 'root') {
    // As root bwrap keeps ALL caps unless told otherwise (gotcha 3); setpriv needs exactly these
    // three to switch uid/gid and empty the bounding set, then drops them too.
    a.push('--cap-drop', 'ALL');
    a.push('--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP');
  }
  a.push('--json-status-fd', String(STATUS_FD));
  if (plan.seccomp) a.push('--seccomp', dataFd(plan.seccomp));

  // System: /usr read-only, usr-merge links, fresh /proc and /dev, private /tmp.
  a.push('--ro-bind', '/usr', '/usr');
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) a.push('--symlink', `usr/${d}`, `/${d}`);
  a.push('--proc', '/proc', '--dev', '/dev');
  a.push(
    '--perms',
    '1777',
    '--size',
    String(plan.tmpSizeBytes ?? DEFAULT_TMP_SIZE),
    '--tmpfs',
    '/tmp',
  );
  ['/usr', '/proc', '/dev', '/tmp'].forEach(mark);

  // Curated /etc: generated files (0644, gotcha 1) and a few read-only host files.
  a.push('--dir', '/etc');
  mark('/etc');
  for (const [path, text] of Object.entries(etcFiles({ uid: plan.uid, gid: plan.gid, hostname }))) {
    a.push('--perms', '0644', '--ro-bind-data', dataFd(text), path);
  }
  if (plan.network === 'host') a.push('--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf');
  // -try: these differ between distributions; a missing one must not stop the sandbox.
  for (const p of ['/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d'])
    a.push('--ro-bind-try', p, p);
  a.push('--dir', '/etc/ssl');
  mark('/etc/ssl');
  a.push('--ro-bind-try', '/etc/ssl/certs', '/etc/ssl/certs');
  a.push('--ro-bind-try', '/etc/ssl/openssl.cnf', '/etc/ssl/openssl.cnf');
  a.push('--ro-bind-try', '/etc/alternatives', '/etc/alternatives');
  if (plan.localtime) a.push('--symlink', plan.localtime, '/etc/localtime');

  // The agent's own places.
  dirs(SANDBOX_PATHS.home);
  a.push('--bind', plan.homeDir, SANDBOX_PATHS.home);
  mark(SANDBOX_PATHS.home);
  dirs(work);
  a.push('--bind', plan.workDir, work);
  mark(work);
  for (const m of mounts) {
    dirs(m.container);
    a.push(m.mode === 'ro' ? '--ro-bind' : '--bind', m.host, m.container);
    mark(m.container);
  }
  dirs(SANDBOX_PATHS.claude);
  a.push('--ro-bind', plan.claudeBinary, SANDBOX_PATHS.claude);
  a.push('--perms', '0644', '--ro-bind-data', dataFd(ENTRY_SH), SANDBOX_PATHS.entry);
  dirs(SANDBOX_PATHS.run);
  a.push('--ro-bind', plan.runDir, SANDBOX_PATHS.run);

  a.push('--remount-ro', '/', '--chdir', work, '--');
  if (plan.operator === 'root') {
    a.push(
      '/usr/bin/setpriv',
      `--reuid=${plan.uid}`,
      `--regid=${plan.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--ambient-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    );
  }
  a.push(SANDBOX_PATHS.shell, SANDBOX_PATHS.entry, ...plan.command);
  return { argv: a, fdData, statusFd: STATUS_FD };
}

function depth(p: string): number {
  return p.split('/').length;
}

function badTarget(path: string, problem: string, what: string): AppError {
  return new AppError(
    'SPEC_INVALID',
    `cannot use ${JSON.stringify(path)} as a sandbox ${what}: ${problem}`,
    {
      hint: 'choose an absolute, normalised container path outside /usr, /etc, /proc, /dev, /opt/sac and /run/sac',
      details: { path, problem },
    },
  );
}
