/**
 * Facts about this host that decide whether an agent could start here. The only I/O of `check`;
 * everything it concludes from them is in findings.ts.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Env } from '../paths.ts';
import { claudeBinaryPath } from '../plan/claude-binary.ts';
import { bwrapVersion, findExecutable, userNamespaceProblems } from '../sandbox/host.ts';

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
  /** Why unprivileged user namespaces are unusable here (bwrap as a non-root operator); [] if usable. */
  usernsProblems: string[];
  /** `bwrap --version`, when bwrap is installed. */
  bwrapVersion: string | undefined;
  /** `apptainer --version` (or singularity's), when installed. */
  apptainerVersionText: string | undefined;
  /** Free bytes on the file system holding `dir` (for apptainer's tmpfs_size scratch). */
  freeBytes: (dir: string) => number | undefined;
  claudeBinary: string | undefined;
  /** Which credential variables are set (names only). */
  envSet: (name: string) => boolean;
  /** The operator's Claude Code login file, when present. */
  claudeLogin: string | undefined;
  path: (p: string) => PathFact;
}

function apptainerVersion(bin: string | undefined): string | undefined {
  if (!bin) return undefined;
  try {
    return execFileSync(bin, ['--version'], {
      timeout: 5000,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

function freeBytes(dir: string): number | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = statfsSync(d);
      return st.bavail * st.bsize;
    } catch {
      if (d === dirname(d)) return undefined;
    }
  }
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
  const bins = Object.fromEntries(PROBED_BINARIES.map((b) => [b, findExecutable(b, env.PATH)]));
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
    bins,
    usernsProblems: userNamespaceProblems().map((p) => p.what),
    bwrapVersion: bins.bwrap ? bwrapVersion(bins.bwrap) : undefined,
    apptainerVersionText: apptainerVersion(bins.apptainer ?? bins.singularity),
    freeBytes,
    claudeBinary: claudeBinaryPath(),
    envSet: (name) => (env[name] ?? '') !== '',
    claudeLogin: loginCandidates.find((p) => existsSync(p)),
    path: pathFact,
  };
}
