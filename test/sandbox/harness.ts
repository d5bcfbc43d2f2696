/**
 * Test harness for the sandbox integration tests: fresh agent directories, a fake Anthropic API,
 * the model relay, and an Agent SDK session whose Claude Code runs inside bwrap. Every process and
 * server it starts is stopped by `close()`. Everything here is async: an in-process server plus
 * spawnSync/execFileSync deadlocks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { query } from '@anthropic-ai/claude-agent-sdk';
import type {
  Options,
  Query,
  SDKMessage,
  SDKResultMessage,
  SDKUserMessage,
} from '@anthropic-ai/claude-agent-sdk';
import { startRelay } from '../../src/relay/relay.ts';
import { userMessage } from '../../src/supervisor/sdk-driver.ts';
import { AsyncQueue } from '../../src/util/async-queue.ts';
import type { Relay, RelayRequestInfo } from '../../src/relay/relay.ts';
import type { NetworkMode, SandboxMount, SandboxPlan } from '../../src/sandbox/bwrap-plan.ts';
import { claudeSpawner } from '../../src/sandbox/claude-spawner.ts';
import { buildSandboxEnv } from '../../src/sandbox/env.ts';
import { findExecutable, hostFacts } from '../../src/sandbox/host.ts';
import { isAlive } from '../../src/sandbox/proc.ts';
import { namespaceSeccompFilter } from '../../src/sandbox/seccomp.ts';
import type { SandboxProcess } from '../../src/sandbox/spawn.ts';
import type { FakeAnthropic } from '../fixtures/fake-anthropic.ts';

export const AGENT_UID = 61234;
export const CLAUDE_BIN = resolve(
  import.meta.dirname,
  '../../node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude',
);

/** Why these tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'bwrap sandbox tests need Linux';
  if (process.getuid?.() !== 0) return 'root-operator sandbox tests need root (CI runs as root)';
  if (!findExecutable('bwrap')) return 'bwrap is not installed (apt-get install bubblewrap)';
  if (!findExecutable('socat')) return 'socat is not installed (apt-get install socat)';
  if (!existsSync(CLAUDE_BIN)) return `Claude Code binary missing at ${CLAUDE_BIN}`;
  return undefined;
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface AgentDirs {
  /** The temp root holding everything; removed by `removeDirs`. */
  root: string;
  home: string;
  work: string;
  run: string;
  roData: string;
  rwData: string;
}

/** Fresh host layout (recipe §1): agent-owned home (0700) and workdir, root-owned run dir. */
export async function makeAgentDirs(
  opts: { uid?: number; marker?: string } = {},
): Promise<AgentDirs> {
  const uid = opts.uid ?? AGENT_UID;
  // Short: the relay socket path (run/model.sock) must stay under 100 bytes.
  const root = await mkdtemp('/tmp/sac-it-');
  const d: AgentDirs = {
    root,
    home: join(root, 'home'),
    work: join(root, 'work'),
    run: join(root, 'run'),
    roData: join(root, 'ro-data'),
    rwData: join(root, 'rw-data'),
  };
  for (const p of [d.home, d.work, d.run, d.roData, d.rwData]) await mkdir(p);
  await mkdir(join(d.home, '.claude'));
  await writeFile(
    join(d.home, '.claude', 'CLAUDE.md'),
    `# Agent notes\n\n${opts.marker ?? 'NO_MARKER'}\n`,
  );
  await chown(d.home, uid, uid);
  await chown(join(d.home, '.claude'), uid, uid);
  await chown(join(d.home, '.claude', 'CLAUDE.md'), uid, uid);
  await chmod(d.home, 0o700);
  await chown(d.work, uid, uid);
  await chown(d.rwData, uid, uid);
  await chmod(d.run, 0o755);
  // A root-owned 0600 file in the agent's own workdir: the agent must not read it.
  await writeFile(join(d.work, 'canary'), 'CANARY_SECRET\n', { mode: 0o600 });
  await writeFile(join(d.roData, 'data.txt'), 'read-only data\n', { mode: 0o644 });
  return d;
}

export async function removeDirs(d: AgentDirs): Promise<void> {
  await rm(d.root, { recursive: true, force: true });
}

export const MOUNTS = (d: AgentDirs): SandboxMount[] => [
  { host: d.roData, container: '/mnt/ro', mode: 'ro' },
  { host: d.rwData, container: '/mnt/rw', mode: 'rw' },
];

/** Feeds an SDK streaming-input query (the supervisor's own queue and message shape). */
export class InputChannel extends AsyncQueue<SDKUserMessage> {
  pushText(text: string): void {
    this.push(userMessage(text));
  }
}

export interface Turn {
  result: SDKResultMessage;
  messages: SDKMessage[];
  /** Text of every tool_result the turn produced. */
  toolResults: string[];
  ms: number;
}

export interface SessionOptions {
  network: NetworkMode;
  dirs: AgentDirs;
  fake: FakeAnthropic;
  realToken: string;
  agentToken: string;
  resume?: string;
  mounts?: SandboxMount[];
}

/** One Agent SDK query (one Claude Code process) inside bwrap, with its relay. */
export class AgentSession {
  readonly q: Query;
  readonly relay: Relay;
  readonly sandboxes: SandboxProcess[] = [];
  readonly relayLog: RelayRequestInfo[];
  readonly messages: SDKMessage[] = [];
  readonly stderr: string[] = [];
  readonly input = new InputChannel();
  /** Settles when the SDK's iterator ends; holds its error, if any. */
  readonly consumed: Promise<Error | undefined>;
  readonly env: Record<string, string>;
  #waiters: { resolve: (r: SDKResultMessage) => void; reject: (e: Error) => void }[] = [];

  private constructor(relay: Relay, relayLog: RelayRequestInfo[], opts: SessionOptions) {
    this.relay = relay;
    this.relayLog = relayLog;
    const { dirs } = opts;
    this.env = buildSandboxEnv({
      network: opts.network,
      agentToken: opts.agentToken,
      ...(relay.port !== undefined ? { relayPort: relay.port } : {}),
      extra: { CLAUDE_CODE_MAX_RETRIES: '1' },
    });
    const plan: Omit<SandboxPlan, 'command'> = {
      operator: 'root',
      uid: AGENT_UID,
      gid: AGENT_UID,
      homeDir: dirs.home,
      workDir: dirs.work,
      mounts: opts.mounts ?? [],
      network: opts.network,
      runDir: dirs.run,
      claudeBinary: CLAUDE_BIN,
      seccomp: namespaceSeccompFilter(),
      ...hostFacts(),
    };
    const options: Options = {
      cwd: '/work',
      env: this.env,
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      settingSources: ['user', 'project', 'local'],
      mcpServersDelivery: 'initialize',
      ...(opts.resume ? { resume: opts.resume } : {}),
      spawnClaudeCodeProcess: claudeSpawner({
        plan,
        onStderr: (d) => this.stderr.push(d),
        onSpawn: (s) => this.sandboxes.push(s),
      }),
    };
    this.q = query({ prompt: this.input, options });
    this.consumed = this.#consume();
  }

  static async start(opts: SessionOptions): Promise<AgentSession> {
    const relayLog: RelayRequestInfo[] = [];
    const common = {
      upstream: opts.fake.url,
      credential: { header: 'x-api-key' as const, value: opts.realToken },
      agentToken: opts.agentToken,
      onRequest: (i: RelayRequestInfo) => relayLog.push(i),
    };
    const relay =
      opts.network === 'host'
        ? await startRelay({ ...common, tcp: true })
        : await startRelay({
            ...common,
            socketPath: join(opts.dirs.run, 'model.sock'),
            socketOwner: { uid: AGENT_UID, gid: AGENT_UID },
          });
    return new AgentSession(relay, relayLog, opts);
  }

  async #consume(): Promise<Error | undefined> {
    try {
      for await (const m of this.q) {
        this.messages.push(m);
        if (m.type === 'result') this.#waiters.shift()?.resolve(m);
      }
      const e = new Error('query ended');
      for (const w of this.#waiters.splice(0)) w.reject(e);
      return undefined;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const w of this.#waiters.splice(0)) w.reject(e);
      return e;
    }
  }

  /** Send one user turn and wait for its result. */
  async send(text: string): Promise<Turn> {
    const t0 = performance.now();
    const from = this.messages.length;
    const result = new Promise<SDKResultMessage>((resolve, reject) =>
      this.#waiters.push({ resolve, reject }),
    );
    this.input.pushText(text);
    const r = await result;
    const messages = this.messages.slice(from);
    return {
      result: r,
      messages,
      toolResults: toolResultTexts(messages),
      ms: Math.round(performance.now() - t0),
    };
  }

  get sandbox(): SandboxProcess {
    const s = this.sandboxes.at(-1);
    if (!s) throw new Error('no sandbox spawned yet');
    return s;
  }

  /** Stop everything this session started, politely if possible, by force otherwise. */
  async close(): Promise<void> {
    this.input.end();
    for (const s of this.sandboxes) {
      const done = await Promise.race([s.exited.then(() => true), sleep(3000).then(() => false)]);
      if (!done) {
        s.killAll();
        await s.exited;
      }
    }
    await Promise.race([this.consumed, sleep(2000)]);
    await this.relay.close();
  }
}

function toolResultTexts(messages: SDKMessage[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m.type !== 'user' || !Array.isArray(m.message.content)) continue;
    for (const b of m.message.content) {
      if (b.type !== 'tool_result') continue;
      const c = b.content;
      out.push(
        typeof c === 'string'
          ? c
          : (c ?? []).map((x) => (x.type === 'text' ? x.text : '')).join(''),
      );
    }
  }
  return out;
}

/** Parse `key=value` lines (values run to the end of the line). */
export function parseProbe(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && /^[a-z_]+$/.test(line.slice(0, i))) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export const newToken = (prefix: string): string => `${prefix}-${randomBytes(18).toString('hex')}`;

/** Every /proc/<pid>/cmdline on the host that contains one of `needles` (as "pid: cmdline"). */
export async function cmdlinesContaining(needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = (await readFile(`/proc/${name}/cmdline`)).toString('utf8');
    } catch {
      continue;
    }
    if (needles.some((n) => text.includes(n)))
      hits.push(`${name}: ${text.replace(/\0/g, ' ').slice(0, 200)}`);
  }
  return hits;
}

/** Whether any pid's environment contains `needle`. */
export async function environsContaining(pids: number[], needle: string): Promise<number[]> {
  const hits: number[] = [];
  for (const pid of pids) {
    try {
      if ((await readFile(`/proc/${pid}/environ`)).includes(needle)) hits.push(pid);
    } catch {
      // gone
    }
  }
  return hits;
}

/** Files under `dir` (as seen through /proc/<pid>/root, i.e. the sandbox's mounts) containing `needle`. */
export async function filesContaining(
  dir: string,
  needle: string,
  maxBytes = 8 * 1024 * 1024,
): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (p: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(p);
    } catch {
      return;
    }
    for (const e of entries) {
      const f = join(p, e);
      let st;
      try {
        st = await stat(f);
      } catch {
        continue;
      }
      if (st.isDirectory()) await walk(f);
      else if (st.isFile() && st.size <= maxBytes) {
        if ((await readFile(f)).includes(needle)) hits.push(f);
      }
    }
  };
  await walk(dir);
  return hits;
}

/** Wait until none of `pids` is alive (zombies count as dead); returns the ones still alive. */
export async function waitDead(pids: number[], ms = 3000): Promise<number[]> {
  const end = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > end) return alive;
    await sleep(10);
  }
}
