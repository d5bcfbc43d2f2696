/**
 * Where a supervisor's control socket and lock live: a short, node-local, private directory
 * (`$XDG_RUNTIME_DIR/sac`, else `/tmp/sac-<uid>`). Short because unix socket paths are limited to
 * about 107 bytes and Node 20 silently truncates longer ones; node-local because locks and sockets
 * do not work on network file systems. The runtime dir links to them.
 * @module
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Env } from '../paths.ts';

/** Longest socket path we bind (the kernel's sun_path is 108 bytes, NUL included). */
export const MAX_SOCKET_PATH = 100;

/** The private directory for sockets and locks, created 0700 and verified to be ours. */
const checked = new Map<string, string>();

export function socketDir(env: Env = process.env, uid = process.getuid?.() ?? 0): string {
  const key = `${uid}:${env.XDG_RUNTIME_DIR ?? ''}`;
  const known = checked.get(key);
  // checked once per process: `list` asks for hundreds of agents
  if (known) return known;
  const dir = socketDirPath(env, uid);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // a directory someone else made in /tmp first would let them see or swap our sockets
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new AppError(
      'FAILED',
      `unsafe socket directory ${dir}: not a private directory owned by uid ${uid}`,
      {
        hint: `remove it (it should be created by sac with mode 0700), or set XDG_RUNTIME_DIR`,
      },
    );
  }
  return dir;
}

/** Where `socketDir` puts sockets, without creating or checking anything (for plans). */
export function socketDirPath(env: Env = process.env, uid = process.getuid?.() ?? 0): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && isOwnDir(xdg, uid) ? join(xdg, 'sac') : `/tmp/sac-${uid}`;
}

/** The agent's relay directory (bound read-only at /run/sac): `<socket dir>/<key>.run`. */
export function relayDirName(name: string, runtimeDir: string): string {
  return `${agentKey(name, runtimeDir)}.run`;
}

function isOwnDir(p: string, uid: number): boolean {
  try {
    const st = lstatSync(p);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}

/** A stable short key for one agent definition (two SAC_HOMEs may both have an agent `a`). */
export function agentKey(name: string, runtimeDir: string): string {
  return `${name}-${createHash('sha256').update(runtimeDir).digest('hex').slice(0, 8)}`;
}

export interface AgentSockets {
  control: string;
  lock: string;
}

/** The control socket and lock file of one agent; an over-long path is a coded error. */
export function agentSockets(
  name: string,
  runtimeDir: string,
  env: Env = process.env,
): AgentSockets {
  const dir = socketDir(env);
  const key = agentKey(name, runtimeDir);
  const control = join(dir, `${key}.sock`);
  if (Buffer.byteLength(control) > MAX_SOCKET_PATH) {
    throw new AppError(
      'PATH_TOO_LONG',
      `control socket path is ${Buffer.byteLength(control)} bytes (at most ${MAX_SOCKET_PATH}): ${control}`,
      {
        hint: 'use a shorter XDG_RUNTIME_DIR (or unset it to use /tmp/sac-<uid>), or a shorter agent name',
        details: { path: control },
      },
    );
  }
  return { control, lock: join(dir, `${key}.lock`) };
}

/**
 * The name an agent's turns are queued under in state.db. Agents whose runtime directory is the
 * user root's `runtime/<name>` keep their plain name (so `db query turns --where name=x` works);
 * an agent with a runtime directory of its own (a project agent) gets `name@<key>`, so two
 * projects' agents of one name never take each other's turns.
 */
export function turnQueueName(name: string, runtimeDir: string, userRuntimeRoot: string): string {
  return runtimeDir === join(userRuntimeRoot, name)
    ? name
    : `${name}@${agentKey(name, runtimeDir).slice(-8)}`;
}
