/**
 * Launches: one row per start of an agent's supervisor. A row is history, not liveness: whether a
 * supervisor is alive is decided by its lock and heartbeat, and a row from an earlier boot is stale.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../db.ts';
import { currentBootId, nowIso } from '../host.ts';
import { SCHEMA_VERSION } from '../migrations.ts';
import { quoteIdent } from '../tables.ts';

export const LAUNCH_STATES = [
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'crashed',
] as const;
export type LaunchState = (typeof LAUNCH_STATES)[number];

/** States after which a launch never changes again; entering one sets `ended_at`. */
export const TERMINAL_LAUNCH_STATES: readonly LaunchState[] = ['stopped', 'failed', 'crashed'];

export interface LaunchRow {
  id: string;
  name: string;
  scope: string;
  spec_path: string;
  spec_sha256: string;
  host: string;
  boot_id: string;
  supervisor_pid: number | null;
  /** Process start time (`/proc/<pid>/stat` field 22): with the pid, names the process uniquely. */
  supervisor_start_ticks: string | null;
  runtime: string;
  model: string | null;
  a2a_port: number | null;
  socket_path: string | null;
  session_id: string | null;
  sac_version: string;
  claude_code_version: string | null;
  schema_version: number;
  state: LaunchState;
  exit_reason: string | null;
  restarts: number;
  started_at: string;
  ready_at: string | null;
  ended_at: string | null;
}

/** What a caller must say about a new launch; the rest defaults (id, host, boot, times...). */
export type NewLaunch = Pick<
  LaunchRow,
  'name' | 'scope' | 'spec_path' | 'spec_sha256' | 'runtime' | 'sac_version'
> &
  Partial<
    Omit<LaunchRow, 'name' | 'scope' | 'spec_path' | 'spec_sha256' | 'runtime' | 'sac_version'>
  >;

/** Columns that may change after insert. */
export type LaunchPatch = Partial<
  Pick<
    LaunchRow,
    | 'supervisor_pid'
    | 'supervisor_start_ticks'
    | 'model'
    | 'a2a_port'
    | 'socket_path'
    | 'session_id'
    | 'claude_code_version'
    | 'state'
    | 'exit_reason'
    | 'restarts'
    | 'ready_at'
    | 'ended_at'
  >
>;

const PATCHABLE: readonly (keyof LaunchPatch)[] = [
  'supervisor_pid',
  'supervisor_start_ticks',
  'model',
  'a2a_port',
  'socket_path',
  'session_id',
  'claude_code_version',
  'state',
  'exit_reason',
  'restarts',
  'ready_at',
  'ended_at',
];

/** Record a new launch (state `starting` unless given) and return the stored row. */
export function insertLaunch(store: Store, input: NewLaunch): LaunchRow {
  const row: LaunchRow = {
    id: randomUUID(),
    host: store.host,
    boot_id: currentBootId(),
    supervisor_pid: null,
    supervisor_start_ticks: null,
    model: null,
    a2a_port: null,
    socket_path: null,
    session_id: null,
    claude_code_version: null,
    schema_version: SCHEMA_VERSION,
    state: 'starting',
    exit_reason: null,
    restarts: 0,
    started_at: nowIso(),
    ready_at: null,
    ended_at: null,
    ...definedOnly(input),
  };
  const cols = Object.keys(row);
  store.tx(() => {
    store.db
      .prepare(
        `INSERT INTO launches (${cols.map(quoteIdent).join(', ')}) VALUES (${cols
          .map((c) => `@${c}`)
          .join(', ')})`,
      )
      .run(row);
  });
  return row;
}

export function getLaunch(store: Store, id: string): LaunchRow | undefined {
  return store.db.prepare<[string], LaunchRow>('SELECT * FROM launches WHERE id = ?').get(id);
}

/** Change some columns of a launch; returns the updated row, or undefined if there is none. */
export function updateLaunch(store: Store, id: string, patch: LaunchPatch): LaunchRow | undefined {
  const cols = PATCHABLE.filter((c) => patch[c] !== undefined);
  return store.tx(() => {
    if (cols.length > 0) {
      const values: Record<string, unknown> = { id };
      for (const c of cols) values[c] = patch[c];
      store.db
        .prepare(
          `UPDATE launches SET ${cols.map((c) => `${quoteIdent(c)} = @${c}`).join(', ')} WHERE id = @id`,
        )
        .run(values);
    }
    return getLaunch(store, id);
  });
}

/**
 * Move a launch to `state`. Entering `running` stamps `ready_at` once; entering a terminal state
 * stamps `ended_at` and records `exit_reason`. A launch that already ended is left alone (a late
 * "stopped" must not overwrite a "crashed"), and the row is returned as it is.
 */
export function setLaunchState(
  store: Store,
  id: string,
  state: LaunchState,
  opts: { exit_reason?: string; at?: string } = {},
): LaunchRow | undefined {
  const at = opts.at ?? nowIso();
  return store.tx(() => {
    const current = getLaunch(store, id);
    if (current === undefined || current.ended_at !== null) return current;
    const patch: LaunchPatch = { state };
    if (state === 'running' && current.ready_at === null) patch.ready_at = at;
    if (TERMINAL_LAUNCH_STATES.includes(state)) {
      patch.ended_at = at;
      if (opts.exit_reason !== undefined) patch.exit_reason = opts.exit_reason;
    }
    return updateLaunch(store, id, patch);
  });
}

/** The most recent launch of `name`, ended or not. */
export function latestLaunch(store: Store, name: string, specPath?: string): LaunchRow | undefined {
  // two scopes may each define an agent of one name: their spec paths tell them apart
  return specPath === undefined
    ? store.db
        .prepare<[string], LaunchRow>(
          'SELECT * FROM launches WHERE name = ? ORDER BY started_at DESC, rowid DESC LIMIT 1',
        )
        .get(name)
    : store.db
        .prepare<[string, string], LaunchRow>(
          'SELECT * FROM launches WHERE name = ? AND spec_path = ? ORDER BY started_at DESC, rowid DESC LIMIT 1',
        )
        .get(name, specPath);
}

/**
 * Launches not yet ended (on this host unless `host` says otherwise). Not ended is not alive:
 * rows from an earlier boot are included; compare `boot_id` or run `sac db clean`.
 */
export function activeLaunches(
  store: Store,
  opts: { host?: string; name?: string } = {},
): LaunchRow[] {
  const host = opts.host ?? store.host;
  if (opts.name !== undefined) {
    return store.db
      .prepare<[string, string], LaunchRow>(
        'SELECT * FROM launches WHERE ended_at IS NULL AND host = ? AND name = ? ORDER BY started_at',
      )
      .all(host, opts.name);
  }
  return store.db
    .prepare<[string], LaunchRow>(
      'SELECT * FROM launches WHERE ended_at IS NULL AND host = ? ORDER BY name, started_at',
    )
    .all(host);
}

/** Drop keys whose value is `undefined`, so an optional field left unset keeps its default. */
function definedOnly<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Close the launches of `name` that never ended (their supervisor died): state `crashed`, with
 * `reason` unless one was recorded. Call only while holding the agent's lock. Returns how many.
 */
export function endOpenLaunches(
  store: Store,
  name: string,
  specPath: string,
  reason: string,
): number {
  return store.tx(
    () =>
      store.db
        .prepare(
          "UPDATE launches SET state = 'crashed', exit_reason = coalesce(exit_reason, ?), ended_at = ? WHERE name = ? AND spec_path = ? AND ended_at IS NULL",
        )
        .run(reason, nowIso(), name, specPath).changes,
  );
}
