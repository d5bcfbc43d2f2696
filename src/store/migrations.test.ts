import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import {
  applyMigrations,
  assertContiguous,
  type Migration,
  MIGRATIONS,
  SCHEMA_VERSION,
  schemaVersion,
} from './migrations.ts';

function tables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all()
    .map((r) => r.name);
}

describe('migrations', () => {
  it('are numbered 1..N and the schema version is the last', () => {
    expect(() => assertContiguous(MIGRATIONS)).not.toThrow();
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('apply once on a new database, then are a no-op', () => {
    const db = new Database(':memory:');
    const first = applyMigrations(db);
    expect(first).toEqual({
      from: 0,
      to: SCHEMA_VERSION,
      applied: MIGRATIONS.map((m) => m.version),
    });
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(tables(db)).toEqual([
      'a2a_ports',
      'agent_uids',
      'blocks',
      'definitions',
      'events',
      'grants',
      'launches',
      'lineage',
      'meta',
      'turns',
    ]);
    const second = applyMigrations(db);
    expect(second).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    db.close();
  });

  it('refuses a database newer than the code', () => {
    const db = new Database(':memory:');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    let caught: unknown;
    try {
      applyMigrations(db);
    } catch (err) {
      caught = err;
    }
    expect(isAppError(caught) && caught.code).toBe('STORE_FAILED');
    expect((caught as Error).message).toBe(
      `state.db schema v${SCHEMA_VERSION + 1} is newer than this sac (knows v${SCHEMA_VERSION}): ` +
        'upgrade sac or restart the older supervisor',
    );
    db.close();
  });

  it('applies pending steps in one transaction: a failing step rolls all back', () => {
    const db = new Database(':memory:');
    const list: Migration[] = [
      { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
      { version: 2, name: 'b', sql: 'CREATE TABLE b (x INTEGER); THIS IS NOT SQL;' },
    ];
    expect(() => applyMigrations(db, { migrations: list })).toThrow();
    expect(schemaVersion(db)).toBe(0);
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('applies only the steps after the recorded version', () => {
    const db = new Database(':memory:');
    const v1: Migration[] = [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' }];
    applyMigrations(db, { migrations: v1 });
    const v2 = [...v1, { version: 2, name: 'b', sql: 'ALTER TABLE a ADD COLUMN y TEXT;' }];
    expect(applyMigrations(db, { migrations: v2 })).toEqual({ from: 1, to: 2, applied: [2] });
    expect(schemaVersion(db)).toBe(2);
    db.close();
  });

  it('rejects a list with gaps', () => {
    expect(() =>
      assertContiguous([
        { version: 1, name: 'a', sql: '' },
        { version: 3, name: 'c', sql: '' },
      ]),
    ).toThrow(/expected 2/);
  });
});
