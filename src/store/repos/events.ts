/**
 * The host's event log: one row per thing that happened (start, stop, sweep, adoption...).
 * Append-only; nothing in sac updates or deletes an event.
 * @module
 */
import type { Store } from '../db.ts';
import { nowIso } from '../host.ts';

export interface EventRow {
  id: number;
  ts: string;
  name: string | null;
  launch_id: string | null;
  kind: string;
  actor: string | null;
  payload_json: string | null;
}

export interface NewEvent {
  kind: string;
  name?: string | null;
  launch_id?: string | null;
  /** Who caused it: `sac`, `supervisor`, `operator`, an agent's name... */
  actor?: string | null;
  /** Any JSON-serialisable value; stored as JSON text. */
  payload?: unknown;
  ts?: string;
}

/** Append an event; returns its id. */
export function appendEvent(store: Store, event: NewEvent): number {
  return store.tx(() => {
    const result = store.db
      .prepare(
        'INSERT INTO events (ts, name, launch_id, kind, actor, payload_json) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        event.ts ?? nowIso(),
        event.name ?? null,
        event.launch_id ?? null,
        event.kind,
        event.actor ?? null,
        event.payload === undefined ? null : JSON.stringify(event.payload),
      );
    return Number(result.lastInsertRowid);
  });
}

export interface EventFilter {
  name?: string;
  launch_id?: string;
  kind?: string;
  /** Only events with an id greater than this (for tailing). */
  after_id?: number;
  /** Only events at or after this timestamp. */
  since?: string;
  /** At most this many of the newest matching events (default 100). */
  limit?: number;
}

/** The newest matching events, returned oldest first (the order a log is read in). */
export function listEvents(store: Store, filter: EventFilter = {}): EventRow[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  add('name = ?', filter.name);
  add('launch_id = ?', filter.launch_id);
  add('kind = ?', filter.kind);
  add('id > ?', filter.after_id);
  add('ts >= ?', filter.since);
  params.push(filter.limit ?? 100);
  const sql =
    'SELECT * FROM (SELECT * FROM events' +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY id DESC LIMIT ?) ORDER BY id ASC';
  return store.db.prepare<(string | number)[], EventRow>(sql).all(...params);
}
