import type Database from 'better-sqlite3';

/**
 * What `sac db` may touch, table by table: the whitelist for `query`, the primary key that orders
 * exports and makes imports idempotent, and the time column `--since` filters on.
 * @module
 */

export interface TableInfo {
  /** Primary-key columns, in order: exports are sorted by them. */
  pk: readonly string[];
  /** The column `query` sorts on (newest first) and `export --since` filters on. */
  time: string | undefined;
  /** Included in `sac db export` when no `--tables` is given. */
  exportByDefault: boolean;
  /** May appear in an export/import at all. */
  transferable: boolean;
}

/**
 * Every table of the schema, in dependency order (a table's foreign-key parents come before it),
 * so an export lists and an import inserts launches before the turns that reference them.
 */
export const TABLES = {
  // Host identity; the export envelope carries it instead, and importing it would clobber ours.
  meta: { pk: ['key'], time: undefined, exportByDefault: false, transferable: false },
  // A cache of spec files: exported only on request, since another host's paths mean little.
  definitions: { pk: ['path'], time: 'checked_at', exportByDefault: false, transferable: true },
  launches: { pk: ['id'], time: 'started_at', exportByDefault: true, transferable: true },
  turns: { pk: ['id'], time: 'created_at', exportByDefault: true, transferable: true },
  events: { pk: ['id'], time: 'ts', exportByDefault: true, transferable: true },
  // Port claims are host-local (another host's ports are not ours to hold): on request only.
  a2a_ports: { pk: ['port'], time: 'claimed_at', exportByDefault: false, transferable: true },
  // Agent uids are host-local too (they name files on this host's disks): on request only.
  agent_uids: {
    pk: ['runtime_dir'],
    time: 'created_at',
    exportByDefault: false,
    transferable: true,
  },
  lineage: { pk: ['child'], time: 'created_at', exportByDefault: true, transferable: true },
  grants: {
    pk: ['sender', 'target'],
    time: 'created_at',
    exportByDefault: true,
    transferable: true,
  },
  blocks: {
    pk: ['sender', 'target'],
    time: 'created_at',
    exportByDefault: true,
    transferable: true,
  },
} as const satisfies Record<string, TableInfo>;

export type TableName = keyof typeof TABLES;

export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

export function isTableName(name: string): name is TableName {
  return Object.hasOwn(TABLES, name);
}

export function tableInfo(name: TableName): TableInfo {
  return TABLES[name];
}

/** SQLite identifier quoting; only ever applied to names already checked against the schema. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export interface ColumnInfo {
  name: string;
  /** Declared type as written in the schema (`TEXT`, `INTEGER`, `REAL`). */
  type: string;
  notnull: boolean;
  hasDefault: boolean;
  /** Position in the primary key (1-based), 0 if not part of it. */
  pk: number;
}

/** The columns of `table` as the database file has them (which may be newer than our types). */
export function tableColumns(db: Database.Database, table: TableName): ColumnInfo[] {
  const rows = db
    .prepare<
      [string],
      { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }
    >(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`)
    .all(table);
  return rows.map((r) => ({
    name: r.name,
    type: r.type.toUpperCase(),
    notnull: r.notnull === 1,
    hasDefault: r.dflt_value !== null,
    pk: r.pk,
  }));
}
