import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from './db.ts';
import {
  type DefinitionRow,
  deleteDefinitionsNotIn,
  getDefinition,
  getDefinitions,
  putDefinition,
} from './repos/definitions.ts';
import { appendEvent, listEvents } from './repos/events.ts';
import {
  activeLaunches,
  getLaunch,
  insertLaunch,
  latestLaunch,
  type NewLaunch,
  setLaunchState,
  updateLaunch,
} from './repos/launches.ts';
import {
  enqueueTurn,
  finishTurn,
  listTurns,
  markTurnRunning,
  nextQueuedTurn,
  recoverRunningTurns,
} from './repos/turns.ts';

let home: string;
let store: Store;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sac-repos-'));
  store = openStore({ env: { SAC_HOME: home }, host: 'test-host' });
});
afterEach(() => {
  store.close();
  rmSync(home, { recursive: true, force: true });
});

const launch = (name: string, extra: Partial<NewLaunch> = {}): NewLaunch => ({
  name,
  scope: 'user',
  spec_path: `/specs/${name}/spec.yaml`,
  spec_sha256: 'ab'.repeat(32),
  runtime: 'bwrap',
  sac_version: '0.1.0',
  ...extra,
});

describe('launches', () => {
  it('inserts with defaults and reads back', () => {
    const row = insertLaunch(store, launch('alpha', { model: 'sonnet' }));
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.host).toBe('test-host');
    expect(row.state).toBe('starting');
    expect(row.model).toBe('sonnet');
    expect(row.boot_id).not.toBe('');
    expect(getLaunch(store, row.id)).toEqual(row);
  });

  it('leaves unset optional fields at their defaults', () => {
    const row = insertLaunch(store, { ...launch('a'), model: undefined });
    expect(row.model).toBeNull();
  });

  it('moves through states, stamping ready_at and ended_at once', () => {
    const { id } = insertLaunch(store, launch('alpha'));
    const running = setLaunchState(store, id, 'running', { at: '2026-01-01T00:00:01.000Z' });
    expect(running?.ready_at).toBe('2026-01-01T00:00:01.000Z');
    const crashed = setLaunchState(store, id, 'crashed', { exit_reason: 'oom' });
    expect(crashed?.state).toBe('crashed');
    expect(crashed?.exit_reason).toBe('oom');
    expect(crashed?.ended_at).not.toBeNull();
    // a late "stopped" does not overwrite the crash
    expect(setLaunchState(store, id, 'stopped')?.state).toBe('crashed');
  });

  it('updates only the given columns', () => {
    const { id } = insertLaunch(store, launch('alpha'));
    const row = updateLaunch(store, id, { supervisor_pid: 42, a2a_port: 19001, restarts: 2 });
    expect(row).toMatchObject({
      supervisor_pid: 42,
      a2a_port: 19001,
      restarts: 2,
      state: 'starting',
    });
    expect(updateLaunch(store, 'nope', { restarts: 1 })).toBeUndefined();
  });

  it('finds the latest and the active launches', () => {
    const a1 = insertLaunch(store, launch('a', { started_at: '2026-01-01T00:00:00.000Z' }));
    const a2 = insertLaunch(store, launch('a', { started_at: '2026-01-02T00:00:00.000Z' }));
    insertLaunch(store, launch('b'));
    insertLaunch(store, launch('c', { host: 'elsewhere' }));
    setLaunchState(store, a1.id, 'stopped');
    expect(latestLaunch(store, 'a')?.id).toBe(a2.id);
    expect(latestLaunch(store, 'zzz')).toBeUndefined();
    expect(activeLaunches(store).map((l) => l.name)).toEqual(['a', 'b']);
    expect(activeLaunches(store, { name: 'a' }).map((l) => l.id)).toEqual([a2.id]);
    expect(activeLaunches(store, { host: 'elsewhere' }).map((l) => l.name)).toEqual(['c']);
  });

  it('rejects an unknown state through the CHECK constraint', () => {
    const { id } = insertLaunch(store, launch('a'));
    expect(() => updateLaunch(store, id, { state: 'zombie' as never })).toThrow(/CHECK/);
  });
});

describe('turns', () => {
  it('queues in order and serves the oldest first', () => {
    const t1 = enqueueTurn(store, { name: 'a', text: 'one', caller: 'op' });
    const t2 = enqueueTurn(store, { name: 'a', text: 'two', exit_after: true });
    const other = enqueueTurn(store, { name: 'b', text: 'x' });
    expect([t1.seq, t2.seq, other.seq]).toEqual([1, 2, 1]);
    expect(t2.exit_after).toBe(1);
    expect(nextQueuedTurn(store, 'a')?.id).toBe(t1.id);
  });

  it('claims a queued turn once and records its outcome once', () => {
    const l = insertLaunch(store, launch('a'));
    const t = enqueueTurn(store, { name: 'a', text: 'hi' });
    const running = markTurnRunning(store, t.id, { launch_id: l.id });
    expect(running).toMatchObject({ state: 'running', attempts: 1, launch_id: l.id });
    expect(markTurnRunning(store, t.id)).toBeUndefined();
    expect(nextQueuedTurn(store, 'a')).toBeUndefined();
    const done = finishTurn(store, t.id, {
      state: 'done',
      reply: 'hello',
      session_id: 's1',
      usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.01 },
    });
    expect(done).toMatchObject({
      state: 'done',
      reply: 'hello',
      session_id: 's1',
      input_tokens: 10,
      output_tokens: 5,
      cost_usd: 0.01,
      cache_read_input_tokens: null,
    });
    expect(done?.ended_at).not.toBeNull();
    expect(finishTurn(store, t.id, { state: 'failed', error: 'late' })).toBeUndefined();
  });

  it('cancels a queued turn', () => {
    const t = enqueueTurn(store, { name: 'a', text: 'hi' });
    expect(finishTurn(store, t.id, { state: 'cancelled' })?.state).toBe('cancelled');
    expect(markTurnRunning(store, t.id)).toBeUndefined();
  });

  it('recovers after a crash: retried at most once, then interrupted', () => {
    const t = enqueueTurn(store, { name: 'a', text: 'hi' });
    markTurnRunning(store, t.id);
    expect(recoverRunningTurns(store, 'a')).toEqual({ requeued: [t.id], interrupted: [] });
    expect(nextQueuedTurn(store, 'a')?.id).toBe(t.id);
    markTurnRunning(store, t.id);
    expect(recoverRunningTurns(store, 'a')).toEqual({ requeued: [], interrupted: [t.id] });
    const [row] = listTurns(store, 'a');
    expect(row).toMatchObject({ state: 'interrupted', attempts: 2 });
  });

  it('lists by state, newest first', () => {
    const a = enqueueTurn(store, { name: 'a', text: '1' });
    const b = enqueueTurn(store, { name: 'a', text: '2' });
    finishTurn(store, a.id, { state: 'cancelled' });
    expect(listTurns(store, 'a').map((t) => t.id)).toEqual([b.id, a.id]);
    expect(listTurns(store, 'a', { states: ['queued'] }).map((t) => t.id)).toEqual([b.id]);
  });

  it('refuses a turn for a launch that does not exist', () => {
    expect(() => enqueueTurn(store, { name: 'a', text: 'x', launch_id: 'missing' })).toThrow(
      /FOREIGN KEY/,
    );
  });
});

describe('events', () => {
  it('appends and lists the newest, oldest first', () => {
    for (let i = 0; i < 5; i++) {
      appendEvent(store, { kind: 'tick', name: i % 2 === 0 ? 'a' : 'b', payload: { i } });
    }
    const id = appendEvent(store, { kind: 'stop', name: 'a', actor: 'operator' });
    expect(id).toBe(6);
    const a = listEvents(store, { name: 'a' });
    expect(a.map((e) => e.kind)).toEqual(['tick', 'tick', 'tick', 'stop']);
    expect(a[0]?.payload_json).toBe('{"i":0}');
    expect(listEvents(store, { limit: 2 }).map((e) => e.id)).toEqual([5, 6]);
    expect(listEvents(store, { after_id: 4 }).map((e) => e.id)).toEqual([5, 6]);
    expect(listEvents(store, { kind: 'stop' })[0]?.actor).toBe('operator');
  });
});

describe('definitions', () => {
  const def = (path: string, scope = 'user'): DefinitionRow => ({
    path,
    name: path.split('/').at(-2) ?? 'x',
    scope,
    file_dev: '2049',
    file_ino: '1234',
    file_size: 100,
    file_mtime_ns: '1767225600000000000',
    spec_sha256: 'cd'.repeat(32),
    valid: 1,
    summary_json: '{"runtime":"bwrap"}',
    checked_at: '2026-01-01T00:00:00.000Z',
  });

  it('puts, replaces and gets', () => {
    putDefinition(store, def('/s/a/spec.yaml'));
    putDefinition(store, { ...def('/s/a/spec.yaml'), valid: 0, file_size: 7 });
    expect(getDefinition(store, '/s/a/spec.yaml')).toMatchObject({ valid: 0, file_size: 7 });
    expect(getDefinition(store, '/none')).toBeUndefined();
  });

  it('gets many in one call', () => {
    const paths = Array.from({ length: 1200 }, (_, i) => `/s/a${i}/spec.yaml`);
    for (const p of paths) putDefinition(store, def(p));
    const got = getDefinitions(store, [...paths, '/missing']);
    expect(got.size).toBe(1200);
    expect(got.get('/s/a7/spec.yaml')?.name).toBe('a7');
    expect(getDefinitions(store, []).size).toBe(0);
  });

  it('deletes rows not in a list, optionally within one scope', () => {
    putDefinition(store, def('/u/a/spec.yaml'));
    putDefinition(store, def('/u/b/spec.yaml'));
    putDefinition(store, def('/p/c/spec.yaml', 'project'));
    expect(deleteDefinitionsNotIn(store, ['/u/a/spec.yaml'], { scope: 'user' })).toBe(1);
    expect(getDefinition(store, '/p/c/spec.yaml')).toBeDefined();
    expect(deleteDefinitionsNotIn(store, [])).toBe(2);
  });
});
