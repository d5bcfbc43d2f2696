/**
 * The per-agent supervisor: owns one agent's Claude Code session (through a Driver), its durable
 * turn queue, restart policy, health, heartbeat, transcript and control socket. It runs detached
 * from the CLI and lives exactly as long as it holds its lock.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { AppError } from '../errors.ts';
import type { AgentSpec } from '../spec/schema.ts';
import type { Store } from '../store/db.ts';
import { appendEvent } from '../store/repos/events.ts';
import { getTurn } from '../store/repos/turns.ts';
import { setLaunchState, updateLaunch } from '../store/repos/launches.ts';
import { isAlive, isSameProcess, startTicks } from '../sandbox/proc.ts';
import type { StopRequest, TurnRequest } from './control-server.ts';
import type { Driver, DriverSession, SessionExit } from './driver.ts';
import { appendJsonLine, type RuntimeFiles, writeAtomic, writeJsonAtomic } from './files.ts';
import { decideRestart } from './restart-policy.ts';
import { assistantText, transcriptRecords } from './transcript.ts';
import { redactSecrets } from '../util/redact.ts';
import { TurnQueue, type TurnReply } from './turn-queue.ts';
import { addUsage, type Usage, ZERO_USAGE } from './usage.ts';

export type SupervisorState =
  'starting' | 'idle' | 'working' | 'stalled' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface SupervisorConfig {
  name: string;
  /** Where its turns are queued in state.db (see turnQueueName); default `name`. */
  queueName?: string;
  spec: AgentSpec;
  store: Store;
  files: RuntimeFiles;
  driver: Driver;
  launchId: string;
  /** Session to resume at the first start (continue/resume/recovery), if any. */
  resumeSessionId: string | undefined;
  /** Queue the spec's startup prompts (a new launch; not a recovery). */
  startupPrompts: boolean;
  oneShot: boolean;
  /** Grace for Claude Code to exit by itself on stop, ms (default 5000). */
  stopGraceMs?: number;
  log: (line: string) => void;
  /** Called once: ready (first prompt accepted / Claude Code up) or failed before that. */
  onReady: (outcome: { ok: true } | { ok: false; error: AppError }) => void;
  /** Awaited when a stop begins, before Claude Code is told (runs the spec's pre_stop hooks). */
  onStopping?: (reason: string) => Promise<void>;
  /** Called before each restart of Claude Code (runs the spec's on_restart hooks). */
  onRestart?: (attempt: number, reason: string) => Promise<void>;
  /** Called when the supervisor has finished (the process should exit). */
  onExit: (reason: string, failed: boolean) => void;
}

interface RunningTurn {
  id: string;
  exitAfter: boolean;
  text: string;
  resolve: (
    r:
      | { ok: true; text: string; result: Extract<SDKMessage, { type: 'result' }> }
      | { ok: false; error: string },
  ) => void;
}

const STDERR_TAIL_LINES = 20;
const HEARTBEAT_MS = 2000;

export class Supervisor {
  readonly #c: SupervisorConfig;
  readonly queue: TurnQueue;
  #state: SupervisorState = 'starting';
  #session: DriverSession | undefined;
  #sessionId: string | undefined;
  #sessionStartedAt = 0;
  #restarts = 0;
  #consecutive = 0;
  #current: RunningTurn | undefined;
  #turnText = '';
  /** Monotonic (performance.now): a wall-clock step must not fake a stall or reset retries. */
  #lastEventAt = performance.now();
  #stalledTurn: string | undefined;
  #stopping: { reason: string; force: boolean } | undefined;
  #stopped: Promise<void> | undefined;
  #ready = false;
  #finished = false;
  #usage: Usage = { ...ZERO_USAGE };
  #costSeen = 0;
  #stderrTail: string[] = [];
  #lastError: string | undefined;
  #failedReason: string | undefined;
  #timers: NodeJS.Timeout[] = [];
  #wakeRestart: (() => void) | undefined;
  /** Every process the agent had, with its start time: a reused pid is never mistaken for it. */
  #pidsSeen = new Map<number, number>();
  #autonomousTurns = 0;
  #startupTurnIds: string[] = [];
  readonly startedAt = new Date().toISOString();
  server: Server | undefined;

  constructor(config: SupervisorConfig) {
    this.#c = config;
    this.#sessionId = config.resumeSessionId;
    this.queue = new TurnQueue(config.store, config.queueName ?? config.name);
  }

  get state(): SupervisorState {
    return this.#state;
  }

  /** Stderr lines from Claude Code, kept for `status` when it fails. */
  stderr(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
    }
  }

  #event(kind: string, payload?: unknown): void {
    appendEvent(this.#c.store, {
      kind,
      name: this.#c.name,
      launch_id: this.#c.launchId,
      actor: 'supervisor',
      payload,
    });
    appendJsonLine(this.#c.files.sessionJsonl, {
      ts: new Date().toISOString(),
      type: 'supervisor',
      event: kind,
      ...(payload && typeof payload === 'object' ? payload : {}),
    });
  }

  #setState(s: SupervisorState): void {
    this.#state = s;
    this.#heartbeat();
  }

  #heartbeat(): void {
    writeJsonAtomic(this.#c.files.heartbeat, {
      ts: new Date().toISOString(),
      pid: process.pid,
      state: this.#state,
      launch_id: this.#c.launchId,
      claude_pid: this.#session?.claudePid() ?? null,
      session_id: this.#sessionId ?? null,
      turn_id: this.#current?.id ?? null,
      last_event_at: new Date(Date.now() - (performance.now() - this.#lastEventAt)).toISOString(),
      restarts: this.#restarts,
    });
  }

  /** Run until stopped or failed. */
  async run(): Promise<void> {
    const s = this.#c.spec.spec;
    writeAtomic(this.#c.files.instanceId, `${randomUUID()}\n`);
    this.#heartbeat();
    this.#timers.push(setInterval(() => this.#tick(), HEARTBEAT_MS));
    const recovered = this.queue.recover();
    if (recovered.requeued.length || recovered.interrupted.length)
      this.#event('turns-recovered', recovered);
    if (this.#c.startupPrompts) {
      for (const prompt of s.startup_prompts) {
        this.#startupTurnIds.push(this.queue.enqueue(prompt, { caller: 'startup' }).id);
      }
    }
    if (
      this.#c.startupPrompts &&
      s.startup_prompts.length === 0 &&
      (this.#c.oneShot || s.residency === 'one-shot')
    ) {
      throw new AppError('USAGE', 'one-shot needs spec.startup_prompts');
    }
    for (;;) {
      const exit = await this.#runSession();
      if (this.#stopping) break;
      const decision = decideRestart(
        s.restart,
        {
          code: exit.code,
          signal: exit.signal,
          uptimeMs: performance.now() - this.#sessionStartedAt,
        },
        this.#consecutive,
      );
      const detail = this.#exitText(exit);
      if (decision.kind === 'give-up') {
        const failed =
          decision.reason !== 'clean-exit' &&
          !(decision.reason === 'policy-never' && exit.code === 0);
        this.#failedReason = failed
          ? `Claude Code ${detail}; ${decision.reason === 'max-retries' ? `gave up after ${s.restart.max_retries} restarts` : 'restart policy never'}`
          : undefined;
        this.#lastError = detail;
        if (!this.#ready) this.#c.onReady({ ok: false, error: this.#startError(detail) });
        await this.#finish(
          failed ? 'failed' : 'stopped',
          failed
            ? decision.reason === 'max-retries'
              ? 'max-retries'
              : 'crashed'
            : 'claude-exited',
        );
        return;
      }
      this.#consecutive = decision.attempt;
      this.#restarts += 1;
      updateLaunch(this.#c.store, this.#c.launchId, { restarts: this.#restarts });
      this.#lastError = detail;
      this.#event('restarting', {
        in_s: decision.delayMs / 1000,
        attempt: decision.attempt,
        reason: detail,
      });
      this.#c.log(`Claude Code ${detail}; restart ${decision.attempt} in ${decision.delayMs} ms`);
      if (!this.#ready) this.#c.onReady({ ok: false, error: this.#startError(detail) });
      this.#ready = true; // the CLI has its answer; later readiness is not reported again
      await this.#c
        .onRestart?.(decision.attempt, detail)
        .catch((e: unknown) => this.#c.log(`on_restart: ${String(e)}`));
      this.#setState('restarting');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, decision.delayMs);
        this.#wakeRestart = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wakeRestart = undefined;
      if (this.#stopping) break;
    }
    await this.#stopped;
  }

  #exitText(exit: SessionExit): string {
    if (exit.signal) return `was killed by ${exit.signal}`;
    if (exit.code !== null && exit.code > 128)
      return `exited with code ${exit.code} (signal ${exit.code - 128})`;
    return `exited with code ${exit.code ?? 'unknown'}${exit.error ? ` (${exit.error})` : ''}`;
  }

  #startError(detail: string): AppError {
    return new AppError(
      'START_FAILED',
      `${this.#c.name}: Claude Code ${detail} before it was ready`,
      {
        details: { stderr: this.#stderrTail.slice(-STDERR_TAIL_LINES) },
      },
    );
  }

  /** One Claude Code process: start, pump turns, consume messages, until it exits. */
  async #runSession(): Promise<SessionExit> {
    const s = this.#c.spec.spec;
    this.#setState('starting');
    const session = this.#c.driver.start({ resume: this.#sessionId, model: s.claude.model });
    this.#session = session;
    this.#sessionStartedAt = performance.now();
    this.#event('claude-starting', { resume: this.#sessionId ?? null });
    this.queue.reopen();
    const consume = this.#consume(session);
    session.initialized.then(
      () => {
        this.#event('claude-ready', { pid: session.claudePid() ?? null });
        if (this.#state === 'starting') this.#setState('idle');
        else this.#heartbeat(); // the state may already be `working`: still record Claude Code's pid
        if (this.#c.spec.spec.startup_prompts.length === 0 || !this.#c.startupPrompts)
          this.#markReady();
        setLaunchState(this.#c.store, this.#c.launchId, 'running');
      },
      () => {},
    );
    const pump = this.#pump(session);
    const exit = await session.exited;
    await consume;
    this.queue.close();
    // a turn cut short by the crash goes back to the queue once (durable turns), then is given up
    const cut = this.#current;
    if (cut) {
      cut.resolve({ ok: false, error: `Claude Code ${this.#exitText(exit)}` });
    }
    await pump;
    this.#session = undefined;
    this.#c.log(`Claude Code ${this.#exitText(exit)}`);
    return exit;
  }

  #markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#c.onReady({ ok: true });
  }

  async #consume(session: DriverSession): Promise<void> {
    for await (const m of session.messages) {
      this.#lastEventAt = performance.now();
      this.#stalledTurn = undefined;
      if (this.#state === 'stalled') this.#setState('working');
      if (m.type === 'system' || m.type === 'result') this.#remember(session.pids());
      for (const r of transcriptRecords(m)) appendJsonLine(this.#c.files.sessionJsonl, r);
      if (m.type === 'system' && m.subtype === 'init') {
        if (this.#sessionId !== m.session_id) {
          this.#sessionId = m.session_id;
          writeAtomic(this.#c.files.sessionId, `${m.session_id}\n`);
          updateLaunch(this.#c.store, this.#c.launchId, { session_id: m.session_id });
          this.#heartbeat();
        }
        if (this.#current) this.#markReady();
      } else if (m.type === 'assistant' && !m.parent_tool_use_id) {
        this.#turnText += assistantText(m);
      } else if (m.type === 'result') {
        this.#current?.resolve({ ok: true, text: this.#turnText, result: m });
      }
    }
  }

  /** Feed queued turns to Claude Code one at a time. */
  async #pump(session: DriverSession): Promise<void> {
    for (;;) {
      const row = await this.queue.next();
      if (!row || this.#stopping) return;
      this.queue.start(row.id, this.#c.launchId, this.#sessionId ?? null);
      const outcome = await new Promise<Parameters<RunningTurn['resolve']>[0]>((resolve) => {
        this.#current = { id: row.id, exitAfter: row.exit_after === 1, text: row.text, resolve };
        this.#turnText = '';
        this.#lastEventAt = performance.now();
        this.#setState('working');
        appendJsonLine(this.#c.files.sessionJsonl, {
          ts: new Date().toISOString(),
          type: 'user',
          text: redactSecrets(row.text),
          turn_id: row.id,
          ...(row.caller ? { caller: row.caller } : {}),
        });
        session.send(row.text);
      });
      const turn = this.#current!;
      this.#current = undefined;
      if (!outcome.ok) {
        // the session died mid-turn: leave it running in the store; recover() requeues it once
        this.queue.recover();
        return;
      }
      this.#finishTurn(turn, outcome.text, outcome.result);
      if (this.#state === 'working' || this.#state === 'stalled') this.#setState('idle');
      if (turn.exitAfter) {
        void this.stop({ reason: 'exit-after', force: false });
        return;
      }
      this.#afterTurn(turn, outcome.text);
    }
  }

  #finishTurn(
    turn: RunningTurn,
    text: string,
    result: Extract<SDKMessage, { type: 'result' }>,
  ): void {
    const delta =
      result.total_cost_usd >= this.#costSeen
        ? result.total_cost_usd - this.#costSeen
        : result.total_cost_usd;
    this.#costSeen = result.total_cost_usd;
    this.#usage = addUsage(this.#usage, result.usage, delta);
    writeJsonAtomic(this.#c.files.usage, this.#usage);
    const interrupted = result.subtype === 'error_during_execution' && result.is_error;
    const reply = result.subtype === 'success' ? result.result || text : text;
    this.queue.finish(turn.id, {
      state: interrupted ? 'interrupted' : result.is_error ? 'failed' : 'done',
      reply,
      ...(result.is_error && result.subtype === 'success' ? { error: result.result } : {}),
      ...(this.#sessionId ? { session_id: this.#sessionId } : {}),
      usage: {
        input_tokens: result.usage.input_tokens,
        output_tokens: result.usage.output_tokens,
        cache_creation_input_tokens: result.usage.cache_creation_input_tokens,
        cache_read_input_tokens: result.usage.cache_read_input_tokens,
        cost_usd: delta,
      },
    });
  }

  /** Autonomous kicks and one-shot completion after a turn. */
  #afterTurn(turn: RunningTurn, text: string): void {
    const s = this.#c.spec.spec;
    const startupLeft = this.#startupTurnIds.filter((id) => id !== turn.id && this.#isOpen(id));
    this.#startupTurnIds = startupLeft;
    const auto = s.autonomous;
    if (auto.enabled && startupLeft.length === 0 && this.queue.pending() === 0) {
      if (text.includes(auto.drive_until)) {
        this.#event('autonomous-done', { turns: this.#autonomousTurns });
      } else if (this.#autonomousTurns >= auto.max_turns) {
        this.#event('autonomous-max-turns', { turns: this.#autonomousTurns });
        this.#failedReason = `autonomous loop reached max_turns (${auto.max_turns}) without "${auto.drive_until}"`;
        void this.stop({ reason: 'autonomous-max-turns', force: false });
        return;
      } else {
        const t = setTimeout(() => {
          if (this.#stopping || this.#current || this.queue.pending() > 0) return;
          this.#autonomousTurns += 1;
          this.queue.enqueue(auto.kick_text, { caller: 'autonomous' });
        }, auto.idle_kick_after_s * 1000);
        this.#timers.push(t);
        return;
      }
    }
    if (
      (this.#c.oneShot || s.residency === 'one-shot') &&
      startupLeft.length === 0 &&
      this.queue.pending() === 0
    ) {
      void this.stop({
        reason: this.#failedReason ? 'autonomous-max-turns' : 'oneshot-complete',
        force: false,
      });
    }
  }

  #isOpen(turnId: string): boolean {
    const state = getTurn(this.#c.store, turnId)?.state;
    return state === 'queued' || state === 'running';
  }

  /** Stall detection and the heartbeat. */
  #tick(): void {
    try {
      this.#check();
    } catch (e) {
      // a full disk or a busy database must not take the supervisor down from a timer
      this.#c.log(`tick failed: ${String(e)}`);
    }
  }

  #check(): void {
    this.#heartbeat();
    const h = this.#c.spec.spec.health;
    const cur = this.#current;
    if (!h.stall_after || !cur || this.#stalledTurn === cur.id) return;
    if (performance.now() - this.#lastEventAt < h.stall_after * 1000) return;
    this.#stalledTurn = cur.id;
    this.#setState('stalled');
    this.#event('turn-stalled', {
      turn_id: cur.id,
      silent_s: Math.round((performance.now() - this.#lastEventAt) / 1000),
      action: h.on_stall,
    });
    if (h.on_stall === 'interrupt')
      this.interrupt().catch((e: unknown) => this.#c.log(`stall interrupt failed: ${String(e)}`));
    if (h.on_stall === 'restart') this.#session?.signal('SIGTERM');
  }

  // ---- operations for the control socket ----

  async turn(req: TurnRequest): Promise<TurnReply | { turn_id: string; state: 'queued' }> {
    if (this.#stopping || this.#finished)
      throw new AppError('AGENT_NOT_RUNNING', `${this.#c.name} is stopping`);
    const row = this.queue.enqueue(req.text, { caller: req.caller, exitAfter: req.exit_after });
    if (!req.wait) return { turn_id: row.id, state: 'queued' };
    return this.queue.reply(row.id);
  }

  async interrupt(): Promise<{ interrupted: boolean; turn_id: string | null }> {
    const cur = this.#current;
    if (!cur || !this.#session) return { interrupted: false, turn_id: null };
    await this.#session.interrupt();
    this.#event('turn-interrupted', { turn_id: cur.id });
    return { interrupted: true, turn_id: cur.id };
  }

  status(): Record<string, unknown> {
    return {
      name: this.#c.name,
      state: this.#state,
      pid: process.pid,
      launch_id: this.#c.launchId,
      claude_pid: this.#session?.claudePid() ?? null,
      session_id: this.#sessionId ?? null,
      started_at: this.startedAt,
      restarts: this.#restarts,
      turn_id: this.#current?.id ?? null,
      queued: this.queue.pending(),
      usage: this.#usage,
      last_event_at: new Date(Date.now() - (performance.now() - this.#lastEventAt)).toISOString(),
      last_error: this.#lastError ?? null,
      stderr_tail: this.#stderrTail,
    };
  }

  health(): Record<string, unknown> {
    const alive = !!this.#session && this.#state !== 'restarting';
    return {
      ok: alive && this.#state !== 'stalled',
      state: this.#state,
      claude_alive: alive,
      stalled: this.#state === 'stalled',
      last_event_s: Math.round((performance.now() - this.#lastEventAt) / 1000),
    };
  }

  /** Stop: no new turns, end the input so Claude Code exits by itself, then signal, then verify. */
  stop(req: Pick<StopRequest, 'reason' | 'force'> & { grace_ms?: number | undefined }): {
    stopping: true;
  } {
    if (!this.#stopping) {
      this.#stopping = { reason: req.reason, force: req.force };
      this.#stopped = this.#doStop(req.grace_ms ?? this.#c.stopGraceMs ?? 5000);
    }
    return { stopping: true };
  }

  async #doStop(graceMs: number): Promise<void> {
    const { reason, force } = this.#stopping!;
    this.#setState('stopping');
    setLaunchState(this.#c.store, this.#c.launchId, 'stopping');
    this.#event('stopping', { reason });
    this.queue.close();
    await this.#c.onStopping?.(reason).catch((e: unknown) => this.#c.log(`pre_stop: ${String(e)}`));
    this.#wakeRestart?.();
    const session = this.#session;
    if (session) {
      this.#remember(session.pids());
      const gone = (ms: number): Promise<boolean> =>
        Promise.race([
          session.exited.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
        ]);
      if (force) {
        session.signal('SIGKILL');
      } else {
        if (this.#current)
          await Promise.race([
            session.interrupt().catch(() => {}),
            new Promise((r) => setTimeout(r, 2000)),
          ]);
        session.endInput();
        if (!(await gone(graceMs))) {
          this.#c.log('Claude Code did not exit by itself; SIGTERM');
          session.signal('SIGTERM');
          if (!(await gone(5000))) {
            this.#c.log('still running; SIGKILL');
            session.signal('SIGKILL');
          }
        }
      }
      await gone(10_000);
    }
    const failed = reason === 'autonomous-max-turns';
    await this.#finish(failed ? 'failed' : 'stopped', reason);
  }

  async #finish(state: 'stopped' | 'failed', reason: string): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.#ready) {
      this.#ready = true;
      this.#c.onReady({
        ok: false,
        error: new AppError(
          'START_FAILED',
          `${this.#c.name} ended (${reason}) before it was ready`,
          {
            details: { stderr: this.#stderrTail.slice(-STDERR_TAIL_LINES) },
          },
        ),
      });
    }
    for (const t of this.#timers) clearInterval(t);
    this.queue.close();
    this.queue.cancelQueued(`agent ${state}: ${reason}`);
    const left = await this.#verifyGone();
    if (left.length) this.#event('leftover-processes', { pids: left });
    setLaunchState(this.#c.store, this.#c.launchId, state, { exit_reason: reason });
    this.#state = state;
    this.#event(state, { reason, ...(this.#failedReason ? { detail: this.#failedReason } : {}) });
    this.#heartbeat();
    this.#c.onExit(reason, state === 'failed');
  }

  #remember(pids: number[]): void {
    for (const pid of pids) {
      if (this.#pidsSeen.has(pid)) continue;
      const ticks = startTicks(pid);
      if (ticks !== null) this.#pidsSeen.set(pid, ticks);
    }
  }

  /** Every process this agent ever had must be gone (zombies count as gone); kill stragglers. */
  async #verifyGone(): Promise<number[]> {
    const mine = (p: number): boolean => isSameProcess(p, this.#pidsSeen.get(p)!) && isAlive(p);
    const pids = [...this.#pidsSeen.keys()];
    const deadline = Date.now() + 3000;
    for (;;) {
      const alive = pids.filter(mine);
      if (alive.length === 0) return [];
      if (Date.now() > deadline) {
        for (const p of alive) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        await new Promise((r) => setTimeout(r, 200));
        return alive.filter(mine);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get failedReason(): string | undefined {
    return this.#failedReason;
  }
}
