/**
 * The definitions cache: parsed specs keyed by file identity. Spec files stay the source of truth;
 * a row is only trusted while the file's identity (dev, ino, size, mtime) still matches it.
 * @module
 */
import type { Store } from '../db.ts';

export interface DefinitionRow {
  /** Absolute path of the spec file. */
  path: string;
  name: string;
  scope: string;
  file_dev: string | null;
  file_ino: string | null;
  file_size: number | null;
  /** Nanosecond mtime as a decimal string (too large for a double). */
  file_mtime_ns: string | null;
  spec_sha256: string;
  /** 1 if the spec validated, 0 if not. */
  valid: number;
  /** Opaque JSON the spec layer stores (name, runtime, model, capabilities, issues...). */
  summary_json: string;
  checked_at: string;
}

export function getDefinition(store: Store, path: string): DefinitionRow | undefined {
  return store.db
    .prepare<[string], DefinitionRow>('SELECT * FROM definitions WHERE path = ?')
    .get(path);
}

/**
 * The cached rows for many paths in one statement, keyed by path; missing paths are absent.
 * The list travels as one JSON parameter, so its length is not bound by SQLite's variable limit.
 */
export function getDefinitions(store: Store, paths: readonly string[]): Map<string, DefinitionRow> {
  const rows =
    paths.length === 0
      ? []
      : store.db
          .prepare<[string], DefinitionRow>(
            'SELECT * FROM definitions WHERE path IN (SELECT value FROM json_each(?))',
          )
          .all(JSON.stringify(paths));
  return new Map(rows.map((r) => [r.path, r]));
}

/** Insert or replace the row for `row.path`. */
export function putDefinition(store: Store, row: DefinitionRow): void {
  store.tx(() => {
    store.db
      .prepare(
        `INSERT INTO definitions (path, name, scope, file_dev, file_ino, file_size, file_mtime_ns,
           spec_sha256, valid, summary_json, checked_at)
         VALUES (@path, @name, @scope, @file_dev, @file_ino, @file_size, @file_mtime_ns,
           @spec_sha256, @valid, @summary_json, @checked_at)
         ON CONFLICT (path) DO UPDATE SET
           name = excluded.name, scope = excluded.scope, file_dev = excluded.file_dev,
           file_ino = excluded.file_ino, file_size = excluded.file_size,
           file_mtime_ns = excluded.file_mtime_ns, spec_sha256 = excluded.spec_sha256,
           valid = excluded.valid, summary_json = excluded.summary_json,
           checked_at = excluded.checked_at`,
      )
      .run(row);
  });
}

/**
 * Drop cached rows whose path is not in `paths` (specs deleted or moved since the last scan).
 * With `scope`, only that scope's rows are considered, so a scan of one scope leaves the others.
 * Returns the number of rows deleted.
 */
export function deleteDefinitionsNotIn(
  store: Store,
  paths: readonly string[],
  opts: { scope?: string } = {},
): number {
  return store.tx(() => {
    const scoped = opts.scope !== undefined;
    const sql =
      'DELETE FROM definitions WHERE path NOT IN (SELECT value FROM json_each(?))' +
      (scoped ? ' AND scope = ?' : '');
    const params: string[] = [JSON.stringify(paths)];
    if (opts.scope !== undefined) params.push(opts.scope);
    return store.db.prepare<string[]>(sql).run(...params).changes;
  });
}
