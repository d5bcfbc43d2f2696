/**
 * Facts about this host that decide whether an agent could start here. The only I/O of `check`;
 * everything it concludes from them is in findings.ts.
 * @module
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Env } from '../paths.ts';
import { claudeBinaryPath } from '../plan/claude-binary.ts';

export interface PathFact {
  exists: boolean;
  isDir: boolean;
  uid?: number;
  gid?: number;
  mode?: number;
}

export interface HostProbe {
  platform: NodeJS.Platform;
  arch: string;
  wsl: boolean;
  uid: number;
  gid: number;
  /** Binaries found on PATH, by name (absent = not found). */
  bins: Record<string, string | undefined>;
  /** Unprivileged user namespaces usable by a non-root user. */
  userns: boolean;
  claudeBinary: string | undefined;
  /** Which credential variables are set (names only). */
  envSet: (name: string) => boolean;
  /** The operator's Claude Code login file, when present. */
  claudeLogin: string | undefined;
  path: (p: string) => PathFact;
}

function which(bin: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readNumber(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function usernsEnabled(): boolean {
  // Debian/Ubuntu gate; absent on kernels without the patch (then only max_user_namespaces matters)
  const clone = readNumber('/proc/sys/kernel/unprivileged_userns_clone');
  const max = readNumber('/proc/sys/user/max_user_namespaces');
  return clone !== 0 && (max === undefined || max > 0);
}

function pathFact(p: string): PathFact {
  try {
    const st = statSync(p);
    return {
      exists: true,
      isDir: st.isDirectory(),
      uid: st.uid,
      gid: st.gid,
      mode: st.mode & 0o7777,
    };
  } catch {
    return { exists: false, isDir: false };
  }
}

export const PROBED_BINARIES = ['bwrap', 'setpriv', 'socat', 'apptainer', 'singularity'] as const;

export function probeHost(env: Env = process.env): HostProbe {
  const home = env.HOME ?? '';
  const loginCandidates = [
    env.CLAUDE_CONFIG_DIR ? join(env.CLAUDE_CONFIG_DIR, '.credentials.json') : undefined,
    home ? join(home, '.claude', '.credentials.json') : undefined,
  ].filter((p): p is string => !!p);
  let wsl = false;
  try {
    wsl = /microsoft/i.test(readFileSync('/proc/version', 'utf8'));
  } catch {
    // not Linux
  }
  return {
    platform: process.platform,
    arch: process.arch,
    wsl,
    uid: process.getuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    bins: Object.fromEntries(PROBED_BINARIES.map((b) => [b, which(b, env)])),
    userns: usernsEnabled(),
    claudeBinary: claudeBinaryPath(),
    envSet: (name) => (env[name] ?? '') !== '',
    claudeLogin: loginCandidates.find((p) => existsSync(p)),
    path: pathFact,
  };
}
