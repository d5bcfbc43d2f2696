/**
 * The logic behind `sac db`: functions that take an open {@link Store} and return data. Printing
 * is the CLI's business (src/cli/commands/db.ts). Export and import live in ./transfer.ts and are
 * re-exported here so the CLI loads one module.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { AppError } from '../errors.ts';
import type { Store, StoreLocation } from './db.ts';
import { currentBootId, nowIso, UNKNOWN_BOOT } from './host.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import {
  isTableName,
  quoteIdent,
  TABLE_NAMES,
  tableColumns,
  tableInfo,
  type TableName,
} from './tables.ts';

export { openStore, type Store } from './db.ts';
export {
  exportDb,
  importDb,
  parseImport,
  type ExportEnvelope,
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
  type Row,
} from './transfer.ts';

// ---------------------------------------------------------------------------------------- show

export interface ShowResult {
  path: string;
  location: StoreLocation;
  /** This host, and the host recorded at creation (they match unless adopted). */
  host: string;
  recordedHost: string | null;
  createdAt: string | null;
  schemaVersion: number;
  knownSchemaVersion: number;
  sqliteVersion: string;
  journalMode: string;
  /** Size of the database file without its -wal; undefined in memory. */
  sizeBytes: number | undefined;
  tables: Record<TableName, number>;
}

export function show(store: Store): ShowResult {
  const { db } = store;
  const meta = (key: string): string | null =>
    db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)
      ?.value ?? null;
  const tables = {} as Record<TableName, number>;
  for (const t of TABLE_NAMES) {
    tables[t] =
      db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${quoteIdent(t)}`).get()?.n ?? 0;
  }
  const path = store.location.path;
  return {
    path,
    location: store.location,
    host: store.host,
    recordedHost: meta('host'),
    createdAt: meta('created_at'),
    schemaVersion: store.schemaVersion,
    knownSchemaVersion: SCHEMA_VERSION,
    sqliteVersion:
      db.prepare<[], { v: string }>('SELECT sqlite_version() AS v').get()?.v ?? 'unknown',
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    sizeBytes: path !== ':memory:' && existsSync(path) ? statSync(path).size : undefined,
    tables,
  };
}

// --------------------------------------------------------------------------------------- query

export const DEFAULT_QUERY_LIMIT = 50;
export const MAX_QUERY_LIMIT = 10_000;

export interface QueryOptions {
  /**
   * `col=value` filters, AND-ed. The value is bound as a parameter, never spliced into SQL.
   * `col=` matches the empty string; `col=null` matches SQL NULL (the literal text "null" cannot
   * be matched; no column of the schema holds it).
   */
  where?: readonly string[];
  limit?: number;
}

export interface QueryResult {
  table: TableName;
  columns: string[];
  rows: Record<string, unknown>[];
  limit: number;
}

/** Rows of one whitelisted table, newest first by its time column (else by insertion). */
export function query(store: Store, table: string, opts: QueryOptions = {}): QueryResult {
  const name = checkTable(table);
  const columns = tableColumns(store.db, name).map((c) => c.name);
  const limit = checkLimit(opts.limit ?? DEFAULT_QUERY_LIMIT);
  const clauses: string[] = [];
  const params: string[] = [];
  for (const w of opts.where ?? []) {
    const eq = w.indexOf('=');
    if (eq <= 0) {
      throw new AppError('USAGE', `--where ${JSON.stringify(w)} is not col=value`, {
        hint: `columns of ${name}: ${columns.join(', ')}`,
      });
    }
    const col = w.slice(0, eq);
    const value = w.slice(eq + 1);
    if (!columns.includes(col)) {
      throw new AppError('USAGE', `table ${name} has no column ${JSON.stringify(col)}`, {
        hint: `columns of ${name}: ${columns.join(', ')}`,
        details: { table: name, column: col, columns },
      });
    }
    if (value === 'null') {
      clauses.push(`${quoteIdent(col)} IS NULL`);
    } else {
      clauses.push(`${quoteIdent(col)} = ?`);
      params.push(value);
    }
  }
  const time = tableInfo(name).time;
  const order = time ? `${quoteIdent(time)} DESC, rowid DESC` : 'rowid DESC';
  const sql =
    `SELECT * FROM ${quoteIdent(name)}` +
    (clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '') +
    ` ORDER BY ${order} LIMIT ${limit}`;
  const rows = store.db.prepare<string[], Record<string, unknown>>(sql).all(...params);
  return { table: name, columns, rows, limit };
}

/** A table name from the command line, checked against the whitelist. */
export function checkTable(table: string): TableName {
  if (!isTableName(table)) {
    throw new AppError('USAGE', `unknown table ${JSON.stringify(table)}`, {
      hint: `tables: ${TABLE_NAMES.join(', ')}`,
      details: { table, tables: TABLE_NAMES },
    });
  }
  return table;
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
    throw new AppError('USAGE', `--limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`, {
      details: { limit },
    });
  }
  return limit;
}

// --------------------------------------------------------------------------------------- clean

export interface CleanOptions {
  dryRun?: boolean;
  /** Test seam: the current boot id (default: the kernel's). */
  bootId?: string;
  /** Test seam: whether a spec path still exists. */
  exists?: (path: string) => boolean;
}

export interface CleanResult {
  dryRun: boolean;
  bootId: string;
  /** Launches of this host from an earlier boot: marked crashed / reboot-swept. */
  sweptLaunches: { id: string; name: string; boot_id: string; started_at: string }[];
  /** Cached definitions whose spec file is gone: deleted. */
  deletedDefinitions: { path: string; name: string }[];
  /** Port claims of agents with no launch running: released. */
  releasedPorts: { port: number; name: string; pinned: number }[];
  /** Why a step was skipped, when one was. */
  notes: string[];
}

/** Exit reason given to launches found from an earlier boot (the original's term). */
export const REBOOT_SWEPT = 'reboot-swept';

/**
 * Garbage-collect what can be proven stale. Conservative by design: only this host's rows are
 * swept (imported rows from other hosts are history, not claims), and without a known boot id no
 * launch is swept at all. Liveness within the current boot (lock + heartbeat) is the supervisor
 * layer's to judge, not this function's.
 */
export function clean(store: Store, opts: CleanOptions = {}): CleanResult {
  const dryRun = opts.dryRun === true;
  const bootId = opts.bootId ?? currentBootId();
  const exists = opts.exists ?? existsSync;
  const { db } = store;
  const notes: string[] = [];

  const work = (): CleanResult => {
    const bootKnown = bootId !== UNKNOWN_BOOT;
    if (!bootKnown) notes.push('boot id unknown on this platform: no launch was swept');
    const sweptLaunches = bootKnown
      ? db
          .prepare<[string, string], CleanResult['sweptLaunches'][number]>(
            `SELECT id, name, boot_id, started_at FROM launches
             WHERE ended_at IS NULL AND host = ? AND boot_id <> ? ORDER BY started_at`,
          )
          .all(store.host, bootId)
      : [];
    const deletedDefinitions = db
      .prepare<[], { path: string; name: string }>(
        'SELECT path, name FROM definitions ORDER BY path',
      )
      .all()
      .filter((d) => !exists(d.path));
    // Evaluated as if the sweep above had happened, so --dry-run reports what a real run does.
    const releasedPorts = db
      .prepare<string[], CleanResult['releasedPorts'][number]>(
        `SELECT port, name, pinned FROM a2a_ports p WHERE NOT EXISTS (
           SELECT 1 FROM launches l
           WHERE l.name = p.name AND l.ended_at IS NULL AND l.host = ?
             AND l.state IN ('starting', 'running', 'stopping')
             ${bootKnown ? 'AND l.boot_id = ?' : ''})
         ORDER BY port`,
      )
      .all(...(bootKnown ? [store.host, bootId] : [store.host]));

    if (!dryRun) {
      const now = nowIso();
      const sweep = db.prepare(
        `UPDATE launches SET state = 'crashed', exit_reason = ?, ended_at = ?
         WHERE id = ? AND ended_at IS NULL`,
      );
      const event = db.prepare(
        `INSERT INTO events (ts, name, launch_id, kind, actor, payload_json)
         VALUES (?, ?, ?, 'launch-swept', 'sac db clean', ?)`,
      );
      for (const l of sweptLaunches) {
        sweep.run(REBOOT_SWEPT, now, l.id);
        event.run(
          now,
          l.name,
          l.id,
          JSON.stringify({ exit_reason: REBOOT_SWEPT, boot_id: l.boot_id }),
        );
      }
      const delDef = db.prepare('DELETE FROM definitions WHERE path = ?');
      for (const d of deletedDefinitions) delDef.run(d.path);
      const release = db.prepare('DELETE FROM a2a_ports WHERE port = ?');
      for (const p of releasedPorts) release.run(p.port);
    }
    return { dryRun, bootId, sweptLaunches, deletedDefinitions, releasedPorts, notes };
  };
  // A dry run only reads; a real one does everything in one transaction.
  return dryRun ? work() : store.tx(work);
}
