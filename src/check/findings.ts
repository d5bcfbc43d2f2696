/**
 * What would stand in the way of starting an agent here, each with the fix. Pure: it reads the
 * launch plan and the host probe, so every rule is unit-testable without the host.
 * @module
 */
import type { LaunchPlan } from '../plan/launch-plan.ts';
import { resolveUserPath } from '../paths.ts';
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
    if (host.uid !== 0 && !host.userns) {
      out.push({
        severity: 'blocker',
        code: 'userns_disabled',
        message:
          'unprivileged user namespaces are disabled on this host, so bwrap cannot run as you',
        fix: 'enable them (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces), or use runtime: apptainer or host',
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
  if (rt === 'apptainer' && !host.bins.apptainer && !host.bins.singularity) {
    out.push({
      severity: 'blocker',
      code: 'runtime_missing',
      message:
        'apptainer is not installed on this host; sac never runs an apptainer spec elsewhere',
      fix: 'install apptainer, or set spec.runtime: bwrap to run the agent in bubblewrap',
    });
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

function imageFindings(plan: LaunchPlan, host: HostProbe): Finding[] {
  if (plan.runtime.name !== 'apptainer') return [];
  const image = plan.apptainerImage ?? '~/.scitex/agent-container/containers/sac-base.sif';
  if (/^(docker|oras|library|shub):\/\//.test(image)) {
    return [
      {
        severity: 'info',
        code: 'image_remote',
        message: `image ${image} is converted to a SIF in ${plan.runtimeDir}/images at first start (needs the registry to be reachable)`,
      },
    ];
  }
  const path = resolveUserPath(image, plan.specPath.replace(/\/[^/]*$/, ''));
  const fact = host.path(path);
  if (!fact.exists) {
    return [
      {
        severity: 'blocker',
        code: 'image_missing',
        message: `apptainer image ${path} does not exist`,
        fix: 'build it (sac image build base) or point spec.apptainer.image at an existing .sif',
      },
    ];
  }
  return [];
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
    ...imageFindings(plan, host),
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
  }
  const rank = { blocker: 0, advice: 1, info: 2 } as const;
  return all.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
