/**
 * How Claude Code is started for the SDK in each runtime. `bwrap` runs it in the sandbox (see
 * src/sandbox); `host` runs it directly (no isolation; as root it still drops to the agent's uid,
 * so bypass mode never needs IS_SANDBOX).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { SandboxPlan } from '../sandbox/bwrap-plan.ts';
import { claudeSpawner } from '../sandbox/claude-spawner.ts';
import { isAlive, processTree } from '../sandbox/proc.ts';
import type { SandboxProcess } from '../sandbox/spawn.ts';
import { SANDBOX_PATHS } from '../sandbox/sandbox-files.ts';
import type { ClaudeLauncher } from './sdk-driver.ts';

/** Claude Code inside bubblewrap. */
export function bwrapLauncher(
  plan: Omit<SandboxPlan, 'command'>,
  onStderr: (chunk: string) => void,
): () => ClaudeLauncher {
  return () => {
    let current: SandboxProcess | undefined;
    const spawnIt = claudeSpawner({ plan, onStderr, onSpawn: (s) => (current = s) });
    return {
      spawn: (o) => spawnIt(o),
      pids: () => current?.pids() ?? [],
      claudePid: () => current?.knownInnerPid ?? undefined,
      exited: async () => {
        if (!current) return { code: null, signal: null };
        const e = await current.exited;
        return { code: e.bwrapExitCode ?? e.code, signal: e.signal };
      },
      signal: (sig) => {
        if (!current) return;
        if (sig === 'SIGKILL') current.killAll();
        else current.signalInnerNow(sig);
      },
    };
  };
}

/** Drop from root to the agent's uid with no capabilities left (util-linux setpriv). */
export function dropArgv(
  to: { uid: number; gid: number } | undefined,
  cmd: string,
  args: readonly string[],
): [string, string[]] {
  // without a sandbox nothing else ties the agent's life to the supervisor's: the kernel does
  // (macOS has no setpriv: there the host runtime simply runs the command)
  if (!to) {
    return existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', ['--pdeathsig=SIGKILL', '--', cmd, ...args]]
      : [cmd, [...args]];
  }
  return [
    '/usr/bin/setpriv',
    [
      `--reuid=${to.uid}`,
      `--regid=${to.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--no-new-privs',
      '--pdeathsig=SIGKILL',
      '--',
      cmd,
      ...args,
    ],
  ];
}

interface Command {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * Claude Code (or apptainer running it) as a direct child in its own process group, so a stop can
 * signal the whole tree at once.
 */
function groupLauncher(
  build: (o: SpawnOptions) => Command,
  onStderr: (chunk: string) => void,
): () => ClaudeLauncher {
  return () => {
    let child: ChildProcess | undefined;
    let exit: Promise<{ code: number | null; signal: string | null }> | undefined;
    return {
      spawn: (o: SpawnOptions): SpawnedProcess => {
        const c = build(o);
        child = spawn(c.cmd, c.args, {
          cwd: c.cwd,
          env: c.env,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
        child.stderr?.setEncoding('utf8').on('data', (d: string) => onStderr(d));
        const started = child;
        exit = new Promise((resolve) =>
          started.once('exit', (code, signal) => resolve({ code, signal })),
        );
        return started as unknown as SpawnedProcess;
      },
      pids: () => (child?.pid && isAlive(child.pid) ? processTree(child.pid) : []),
      claudePid: () => child?.pid,
      exited: () => exit ?? Promise.resolve({ code: null, signal: null }),
      signal: (sig) => {
        if (!child?.pid) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      },
    };
  };
}

export interface HostLaunchPlan {
  /** Host working directory. */
  cwd: string;
  /** Run as this uid/gid (root operator: the agent's own uid via setpriv). */
  dropTo?: { uid: number; gid: number } | undefined;
  claudeBinary: string;
}

/** Claude Code directly on the host: no isolation (as root it still runs as the agent's uid). */
export function hostLauncher(
  plan: HostLaunchPlan,
  onStderr: (chunk: string) => void,
): () => ClaudeLauncher {
  return groupLauncher(({ args, env }) => {
    const [cmd, argv] = dropArgv(plan.dropTo, plan.claudeBinary, args);
    return { cmd, args: argv, env: env, cwd: plan.cwd };
  }, onStderr);
}

export interface ApptainerLaunchPlan {
  /** `apptainer` or `singularity` on PATH. */
  binary: string;
  /** Builds argv and env for one start of `command` inside the container. */
  invocation: (
    command: readonly string[],
    sandboxEnv: Record<string, string>,
  ) => { argv: string[]; env: Record<string, string>; prepareDirs: string[] };
  /** Root operator: drop to the agent's uid before apptainer (it runs the container as its caller). */
  dropTo?: { uid: number; gid: number } | undefined;
  cwd: string;
}

/**
 * Claude Code inside apptainer. The environment reaches the container as `APPTAINERENV_*`
 * variables of the apptainer process, never as `--env` on its command line.
 */
export function apptainerLauncher(
  plan: ApptainerLaunchPlan,
  onStderr: (chunk: string) => void,
): () => ClaudeLauncher {
  return groupLauncher(({ args, env }) => {
    const inv = plan.invocation(
      [SANDBOX_PATHS.shell, SANDBOX_PATHS.entry, SANDBOX_PATHS.claude, ...args],
      env as Record<string, string>,
    );
    for (const dir of inv.prepareDirs) mkdirSync(dir, { recursive: true });
    const [cmd, argv] = dropArgv(plan.dropTo, plan.binary, inv.argv);
    return { cmd, args: argv, env: inv.env, cwd: plan.cwd };
  }, onStderr);
}
