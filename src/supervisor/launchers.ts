/**
 * How Claude Code is started for the SDK in each runtime. `bwrap` runs it in the sandbox (see
 * src/sandbox); `host` runs it directly (no isolation; as root it still drops to the agent's uid,
 * so bypass mode never needs IS_SANDBOX).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { SpawnOptions, SpawnedProcess } from '@anthropic-ai/claude-agent-sdk';
import type { SandboxPlan } from '../sandbox/bwrap-plan.ts';
import { claudeSpawner } from '../sandbox/claude-spawner.ts';
import { isAlive, processTree } from '../sandbox/proc.ts';
import type { SandboxProcess } from '../sandbox/spawn.ts';
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

export interface HostLaunchPlan {
  /** Host working directory. */
  cwd: string;
  /** Run as this uid/gid (root operator: the agent's own uid via setpriv). */
  dropTo?: { uid: number; gid: number } | undefined;
  claudeBinary: string;
}

/** Claude Code directly on the host, in its own process group so the whole tree can be signalled. */
export function hostLauncher(
  plan: HostLaunchPlan,
  onStderr: (chunk: string) => void,
): () => ClaudeLauncher {
  return () => {
    let child: ChildProcess | undefined;
    let exit: Promise<{ code: number | null; signal: string | null }> | undefined;
    const groupSignal = (sig: NodeJS.Signals): void => {
      if (!child?.pid) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    return {
      spawn: ({ args, env }: SpawnOptions): SpawnedProcess => {
        const [cmd, argv] = plan.dropTo
          ? [
              '/usr/bin/setpriv',
              [
                `--reuid=${plan.dropTo.uid}`,
                `--regid=${plan.dropTo.gid}`,
                '--clear-groups',
                '--inh-caps=-all',
                '--no-new-privs',
                '--',
                plan.claudeBinary,
                ...args,
              ],
            ]
          : [plan.claudeBinary, args];
        child = spawn(cmd, argv, {
          cwd: plan.cwd,
          env: env,
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true,
        });
        child.stderr?.setEncoding('utf8').on('data', (d: string) => onStderr(d));
        const c = child;
        exit = new Promise((resolve) =>
          c.once('exit', (code, signal) => resolve({ code, signal })),
        );
        return c as unknown as SpawnedProcess;
      },
      pids: () => (child?.pid && isAlive(child.pid) ? processTree(child.pid) : []),
      claudePid: () => child?.pid,
      exited: () => exit ?? Promise.resolve({ code: null, signal: null }),
      signal: (sig) => groupSignal(sig),
    };
  };
}
