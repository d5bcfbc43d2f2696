/**
 * The launch plan: everything starting an agent would do, computed without doing it. Pure (it only
 * looks up which socket directory applies): it
 * takes the validated spec and facts about the host and returns data, so `explain` can show it,
 * tests can pin it, and `start` executes exactly what was shown.
 * @module
 */
import { join } from 'node:path';
import type { AgentRef } from '../spec/resolve.ts';
import { effectiveRuntime, mergedEnv, mergedMounts } from '../spec/rules.ts';
import type { AgentSpec } from '../spec/schema.ts';
import { type Env, expandVars, resolveUserPath } from '../paths.ts';
import { type ProviderEndpoint, resolveProvider } from './providers.ts';
import { relayDirName, socketDirPath } from '../supervisor/sockets.ts';

/** Where things live inside every sandbox. Fixed so specs and prompts can rely on them. */
export const SANDBOX_PATHS = {
  home: '/home/agent',
  workdir: '/work',
  relayDir: '/run/sac',
  claudeBinary: '/opt/sac/claude',
} as const;

/**
 * Environment variables sac itself sets inside the sandbox (values are never shown: the relay
 * token in ANTHROPIC_API_KEY is per agent and useless outside its relay).
 */
export const SANDBOX_BASE_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'TERM',
  'TMPDIR',
  'CLAUDE_CODE_TMPDIR',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_API_KEY',
  'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
  'DISABLE_AUTOUPDATER',
  'DISABLE_TELEMETRY',
  'DISABLE_ERROR_REPORTING',
  'SAC_NAME',
  'CLAUDE_AGENT_ID',
  'SCITEX_AGENT_CONTAINER_AGENT',
  'SCITEX_AGENT_CONTAINER_MODEL',
] as const;

export interface HostFacts {
  /** The operator's effective uid (0 = root). */
  uid: number;
  gid: number;
  /** `[lo, hi]` from the host config: where agents' uids come from when the operator is root. */
  uidRange: readonly [number, number];
  env: Env;
}

export interface PlannedMount {
  host: string;
  container: string;
  mode: 'ro' | 'rw';
  /** Why it is there: `home`, `workdir`, `relay`, `spec.mounts[0]`, `spec.apptainer.binds[1]`, ... */
  origin: string;
}

export interface LaunchPlan {
  name: string;
  scope: AgentRef['scope'];
  kind: AgentSpec['kind'];
  specPath: string;
  runtimeDir: string;
  runtime: { name: 'bwrap' | 'apptainer' | 'host'; reason: string; isolated: boolean };
  network: { mode: 'host' | 'none'; note: string };
  identity: { operator: 'root' | 'user'; runsAs: string; note: string };
  home: { host: string; sandbox: string };
  workdir: { host: string; sandbox: string };
  toHome: string;
  mounts: PlannedMount[];
  /** Names only; values never appear in a plan. */
  env: { names: string[]; fromSpec: string[] };
  model: { model: string; provider: ProviderEndpoint | { name: string; unknown: true } };
  session: { mode: string; resumeId: string | null };
  a2a: { host: string; port: number | 'auto' | null };
  turns: {
    startupPrompts: number;
    startupCommands: number;
    residency: AgentSpec['spec']['residency'];
    autonomous: boolean;
  };
  restart: AgentSpec['spec']['restart'];
  health: AgentSpec['spec']['health'];
  apptainerImage: string | null;
  /** Things a reader must know (no isolation, loopback reachable, ...). */
  notes: string[];
}

function runsAs(spec: AgentSpec, facts: HostFacts): LaunchPlan['identity'] {
  const user = spec.spec.user;
  const operator = facts.uid === 0 ? 'root' : 'user';
  if (/^\d+(:\d+)?$/.test(user)) {
    const [uid, gid] = user.split(':');
    return { operator, runsAs: `${uid}:${gid ?? uid}`, note: 'uid named by spec.user' };
  }
  if (operator === 'user' || user === 'host') {
    return {
      operator,
      runsAs: `${facts.uid}:${facts.gid}`,
      note:
        operator === 'user'
          ? 'your own uid, inside an unprivileged user namespace with only declared paths visible'
          : 'spec.user: host',
    };
  }
  const [lo, hi] = facts.uidRange;
  return {
    operator,
    runsAs: `one uid from ${lo}-${hi}`,
    note: 'the operator is root: the agent gets its own unprivileged uid (assigned at first start, then kept)',
  };
}

/** Compute the plan for starting `ref` with its validated `spec` on a host described by `facts`. */
export function planLaunch(ref: AgentRef, spec: AgentSpec, facts: HostFacts): LaunchPlan {
  const s = spec.spec;
  const rt = effectiveRuntime(spec);
  const isolated = rt.runtime !== 'host';
  const home = join(ref.runtimeDir, 'home');
  const workdirHost = s.workdir
    ? resolveUserPath(s.workdir, ref.agentDir, facts.env)
    : join(ref.runtimeDir, 'work');
  const workdirSandbox =
    rt.runtime === 'apptainer'
      ? s.apptainer.container_workdir
      : rt.runtime === 'host'
        ? workdirHost
        : SANDBOX_PATHS.workdir;

  const mounts: PlannedMount[] = isolated
    ? [
        { host: home, container: SANDBOX_PATHS.home, mode: 'rw', origin: 'home' },
        { host: workdirHost, container: workdirSandbox, mode: 'rw', origin: 'workdir' },
        {
          host: join(socketDirPath(facts.env, facts.uid), relayDirName(ref.name, ref.runtimeDir)),
          container: SANDBOX_PATHS.relayDir,
          mode: 'ro',
          origin: 'relay (model traffic and sac services, as unix sockets)',
        },
        ...mergedMounts(spec).map((m) => ({
          host: resolveUserPath(expandVars(m.host, facts.env), ref.agentDir, facts.env),
          container: m.container,
          mode: m.mode,
          origin: m.declaredAt.join(', '),
        })),
      ]
    : [];

  const specEnv = mergedEnv(spec).map((e) => e.name);
  const role = spec.metadata?.labels?.role;
  const envNames = [
    ...new Set([...SANDBOX_BASE_ENV, ...(role ? ['CLAUDE_AGENT_ROLE'] : []), ...specEnv]),
  ];

  const provider = resolveProvider(s.claude.provider) ?? {
    name: JSON.stringify(s.claude.provider),
    unknown: true as const,
  };

  const notes: string[] = [];
  if (!isolated) {
    notes.push(
      'runtime host: NO ISOLATION. The agent runs directly on this machine with your files reachable; use it for development only',
    );
  }
  if (s.sandbox.network === 'host') {
    notes.push('host network: loopback services on this machine are reachable from the agent');
  }
  if (rt.runtime === 'apptainer' && !s.apptainer.image) {
    notes.push(
      'no apptainer.image: the default image ~/.scitex/agent-container/containers/sac-base.sif is used',
    );
  }

  return {
    name: ref.name,
    scope: ref.scope,
    kind: spec.kind,
    specPath: ref.specPath,
    runtimeDir: ref.runtimeDir,
    runtime: { name: rt.runtime, reason: rt.reason, isolated },
    network: {
      mode: s.sandbox.network,
      note:
        s.sandbox.network === 'host'
          ? 'shares the host network (loopback services reachable)'
          : 'no network; the model relay enters as a unix socket',
    },
    identity: runsAs(spec, facts),
    home: { host: home, sandbox: isolated ? SANDBOX_PATHS.home : home },
    workdir: { host: workdirHost, sandbox: workdirSandbox },
    toHome: resolveUserPath(s.to_home, ref.agentDir, facts.env),
    mounts,
    env: { names: envNames.sort(), fromSpec: specEnv.sort() },
    model: { model: s.claude.model, provider },
    session: { mode: s.claude.session, resumeId: s.claude.resume_id || null },
    a2a: { host: s.a2a.host, port: s.a2a.port },
    turns: {
      startupPrompts: s.startup_prompts.length,
      startupCommands: s.startup_commands.length,
      residency: s.residency,
      autonomous: s.autonomous.enabled,
    },
    restart: s.restart,
    health: s.health,
    apptainerImage: rt.runtime === 'apptainer' ? s.apptainer.image || null : null,
    notes,
  };
}
