/**
 * The supervisor process. `sac agents start` spawns it detached (own session and process group)
 * with the launch description as one JSON argument (no secrets: those come from the environment
 * it inherits). It reports "ready" or the reason it failed on fd 3, when that is a pipe, then
 * carries on alone. It exits when the agent stops or fails, releasing its lock.
 * @module
 */
import { closeSync, createWriteStream, mkdirSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { fstatSync } from 'node:fs';
import { loadHostConfig } from '../config.ts';
import { AppError, isAppError, SpecError } from '../errors.ts';
import { planLaunch } from '../plan/launch-plan.ts';
import { startTicks } from '../sandbox/proc.ts';
import { parseSpecFile } from '../spec/parse.ts';
import type { AgentRef } from '../spec/resolve.ts';
import { openStore, type Store } from '../store/db.ts';
import { endOpenLaunches, insertLaunch, setLaunchState } from '../store/repos/launches.ts';
import { sacVersion } from '../version.ts';
import { runHooks } from '../lifecycle/hooks.ts';
import { startControlServer } from './control-server.ts';
import { readText, runtimeFiles } from './files.ts';
import { SupervisorLock } from './lock.ts';
import { prepareLaunch, type LaunchResources } from './setup.ts';
import { agentSockets, turnQueueName } from './sockets.ts';
import { layout, sacRoot } from '../paths.ts';
import { Supervisor } from './supervisor.ts';

/** What the CLI hands the supervisor. */
export interface LaunchRequest {
  ref: AgentRef;
  /** How a new launch treats the conversation (`claude.session` unless overridden by a flag). */
  session?: 'fresh' | 'continue' | 'resume';
  resumeId?: string;
  oneShot?: boolean;
  /** Recovery (`resurrect`, or a restart after the supervisor died): resume, no startup prompts. */
  recover?: boolean;
}

export type ReadyReport =
  | { ok: true; name: string; pid: number; launch_id: string; socket: string }
  | { ok: false; name: string; error: ReturnType<AppError['toJSON']>['error'] };

const READY_FD = 3;

function readyChannel(): ((r: ReadyReport) => void) | undefined {
  try {
    if (!fstatSync(READY_FD).isFIFO() && !fstatSync(READY_FD).isSocket()) return undefined;
  } catch {
    return undefined;
  }
  let sent = false;
  return (r) => {
    if (sent) return;
    sent = true;
    try {
      writeSync(READY_FD, JSON.stringify(r) + '\n');
      closeSync(READY_FD);
    } catch {
      // the CLI went away: nothing to tell
    }
  };
}

function asAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  return new AppError(
    'INTERNAL',
    `supervisor: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

export async function supervise(req: LaunchRequest): Promise<number> {
  // files holding secrets or transcripts are created 0600 explicitly; directories must stay
  // traversable (bwrap, as root without DAC capabilities, must chdir into the agent's workdir)
  process.umask(0o022);
  const { ref } = req;
  const env = process.env;
  const report = readyChannel() ?? (() => {});
  const files = runtimeFiles(ref.runtimeDir);
  mkdirSync(ref.runtimeDir, { recursive: true, mode: 0o755 });
  const logStream = createWriteStream(files.supervisorLog, { flags: 'a', mode: 0o600 });
  const log = (line: string): void => {
    logStream.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);
  };
  const stderrLog = createWriteStream(files.claudeStderr, { flags: 'a', mode: 0o600 });

  let lock: SupervisorLock | undefined;
  let store: Store | undefined;
  let resources: LaunchResources | undefined;
  let sockets: ReturnType<typeof agentSockets> | undefined;
  let launchId: string | undefined;
  try {
    sockets = agentSockets(ref.name, ref.runtimeDir, env);
    lock = SupervisorLock.tryAcquire(sockets.lock);
    if (!lock) {
      throw new AppError('AGENT_RUNNING', `${ref.name} is already running`, {
        hint: `\`sac agents stop ${ref.name}\` first, or \`sac agents restart ${ref.name}\``,
      });
    }
    log(`supervisor ${sacVersion()} for ${ref.name} (${ref.specPath})`);
    // the supervisor must never die of a stray promise: log it, keep serving, stop cleanly later
    process.on('unhandledRejection', (e: unknown) =>
      log(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
    );
    const parsed = parseSpecFile(ref.specPath);
    if (!parsed.ok) throw new SpecError('SPEC_INVALID', parsed.issues);
    const spec = parsed.spec;
    const config = loadHostConfig({ env, cwd: ref.agentDir }).config;
    store = openStore({ env });
    const facts = {
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      uidRange: config.sandbox.uid_range,
      env,
    };
    const plan = planLaunch(ref, spec, facts);

    const hookCtx = {
      name: ref.name,
      specPath: ref.specPath,
      agentDir: ref.agentDir,
      logFile: files.supervisorLog,
      env,
    };
    await runHooks('pre_start', spec.spec.hooks.pre_start, hookCtx);

    let supervisor: Supervisor | undefined;
    resources = await prepareLaunch({
      ref,
      spec,
      plan,
      store,
      env,
      uidRange: config.sandbox.uid_range,
      onStderr: (d) => {
        stderrLog.write(d);
        supervisor?.stderr(d);
      },
      log,
    });
    for (const w of resources.warnings) log(`warning: ${w}`);
    await resources.runStartupCommands(log);

    const previous = readText(files.sessionId)?.trim() || undefined;
    const mode = req.session ?? spec.spec.claude.session;
    const resumeId = req.recover
      ? previous
      : mode === 'resume'
        ? req.resumeId || spec.spec.claude.resume_id || previous
        : mode === 'continue'
          ? previous
          : undefined;
    if (!req.recover && mode === 'fresh') rmSync(files.sessionId, { force: true });

    // a launch whose supervisor died (we hold the lock now, so it is not running) is history
    endOpenLaunches(store, ref.name, ref.specPath, 'supervisor-died');
    const launch = insertLaunch(store, {
      name: ref.name,
      scope: ref.scope,
      spec_path: ref.specPath,
      spec_sha256: parsed.sha256,
      runtime: plan.runtime.name,
      model: spec.spec.claude.model,
      sac_version: sacVersion(),
      supervisor_pid: process.pid,
      supervisor_start_ticks: String(startTicks(process.pid) ?? ''),
      socket_path: sockets.control,
    });
    launchId = launch.id;
    const st = store;
    const sock = sockets;
    const done = new Promise<boolean>((resolveDone) => {
      supervisor = new Supervisor({
        name: ref.name,
        queueName: turnQueueName(ref.name, ref.runtimeDir, layout(sacRoot(env)).runtime),
        spec,
        store: st,
        files,
        driver: resources!.driver,
        launchId: launch.id,
        resumeSessionId: resumeId,
        startupPrompts: !req.recover,
        oneShot: req.oneShot === true,
        log,
        onReady: (r) => {
          if (r.ok) {
            log('ready');
            report({
              ok: true,
              name: ref.name,
              pid: process.pid,
              launch_id: launch.id,
              socket: sock.control,
            });
            void runHooks('post_start', spec.spec.hooks.post_start, hookCtx).catch((e: unknown) =>
              log(`post_start: ${String(e)}`),
            );
          } else {
            log(`not ready: ${r.error.message}`);
            report({ ok: false, name: ref.name, error: r.error.toJSON().error });
          }
        },
        onStopping: async () => {
          await runHooks('pre_stop', spec.spec.hooks.pre_stop, hookCtx);
        },
        onRestart: async () => {
          await runHooks('on_restart', spec.spec.hooks.on_restart, hookCtx);
        },
        onExit: (reason, failed) => {
          log(`exit: ${reason}${failed ? ' (failed)' : ''}`);
          resolveDone(failed);
        },
      });
    });
    const sup = supervisor!;
    const server = await startControlServer(sock.control, {
      status: () => sup.status(),
      health: () => sup.health(),
      turn: (t) => sup.turn(t),
      interrupt: () => sup.interrupt(),
      stop: (s) => sup.stop(s),
    });
    rmSync(files.controlLink, { force: true });
    symlinkSync(sock.control, files.controlLink);
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => sup.stop({ reason: `signal-${sig}`, force: false }));
    }
    process.on('SIGHUP', () => {});

    await sup.run();
    const failed = await done;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await runHooks('post_stop', spec.spec.hooks.post_stop, hookCtx).catch((e: unknown) =>
      log(`post_stop: ${String(e)}`),
    );
    if (!failed && spec.spec.restart.policy === 'never' && spec.spec.restart.prune_on_stop) {
      log('restart.prune_on_stop: removing the runtime directory');
      rmSync(ref.runtimeDir, { recursive: true, force: true });
    }
    return failed ? 1 : 0;
  } catch (err) {
    const e = asAppError(err);
    log(`error[${e.code}]: ${e.message}`);
    if (e.code === 'INTERNAL' && err instanceof Error) log(err.stack ?? '');
    report({ ok: false, name: ref.name, error: e.toJSON().error });
    if (store && launchId)
      setLaunchState(store, launchId, 'failed', { exit_reason: e.code.toLowerCase() });
    return e.exitCode;
  } finally {
    await resources?.close().catch(() => {});
    // only the lock holder owns the socket: a second `start` must not delete the first's
    if (sockets && lock) {
      rmSync(sockets.control, { force: true });
      rmSync(files.controlLink, { force: true });
    }
    store?.close();
    lock?.release();
    await new Promise<void>((r) => logStream.end(() => r()));
    stderrLog.end();
  }
}

// Run when executed as the supervisor process (not when imported by tests).
if (process.argv[2] === '--launch' && process.argv[3]) {
  const req = JSON.parse(process.argv[3]) as LaunchRequest;
  process.title = `sac-supervisor ${req.ref.name}`;
  process.exitCode = await supervise(req);
  // timers of a dead session must not keep the process alive
  setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
}
