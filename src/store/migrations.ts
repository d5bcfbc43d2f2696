/**
 * The state.db schema as numbered migrations, tracked by `PRAGMA user_version`.
 *
 * Kept as a TS module rather than `.sql` files so the build needs no copy step. Policy (see
 * docs/state.md): migrations are append-only and, while an older supervisor may still run against
 * the same file, additive (new tables, new nullable columns, new indexes); a sac that meets a newer
 * schema than it knows refuses to open it instead of guessing.
 * @module
 */
import type Database from 'better-sqlite3';
import { AppError } from '../errors.ts';

export interface Migration {
  /** 1, 2, 3...: contiguous; becomes `user_version` once applied. */
  version: number;
  /** Short, for logs and `sac db show`. */
  name: string;
  sql: string;
}

/** Every migration, oldest first. Never edit a released entry: add a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- A cache of parsed specs keyed by file identity; spec files stay the source of truth.
CREATE TABLE definitions (
  path          TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  scope         TEXT NOT NULL,
  file_dev      TEXT,
  file_ino      TEXT,
  file_size     INTEGER,
  file_mtime_ns TEXT,
  spec_sha256   TEXT NOT NULL,
  valid         INTEGER NOT NULL,
  summary_json  TEXT NOT NULL,
  checked_at    TEXT NOT NULL
);

CREATE TABLE launches (
  id                     TEXT PRIMARY KEY,
  name                   TEXT NOT NULL,
  scope                  TEXT NOT NULL,
  spec_path              TEXT NOT NULL,
  spec_sha256            TEXT NOT NULL,
  host                   TEXT NOT NULL,
  boot_id                TEXT NOT NULL,
  supervisor_pid         INTEGER,
  supervisor_start_ticks TEXT,
  runtime                TEXT NOT NULL,
  model                  TEXT,
  a2a_port               INTEGER,
  socket_path            TEXT,
  session_id             TEXT,
  sac_version            TEXT NOT NULL,
  claude_code_version    TEXT,
  schema_version         INTEGER NOT NULL,
  state                  TEXT NOT NULL
    CHECK (state IN ('starting','running','stopping','stopped','failed','crashed')),
  exit_reason            TEXT,
  restarts               INTEGER NOT NULL DEFAULT 0,
  started_at             TEXT NOT NULL,
  ready_at               TEXT,
  ended_at               TEXT
);
CREATE INDEX launches_name_ended ON launches (name, ended_at);

CREATE TABLE turns (
  id                          TEXT PRIMARY KEY,
  launch_id                   TEXT REFERENCES launches (id),
  name                        TEXT NOT NULL,
  seq                         INTEGER NOT NULL,
  text                        TEXT NOT NULL,
  caller                      TEXT,
  a2a_task_id                 TEXT,
  state                       TEXT NOT NULL
    CHECK (state IN ('queued','running','done','cancelled','interrupted','failed')),
  exit_after                  INTEGER NOT NULL DEFAULT 0,
  attempts                    INTEGER NOT NULL DEFAULT 0,
  reply                       TEXT,
  error                       TEXT,
  session_id                  TEXT,
  input_tokens                INTEGER,
  output_tokens               INTEGER,
  cache_creation_input_tokens INTEGER,
  cache_read_input_tokens     INTEGER,
  cost_usd                    REAL,
  created_at                  TEXT NOT NULL,
  started_at                  TEXT,
  ended_at                    TEXT
);
CREATE INDEX turns_name_state_seq ON turns (name, state, seq);

CREATE TABLE events (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  ts           TEXT NOT NULL,
  name         TEXT,
  launch_id    TEXT,
  kind         TEXT NOT NULL,
  actor        TEXT,
  payload_json TEXT
);
CREATE INDEX events_name_ts ON events (name, ts);

CREATE TABLE a2a_ports (
  port       INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  pinned     INTEGER NOT NULL DEFAULT 0,
  claimed_at TEXT NOT NULL
);

CREATE TABLE lineage (
  child      TEXT PRIMARY KEY,
  parent     TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE grants (
  sender     TEXT NOT NULL,
  target     TEXT NOT NULL,
  note       TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (sender, target)
);

CREATE TABLE blocks (
  sender     TEXT NOT NULL,
  target     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (sender, target)
);
`,
  },
  {
    version: 2,
    name: 'agent uids',
    sql: `
-- As root, each agent runs as its own unprivileged uid: allocated once from sandbox.uid_range,
-- then kept, because the agent's home and the workdirs sac created are owned by it. Keyed by the
-- runtime dir (one per agent and scope), unique per uid so two agents never share one.
CREATE TABLE agent_uids (
  runtime_dir TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  uid         INTEGER NOT NULL UNIQUE,
  gid         INTEGER NOT NULL,
  created_at  TEXT NOT NULL
);
`,
  },
];

/** The schema version this sac writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

/** The schema version recorded in the file (0 for a new, empty database). */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Refuse a database written by a newer sac: its meaning of the data is not ours to guess. */
export function assertKnownVersion(found: number, known: number = SCHEMA_VERSION): void {
  if (found > known) {
    throw new AppError(
      'STORE_FAILED',
      `state.db schema v${found} is newer than this sac (knows v${known}): ` +
        'upgrade sac or restart the older supervisor',
      {
        hint: 'a newer sac has migrated this state.db; run that version, or upgrade this one',
        details: { found, known },
      },
    );
  }
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

export interface ApplyOptions {
  migrations?: readonly Migration[];
  /**
   * Runs inside the migration transaction after the pending migrations, with the version found
   * before them. A throw rolls every migration back (used for the host check and `meta` seeding).
   */
  within?: (from: number) => void;
}

/**
 * Bring `db` up to the newest migration in ONE immediate transaction: either every pending step
 * lands or none does, and two processes opening a new database at once cannot both migrate (the
 * second waits on the write lock, then sees the new `user_version` and has nothing to do).
 */
export function applyMigrations(
  db: Database.Database,
  options: ApplyOptions = {},
): MigrationResult {
  const list = options.migrations ?? MIGRATIONS;
  assertContiguous(list);
  const known = list.at(-1)?.version ?? 0;
  const run = db.transaction((): MigrationResult => {
    const from = schemaVersion(db);
    assertKnownVersion(from, known);
    const pending = list.filter((m) => m.version > from);
    for (const m of pending) db.exec(m.sql);
    // user_version lives in the database header, which is part of this transaction.
    if (pending.length > 0) db.pragma(`user_version = ${known}`);
    options.within?.(from);
    return { from, to: Math.max(from, known), applied: pending.map((m) => m.version) };
  });
  return run.immediate();
}

/** A gap or a reordering in the list is a bug in sac, caught at the first open rather than in the field. */
export function assertContiguous(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new AppError(
        'INTERNAL',
        `migration #${i} has version ${m.version}, expected ${i + 1}: migrations must be 1..N in order`,
      );
    }
  });
}
