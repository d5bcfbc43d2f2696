/**
 * Host-side facts and preflight for the bwrap sandbox: which tools exist, whether this host can run
 * the requested operator/network mode, and the few host values the pure planner needs.
 * @module
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AppError } from '../errors.ts';
import type { NetworkMode, OperatorMode } from './bwrap-plan.ts';

/** First executable `name` on `pathEnv` (the host's PATH by default), or undefined. */
export function findExecutable(
  name: string,
  pathEnv: string | undefined = process.env.PATH,
): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Host values the planner copies into the sandbox. */
export interface HostFacts {
  /** Target of /etc/localtime (a zoneinfo path under /usr), when it is a symlink. */
  localtime?: string;
}

export function hostFacts(): HostFacts {
  try {
    return { localtime: readlinkSync('/etc/localtime') };
  } catch {
    return {};
  }
}

export interface HostProblem {
  what: string;
  hint: string;
}

export interface HostCheckInput {
  operator: OperatorMode;
  network: NetworkMode;
  claudeBinary?: string;
}

/** Everything that would stop a sandbox of this kind from starting here (empty: fine). */
export async function sandboxHostProblems(input: HostCheckInput): Promise<HostProblem[]> {
  const problems: HostProblem[] = [];
  if (process.platform !== 'linux') {
    return [{ what: `bwrap needs Linux, this is ${process.platform}`, hint: 'use runtime: host' }];
  }
  const bwrap = findExecutable('bwrap');
  if (!bwrap) {
    problems.push({
      what: 'bwrap is not installed',
      hint: 'apt-get install bubblewrap (or dnf install bubblewrap)',
    });
  } else {
    const version = await bwrapVersion(bwrap);
    // 0.8.0 brought --disable-userns; --size and --json-status-fd are older.
    if (version && compareVersions(version, '0.8.0') < 0) {
      problems.push({
        what: `bwrap ${version} is older than 0.8.0`,
        hint: 'upgrade bubblewrap to 0.8.0 or newer',
      });
    }
  }
  // Tools used inside the sandbox must live under /usr, the only host tree it sees.
  if (input.operator === 'root' && !isExecutable('/usr/bin/setpriv')) {
    problems.push({
      what: '/usr/bin/setpriv is missing',
      hint: 'install util-linux (setpriv drops the agent to its uid)',
    });
  }
  if (!isExecutable('/usr/bin/bash')) {
    problems.push({
      what: '/usr/bin/bash is missing (the sandbox entry script and the Bash tool need it)',
      hint: 'install bash',
    });
  }
  if (input.network === 'none' && !findExecutable('socat', '/usr/local/bin:/usr/bin')) {
    problems.push({
      what: 'socat is not installed (network none bridges the model relay with it)',
      hint: 'apt-get install socat',
    });
  }
  if (input.operator === 'user') problems.push(...userNamespaceProblems());
  if (input.claudeBinary) {
    try {
      if ((statSync(input.claudeBinary).mode & 0o001) === 0) {
        problems.push({
          what: `${input.claudeBinary} is not executable by others`,
          hint: `chmod o+x ${input.claudeBinary}`,
        });
      }
    } catch {
      problems.push({
        what: `${input.claudeBinary} does not exist`,
        hint: 'reinstall @anthropic-ai/claude-agent-sdk',
      });
    }
  }
  return problems;
}

/** Throw SANDBOX_UNAVAILABLE listing every problem, or return quietly. */
export async function assertSandboxHost(input: HostCheckInput): Promise<void> {
  const problems = await sandboxHostProblems(input);
  const first = problems[0];
  if (!first) return;
  throw new AppError(
    'SANDBOX_UNAVAILABLE',
    `bwrap sandbox unavailable: ${problems.map((p) => p.what).join('; ')}`,
    {
      hint: first.hint,
      details: { problems, operator: input.operator, network: input.network },
    },
  );
}

function userNamespaceProblems(): HostProblem[] {
  const hint = 'enable unprivileged user namespaces, or use runtime: apptainer or runtime: host';
  const out: HostProblem[] = [];
  if (readSysctl('/proc/sys/user/max_user_namespaces') === '0') {
    out.push({ what: 'user namespaces are disabled (user.max_user_namespaces = 0)', hint });
  }
  if (readSysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    out.push({
      what: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)',
      hint,
    });
  }
  if (readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    out.push({
      what: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)',
      hint: 'allow bwrap an AppArmor userns profile (Ubuntu 24.04+), or use runtime: apptainer or host',
    });
  }
  return out;
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `bwrap --version` → "0.8.0" (async: callers may run servers in-process). */
export function bwrapVersion(
  bwrap = findExecutable('bwrap') ?? 'bwrap',
): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(bwrap, ['--version'], { timeout: 5000 }, (err, stdout) => {
      resolve(err ? undefined : /(\d+\.\d+\.\d+)/.exec(stdout)?.[1]);
    });
  });
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
