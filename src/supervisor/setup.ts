/**
 * Everything a launch needs before Claude Code starts, built from the launch plan: the agent's
 * identity, its home, the real credential, the model relay, the sandbox environment and the
 * launcher for its runtime. Resources are returned with one `close()`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { McpServerConfig } from '@anthropic-ai/claude-agent-sdk';
import { AppError } from '../errors.ts';
import { type Env, gitRoot, isDir, resolveUserPath, sacRoot } from '../paths.ts';
import { claudeBinaryPath } from '../plan/claude-binary.ts';
import type { LaunchPlan } from '../plan/launch-plan.ts';
import { startRelay, type Relay } from '../relay/relay.ts';
import type { SandboxPlan } from '../sandbox/bwrap-plan.ts';
import { buildSandboxEnv, RESERVED_ENV_KEYS } from '../sandbox/env.ts';
import { findExecutable, hostFacts } from '../sandbox/host.ts';
import { buildApptainerInvocation, DEFAULT_LAUNCHER_PATH } from '../sandbox/apptainer-plan.ts';
import { ENTRY_SH } from '../sandbox/sandbox-files.ts';
import { namespaceSeccompFilter } from '../sandbox/seccomp.ts';
import { mergedEnv } from '../spec/rules.ts';
import type { AgentRef } from '../spec/resolve.ts';
import type { AgentSpec } from '../spec/schema.ts';
import type { Store } from '../store/db.ts';
import { agentUid } from '../store/repos/agent-uids.ts';
import { materialiseHome, materialiseOptionsFor } from '../workspace/materialise.ts';
import { mapClaudeFlags } from './claude-flags.ts';
import { resolveCredential } from './credentials.ts';
import { spawn } from 'node:child_process';
import { spawnSandbox } from '../sandbox/spawn.ts';
import {
  apptainerLauncher,
  type ApptainerLaunchPlan,
  bwrapLauncher,
  dropArgv,
  hostLauncher,
} from './launchers.ts';
import { type CommandRunner, runStartupCommands } from './startup-commands.ts';
import { RAW_OPTIONS_DENYLIST, SdkDriver } from './sdk-driver.ts';
import { relayDirName, socketDir } from './sockets.ts';

export interface LaunchResources {
  driver: SdkDriver;
  /** Run `spec.startup_commands` inside the sandbox (once per launch, before Claude Code). */
  runStartupCommands: (log: (line: string) => void) => Promise<void>;
  relay: Relay;
  identity: { uid: number; gid: number };
  credentialSource: string;
  warnings: string[];
  close(): Promise<void>;
}

export interface SetupInput {
  ref: AgentRef;
  spec: AgentSpec;
  plan: LaunchPlan;
  store: Store;
  env: Env;
  uidRange: readonly [number, number];
  onStderr: (chunk: string) => void;
  log: (line: string) => void;
}

/**
 * The host runtime runs Claude Code as the agent's real uid with no sandbox: every directory above
 * its home, workdir and binary must be searchable by that uid. A private parent (like /root, 0700)
 * cannot be bypassed, and sac never loosens it for you.
 */
function assertReachable(id: { uid: number; gid: number }, paths: string[]): void {
  for (const p of paths) {
    for (let dir = dirname(p); ; dir = dirname(dir)) {
      const st = statSync(dir);
      const bit = st.uid === id.uid ? 0o100 : st.gid === id.gid ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) {
        throw new AppError(
          'SANDBOX_UNAVAILABLE',
          `runtime host: the agent's uid ${id.uid} cannot reach ${p}: ${dir} is not searchable (mode ${(st.mode & 0o777).toString(8)})`,
          {
            hint: 'use runtime: bwrap (it mounts what the agent needs), or keep the sac root and the sac checkout under directories others may traverse (e.g. SAC_HOME=/srv/sac)',
          },
        );
      }
      if (dir === '/') break;
    }
  }
}

interface Protect {
  host: string;
  /** `ro`: visible but read-only; `hide`: an empty directory over it. */
  how: 'ro' | 'hide';
}

/**
 * Mounts that keep sac's own files out of the agent's reach when a declared mount or the workdir
 * contains them (say `workdir: .` in a project): the agent must not rewrite its spec (host hooks,
 * provider, mounts take effect at the next start), other agents' specs, or read the sac root
 * (state.db, tokens, other agents' homes). Pure; later mounts overlay earlier ones.
 */
export function protectiveMounts(
  binds: readonly { host: string; container: string }[],
  protect: readonly Protect[],
  emptyDir: string,
): { host: string; container: string; mode: 'ro' | 'rw' }[] {
  const out: { host: string; container: string; mode: 'ro' | 'rw' }[] = [];
  for (const p of protect) {
    for (const b of binds) {
      if (p.host !== b.host && !p.host.startsWith(b.host.endsWith('/') ? b.host : `${b.host}/`))
        continue;
      if (p.host === b.host) {
        throw new AppError(
          'SPEC_INVALID',
          `${b.host} is mounted into the agent, but it holds sac's own files (${p.how === 'hide' ? 'the sac root' : 'agent definitions'})`,
          {
            hint: 'mount a subdirectory of it instead, or move the workdir elsewhere',
          },
        );
      }
      const container = posix.join(b.container, p.host.slice(b.host.length));
      out.push(
        p.how === 'ro'
          ? { host: p.host, container, mode: 'ro' }
          : { host: emptyDir, container, mode: 'ro' },
      );
    }
  }
  return out.sort((a, b) => a.container.length - b.container.length);
}

/** Which uid/gid the agent runs as (architecture §3: never root). */
function identityFor(input: SetupInput): { uid: number; gid: number; owner: boolean } {
  const operatorUid = process.getuid?.() ?? 0;
  const operatorGid = process.getgid?.() ?? 0;
  const user = input.spec.spec.user;
  const explicit = /^(\d+)(?::(\d+))?$/.exec(user);
  if (operatorUid !== 0) {
    if (explicit && Number(explicit[1]) !== operatorUid) {
      throw new AppError(
        'SPEC_INVALID',
        `spec.user ${user} needs sac to run as root (you are uid ${operatorUid})`,
        {
          hint: "remove spec.user, or set it to 'host'",
        },
      );
    }
    return { uid: operatorUid, gid: operatorGid, owner: false };
  }
  if (user === 'host') {
    throw new AppError(
      'SPEC_INVALID',
      'spec.user: host means your own uid, and you are root: the agent may not run as root',
      {
        hint: 'remove spec.user (each agent then gets its own uid) or name an unprivileged uid',
      },
    );
  }
  const got = agentUid(input.store, {
    runtimeDir: input.ref.runtimeDir,
    name: input.ref.name,
    range: input.uidRange,
    ...(explicit
      ? { explicit: { uid: Number(explicit[1]), gid: Number(explicit[2] ?? explicit[1]) } }
      : {}),
  });
  for (const w of got.warnings) input.log(`warning: ${w}`);
  return { uid: got.uid, gid: got.gid, owner: true };
}

/** Environment the spec sets, minus what sac manages (the spec rules already warned about those). */
function specEnv(spec: AgentSpec, ref: AgentRef, warnings: string[]): Record<string, string> {
  const out: Record<string, string> = {
    SAC_NAME: ref.name,
    CLAUDE_AGENT_ID: ref.name,
    SCITEX_AGENT_CONTAINER_AGENT: ref.name,
    SCITEX_AGENT_CONTAINER_MODEL: spec.spec.claude.model,
  };
  const role = spec.metadata.labels?.role;
  if (role) out.CLAUDE_AGENT_ROLE = role;
  for (const e of mergedEnv(spec)) {
    if (RESERVED_ENV_KEYS.has(e.name) || e.name === 'CLAUDE_CODE_OAUTH_TOKEN') {
      warnings.push(`${e.declaredAt.join(', ')}: ${e.name} is managed by sac and was not passed`);
      continue;
    }
    out[e.name] = e.value;
  }
  return out;
}

/** How apptainer runs this agent: the pure argv builder, fed per start with the SDK's arguments. */
function apptainerPlan(
  input: SetupInput,
  x: {
    runDir: string;
    claudeBinary: string;
    identity: { uid: number; gid: number; owner: boolean };
    network: 'host' | 'none';
    sandbox: Omit<SandboxPlan, 'command'>;
  },
): ApptainerLaunchPlan {
  const { spec, plan, ref } = input;
  const a = spec.spec.apptainer;
  const binary = findExecutable('apptainer') ?? findExecutable('singularity');
  if (!binary) {
    throw new AppError(
      'SANDBOX_UNAVAILABLE',
      `${ref.name} names an apptainer image, and apptainer is not installed`,
      {
        hint: 'install apptainer, or set spec.runtime: bwrap to run it in bubblewrap',
      },
    );
  }
  const rawImage = plan.apptainerImage ?? '~/.scitex/agent-container/containers/sac-base.sif';
  const image = /^[a-z]+:\/\//.test(rawImage)
    ? rawImage
    : resolveUserPath(rawImage, ref.agentDir, input.env);
  // apptainer binds files, not fd data: the entry script lives beside the relay socket
  const entry = join(x.runDir, 'entry.sh');
  writeFileSync(entry, ENTRY_SH, { mode: 0o644 });
  const overlay = a.overlay ? resolveUserPath(a.overlay, plan.workdir.host, input.env) : '';
  return {
    binary,
    cwd: plan.workdir.host,
    dropTo: x.identity.owner ? { uid: x.identity.uid, gid: x.identity.gid } : undefined,
    invocation: (command, sandboxEnv) =>
      buildApptainerInvocation({
        apptainer: { ...a, overlay },
        image,
        flavour: binary.endsWith('singularity') ? 'singularity-ce' : 'apptainer',
        homeDir: plan.home.host,
        workDir: plan.workdir.host,
        mounts: x.sandbox.mounts ?? [],
        runDir: x.runDir,
        claudeBinary: x.claudeBinary,
        entryScript: entry,
        network: x.network,
        ...(overlay ? { overlayKind: isDir(overlay) ? 'dir' : 'image' } : {}),
        scratchDir: join(plan.runtimeDir, 'tmp-scratch'),
        env: sandboxEnv,
        launcherEnv: {
          PATH: input.env.PATH ?? DEFAULT_LAUNCHER_PATH,
          ...(input.env.HOME ? { HOME: input.env.HOME } : {}),
        },
        command,
      }),
  };
}

export async function prepareLaunch(input: SetupInput): Promise<LaunchResources> {
  const { ref, spec, plan } = input;
  const warnings: string[] = [];
  const claudeBinary = claudeBinaryPath();
  if (!claudeBinary) {
    throw new AppError(
      'SANDBOX_UNAVAILABLE',
      'the Claude Code binary (from @anthropic-ai/claude-agent-sdk) is not installed',
      {
        hint: 'run `npm ci` in the sac checkout',
      },
    );
  }
  const identity = identityFor(input);
  const report = materialiseHome(
    materialiseOptionsFor(ref, spec, plan, {
      ...(identity.owner ? { owner: { uid: identity.uid, gid: identity.gid } } : {}),
      env: input.env,
    }),
  );
  warnings.push(...report.warnings);

  const provider = plan.model.provider;
  if ('unknown' in provider)
    throw new AppError('SPEC_INVALID', `unknown provider ${provider.name}`);
  const cred = resolveCredential(provider, input.env);

  // The relay's socket dir is bound read-only at /run/sac: short, node-local, root-owned 0755.
  const runDir = join(socketDir(input.env), relayDirName(ref.name, ref.runtimeDir));
  mkdirSync(runDir, { recursive: true });
  chmodSync(runDir, 0o755);
  const agentToken = `sac-agent-${randomBytes(24).toString('hex')}`;
  const network = plan.network.mode;
  const useSocket = network === 'none' && plan.runtime.name !== 'host';
  const relay = await startRelay({
    upstream: provider.baseUrl,
    // a login file is re-read per request: Claude Code refreshes its token there
    credential: cred.fromFile
      ? () => {
          try {
            return resolveCredential(provider, input.env).credential;
          } catch {
            return cred.credential;
          }
        }
      : cred.credential,
    agentToken,
    ...(useSocket
      ? {
          socketPath: join(runDir, 'model.sock'),
          ...(identity.owner ? { socketOwner: { uid: identity.uid, gid: identity.gid } } : {}),
        }
      : { tcp: true }),
    onRequest: (info) => {
      if (info.outcome !== 'ok')
        input.log(
          `relay: ${info.method} ${info.path} -> ${info.status} ${info.outcome}${info.error ? ` ${info.error}` : ''}`,
        );
    },
  });

  const extra = specEnv(spec, ref, warnings);
  const env =
    plan.runtime.name === 'host'
      ? {
          ...buildSandboxEnv({ network: 'host', agentToken, relayPort: relay.port!, extra }),
          HOME: plan.home.host,
          TMPDIR: join(plan.runtimeDir, 'tmp'),
          CLAUDE_CODE_TMPDIR: join(plan.runtimeDir, 'tmp', 'claude'),
          PATH: input.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        }
      : buildSandboxEnv({
          network,
          agentToken,
          ...(relay.port !== undefined ? { relayPort: relay.port } : {}),
          extra,
        });
  if (plan.runtime.name === 'host' && identity.owner) {
    assertReachable(identity, [plan.home.host, plan.workdir.host, claudeBinary, plan.runtimeDir]);
  }
  if (plan.runtime.name === 'host') {
    // the host runtime's private tmp: the agent's own, as the sandbox's /tmp would be
    for (const dir of [join(plan.runtimeDir, 'tmp'), join(plan.runtimeDir, 'tmp', 'claude')]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (identity.owner) chownSync(dir, identity.uid, identity.gid);
    }
  }

  const flags = mapClaudeFlags(spec.spec.claude.flags);
  for (const f of flags.ignored)
    warnings.push(`spec.claude.flags: ${f} is managed by sac and was ignored`);
  const rawOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec.spec.claude.raw_options)) {
    if (RAW_OPTIONS_DENYLIST.has(k))
      warnings.push(`spec.claude.raw_options.${k} is managed by sac and was ignored`);
    else rawOptions[k] = v;
  }

  const specMounts = plan.mounts
    .filter((m) => m.origin.startsWith('spec.'))
    .map((m) => ({ host: m.host, container: m.container, mode: m.mode }));
  const emptyDir = join(runDir, 'empty');
  mkdirSync(emptyDir, { recursive: true, mode: 0o755 });
  const top = gitRoot(ref.agentDir);
  const projectRoot = top ? join(top, '.scitex', 'agent-container') : undefined;
  const protective = protectiveMounts(
    [{ host: plan.workdir.host, container: plan.workdir.sandbox }, ...specMounts],
    [
      { host: sacRoot(input.env), how: 'hide' },
      ...(projectRoot && isDir(projectRoot)
        ? [
            { host: projectRoot, how: 'ro' as const },
            { host: join(projectRoot, 'runtime'), how: 'hide' as const },
          ]
        : []),
      // other agents' definitions, then this agent's own spec and to_home (works for workdir: .)
      { host: dirname(ref.agentDir), how: 'ro' },
      { host: ref.specPath, how: 'ro' },
      ...(isDir(plan.toHome) ? [{ host: plan.toHome, how: 'ro' as const }] : []),
    ],
    emptyDir,
  );
  const sandbox: Omit<SandboxPlan, 'command'> = {
    operator: identity.owner ? 'root' : 'user',
    uid: identity.uid,
    gid: identity.gid,
    homeDir: plan.home.host,
    workDir: plan.workdir.host,
    workDirInSandbox: plan.workdir.sandbox,
    mounts: [...specMounts, ...protective],
    network,
    runDir,
    claudeBinary,
    seccomp: namespaceSeccompFilter(),
    ...hostFacts(),
  };
  const launcher =
    plan.runtime.name === 'apptainer'
      ? apptainerLauncher(
          apptainerPlan(input, { runDir, claudeBinary, identity, network, sandbox }),
          input.onStderr,
        )
      : plan.runtime.name === 'host'
        ? hostLauncher(
            {
              cwd: plan.workdir.host,
              ...(identity.owner ? { dropTo: { uid: identity.uid, gid: identity.gid } } : {}),
              claudeBinary,
            },
            input.onStderr,
          )
        : bwrapLauncher(sandbox, input.onStderr);

  const driver = new SdkDriver({
    cwd: plan.workdir.sandbox,
    env,
    flags,
    mcpServers: report.mcpServers as Record<string, McpServerConfig>,
    rawOptions,
    claudeBinary,
    launcher,
    onStderr: input.onStderr,
  });
  const runner: CommandRunner = (command) => {
    const shell = ['/bin/sh', '-c', command];
    if (plan.runtime.name === 'bwrap') {
      const sb = spawnSandbox({ ...sandbox, command: shell }, { env, stderr: 'pipe' });
      return { child: sb.child, done: sb.exited.then((e) => e.bwrapExitCode ?? e.code) };
    }
    const drop = identity.owner ? { uid: identity.uid, gid: identity.gid } : undefined;
    let inner: [string, string[], NodeJS.ProcessEnv];
    if (plan.runtime.name === 'apptainer') {
      const ap = apptainerPlan(input, { runDir, claudeBinary, identity, network, sandbox });
      const inv = ap.invocation(shell, env);
      inner = [ap.binary, inv.argv, inv.env];
    } else {
      inner = [shell[0]!, shell.slice(1), env];
    }
    const [cmd, argv] = dropArgv(drop, inner[0], inner[1]);
    const child = spawn(cmd, argv, {
      cwd: plan.workdir.host,
      env: inner[2],
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { child, done: new Promise((resolve) => child.once('close', (code) => resolve(code))) };
  };
  return {
    driver,
    runStartupCommands: (log) => runStartupCommands(spec.spec.startup_commands, runner, log),
    relay,
    identity: { uid: identity.uid, gid: identity.gid },
    credentialSource: cred.source,
    warnings,
    close: () => relay.close(),
  };
}
