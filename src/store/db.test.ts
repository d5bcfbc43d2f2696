import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateStore, openStore, type Store } from './db.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { appErrorOf as storeError } from '../../test/support/errors.ts';

let home: string;
let extra: string[];
const open: Store[] = [];

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sac-db-'));
  extra = [];
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of [home, ...extra]) rmSync(d, { recursive: true, force: true });
});

function openAt(opts: Parameters<typeof openStore>[0] = {}): Store {
  const s = openStore({ env: { SAC_HOME: home }, ...opts });
  open.push(s);
  return s;
}

describe('openStore', () => {
  it('creates runtime/state.db 0600 in a 0700 directory, migrated, with the pragmas', () => {
    const store = openAt({ host: 'node-a' });
    expect(store.location).toEqual({
      path: join(home, 'runtime', 'state.db'),
      networkFs: undefined,
      relocated: false,
    });
    expect(statSync(store.location.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'runtime')).mode & 0o777).toBe(0o700);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    const p = (name: string): unknown => store.db.pragma(name, { simple: true });
    expect(p('journal_mode')).toBe('wal');
    expect(p('foreign_keys')).toBe(1);
    expect(p('synchronous')).toBe(1); // NORMAL
    expect(p('busy_timeout')).toBe(5000);
    const meta = store.db.prepare('SELECT key, value FROM meta ORDER BY key').all();
    expect(meta).toEqual([
      { key: 'created_at', value: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) as unknown },
      { key: 'host', value: 'node-a' },
    ]);
    // the -wal file inherits the database file's mode
    store.db.prepare("INSERT INTO meta VALUES ('x', 'y')").run();
    expect(statSync(`${store.location.path}-wal`).mode & 0o777).toBe(0o600);
  });

  it('locateStore reports the same place without opening anything', () => {
    expect(locateStore({ env: { SAC_HOME: home } }).path).toBe(join(home, 'runtime', 'state.db'));
    const nfs = locateStore({ env: { SAC_HOME: home }, probeFsType: () => 0x6969 });
    expect(nfs).toMatchObject({ relocated: true, networkFs: 'nfs' });
    const explicit = locateStore({ path: '/x/y.db', probeFsType: () => 0x0bd00bd0 });
    expect(explicit).toMatchObject({ path: '/x/y.db', relocated: false, networkFs: 'lustre' });
  });

  it('reopens without migrating again', () => {
    openAt({ host: 'h' }).close();
    const again = openAt({ host: 'h' });
    expect(again.schemaVersion).toBe(SCHEMA_VERSION);
    expect(again.db.prepare('SELECT count(*) AS n FROM meta').get()).toEqual({ n: 2 });
  });

  it('refuses a state.db created by another host', () => {
    openAt({ host: 'node-a' }).close();
    const err = storeError(() => openAt({ host: 'node-b' }));
    expect(err.code).toBe('STORE_FAILED');
    expect(err.message).toContain('"node-a"');
    expect(err.hint).toContain('SAC_HOME');
  });

  it('lets a renamed host adopt the store when asked, and records it', () => {
    openAt({ host: 'old' }).close();
    const s = openStore({ env: { SAC_HOME: home, SAC_STORE_ADOPT_HOST: '1' }, host: 'new' });
    open.push(s);
    expect(s.db.prepare("SELECT value FROM meta WHERE key = 'host'").get()).toEqual({
      value: 'new',
    });
    expect(s.db.prepare('SELECT kind, payload_json FROM events').get()).toEqual({
      kind: 'store-adopted',
      payload_json: JSON.stringify({ from: 'old', to: 'new' }),
    });
  });

  it('refuses a state.db with a newer schema', () => {
    const s = openAt();
    s.db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    s.close();
    const err = storeError(() => openAt());
    expect(err.code).toBe('STORE_FAILED');
    expect(err.message).toMatch(/is newer than this sac/);
  });

  it('relocates to node-local storage when the root is on a network file system', () => {
    const local = mkdtempSync(join(tmpdir(), 'sac-local-'));
    extra.push(local);
    const store = openAt({ probeFsType: () => 0x6969, localBase: local, host: 'a' });
    expect(store.location.relocated).toBe(true);
    expect(store.location.networkFs).toBe('nfs');
    expect(store.location.path.startsWith(join(local, `sac-${process.getuid?.() ?? 0}`))).toBe(
      true,
    );
    expect(statSync(store.location.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(store.location.path, '..')).mode & 0o777).toBe(0o700);
    store.close();
    // node-local: the one-host rule does not apply (each node has its own file anyway)
    const other = openAt({ probeFsType: () => 0x6969, localBase: local, host: 'b' });
    expect(other.location.path).toBe(store.location.path);
  });

  it('reports a missing database when opened read-only', () => {
    const err = storeError(() => openAt({ readonly: true }));
    expect(err.code).toBe('STORE_FAILED');
    expect(err.message).toMatch(/no state\.db/);
  });

  it('opens an existing database read-only', () => {
    openAt().close();
    const ro = openAt({ readonly: true });
    expect(ro.readonly).toBe(true);
    expect(() => ro.db.prepare("INSERT INTO meta VALUES ('a', 'b')").run()).toThrow();
  });

  it('turns a file that is not a database into STORE_FAILED', () => {
    const path = join(home, 'junk.db');
    writeFileSync(path, 'this is not sqlite, not at all, no header here.'.repeat(10));
    const err = storeError(() => openAt({ path }));
    expect(err.code).toBe('STORE_FAILED');
    expect(err.hint).toMatch(/not a SQLite database/);
  });

  it('supports :memory: for tests', () => {
    const s = openAt({ path: ':memory:' });
    expect(s.location).toEqual({ path: ':memory:', networkFs: undefined, relocated: false });
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
  });
});
