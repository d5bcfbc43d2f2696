/**
 * The durable turn queue: every turn is written to state.db (queued) before it is acknowledged, so
 * a turn sent while Claude Code restarts, or while the supervisor itself is down, is answered
 * later instead of lost. Callers waiting for a reply are held in memory and woken when it lands.
 * @module
 */
import type { Store } from '../store/db.ts';
import {
  enqueueTurn,
  finishTurn,
  getTurn,
  listTurns,
  markTurnRunning,
  nextQueuedTurn,
  recoverRunningTurns,
  type TurnOutcome,
  type TurnRow,
} from '../store/repos/turns.ts';

export interface TurnReply {
  turn_id: string;
  state: TurnRow['state'];
  text: string;
  session_id: string | null;
  error?: string;
  usage?: { input_tokens: number; output_tokens: number };
}

function replyOf(row: TurnRow): TurnReply {
  return {
    turn_id: row.id,
    state: row.state,
    text: row.reply ?? '',
    session_id: row.session_id,
    ...(row.error ? { error: row.error } : {}),
    usage: { input_tokens: row.input_tokens ?? 0, output_tokens: row.output_tokens ?? 0 },
  };
}

export class TurnQueue {
  readonly #store: Store;
  readonly #name: string;
  readonly #waiters = new Map<string, ((r: TurnReply) => void)[]>();
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(store: Store, name: string) {
    this.#store = store;
    this.#name = name;
  }

  /** Record a turn (durably) and wake the pump. */
  enqueue(text: string, opts: { caller?: string | undefined; exitAfter?: boolean } = {}): TurnRow {
    const row = enqueueTurn(this.#store, {
      name: this.#name,
      text,
      ...(opts.caller ? { caller: opts.caller } : {}),
      exit_after: opts.exitAfter === true,
    });
    this.#wake?.();
    return row;
  }

  /** A promise for the reply to `turnId` (settles when the turn finishes, however it ends). */
  reply(turnId: string): Promise<TurnReply> {
    const row = getTurn(this.#store, turnId);
    if (row && !['queued', 'running'].includes(row.state)) return Promise.resolve(replyOf(row));
    return new Promise((resolve) => {
      const list = this.#waiters.get(turnId) ?? [];
      list.push(resolve);
      this.#waiters.set(turnId, list);
    });
  }

  /** The next queued turn, waiting for one; undefined once closed. */
  async next(): Promise<TurnRow | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      const row = nextQueuedTurn(this.#store, this.#name);
      if (row) return row;
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  /** Wake a waiting `next()` (e.g. the session ended and the pump must re-check). */
  poke(): void {
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  reopen(): void {
    this.#closed = false;
  }

  start(turnId: string, launchId: string, sessionId: string | null): void {
    markTurnRunning(this.#store, turnId, {
      launch_id: launchId,
      ...(sessionId ? { session_id: sessionId } : {}),
    });
  }

  finish(turnId: string, outcome: TurnOutcome): void {
    const row = finishTurn(this.#store, turnId, outcome) ?? getTurn(this.#store, turnId);
    if (!row) return;
    for (const w of this.#waiters.get(turnId) ?? []) w(replyOf(row));
    this.#waiters.delete(turnId);
  }

  /** After a crash: running turns go back to queued once, then are marked interrupted. */
  recover(): { requeued: string[]; interrupted: string[] } {
    const changed = recoverRunningTurns(this.#store, this.#name);
    for (const id of changed.interrupted) {
      const row = getTurn(this.#store, id);
      if (!row) continue;
      for (const w of this.#waiters.get(id) ?? []) w(replyOf(row));
      this.#waiters.delete(id);
    }
    if (changed.requeued.length) this.#wake?.();
    return changed;
  }

  /** On a deliberate stop: nothing queued is left waiting forever. */
  cancelQueued(reason: string): void {
    for (const row of listTurns(this.#store, this.#name, { states: ['queued'], limit: 100_000 })) {
      this.finish(row.id, { state: 'cancelled', error: reason });
    }
  }

  pending(): number {
    return listTurns(this.#store, this.#name, { states: ['queued'], limit: 100_000 }).length;
  }
}
