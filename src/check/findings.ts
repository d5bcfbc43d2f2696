/**
 * What would stand in the way of starting an agent here, each with the fix. Pure: it reads the
 * launch plan and the host probe, so every rule is unit-testable without the host.
 * @module
 */
import type { LaunchPlan } from '../plan/launch-plan.ts';
import { dirname, join } from 'node:path';
import { resolveUserPath } from '../paths.ts';
import { apptainerPreflightHost, REMOTE_IMAGE_RE } from '../sandbox/apptainer-preflight.ts';
import { compareVersions } from '../sandbox/host.ts';
import type { AgentSpec } from '../spec/schema.ts';
import type { HostProbe, PathFact } from './host-probe.ts';

export interface Finding {
  /** `blocker`: `start` would refuse; `advice`: it would start, but look at this; `info`: for the record. */
  severity: 'blocker' | 'advice' | 'info';
  code: string;
  message: string;
  fix?: string;
}

const INSTALL_BWRAP =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap)';

function runtimeFindings(plan: LaunchPlan, host: HostProbe): Finding[] {
  const out: Finding[] = [];
  const rt = plan.runtime.name;
  if (host.platform === 'win32') {
    out.push({
      severity: 'blocker',
      code: 'platform_unsupported',
      message: 'Windows is supported through WSL2 only',
      fix: 'run sac inside a WSL2 Linux distribution',
    });
  }
  if (host.platform === 'darwin' && rt !== 'host') {
    out.push({
      severity: 'blocker',
      code: 'runtime_unavailable',
      message: `runtime ${rt} is Linux-only; macOS supports runtime: host`,
      fix: 'set spec.runtime: host (no isolation) or run the agent on a Linux host',
    });
    return out;
  }
  if (rt === 'bwrap') {
    if (!host.bins.bwrap) {
      out.push({
        severity: 'blocker',
        code: 'runtime_missing',
        message: 'bubblewrap (bwrap) is not installed',
        fix: INSTALL_BWRAP,
      });
    }
    if (host.uid === 0 && !host.bins.setpriv) {
      out.push({
        severity: 'blocker',
        code: 'setpriv_missing',
        message: 'setpriv is not installed (needed to drop to the agent uid when sac runs as root)',
        fix: 'install util-linux (apt-get install util-linux)',
      });
    }
    if (host.uid !== 0 && host.usernsProblems.length) {
      out.push({
        severity: 'blocker',
        code: 'userns_disabled',
        message: `bwrap cannot run as you: ${host.usernsProblems.join('; ')}`,
        fix: 'enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces), or use runtime: apptainer or host',
      });
    }
    // 0.8.0 brought --disable-userns, which a non-root operator's sandbox relies on
    if (host.bins.bwrap && host.bwrapVersion && compareVersions(host.bwrapVersion, '0.8.0') < 0) {
      out.push({
        severity: 'blocker',
        code: 'runtime_too_old',
        message: `bwrap ${host.bwrapVersion} is older than 0.8.0`,
        fix: 'upgrade bubblewrap to 0.8.0 or newer',
      });
    }
  }
  if (rt === 'bwrap' || rt === 'apptainer') {
    if (plan.network.mode === 'none' && !host.bins.socat) {
      out.push({
        severity: 'blocker',
        code: 'socat_missing',
        message: 'socat is not installed (sandbox.network: none bridges the model relay with it)',
        fix: 'apt-get install socat',
      });
    }
  }
  if (rt === 'host') {
    out.push({
      severity: 'advice',
      code: 'no_isolation',
      message: 'runtime host gives the agent no isolation from this machine',
      fix: 'use runtime: bwrap outside development',
    });
  }
  return out;
}

/** apptainer's own preflight (binary and version, image, overlay, tmpfs, root): one module owns it. */
function apptainerFindings(spec: AgentSpec, plan: LaunchPlan, host: HostProbe): Finding[] {
  if (plan.runtime.name !== 'apptainer' || host.platform !== 'linux') return [];
  const specDir = dirname(plan.specPath);
  const raw = plan.apptainerImage ?? '~/.scitex/agent-container/containers/sac-base.sif';
  const a = spec.spec.apptainer;
  const binary = host.bins.apptainer ?? host.bins.singularity;
  const scratch = join(plan.runtimeDir, 'tmp-scratch');
  return apptainerPreflightHost({
    apptainer: a,
    image: REMOTE_IMAGE_RE.test(raw) ? raw : resolveUserPath(raw, specDir),
    binary: binary
      ? {
          path: binary,
          ...(host.apptainerVersionText ? { versionText: host.apptainerVersionText } : {}),
        }
      : undefined,
    uid: host.uid,
    path: host.path,
    ...(a.overlay ? { overlayPath: resolveUserPath(a.overlay, plan.workdir.host) } : {}),
    scratch: { dir: scratch, ...optionalFree(host.freeBytes(scratch)) },
  });
}

function optionalFree(bytes: number | undefined): { freeBytes?: number } {
  return bytes === undefined ? {} : { freeBytes: bytes };
}

function credentialFindings(spec: AgentSpec, plan: LaunchPlan, host: HostProbe): Finding[] {
  if (spec.kind !== 'Agent') return [];
  const provider = plan.model.provider;
  if ('unknown' in provider) {
    return [
      {
        severity: 'blocker',
        code: 'provider_unknown',
        message: `unknown provider ${provider.name}`,
        fix: 'use a registered provider name or {base_url, auth_token_env}',
      },
    ];
  }
  if (provider.tokenEnv) {
    return host.envSet(provider.tokenEnv)
      ? []
      : [
          {
            severity: 'blocker',
            code: 'token_missing',
            message: `provider ${provider.name} needs ${provider.tokenEnv}, which is not set in this environment`,
            fix: `export ${provider.tokenEnv}=<key> in the environment that runs sac (it never enters the sandbox)`,
          },
        ];
  }
  if (host.envSet('ANTHROPIC_API_KEY') || host.claudeLogin) return [];
  return [
    {
      severity: 'blocker',
      code: 'credential_missing',
      message:
        'no Anthropic credential: ANTHROPIC_API_KEY is not set and Claude Code is not logged in',
      fix: 'export ANTHROPIC_API_KEY=<key>, or log in once with `claude` (/login); or set spec.claude.provider',
    },
  ];
}

/** Could the agent's uid write here? (Only meaningful as root, where it is a different uid.) */
function agentCanWrite(fact: PathFact, agentUid: number | undefined): boolean {
  const mode = fact.mode ?? 0;
  if (mode & 0o002) return true;
  return agentUid !== undefined && fact.uid === agentUid && (mode & 0o200) !== 0;
}

function mountFindings(plan: LaunchPlan, host: HostProbe): Finding[] {
  const out: Finding[] = [];
  const fixedUid =
    /^\d+/.test(plan.identity.runsAs) && !plan.identity.runsAs.startsWith('one uid')
      ? Number(plan.identity.runsAs.split(':')[0])
      : undefined;
  for (const m of plan.mounts) {
    if (!m.origin.startsWith('spec.')) continue;
    const fact = host.path(m.host);
    if (!fact.exists) {
      out.push({
        severity: 'blocker',
        code: 'mount_missing',
        message: `${m.origin}: mount source ${m.host} does not exist`,
        fix: `create it, or fix the path in ${m.origin}`,
      });
    } else if (
      host.uid === 0 &&
      m.mode === 'rw' &&
      plan.runtime.isolated &&
      !agentCanWrite(fact, fixedUid)
    ) {
      out.push({
        severity: 'advice',
        code: 'mount_not_writable',
        message: `${m.origin}: ${m.host} is mounted rw, but the agent's uid (${plan.identity.runsAs}) cannot write it (owner ${fact.uid}, mode ${(fact.mode ?? 0).toString(8)})`,
        fix: 'sac never changes ownership of your directories: chown/chmod it for the agent, set spec.user to its owner, or mount it :ro',
      });
    }
  }
  return out;
}

function kindFindings(spec: AgentSpec): Finding[] {
  const out: Finding[] = [];
  if (spec.kind === 'AgentProxy') {
    out.push({
      severity: 'blocker',
      code: 'kind_unsupported',
      message: 'kind AgentProxy validates, but sac cannot run proxies yet',
      fix: 'run the upstream agent directly, or keep using the original tool for proxies',
    });
  }
  if (spec.spec.harness !== 'anthropic') {
    out.push({
      severity: 'blocker',
      code: 'harness_unsupported',
      message: `harness ${spec.spec.harness} cannot be started by sac (only anthropic: Claude Code)`,
      fix: 'set spec.harness: anthropic or remove it',
    });
  }
  return out;
}

/** Every readiness finding for one agent, blockers first. */
export function readinessFindings(spec: AgentSpec, plan: LaunchPlan, host: HostProbe): Finding[] {
  const all = [
    ...kindFindings(spec),
    ...runtimeFindings(plan, host),
    ...apptainerFindings(spec, plan, host),
    ...credentialFindings(spec, plan, host),
    ...mountFindings(plan, host),
  ];
  if (!host.claudeBinary) {
    all.push({
      severity: 'blocker',
      code: 'claude_missing',
      message: 'the Claude Code binary (from @anthropic-ai/claude-agent-sdk) is not installed',
      fix: 'run `npm ci` in the sac checkout (it installs the binary for this platform)',
    });
  } else if (
    plan.runtime.isolated &&
    ((host.path(host.claudeBinary).mode ?? 0o755) & 0o001) === 0
  ) {
    // the agent's uid runs it through a read-only bind: it must be executable by others
    all.push({
      severity: 'blocker',
      code: 'claude_not_executable',
      message: `${host.claudeBinary} is not executable by other users, so the agent's uid cannot run it`,
      fix: `chmod o+x ${host.claudeBinary}`,
    });
  }
  const rank = { blocker: 0, advice: 1, info: 2 } as const;
  return all.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
