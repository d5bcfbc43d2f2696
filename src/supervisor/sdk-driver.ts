/**
 * The Agent SDK driver: one `query()` in streaming-input mode per Claude Code process, fed from the
 * supervisor's queue. Claude Code itself is started by the SDK through `spawnClaudeCodeProcess`,
 * which the runtime (bwrap, apptainer, host) supplies, so it runs inside the agent's sandbox.
 * @module
 */
import type {
  McpServerConfig,
  Options,
  SDKMessage,
  SDKUserMessage,
  SpawnOptions,
  SpawnedProcess,
} from '@anthropic-ai/claude-agent-sdk';
import type { query as SdkQuery } from '@anthropic-ai/claude-agent-sdk';
import type { Driver, DriverSession, DriverStartOptions, SessionExit } from './driver.ts';
import type { FlagOptions } from './claude-flags.ts';
import { AsyncQueue } from '../util/async-queue.ts';

/** Starts Claude Code for the SDK and reports what it started. */
export interface ClaudeLauncher {
  spawn(o: SpawnOptions): SpawnedProcess;
  /** Host pids of the most recent launch (sandbox and everything in it). */
  pids(): number[];
  claudePid(): number | undefined;
  /** Settles when the most recent launch is completely gone. */
  exited(): Promise<{ code: number | null; signal: string | null }>;
  /** Signal the most recent launch: SIGTERM goes to Claude Code, SIGKILL to the whole sandbox. */
  signal(sig: 'SIGTERM' | 'SIGKILL'): void;
}

export interface SdkDriverConfig {
  /** Working directory as Claude Code sees it (inside the sandbox). */
  cwd: string;
  /** The complete environment inside the sandbox (the SDK's env REPLACES process.env). */
  env: Record<string, string>;
  flags: FlagOptions;
  mcpServers: Record<string, McpServerConfig>;
  /** The spec's `claude.raw_options`, minus keys sac must own (filtered by the caller). */
  rawOptions: Record<string, unknown>;
  /** Host path of the Claude Code binary (the SDK checks it; the launcher binds it). */
  claudeBinary: string;
  launcher: () => ClaudeLauncher;
  onStderr: (chunk: string) => void;
}

/** SDK options a spec's raw_options may not touch: they would break the sandbox or the driver. */
export const RAW_OPTIONS_DENYLIST = new Set([
  'env',
  'cwd',
  'spawnClaudeCodeProcess',
  'pathToClaudeCodeExecutable',
  'executable',
  'executableArgs',
  'abortController',
  'resume',
  'continue',
  'sessionId',
  'forkSession',
  'settingSources',
  'mcpServers',
  'mcpServersDelivery',
  'stderr',
  'model',
]);

/** A user turn as the SDK's streaming input wants it. */
export function userMessage(text: string): SDKUserMessage {
  return { type: 'user', message: { role: 'user', content: text }, parent_tool_use_id: null };
}

export class SdkDriver implements Driver {
  readonly #config: SdkDriverConfig;

  constructor(config: SdkDriverConfig) {
    this.#config = config;
  }

  start(opts: DriverStartOptions): DriverSession {
    return startSdkSession(this.#config, opts);
  }
}

function startSdkSession(config: SdkDriverConfig, opts: DriverStartOptions): DriverSession {
  const input = new AsyncQueue<SDKUserMessage>();
  const stream = new AsyncQueue<SDKMessage>();
  const launcher = config.launcher();
  const f = config.flags;
  const options: Options = {
    ...config.rawOptions,
    cwd: config.cwd,
    env: config.env,
    model: opts.model,
    permissionMode: f.permissionMode,
    allowDangerouslySkipPermissions: f.allowDangerouslySkipPermissions,
    // the agent's own home holds CLAUDE.md, skills and settings: loading them is the point
    settingSources: ['user', 'project', 'local'],
    mcpServers: config.mcpServers,
    // 'argv' would put MCP servers' environments (secrets) on Claude Code's command line
    mcpServersDelivery: 'initialize',
    pathToClaudeCodeExecutable: config.claudeBinary,
    extraArgs: f.extraArgs,
    stderr: config.onStderr,
    spawnClaudeCodeProcess: (o) => launcher.spawn(o),
    ...(f.allowedTools ? { allowedTools: f.allowedTools } : {}),
    ...(f.disallowedTools ? { disallowedTools: f.disallowedTools } : {}),
    ...(f.maxTurns ? { maxTurns: f.maxTurns } : {}),
    ...(f.appendSystemPrompt
      ? { systemPrompt: { type: 'preset', preset: 'claude_code', append: f.appendSystemPrompt } }
      : {}),
    ...(opts.resume ? { resume: opts.resume } : {}),
  };

  // Imported lazily by the caller's module graph; the SDK is the heaviest thing the supervisor loads.
  const q = sdkQuery({ prompt: input, options });
  let iteratorError: string | undefined;
  const consumed = (async () => {
    try {
      for await (const m of await q) stream.push(m);
    } catch (err) {
      iteratorError = err instanceof Error ? err.message : String(err);
    } finally {
      stream.end();
    }
  })();

  const exited: Promise<SessionExit> = consumed.then(async () => {
    const e = await launcher.exited();
    return { ...e, ...(iteratorError ? { error: iteratorError } : {}) };
  });

  const initialized = q.then((query) => query.initializationResult()).then(() => undefined);
  // never leave an unhandled rejection behind when the process dies before initializing
  initialized.catch(() => {});

  return {
    send: (text) => input.push(userMessage(text)),
    interrupt: async () => {
      await (await q).interrupt();
    },
    endInput: () => input.end(),
    signal: (sig) => launcher.signal(sig),
    messages: stream,
    exited,
    initialized,
    pids: () => launcher.pids(),
    claudePid: () => launcher.claudePid(),
  };
}

type QueryFn = typeof SdkQuery;
let loadedQuery: Promise<QueryFn> | undefined;

/** `query()` from the SDK, loaded on first use (keeps the supervisor's start-up lean until needed). */
function sdkQuery(args: Parameters<QueryFn>[0]): Promise<ReturnType<QueryFn>> {
  loadedQuery ??= import('@anthropic-ai/claude-agent-sdk').then((m) => m.query);
  return loadedQuery.then((query) => query(args));
}
