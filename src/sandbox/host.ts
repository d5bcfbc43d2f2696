/**
 * Host-side facts for the sandbox: which tools exist, whether user namespaces work, the bwrap
 * version, and the few host values the pure planner needs. `check` (src/check) turns them into
 * findings.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

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

/** Why unprivileged user namespaces (bwrap as a non-root operator) cannot work here; [] when they can. */
export function userNamespaceProblems(): { what: string; hint: string }[] {
  const hint = 'enable unprivileged user namespaces, or use runtime: apptainer or runtime: host';
  const out: { what: string; hint: string }[] = [];
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

/**
 * `bwrap --version` → "0.8.0". Synchronous: it talks to no server of ours, so it cannot deadlock
 * against one running in this process.
 */
export function bwrapVersion(bwrap = findExecutable('bwrap') ?? 'bwrap'): string | undefined {
  try {
    const out = execFileSync(bwrap, ['--version'], {
      timeout: 5000,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /(\d+\.\d+\.\d+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
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
