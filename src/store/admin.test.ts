import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REDACTED } from '../util/redact.ts';
import { clean, exportDb, importDb, parseImport, query, show } from './admin.ts';
import { openStore, type Store } from './db.ts';
import { putDefinition } from './repos/definitions.ts';
import { appendEvent } from './repos/events.ts';
import { getLaunch, insertLaunch, type NewLaunch, setLaunchState } from './repos/launches.ts';
import { enqueueTurn, finishTurn, markTurnRunning } from './repos/turns.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { TABLE_NAMES, TABLES, type TableName } from './tables.ts';
import { appErrorOf as appError } from '../../test/support/errors.ts';

const dirs: string[] = [];
const stores: Store[] = [];

function freshStore(host = 'host-a'): Store {
  const home = mkdtempSync(join(tmpdir(), 'sac-admin-'));
  dirs.push(home);
  const s = openStore({ env: { SAC_HOME: home }, host });
  stores.push(s);
  return s;
}

let store: Store;
beforeEach(() => {
  store = freshStore();
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const launch = (name: string, extra: Partial<NewLaunch> = {}): NewLaunch => ({
  name,
  scope: 'user',
  spec_path: `/specs/${name}/spec.yaml`,
  spec_sha256: 'ab'.repeat(32),
  runtime: 'bwrap',
  sac_version: '0.1.0',
  boot_id: 'boot-now',
  ...extra,
});

/** Some rows in every transferable table. */
function populate(s: Store): void {
  const l1 = insertLaunch(s, launch('alpha', { started_at: '2026-01-01T00:00:00.000Z' }));
  const l2 = insertLaunch(
    s,
    launch('beta', { started_at: '2026-02-01T00:00:00.000Z', model: null }),
  );
  setLaunchState(s, l1.id, 'running');
  setLaunchState(s, l1.id, 'stopped', { exit_reason: 'operator' });
  const t = enqueueTurn(s, { name: 'alpha', text: 'hello\nworld', launch_id: l1.id, caller: 'op' });
  markTurnRunning(s, t.id);
  finishTurn(s, t.id, { state: 'done', reply: 'hi', usage: { input_tokens: 3, cost_usd: 0.5 } });
  enqueueTurn(s, { name: 'beta', text: 'queued one', launch_id: l2.id });
  appendEvent(s, { kind: 'start', name: 'alpha', launch_id: l1.id, payload: { a: [1, 2] } });
  appendEvent(s, { kind: 'stop', name: 'alpha', launch_id: l1.id, actor: 'op' });
  putDefinition(s, {
    path: '/specs/alpha/spec.yaml',
    name: 'alpha',
    scope: 'user',
    file_dev: null,
    file_ino: null,
    file_size: null,
    file_mtime_ns: null,
    spec_sha256: 'ab'.repeat(32),
    valid: 1,
    summary_json: '{}',
    checked_at: '2026-01-01T00:00:00.000Z',
  });
  const ins = (sql: string, ...p: unknown[]): void => {
    s.db.prepare(sql).run(...p);
  };
  ins("INSERT INTO a2a_ports VALUES (19001, 'alpha', 1, '2026-01-01T00:00:00.000Z')");
  ins("INSERT INTO lineage VALUES ('beta', 'alpha', '2026-02-01T00:00:00.000Z')");
  ins("INSERT INTO grants VALUES ('alpha', 'beta', 'note', '2026-02-01T00:00:00.000Z')");
  ins("INSERT INTO blocks VALUES ('beta', 'alpha', '2026-02-01T00:00:00.000Z')");
}

function dump(s: Store, t: TableName): unknown[] {
  const order = TABLES[t].pk.join(', ');
  return s.db.prepare(`SELECT * FROM ${t} ORDER BY ${order}`).all();
}

const ALL_TRANSFERABLE = TABLE_NAMES.filter((t) => TABLES[t].transferable);

describe('show', () => {
  it('reports location, versions and row counts', () => {
    populate(store);
    const out = show(store);
    expect(out.path).toBe(store.location.path);
    expect(out.recordedHost).toBe('host-a');
    expect(out.schemaVersion).toBe(out.knownSchemaVersion);
    expect(out.sqliteVersion).toMatch(/^3\.\d+/);
    expect(out.journalMode).toBe('wal');
    expect(out.tables).toMatchObject({ launches: 2, turns: 2, events: 2, meta: 2, a2a_ports: 1 });
  });
});

describe('query', () => {
  beforeEach(() => populate(store));

  it('filters with bound col=value pairs, newest first', () => {
    const all = query(store, 'launches');
    expect(all.rows.map((r) => r.name)).toEqual(['beta', 'alpha']);
    const one = query(store, 'launches', { where: ['name=alpha', 'state=stopped'] });
    expect(one.rows).toHaveLength(1);
    expect(one.columns).toContain('spec_sha256');
    expect(query(store, 'launches', { limit: 1 }).rows).toHaveLength(1);
  });

  it('col=null matches NULL and col= matches the empty string', () => {
    expect(query(store, 'launches', { where: ['model=null'] }).rows).toHaveLength(2);
    expect(query(store, 'launches', { where: ['ended_at=null'] }).rows.map((r) => r.name)).toEqual([
      'beta',
    ]);
    expect(query(store, 'launches', { where: ['name='] }).rows).toHaveLength(0);
    store.db.prepare("INSERT INTO lineage VALUES ('', 'p', '2026-03-01T00:00:00.000Z')").run();
    expect(query(store, 'lineage', { where: ['child='] }).rows).toHaveLength(1);
  });

  it('binds values, so an injection attempt matches nothing and does not error', () => {
    expect(query(store, 'launches', { where: ["name=x' OR '1'='1"] }).rows).toEqual([]);
    expect(query(store, 'launches', { where: ['name=alpha; DROP TABLE launches'] }).rows).toEqual(
      [],
    );
    expect(show(store).tables.launches).toBe(2);
  });

  it('matches integer columns from text values', () => {
    expect(query(store, 'a2a_ports', { where: ['port=19001'] }).rows).toHaveLength(1);
  });

  it('rejects unknown tables and columns with USAGE listing the valid ones', () => {
    const t = appError(() => query(store, 'sqlite_master'));
    expect(t.code).toBe('USAGE');
    expect(t.hint).toContain('launches');
    const c = appError(() => query(store, 'launches', { where: ['1=1'] }));
    expect(c.code).toBe('USAGE');
    expect(c.hint).toContain('spec_path');
    const inj = appError(() => query(store, 'launches', { where: ['name" OR 1=1 --=x'] }));
    expect(inj.code).toBe('USAGE');
    expect(appError(() => query(store, 'launches', { where: ['noequals'] })).code).toBe('USAGE');
    expect(appError(() => query(store, 'launches', { limit: 0 })).code).toBe('USAGE');
  });
});

describe('export and import', () => {
  it('round-trips every table into a fresh SAC_HOME, identically', () => {
    populate(store);
    const envelope = exportDb(store, { tables: ALL_TRANSFERABLE });
    expect(envelope).toMatchObject({
      format: 'sac-state-export',
      schema: SCHEMA_VERSION,
      host: 'host-a',
      since: null,
    });
    const target = freshStore('host-b');
    const text = JSON.stringify(envelope);
    const result = importDb(target, parseImport(text, 'test'));
    for (const t of ALL_TRANSFERABLE) {
      expect(dump(target, t), t).toEqual(dump(store, t));
      expect(result.tables[t]?.skipped, t).toBe(0);
    }
    expect(result.tables.launches?.inserted).toBe(2);
    // new events after an import continue after the imported ids
    expect(appendEvent(target, { kind: 'x' })).toBe(3);
  });

  it('re-import inserts nothing', () => {
    populate(store);
    const envelope = exportDb(store, { tables: ALL_TRANSFERABLE });
    const target = freshStore();
    importDb(target, envelope);
    const again = importDb(target, envelope);
    for (const t of ALL_TRANSFERABLE) {
      expect(again.tables[t]?.inserted, t).toBe(0);
    }
    expect(again.tables.turns?.skipped).toBe(2);
    // importing into the source itself is a no-op too
    expect(importDb(store, envelope).tables.events).toEqual({ inserted: 0, skipped: 2 });
  });

  it('exports the default tables (not definitions, ports or meta)', () => {
    populate(store);
    expect(Object.keys(exportDb(store).tables)).toEqual([
      'launches',
      'turns',
      'events',
      'lineage',
      'grants',
      'blocks',
    ]);
    expect(appError(() => exportDb(store, { tables: ['meta'] })).code).toBe('USAGE');
    expect(appError(() => exportDb(store, { tables: ['nope'] })).code).toBe('USAGE');
  });

  it('filters by each table time column with --since', () => {
    populate(store);
    const out = exportDb(store, { since: '2026-01-15', tables: ['launches', 'lineage'] });
    expect(out.since).toBe('2026-01-15T00:00:00.000Z');
    expect(out.tables.launches?.map((r) => r.name)).toEqual(['beta']);
    expect(out.tables.lineage).toHaveLength(1);
    expect(appError(() => exportDb(store, { since: 'yesterday-ish' })).code).toBe('USAGE');
  });

  it('redacts secrets in text columns but not primary keys', () => {
    const key = 'sk-ant-api03-' + 'x'.repeat(30);
    enqueueTurn(store, { name: 'a', text: `use ${key} please`, id: 'turn-1' });
    appendEvent(store, {
      kind: 'http',
      payload: { headers: 'Authorization: Bearer abcdefghijkl' },
    });
    const out = exportDb(store);
    const turn = out.tables.turns?.[0];
    expect(turn?.text).toBe(`use sk-ant-${REDACTED} please`);
    expect(turn?.id).toBe('turn-1');
    const payload = out.tables.events?.[0]?.payload_json;
    expect(JSON.parse(String(payload))).toEqual({ headers: `Authorization: Bearer ${REDACTED}` });
    expect(JSON.stringify(out)).not.toContain(key);
  });

  it('dry-run counts but writes nothing', () => {
    populate(store);
    const envelope = exportDb(store);
    const target = freshStore();
    const dry = importDb(target, envelope, { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.tables.launches).toEqual({ inserted: 2, skipped: 0 });
    expect(show(target).tables.launches).toBe(0);
  });

  describe('malformed input is IMPORT_INVALID, located, and writes nothing', () => {
    const base = () => ({ format: 'sac-state-export', schema: 1, host: 'h', tables: {} });
    const cases: [string, unknown, RegExp][] = [
      ['not an object', [1, 2], /^\(document\)/],
      ['wrong format', { ...base(), format: 'other' }, /^format:/],
      ['newer schema', { ...base(), schema: 99 }, /v99, newer/],
      ['bad schema', { ...base(), schema: '1' }, /^schema:/],
      ['tables not object', { ...base(), tables: [] }, /^tables:/],
      ['unknown table', { ...base(), tables: { meta: [] } }, /^tables\.meta: unknown table/],
      [
        'rows not array',
        { ...base(), tables: { launches: {} } },
        /^tables\.launches: expected an array/,
      ],
      [
        'row not object',
        { ...base(), tables: { lineage: [42] } },
        /^tables\.lineage\[0\]: expected an object/,
      ],
      [
        'unknown column',
        { ...base(), tables: { lineage: [{ child: 'a', parent: 'b', created_at: 't', evil: 1 }] } },
        /^tables\.lineage\[0\]\.evil: unknown column/,
      ],
      [
        'missing required',
        { ...base(), tables: { lineage: [{ child: 'a', created_at: 't' }] } },
        /^tables\.lineage\[0\]\.parent: required/,
      ],
      [
        'missing primary key',
        { ...base(), tables: { events: [{ ts: 't', kind: 'k' }] } },
        /^tables\.events\[0\]\.id: required \(primary key\)/,
      ],
      [
        'wrong type',
        { ...base(), tables: { a2a_ports: [{ port: '19000', name: 'a', claimed_at: 't' }] } },
        /^tables\.a2a_ports\[0\]\.port: expected an integer/,
      ],
      [
        'nested value',
        { ...base(), tables: { lineage: [{ child: 'a', parent: { x: 1 }, created_at: 't' }] } },
        /^tables\.lineage\[0\]\.parent: expected a string/,
      ],
    ];
    for (const [label, input, re] of cases) {
      it(label, () => {
        const err = appError(() => importDb(store, input));
        expect(err.code).toBe('IMPORT_INVALID');
        expect(err.message).toMatch(re);
      });
    }

    it('a CHECK violation, with nothing written', () => {
      populate(store);
      const envelope = exportDb(store);
      const launches = envelope.tables.launches ?? [];
      const target = freshStore();
      const bad = {
        ...envelope,
        tables: {
          ...envelope.tables,
          launches: [launches[0], { ...launches[1], state: 'zombie' }],
        },
      };
      const err = appError(() => importDb(target, bad));
      expect(err.code).toBe('IMPORT_INVALID');
      expect(err.message).toMatch(/^tables\.launches\[1\]: CHECK constraint failed/);
      expect(show(target).tables).toMatchObject({ launches: 0, turns: 0, events: 0 });
    });

    it('turns referencing launches that are nowhere', () => {
      populate(store);
      const envelope = exportDb(store, { tables: ['turns'] });
      const err = appError(() => importDb(freshStore(), envelope));
      expect(err.code).toBe('IMPORT_INVALID');
      expect(err.message).toMatch(/^tables\.turns: 2 row\(s\) reference launches/);
      expect(err.hint).toContain('--tables launches,turns');
    });

    it('JSON syntax errors', () => {
      const err = appError(() => parseImport('{"format":', 'dump.json'));
      expect(err.code).toBe('IMPORT_INVALID');
      expect(err.message).toMatch(/^dump\.json: not JSON/);
    });
  });
});

describe('clean', () => {
  it('marks a launch from another boot as reboot-swept, and only that', () => {
    const old = insertLaunch(store, launch('old', { boot_id: 'boot-before' }));
    const cur = insertLaunch(store, launch('cur', { boot_id: 'boot-now' }));
    const remote = insertLaunch(store, launch('remote', { boot_id: 'x', host: 'other-host' }));
    const dry = clean(store, { dryRun: true, bootId: 'boot-now' });
    expect(dry.sweptLaunches.map((l) => l.id)).toEqual([old.id]);
    expect(getLaunch(store, old.id)?.ended_at).toBeNull();

    const done = clean(store, { bootId: 'boot-now' });
    expect(done.dryRun).toBe(false);
    expect(getLaunch(store, old.id)).toMatchObject({
      state: 'crashed',
      exit_reason: 'reboot-swept',
    });
    expect(getLaunch(store, old.id)?.ended_at).not.toBeNull();
    expect(getLaunch(store, cur.id)?.ended_at).toBeNull();
    expect(getLaunch(store, remote.id)?.ended_at).toBeNull();
    expect(query(store, 'events', { where: ['kind=launch-swept'] }).rows).toHaveLength(1);
    expect(clean(store, { bootId: 'boot-now' }).sweptLaunches).toEqual([]);
  });

  it('sweeps nothing when the boot id is unknown', () => {
    insertLaunch(store, launch('old', { boot_id: 'boot-before' }));
    const out = clean(store, { bootId: 'unknown' });
    expect(out.sweptLaunches).toEqual([]);
    expect(out.notes[0]).toMatch(/boot id unknown/);
  });

  it('forgets definitions whose spec is gone and releases idle ports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sac-spec-'));
    dirs.push(dir);
    const present = join(dir, 'spec.yaml');
    writeFileSync(present, 'x');
    for (const path of [present, join(dir, 'gone.yaml')]) {
      putDefinition(store, {
        path,
        name: 'n',
        scope: 'user',
        file_dev: null,
        file_ino: null,
        file_size: null,
        file_mtime_ns: null,
        spec_sha256: 'x',
        valid: 1,
        summary_json: '{}',
        checked_at: '2026-01-01T00:00:00.000Z',
      });
    }
    insertLaunch(store, launch('live', { boot_id: 'boot-now', state: 'running' }));
    insertLaunch(store, launch('stale', { boot_id: 'boot-before', state: 'running' }));
    const claim = store.db.prepare(
      "INSERT INTO a2a_ports VALUES (?, ?, 0, '2026-01-01T00:00:00.000Z')",
    );
    claim.run(19001, 'live');
    claim.run(19002, 'stale');
    claim.run(19003, 'never-started');

    const dry = clean(store, { dryRun: true, bootId: 'boot-now' });
    expect(dry.deletedDefinitions.map((d) => d.path)).toEqual([join(dir, 'gone.yaml')]);
    expect(dry.releasedPorts.map((p) => p.port)).toEqual([19002, 19003]);
    expect(show(store).tables.a2a_ports).toBe(3);

    clean(store, { bootId: 'boot-now' });
    expect(query(store, 'a2a_ports').rows.map((r) => r.port)).toEqual([19001]);
    expect(query(store, 'definitions').rows.map((r) => r.path)).toEqual([present]);
  });
});
