/**
 * `status` and `health`: what each agent is doing, from its supervisor when it runs, from its
 * records when it does not. Truthful at once after a supervisor dies (the lock says so).
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Env } from '../paths.ts';
import { parseSpecText } from '../spec/parse.ts';
import { type AgentRef, listAgents, resolveAgent, type ResolveOptions } from '../spec/resolve.ts';
import { effectiveRuntime } from '../spec/rules.ts';
import { openStore } from '../store/db.ts';
import { readJson, runtimeFiles } from '../supervisor/files.ts';
import type { Usage } from '../supervisor/usage.ts';
import { controlRequest } from '../supervisor/control-client.ts';
import { agentLiveness, type Liveness } from './liveness.ts';
import { supervisorStatus } from './lifecycle.ts';
import { createHash } from 'node:crypto';

export interface AgentStatus {
  name: string;
  scope: string;
  /** running | unresponsive | stopped | failed | dead | stale, or the supervisor's finer state. */
  state: string;
  liveness: Liveness;
  runtime: string | null;
  isolated: boolean;
  model: string | null;
  uptime_s: number | null;
  restarts: number;
  turns: number;
  tokens: { input: number; output: number };
  cost_usd: number;
  port: number | null;
  pid: number | null;
  claude_pid: number | null;
  session_id: string | null;
  launch_id: string | null;
  exit_reason: string | null;
  spec_changed: boolean;
  last_error: string | null;
  stderr_tail: string[];
  specPath: string;
  runtimeDir: string;
}

function specInfo(ref: AgentRef): { sha: string; runtime: string | null; model: string | null } {
  try {
    const text = readFileSync(ref.specPath, 'utf8');
    const sha = createHash('sha256').update(text).digest('hex');
    const r = parseSpecText(text, ref.specPath);
    if (!r.ok) return { sha, runtime: null, model: null };
    return { sha, runtime: effectiveRuntime(r.spec).runtime, model: r.spec.spec.claude.model };
  } catch {
    return { sha: '', runtime: null, model: null };
  }
}

export async function agentStatus(ref: AgentRef, env: Env = process.env): Promise<AgentStatus> {
  const store = openStore({ env });
  let live;
  try {
    live = agentLiveness(ref, store, env);
  } finally {
    store.close();
  }
  const sup = await supervisorStatus(live);
  const usage = readJson<Usage>(runtimeFiles(ref.runtimeDir).usage);
  const info = specInfo(ref);
  const launch = live.launch;
  const running = live.liveness === 'running' || live.liveness === 'unresponsive';
  const startedAt = launch?.started_at ? Date.parse(launch.started_at) : undefined;
  return {
    name: ref.name,
    scope: ref.scope,
    state: running && sup ? String(sup.state) : live.liveness,
    liveness: live.liveness,
    runtime: launch?.runtime ?? info.runtime,
    isolated: (launch?.runtime ?? info.runtime) !== 'host',
    model: launch?.model ?? info.model,
    uptime_s: running && startedAt ? Math.round((Date.now() - startedAt) / 1000) : null,
    restarts: launch?.restarts ?? 0,
    turns: usage?.turns ?? 0,
    tokens: { input: usage?.input_tokens ?? 0, output: usage?.output_tokens ?? 0 },
    cost_usd: usage?.cost_usd ?? 0,
    port: launch?.a2a_port ?? null,
    pid: running ? (live.heartbeat?.pid ?? null) : null,
    claude_pid: running ? ((sup?.claude_pid as number | null | undefined) ?? null) : null,
    session_id: (sup?.session_id as string | null | undefined) ?? launch?.session_id ?? null,
    launch_id: launch?.id ?? null,
    exit_reason: running ? null : (launch?.exit_reason ?? null),
    spec_changed: !!launch && running && info.sha !== '' && info.sha !== launch.spec_sha256,
    last_error: (sup?.last_error as string | null | undefined) ?? null,
    stderr_tail: (sup?.stderr_tail as string[] | undefined) ?? (running ? [] : tailStderr(ref)),
    specPath: ref.specPath,
    runtimeDir: ref.runtimeDir,
  };
}

function tailStderr(ref: AgentRef): string[] {
  try {
    return readFileSync(runtimeFiles(ref.runtimeDir).claudeStderr, 'utf8')
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .slice(-10);
  } catch {
    return [];
  }
}

export async function fleetStatus(
  opts: ResolveOptions & { env?: Env } = {},
): Promise<AgentStatus[]> {
  return Promise.all(listAgents(opts).map((ref) => agentStatus(ref, opts.env)));
}

export async function statusOf(
  target: string,
  opts: ResolveOptions & { env?: Env } = {},
): Promise<AgentStatus> {
  return agentStatus(resolveAgent(target, opts), opts.env);
}

export async function agentHealth(
  target: string,
  opts: ResolveOptions & { env?: Env } = {},
): Promise<Record<string, unknown>> {
  const env = opts.env ?? process.env;
  const ref = resolveAgent(target, opts);
  const store = openStore({ env });
  let live;
  try {
    live = agentLiveness(ref, store, env);
  } finally {
    store.close();
  }
  const base = {
    name: ref.name,
    liveness: live.liveness,
    heartbeat_age_s:
      live.heartbeatAgeMs === undefined ? null : Math.round(live.heartbeatAgeMs / 1000),
  };
  if (live.liveness !== 'running' && live.liveness !== 'unresponsive')
    return { ...base, ok: false };
  const h = await controlRequest<Record<string, unknown>>(live.socket, 'GET', '/v1/health', {
    timeoutMs: 3000,
  });
  return { ...base, ...h, ok: h.ok === true && live.liveness === 'running' };
}
