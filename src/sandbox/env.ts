/**
 * The sandbox environment, built from nothing (never from process.env). It is handed to the Agent
 * SDK as `options.env` (which REPLACES process.env) and from there to spawn(), so no value ever goes
 * on a command line (`bwrap --setenv` would put it in /proc/<pid>/cmdline).
 * @module
 */
import { AppError } from '../errors.ts';
import type { NetworkMode } from './bwrap-plan.ts';
import { SANDBOX_PATHS, SANDBOX_USER } from './sandbox-files.ts';

/** Port the in-sandbox socat bridge listens on (network none: each sandbox has its own netns). */
export const BRIDGE_PORT = 8377;

/** Keys sac owns; a spec's `env` may not set them. */
export const RESERVED_ENV_KEYS = new Set([
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'CLAUDE_CODE_TMPDIR',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_UNIX_SOCKET',
  'SAC_BRIDGE_PORT',
  // Claude Code's root-check bypass: the sandbox never runs as root, so it is never needed.
  'IS_SANDBOX',
]);

export interface SandboxEnvInput {
  network: NetworkMode;
  /** The per-agent token the relay accepts. Visible to the agent's own tools, by design. */
  agentToken: string;
  /** network host: the relay's TCP port on 127.0.0.1. Ignored for network none. */
  relayPort?: number;
  /** The spec's `env`, plus anything the caller adds (e.g. CLAUDE_CODE_MAX_RETRIES in tests). */
  extra?: Readonly<Record<string, string>>;
}

/** The sandbox environment for Claude Code under bwrap. Throws SPEC_INVALID for reserved keys. */
export function buildSandboxEnv(input: SandboxEnvInput): Record<string, string> {
  const baseUrl =
    input.network === 'none' ? `http://127.0.0.1:${BRIDGE_PORT}` : relayUrl(input.relayPort);
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: SANDBOX_PATHS.home,
    USER: SANDBOX_USER,
    LOGNAME: SANDBOX_USER,
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    TMPDIR: SANDBOX_PATHS.tmp,
    CLAUDE_CODE_TMPDIR: SANDBOX_PATHS.claudeTmp,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: input.agentToken,
    // Without these a resolver that never answers costs 11 s per start (architecture §4).
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
  if (input.network === 'none') env.SAC_BRIDGE_PORT = String(BRIDGE_PORT);
  for (const [k, v] of Object.entries(input.extra ?? {})) {
    if (RESERVED_ENV_KEYS.has(k)) {
      throw new AppError('SPEC_INVALID', `env key ${k} is reserved by sac`, {
        hint: 'remove it from spec.env; sac sets it for the sandbox',
        details: { key: k },
      });
    }
    env[k] = v;
  }
  return env;
}

function relayUrl(port: number | undefined): string {
  if (port === undefined) {
    throw new AppError('INTERNAL', 'network host needs the relay TCP port for ANTHROPIC_BASE_URL');
  }
  return `http://127.0.0.1:${port}`;
}
