/**
 * The durable turn queue and its history. A turn is written here (queued) before it is
 * acknowledged to the sender, so a crash of the supervisor never silently drops one: on recovery,
 * an unfinished turn is retried at most once more or marked interrupted.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors.ts';
import type { Store } from '../db.ts';
import { nowIso } from '../host.ts';
import { quoteIdent } from '../tables.ts';

export const TURN_STATES = [
  'queued',
  'running',
  'done',
  'cancelled',
  'interrupted',
  'failed',
] as const;
export type TurnState = (typeof TURN_STATES)[number];

export interface TurnRow {
  id: string;
  launch_id: string | null;
  name: string;
  /** Per-agent order of arrival, 1, 2, 3...; the queue is served by ascending seq. */
  seq: number;
  text: string;
  caller: string | null;
  a2a_task_id: string | null;
  state: TurnState;
  /** 1 if the agent should exit after answering this turn. */
  exit_after: number;
  /** How many times the turn was started (a retry after a crash makes it 2). */
  attempts: number;
  reply: string | null;
  error: string | null;
  session_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
  cost_usd: number | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface NewTurn {
  name: string;
  text: string;
  id?: string;
  launch_id?: string | null;
  caller?: string | null;
  a2a_task_id?: string | null;
  exit_after?: boolean;
}

/** Queue a turn for `name`; returns the stored row with its sequence number. */
export function enqueueTurn(store: Store, input: NewTurn): TurnRow {
  return store.tx(() => {
    // Inside the immediate transaction, so two senders never get the same seq.
    const seq =
      (store.db
        .prepare<[string], { seq: number | null }>(
          'SELECT max(seq) AS seq FROM turns WHERE name = ?',
        )
        .get(input.name)?.seq ?? 0) + 1;
    const id = input.id ?? randomUUID();
    store.db
      .prepare(
        `INSERT INTO turns (id, launch_id, name, seq, text, caller, a2a_task_id, state, exit_after, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(
        id,
        input.launch_id ?? null,
        input.name,
        seq,
        input.text,
        input.caller ?? null,
        input.a2a_task_id ?? null,
        input.exit_after === true ? 1 : 0,
        nowIso(),
      );
    return mustGetTurn(store, id);
  });
}

export function getTurn(store: Store, id: string): TurnRow | undefined {
  return store.db.prepare<[string], TurnRow>('SELECT * FROM turns WHERE id = ?').get(id);
}

function mustGetTurn(store: Store, id: string): TurnRow {
  const row = getTurn(store, id);
  if (row === undefined)
    throw new AppError('INTERNAL', `turn ${id} vanished inside its own transaction`);
  return row;
}

/** The oldest queued turn of `name`, if any. */
export function nextQueuedTurn(store: Store, name: string): TurnRow | undefined {
  return store.db
    .prepare<[string], TurnRow>(
      "SELECT * FROM turns WHERE name = ? AND state = 'queued' ORDER BY seq LIMIT 1",
    )
    .get(name);
}

/**
 * Claim a queued turn: `queued` → `running`, one more attempt. Returns the row, or undefined if
 * the turn was not queued any more (cancelled meanwhile, or claimed by someone else).
 */
export function markTurnRunning(
  store: Store,
  id: string,
  opts: { launch_id?: string; session_id?: string; at?: string } = {},
): TurnRow | undefined {
  return store.tx(() => {
    const changed = store.db
      .prepare(
        `UPDATE turns SET state = 'running', attempts = attempts + 1, started_at = ?,
           launch_id = coalesce(?, launch_id), session_id = coalesce(?, session_id)
         WHERE id = ? AND state = 'queued'`,
      )
      .run(opts.at ?? nowIso(), opts.launch_id ?? null, opts.session_id ?? null, id).changes;
    return changed === 1 ? getTurn(store, id) : undefined;
  });
}

export interface TurnUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  cost_usd?: number;
}

export interface TurnOutcome {
  state: 'done' | 'failed' | 'cancelled' | 'interrupted';
  reply?: string;
  error?: string;
  session_id?: string;
  usage?: TurnUsage;
  at?: string;
}

/**
 * Close a turn that is queued or running. Returns the row, or undefined if it had already
 * finished (the first outcome wins; a late "done" after a cancel is ignored).
 */
export function finishTurn(store: Store, id: string, outcome: TurnOutcome): TurnRow | undefined {
  const values: Record<string, string | number> = {
    state: outcome.state,
    ended_at: outcome.at ?? nowIso(),
  };
  if (outcome.reply !== undefined) values.reply = outcome.reply;
  if (outcome.error !== undefined) values.error = outcome.error;
  if (outcome.session_id !== undefined) values.session_id = outcome.session_id;
  for (const k of USAGE_COLUMNS) {
    const v = outcome.usage?.[k];
    if (typeof v === 'number') values[k] = v;
  }
  const sets = Object.keys(values).map((c) => `${quoteIdent(c)} = @${c}`);
  return store.tx(() => {
    const changed = store.db
      .prepare(
        `UPDATE turns SET ${sets.join(', ')} WHERE id = @id AND state IN ('queued', 'running')`,
      )
      .run({ ...values, id }).changes;
    return changed === 1 ? getTurn(store, id) : undefined;
  });
}

const USAGE_COLUMNS: readonly (keyof TurnUsage)[] = [
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
  'cost_usd',
];

/**
 * After a supervisor crash: every `running` turn of `name` goes back to `queued` if it has had
 * fewer than `maxAttempts` starts, else becomes `interrupted`. Returns what happened to each.
 */
export function recoverRunningTurns(
  store: Store,
  name: string,
  maxAttempts = 2,
): { requeued: string[]; interrupted: string[] } {
  return store.tx(() => {
    const running = store.db
      .prepare<[string], Pick<TurnRow, 'id' | 'attempts'>>(
        "SELECT id, attempts FROM turns WHERE name = ? AND state = 'running' ORDER BY seq",
      )
      .all(name);
    const requeued: string[] = [];
    const interrupted: string[] = [];
    const requeue = store.db.prepare(
      "UPDATE turns SET state = 'queued', started_at = NULL WHERE id = ?",
    );
    const interrupt = store.db.prepare(
      "UPDATE turns SET state = 'interrupted', ended_at = ?, error = coalesce(error, ?) WHERE id = ?",
    );
    const at = nowIso();
    for (const t of running) {
      if (t.attempts < maxAttempts) {
        requeue.run(t.id);
        requeued.push(t.id);
      } else {
        interrupt.run(at, 'interrupted by a crash; not retried again', t.id);
        interrupted.push(t.id);
      }
    }
    return { requeued, interrupted };
  });
}

/** Turns of `name`, newest first, optionally only in some states. */
export function listTurns(
  store: Store,
  name: string,
  opts: { states?: readonly TurnState[]; limit?: number } = {},
): TurnRow[] {
  const states = opts.states ?? TURN_STATES;
  return store.db
    .prepare<[string, string, number], TurnRow>(
      `SELECT * FROM turns WHERE name = ? AND state IN (SELECT value FROM json_each(?))
       ORDER BY seq DESC LIMIT ?`,
    )
    .all(name, JSON.stringify(states), opts.limit ?? 50);
}
