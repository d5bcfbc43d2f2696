/**
 * Start, stop, restart and talk to agents: the library behind `sac agents start|stop|restart|send`.
 * `start` validates and preflights in this process, then spawns the agent's supervisor detached
 * and waits until it reports ready (its first prompt accepted) or failed.
 * @module
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AppError, ERROR_CODES, type ErrorCode, SpecError } from '../errors.ts';
import type { Env } from '../paths.ts';
import { type AgentRef, resolveAgent, type ResolveOptions } from '../spec/resolve.ts';
import { openStore } from '../store/db.ts';
import { controlRequest } from '../supervisor/control-client.ts';
import { isLockHeld } from '../supervisor/lock.ts';
import { runtimeFiles } from '../supervisor/files.ts';
import type { LaunchRequest, ReadyReport } from '../supervisor/main.ts';
import type { TurnReply } from '../supervisor/turn-queue.ts';
import { isAlive } from '../sandbox/proc.ts';
import { agentLiveness, type AgentLiveness } from './liveness.ts';

export interface LifecycleOptions extends ResolveOptions {
  env?: Env;
}

export interface StartOptions extends LifecycleOptions {
  force?: boolean;
  session?: 'fresh' | 'continue' | 'resume';
  resumeId?: string;
  oneShot?: boolean;
  /** Resume the last session without startup prompts (resurrect). */
  recover?: boolean;
  /** How long to wait for readiness, ms (default 180 s). */
  readyTimeoutMs?: number;
}

export interface Started {
  name: string;
  pid: number;
  launch_id: string;
  socket: string;
  specPath: string;
  runtimeDir: string;
}

const SUPERVISOR_MAIN = fileURLToPath(new URL('../supervisor/main.js', import.meta.url));

function withStore<T>(env: Env, fn: (store: ReturnType<typeof openStore>) => T): T {
  const store = openStore({ env });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export function liveness(ref: AgentRef, env: Env = process.env): AgentLiveness {
  return withStore(env, (store) => agentLiveness(ref, store, env));
}

function tail(path: string, lines = 20): string[] {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

/**
 * Refuse what cannot start here before anything is spawned: invalid spec, missing pieces.
 * Its modules (schema, YAML, planner, probes) load only here, so send/stop/status stay light.
 */
async function preflight(ref: AgentRef, env: Env): Promise<void> {
  const [
    { parseSpecFile },
    { loadHostConfig },
    { planLaunch },
    { probeHost },
    { readinessFindings },
  ] = await Promise.all([
    import('../spec/parse.ts'),
    import('../config.ts'),
    import('../plan/launch-plan.ts'),
    import('../check/host-probe.ts'),
    import('../check/findings.ts'),
  ]);
  const parsed = parseSpecFile(ref.specPath);
  if (!parsed.ok) throw new SpecError('SPEC_INVALID', parsed.issues);
  const probe = probeHost(env);
  const config = loadHostConfig({ env, cwd: ref.agentDir }).config;
  const plan = planLaunch(ref, parsed.spec, {
    uid: probe.uid,
    gid: probe.gid,
    uidRange: config.sandbox.uid_range,
    env,
  });
  const blockers = readinessFindings(parsed.spec, plan, probe).filter(
    (f) => f.severity === 'blocker',
  );
  const first = blockers[0];
  if (!first) return;
  const code: ErrorCode = ['token_missing', 'credential_missing'].includes(first.code)
    ? 'CREDENTIAL_MISSING'
    : ['mount_missing', 'kind_unsupported', 'harness_unsupported', 'provider_unknown'].includes(
          first.code,
        )
      ? 'FAILED'
      : 'SANDBOX_UNAVAILABLE';
  throw new AppError(code, `${ref.name}: ${first.message}`, {
    ...(first.fix ? { hint: first.fix } : {}),
    details: { findings: blockers },
  });
}

/** Start one agent's supervisor and wait for it to be ready. */
export async function startAgent(
  target: string | AgentRef,
  opts: StartOptions = {},
): Promise<Started> {
  const env = opts.env ?? process.env;
  const ref = typeof target === 'string' ? resolveAgent(target, opts) : target;
  await preflight(ref, env);
  const live = liveness(ref, env);
  if (live.liveness === 'running' || live.liveness === 'unresponsive') {
    if (!opts.force) {
      throw new AppError(
        'AGENT_RUNNING',
        `${ref.name} is already running (supervisor pid ${live.heartbeat?.pid ?? '?'})`,
        {
          hint: `\`sac agents restart ${ref.name}\` applies a changed spec; --force stops it first`,
        },
      );
    }
    await stopAgent(ref, { env, force: false });
  }
  const req: LaunchRequest = {
    ref,
    ...(opts.session ? { session: opts.session } : {}),
    ...(opts.resumeId ? { resumeId: opts.resumeId } : {}),
    ...(opts.oneShot ? { oneShot: true } : {}),
    ...(opts.recover ? { recover: true } : {}),
  };
  const files = runtimeFiles(ref.runtimeDir);
  mkdirSync(ref.runtimeDir, { recursive: true });
  const out = openSync(files.supervisorLog, 'a', 0o600);
  // a small young generation keeps the long-lived supervisor near 80 MB (docs/benchmarks.md)
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=1', SUPERVISOR_MAIN, '--launch', JSON.stringify(req)],
    {
      detached: true,
      env: env,
      cwd: ref.agentDir,
      stdio: ['ignore', out, out, 'pipe'],
    },
  );
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const timeoutMs = opts.readyTimeoutMs ?? 180_000;
  let timedOut = false;
  const report = await new Promise<ReadyReport | undefined>((resolve) => {
    const timer = setTimeout(() => {
      timedOut = true;
      resolve(undefined);
    }, timeoutMs);
    const rl = createInterface({ input: ready });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as ReadyReport);
      } catch {
        resolve(undefined);
      }
    });
    rl.once('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  (ready as unknown as { destroy(): void }).destroy();
  child.unref();
  closeSync(out);
  const logTail = tail(files.supervisorLog);
  if (!report) {
    throw new AppError(
      'START_FAILED',
      timedOut
        ? `${ref.name} did not report ready within ${Math.round(timeoutMs / 1000)} s`
        : `${ref.name}: its supervisor exited before it was ready`,
      {
        hint: `see ${files.supervisorLog}`,
        details: { log: logTail },
      },
    );
  }
  if (!report.ok) {
    const code = report.error.code in ERROR_CODES ? report.error.code : 'START_FAILED';
    const stderr = (report.error.details as { stderr?: string[] } | undefined)?.stderr ?? [];
    throw new AppError(code, report.error.message, {
      hint: report.error.hint ?? `see ${files.supervisorLog}`,
      details: {
        ...(report.error.details ?? {}),
        log: logTail,
        ...(stderr.length ? { stderr } : {}),
      },
    });
  }
  return {
    name: ref.name,
    pid: report.pid,
    launch_id: report.launch_id,
    socket: report.socket,
    specPath: ref.specPath,
    runtimeDir: ref.runtimeDir,
  };
}

function requireRunning(ref: AgentRef, env: Env): AgentLiveness {
  const live = liveness(ref, env);
  if (live.liveness !== 'running' && live.liveness !== 'unresponsive') {
    throw new AppError('AGENT_NOT_RUNNING', `${ref.name} is not running (${live.liveness})`, {
      hint:
        live.liveness === 'dead' || live.liveness === 'stale'
          ? `its supervisor died; \`sac agents resurrect\` brings it back with its session`
          : `start it with \`sac agents start ${ref.name}\``,
    });
  }
  return live;
}

export interface Stopped {
  name: string;
  reason: string;
  leftover: number[];
}

/** Stop an agent and wait until its supervisor and every process of the agent are gone. */
export async function stopAgent(
  target: string | AgentRef,
  opts: LifecycleOptions & { force?: boolean; timeoutMs?: number } = {},
): Promise<Stopped> {
  const env = opts.env ?? process.env;
  const ref = typeof target === 'string' ? resolveAgent(target, opts) : target;
  const live = requireRunning(ref, env);
  const supervisorPid = live.heartbeat?.pid;
  await controlRequest(live.socket, 'POST', '/v1/stop', {
    body: { reason: 'operator-stop', force: opts.force === true },
    timeoutMs: 10_000,
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (isLockHeld(live.lock)) {
    if (Date.now() > deadline) {
      throw new AppError(
        'FAILED',
        `${ref.name} did not stop within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s`,
        {
          hint: `retry with --force; see ${runtimeFiles(ref.runtimeDir).supervisorLog}`,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // the lock goes first; the process follows within moments (it flushes its log)
  const exitBy = Date.now() + 5000;
  while (supervisorPid && isAlive(supervisorPid) && Date.now() < exitBy) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const leftover = supervisorPid && isAlive(supervisorPid) ? [supervisorPid] : [];
  const after = liveness(ref, env);
  return { name: ref.name, reason: after.launch?.exit_reason ?? 'operator-stop', leftover };
}

/** Send a turn; with `wait` (default) the reply comes back. */
export async function sendTurn(
  target: string | AgentRef,
  text: string,
  opts: LifecycleOptions & { wait?: boolean; caller?: string; exitAfter?: boolean } = {},
): Promise<TurnReply | { turn_id: string; state: 'queued' }> {
  const env = opts.env ?? process.env;
  const ref = typeof target === 'string' ? resolveAgent(target, opts) : target;
  const live = requireRunning(ref, env);
  return controlRequest(live.socket, 'POST', '/v1/turns', {
    body: {
      text,
      wait: opts.wait !== false,
      caller: opts.caller ?? 'cli',
      exit_after: opts.exitAfter === true,
    },
  });
}

/** Interrupt the turn in progress (`send --key ESC`). */
export async function interruptAgent(
  target: string | AgentRef,
  opts: LifecycleOptions = {},
): Promise<{ interrupted: boolean; turn_id: string | null }> {
  const env = opts.env ?? process.env;
  const ref = typeof target === 'string' ? resolveAgent(target, opts) : target;
  const live = requireRunning(ref, env);
  return controlRequest(live.socket, 'POST', '/v1/interrupt', { timeoutMs: 10_000 });
}

/** The live status of a running agent's supervisor, or undefined when it is not running. */
export async function supervisorStatus(
  live: AgentLiveness,
): Promise<Record<string, unknown> | undefined> {
  if (live.liveness !== 'running' && live.liveness !== 'unresponsive') return undefined;
  if (!existsSync(live.socket)) return undefined;
  try {
    return await controlRequest<Record<string, unknown>>(live.socket, 'GET', '/v1/status', {
      timeoutMs: 3000,
    });
  } catch {
    return undefined;
  }
}
