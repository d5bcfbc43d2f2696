/**
 * Housekeeping: delete and forget agents, resurrect agents whose supervisor died, and install the
 * boot-time resurrect (a systemd user unit or an @reboot cron entry).
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../errors.ts';
import { type Env, layout, sacRoot } from '../paths.ts';
import { turnQueueName } from '../supervisor/sockets.ts';
import { type AgentRef, listAgents, resolveAgent, type ResolveOptions } from '../spec/resolve.ts';
import { openStore } from '../store/db.ts';
import { releaseAgentUid } from '../store/repos/agent-uids.ts';
import { agentLiveness } from './liveness.ts';
import { liveness, startAgent, stopAgent } from './lifecycle.ts';

interface Opts extends ResolveOptions {
  env?: Env;
}

export interface Deleted {
  name: string;
  removed: string[];
}

/** Stop the agent if it runs, then remove its spec directory, runtime directory and records. */
export async function deleteAgent(target: string, opts: Opts = {}): Promise<Deleted> {
  const env = opts.env ?? process.env;
  const ref = resolveAgent(target, opts);
  const live = liveness(ref, env);
  if (live.liveness === 'running' || live.liveness === 'unresponsive')
    await stopAgent(ref, { env });
  rmSync(ref.agentDir, { recursive: true, force: true });
  rmSync(ref.runtimeDir, { recursive: true, force: true });
  forgetRef(ref, env, true);
  return { name: ref.name, removed: [ref.agentDir, ref.runtimeDir] };
}

export interface Forgotten {
  name: string;
  rows: Record<string, number>;
}

function forgetRef(ref: AgentRef, env: Env, releaseUid = false): Record<string, number> {
  const store = openStore({ env });
  try {
    return store.tx(() => {
      const run = (sql: string, ...args: string[]): number =>
        store.db.prepare(sql).run(...args).changes;
      return {
        turns: run(
          'DELETE FROM turns WHERE name = ?',
          turnQueueName(ref.name, ref.runtimeDir, layout(sacRoot(env)).runtime),
        ),
        launches: run(
          "UPDATE launches SET state = 'stopped', exit_reason = 'forgotten', ended_at = ? WHERE name = ? AND spec_path = ? AND ended_at IS NULL",
          new Date().toISOString(),
          ref.name,
          ref.specPath,
        ),
        a2a_ports: run('DELETE FROM a2a_ports WHERE name = ?', ref.name),
        definitions: run('DELETE FROM definitions WHERE path = ?', ref.specPath),
        // the uid stays with the agent while its home (owned by that uid) exists
        agent_uids: releaseUid ? (releaseAgentUid(store, ref.runtimeDir) ? 1 : 0) : 0,
      };
    });
  } finally {
    store.close();
  }
}

/** Drop an agent's records (queued turns, open launches, port claims); no signals, files stay. */
export function forgetAgent(target: string, opts: Opts = {}): Forgotten {
  const env = opts.env ?? process.env;
  const ref = resolveAgent(target, opts);
  const live = liveness(ref, env);
  if (live.liveness === 'running' || live.liveness === 'unresponsive') {
    throw new AppError('AGENT_RUNNING', `${ref.name} is running; stop it before forgetting it`);
  }
  return { name: ref.name, rows: forgetRef(ref, env) };
}

export interface Resurrected {
  agents: ({ name: string; ok: true; pid: number } | { name: string; ok: false; error: string })[];
}

/** Restart every agent whose last launch never ended but whose supervisor is gone. */
export async function resurrectAgents(opts: Opts = {}): Promise<Resurrected> {
  const env = opts.env ?? process.env;
  const store = openStore({ env });
  let dead: AgentRef[];
  try {
    dead = listAgents(opts).filter((ref) =>
      ['dead', 'stale'].includes(agentLiveness(ref, store, env).liveness),
    );
  } finally {
    store.close();
  }
  const agents = await Promise.all(
    dead.map(async (ref) => {
      try {
        const s = await startAgent(ref, { env, recover: true });
        return { name: ref.name, ok: true as const, pid: s.pid };
      } catch (err) {
        if (!isAppError(err)) throw err;
        return { name: ref.name, ok: false as const, error: `${err.code}: ${err.message}` };
      }
    }),
  );
  return { agents };
}

const SAC_BIN = fileURLToPath(new URL('../../bin/sac.js', import.meta.url));

/** The systemd user unit that runs `sac agents resurrect` at boot. */
export function systemdUnit(env: Env = process.env): string {
  const keep = ['SAC_HOME', 'SCITEX_DIR', 'SCITEX_AGENT_CONTAINER_YAML_DIRS', 'PATH'].filter(
    (k) => env[k],
  );
  return `[Unit]
Description=sac: bring back agents whose supervisor died (reboot, OOM, kill -9)
After=network-online.target

[Service]
Type=oneshot
${keep.map((k) => `Environment=${k}=${env[k]}`).join('\n')}
ExecStart=${process.execPath} ${SAC_BIN} agents resurrect

[Install]
WantedBy=default.target
`;
}

export function cronLine(env: Env = process.env): string {
  const keep = ['SAC_HOME', 'SCITEX_DIR', 'SCITEX_AGENT_CONTAINER_YAML_DIRS'].filter((k) => env[k]);
  const vars = keep.map((k) => `${k}=${env[k]}`).join(' ');
  return `@reboot ${vars ? `${vars} ` : ''}${process.execPath} ${SAC_BIN} agents resurrect # sac-resurrect`;
}

function run(
  cmd: string,
  args: string[],
  input?: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve({ code: 127, out: `${cmd}: not found` }));
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input ?? '');
  });
}

/** Install the boot-time resurrect. Returns what was done (or, with print, what would be). */
export async function installResurrect(
  how: 'systemd' | 'cron',
  opts: { print?: boolean; env?: Env } = {},
): Promise<{ how: string; path?: string; content: string; message: string }> {
  const env = opts.env ?? process.env;
  if (how === 'systemd') {
    const dir = join(
      env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config'),
      'systemd',
      'user',
    );
    const path = join(dir, 'sac-resurrect.service');
    const content = systemdUnit(env);
    if (!opts.print) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, content);
    }
    return {
      how,
      path,
      content,
      message: opts.print
        ? content
        : `wrote ${path}\nenable it: systemctl --user daemon-reload && systemctl --user enable sac-resurrect.service\n(for boot without a login: loginctl enable-linger $USER)`,
    };
  }
  const line = cronLine(env);
  if (opts.print) return { how, content: line, message: line };
  const current = await run('crontab', ['-l']);
  if (current.code === 127) {
    throw new AppError('FAILED', 'crontab is not installed', {
      hint: 'install cron, or use --install systemd',
    });
  }
  const kept = (current.code === 0 ? current.out : '')
    .split('\n')
    .filter((l) => l.trim() && !l.includes('# sac-resurrect'));
  const written = await run('crontab', ['-'], [...kept, line].join('\n') + '\n');
  if (written.code !== 0) throw new AppError('FAILED', `crontab failed: ${written.out.trim()}`);
  return { how, content: line, message: `installed in your crontab:\n${line}` };
}
