/**
 * Is an agent running? Judged by the supervisor's lock (held exactly while it lives) and its
 * heartbeat, never by `kill -0` or pid files: zombies answer kill -0 and pids are reused. A launch
 * that never ended but whose lock is free had its supervisor die (kill -9, OOM, reboot).
 * @module
 */
import { existsSync } from 'node:fs';
import type { Env } from '../paths.ts';
import type { AgentRef } from '../spec/resolve.ts';
import type { Store } from '../store/db.ts';
import { currentBootId } from '../store/host.ts';
import { latestLaunch, type LaunchRow } from '../store/repos/launches.ts';
import { readJson, runtimeFiles } from '../supervisor/files.ts';
import { isLockHeld } from '../supervisor/lock.ts';
import { agentSockets } from '../supervisor/sockets.ts';

/** How old a heartbeat may be before a live supervisor counts as unresponsive. */
export const HEARTBEAT_STALE_MS = 15_000;

export type Liveness =
  /** Supervisor holds its lock and its heartbeat is fresh. */
  | 'running'
  /** Supervisor holds its lock but has not written a heartbeat for a while. */
  | 'unresponsive'
  /** No supervisor, and the last launch ended (or there was none). */
  | 'stopped'
  /** No supervisor, and the last launch failed (restart limit, crash loop). */
  | 'failed'
  /** No supervisor, but the last launch never ended: it died (kill -9, OOM). `resurrect` brings it back. */
  | 'dead'
  /** Like dead, but from an earlier boot of this host. */
  | 'stale';

export interface Heartbeat {
  ts: string;
  pid: number;
  state: string;
  launch_id: string;
  claude_pid: number | null;
  session_id: string | null;
  restarts: number;
}

export interface AgentLiveness {
  liveness: Liveness;
  launch: LaunchRow | undefined;
  heartbeat: Heartbeat | undefined;
  heartbeatAgeMs: number | undefined;
  socket: string;
  lock: string;
}

export function agentLiveness(
  ref: AgentRef,
  store: Store,
  env: Env = process.env,
  now = Date.now(),
): AgentLiveness {
  const sockets = agentSockets(ref.name, ref.runtimeDir, env);
  const launch = latestLaunch(store, ref.name, ref.specPath);
  const heartbeat = readJson<Heartbeat>(runtimeFiles(ref.runtimeDir).heartbeat);
  const heartbeatAgeMs = heartbeat ? now - Date.parse(heartbeat.ts) : undefined;
  // the socket directory depends on XDG_RUNTIME_DIR, which differs between a login shell, cron and
  // systemd: the launch records where its supervisor really put its socket (and lock beside it)
  const recorded = launch?.socket_path?.endsWith('.sock') ? launch.socket_path : undefined;
  const candidates = [
    ...(recorded ? [{ socket: recorded, lock: recorded.replace(/\.sock$/, '.lock') }] : []),
    { socket: sockets.control, lock: sockets.lock },
  ];
  const held = candidates.find((c) => existsSync(c.lock) && isLockHeld(c.lock));
  const where = held ?? candidates[candidates.length - 1]!;
  const base = { launch, heartbeat, heartbeatAgeMs, socket: where.socket, lock: where.lock };
  if (held) {
    const fresh = heartbeatAgeMs !== undefined && heartbeatAgeMs < HEARTBEAT_STALE_MS;
    return { ...base, liveness: fresh ? 'running' : 'unresponsive' };
  }
  if (!launch || launch.ended_at || ['stopped', 'failed', 'crashed'].includes(launch.state)) {
    return {
      ...base,
      liveness: launch?.state === 'failed' || launch?.state === 'crashed' ? 'failed' : 'stopped',
    };
  }
  return { ...base, liveness: launch.boot_id !== currentBootId() ? 'stale' : 'dead' };
}
