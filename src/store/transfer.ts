/**
 * `sac db export` / `sac db import`: state.db rows as one JSON document, for moving history
 * between hosts (`ssh peer sac db export | sac db import -`) and for backups.
 *
 * Import is a merge by primary key, never an update: a row already present is skipped, so importing
 * the same file twice inserts nothing the second time.
 * @module
 */
import { AppError } from '../errors.ts';
import { redactSecrets } from '../util/redact.ts';
import type { Store } from './db.ts';
import { nowIso } from './host.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import {
  type ColumnInfo,
  isTableName,
  quoteIdent,
  TABLE_NAMES,
  TABLES,
  tableColumns,
  tableInfo,
  type TableName,
} from './tables.ts';

export const EXPORT_FORMAT = 'sac-state-export';

/** A row as it appears in an export: column → SQLite value (no BLOBs in this schema). */
export type Row = Record<string, string | number | null>;

export interface ExportEnvelope {
  format: typeof EXPORT_FORMAT;
  /** `user_version` of the database the rows came from. */
  schema: number;
  exported_at: string;
  since: string | null;
  host: string;
  tables: Partial<Record<TableName, Row[]>>;
}

export interface ExportOptions {
  /** Only rows whose time column (see {@link TABLES}) is at or after this instant. */
  since?: string;
  /** Which tables; default: every transferable one except `definitions` and `a2a_ports`. */
  tables?: readonly string[];
}

/** The tables an export includes unless told otherwise. */
export const DEFAULT_EXPORT_TABLES: readonly TableName[] = TABLE_NAMES.filter(
  (t) => TABLES[t].exportByDefault,
);

const TRANSFERABLE: readonly TableName[] = TABLE_NAMES.filter((t) => TABLES[t].transferable);

/**
 * Rows of the chosen tables, sorted by primary key, with known secret shapes redacted in every
 * text value except primary keys (redacting a key would break idempotent re-import).
 */
export function exportDb(store: Store, opts: ExportOptions = {}): ExportEnvelope {
  const since = opts.since === undefined ? null : normaliseSince(opts.since);
  const chosen = opts.tables === undefined ? DEFAULT_EXPORT_TABLES : checkTransferable(opts.tables);
  const tables: Partial<Record<TableName, Row[]>> = {};
  // One read transaction, so the tables are a consistent snapshot even while supervisors write.
  store.db
    .transaction(() => {
      for (const t of TABLE_NAMES.filter((n) => chosen.includes(n))) {
        const info = tableInfo(t);
        const where = since !== null && info.time ? ` WHERE ${quoteIdent(info.time)} >= ?` : '';
        const order = info.pk.map(quoteIdent).join(', ');
        const rows = store.db
          .prepare<string[], Row>(`SELECT * FROM ${quoteIdent(t)}${where} ORDER BY ${order}`)
          .all(...(where ? [since as string] : []));
        tables[t] = rows.map((r) => redactRow(r, info.pk));
      }
    })
    .deferred();
  return {
    format: EXPORT_FORMAT,
    schema: store.schemaVersion,
    exported_at: nowIso(),
    since,
    host: store.host,
    tables,
  };
}

function redactRow(row: Row, pk: readonly string[]): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = typeof v === 'string' && !pk.includes(k) ? redactSecrets(v) : v;
  }
  return out;
}

/** Accept any instant `Date` parses; store comparisons need the canonical `...Z` form. */
function normaliseSince(since: string): string {
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) {
    throw new AppError('USAGE', `--since ${JSON.stringify(since)} is not a timestamp`, {
      hint: 'use RFC 3339, for example 2026-01-31T00:00:00Z or 2026-01-31',
    });
  }
  return new Date(ms).toISOString();
}

function checkTransferable(names: readonly string[]): TableName[] {
  return names.map((n) => {
    if (!isTableName(n) || !TABLES[n].transferable) {
      throw new AppError('USAGE', `table ${JSON.stringify(n)} cannot be exported`, {
        hint: `tables: ${TRANSFERABLE.join(', ')}`,
        details: { table: n, tables: TRANSFERABLE },
      });
    }
    return n;
  });
}

// -------------------------------------------------------------------------------------- import

export interface ImportOptions {
  /** Do everything, report the counts, and roll back. */
  dryRun?: boolean;
}

export interface ImportResult {
  dryRun: boolean;
  /** Schema and host the export came from. */
  schema: number;
  host: string | null;
  tables: Partial<Record<TableName, { inserted: number; skipped: number }>>;
}

/** Parse import text; a syntax error is IMPORT_INVALID naming the source. */
export function parseImport(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('IMPORT_INVALID', `${source}: not JSON: ${(err as Error).message}`, {
      hint: 'import a file written by `sac db export`',
    });
  }
}

/** At most this many validation problems are listed; the first is in the message. */
const MAX_ISSUES = 50;

/**
 * Merge an export into `store` in one transaction. Every problem is located
 * (`tables.turns[3].state: ...`); nothing is written unless the whole file is valid.
 */
export function importDb(store: Store, input: unknown, opts: ImportOptions = {}): ImportResult {
  const envelope = validateEnvelope(input);
  const plan = validateRows(store, envelope.tables);
  const dryRun = opts.dryRun === true;
  const result: ImportResult = {
    dryRun,
    schema: envelope.schema,
    host: envelope.host,
    tables: {},
  };
  try {
    store.tx(() => {
      // Parents may follow children in a hand-made file; check references once, at the end.
      store.db.pragma('defer_foreign_keys = ON');
      for (const { table, rows } of plan) {
        let inserted = 0;
        rows.forEach((row, i) => {
          inserted += insertRow(store, table, row, i);
        });
        result.tables[table] = { inserted, skipped: rows.length - inserted };
      }
      assertReferences(store);
      if (dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  return result;
}

class DryRunRollback extends Error {}

interface ValidEnvelope {
  schema: number;
  host: string | null;
  tables: Record<string, unknown>;
}

function invalid(where: string, message: string, issues?: string[]): AppError {
  return new AppError('IMPORT_INVALID', `${where}: ${message}`, {
    hint: 'import a file written by `sac db export` (see docs/state.md for the format)',
    ...(issues && issues.length > 1 ? { details: { issues } } : {}),
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateEnvelope(input: unknown): ValidEnvelope {
  if (!isPlainObject(input)) throw invalid('(document)', 'expected a JSON object');
  if (input.format !== EXPORT_FORMAT) {
    throw invalid('format', `expected "${EXPORT_FORMAT}", got ${JSON.stringify(input.format)}`);
  }
  const schema = input.schema;
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < 1) {
    throw invalid('schema', `expected a positive integer, got ${JSON.stringify(schema)}`);
  }
  if (schema > SCHEMA_VERSION) {
    throw new AppError(
      'IMPORT_INVALID',
      `schema: the export is schema v${schema}, newer than this sac (knows v${SCHEMA_VERSION})`,
      { hint: 'upgrade sac on this host before importing' },
    );
  }
  if (!isPlainObject(input.tables)) throw invalid('tables', 'expected an object of table → rows');
  return {
    schema,
    host: typeof input.host === 'string' ? input.host : null,
    tables: input.tables,
  };
}

interface TablePlan {
  table: TableName;
  columns: ColumnInfo[];
  rows: Row[];
}

/** Check every table, row, column and value before writing anything. */
function validateRows(store: Store, tables: Record<string, unknown>): TablePlan[] {
  const issues: string[] = [];
  const note = (msg: string): void => {
    if (issues.length < MAX_ISSUES) issues.push(msg);
  };
  const plans: TablePlan[] = [];
  for (const [name, rows] of Object.entries(tables)) {
    if (!isTableName(name) || !TABLES[name].transferable) {
      note(`tables.${name}: unknown table (importable: ${TRANSFERABLE.join(', ')})`);
      continue;
    }
    if (!Array.isArray(rows)) {
      note(`tables.${name}: expected an array of rows`);
      continue;
    }
    const columns = tableColumns(store.db, name);
    const byName = new Map(columns.map((c) => [c.name, c]));
    const required = columns.filter((c) => c.pk > 0 || (c.notnull && !c.hasDefault));
    const good: Row[] = [];
    rows.forEach((row: unknown, i) => {
      const at = `tables.${name}[${i}]`;
      if (!isPlainObject(row)) return note(`${at}: expected an object`);
      let ok = true;
      for (const [col, value] of Object.entries(row)) {
        const info = byName.get(col);
        if (info === undefined) {
          ok = false;
          note(`${at}.${col}: unknown column (columns: ${columns.map((c) => c.name).join(', ')})`);
          continue;
        }
        const problem = valueProblem(info, value);
        if (problem) {
          ok = false;
          note(`${at}.${col}: ${problem}`);
        }
      }
      for (const c of required) {
        if (row[c.name] === undefined || row[c.name] === null) {
          ok = false;
          note(`${at}.${c.name}: required${c.pk > 0 ? ' (primary key)' : ''}`);
        }
      }
      if (ok) good.push(row as Row);
    });
    plans.push({ table: name, columns, rows: good });
  }
  const first = issues[0];
  if (first !== undefined) {
    const i = first.indexOf(': ');
    throw invalid(first.slice(0, i), first.slice(i + 2), issues);
  }
  // Insert in schema order, so parents land before the rows that reference them.
  return plans.sort((a, b) => TABLE_NAMES.indexOf(a.table) - TABLE_NAMES.indexOf(b.table));
}

/** Why `value` cannot go into column `info`, or undefined if it can. */
function valueProblem(info: ColumnInfo, value: unknown): string | undefined {
  if (value === null) return info.notnull ? 'must not be null' : undefined;
  if (info.type === 'INTEGER') {
    return typeof value === 'number' && Number.isSafeInteger(value)
      ? undefined
      : `expected an integer, got ${JSON.stringify(value)}`;
  }
  if (info.type === 'REAL') {
    return typeof value === 'number' && Number.isFinite(value)
      ? undefined
      : `expected a number, got ${JSON.stringify(value)}`;
  }
  return typeof value === 'string' ? undefined : `expected a string, got ${JSON.stringify(value)}`;
}

/**
 * Insert one row unless its primary key (or another unique key) is already taken; 1 if inserted.
 * `ON CONFLICT DO NOTHING` rather than `INSERT OR IGNORE`: OR IGNORE would also silently drop rows
 * that break NOT NULL or CHECK constraints, which must fail the import instead.
 */
function insertRow(store: Store, table: TableName, row: Row, index: number): number {
  const cols = Object.keys(row);
  const sql =
    `INSERT INTO ${quoteIdent(table)} (${cols.map(quoteIdent).join(', ')}) ` +
    `VALUES (${cols.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`;
  try {
    return store.db.prepare<(string | number | null)[]>(sql).run(...cols.map((c) => row[c] ?? null))
      .changes;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      throw invalid(`tables.${table}[${index}]`, (err as Error).message);
    }
    throw err;
  }
}

/** Fail the import if a row references a parent that is neither in the file nor in state.db. */
function assertReferences(store: Store): void {
  const broken = store.db
    .prepare<[], { table: string; rowid: number; parent: string }>('PRAGMA foreign_key_check')
    .all();
  const first = broken[0];
  if (first === undefined) return;
  throw new AppError(
    'IMPORT_INVALID',
    `tables.${first.table}: ${broken.length} row(s) reference ${first.parent} rows that are ` +
      'neither in the file nor in state.db',
    {
      hint: `export and import the ${first.parent} table too (--tables ${first.parent},${first.table})`,
      details: { violations: broken.slice(0, MAX_ISSUES) },
    },
  );
}
