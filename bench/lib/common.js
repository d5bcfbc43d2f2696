// Shared pieces of the running-agent benchmarks (bench/agent-start.js, send-roundtrip.js,
// supervisor-rss.js): a timed fake Anthropic API, temp SAC_HOMEs with one agent, async process
// helpers, medians and a table printer.
//
// Everything that spawns is asynchronous: the fake runs in the bench process, and spawnSync or
// execFileSync next to an in-process server deadlocks (feasibility gotcha 5).
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const SAC = join(REPO, 'bin/sac.js');
export const CLAUDE_BIN = join(
  REPO,
  'node_modules/@anthropic-ai/claude-agent-sdk-linux-x64/claude',
);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `--name value` from argv, as a number, else the default. */
export function numberOption(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

/** `--name value` from argv, as a string, else the default. */
export function stringOption(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Print rows (arrays of strings) under a header, columns padded. */
export function printTable(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

export function header(what, runs) {
  console.log(
    `${what}: ${runs} runs, medians; node ${process.version}, ${cpus().length} cores, ` +
      new Date().toISOString(),
  );
}

/**
 * A minimal Anthropic Messages API on 127.0.0.1 that answers every prompt at once with
 * `FAKE_REPLY: <prompt>` as a stream, and times each exchange as it sees it: from the request's
 * arrival (headers parsed) to the end of the response. Requests without `token` get 401, so a
 * misconfigured run fails loudly instead of measuring error paths.
 */
export async function startTimedFake(token) {
  /** @type {{method: string, path: string, start: number, end: number, status: number}[]} */
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const rec = { method: req.method, path: (req.url ?? '').split('?')[0], start: now(), end: 0 };
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.on('finish', () => {
        rec.end = now();
        rec.status = res.statusCode;
        exchanges.push(rec);
      });
      const key =
        req.headers['x-api-key'] ?? /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (key !== token) return error(res, 401, 'authentication_error');
      if (req.method === 'POST' && rec.path === '/v1/messages') {
        let body = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return error(res, 400, 'invalid_request_error');
        }
        return reply(res, body);
      }
      if (req.method === 'POST' && rec.path === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"input_tokens":1}');
      }
      if (req.method === 'HEAD' || req.method === 'GET') {
        res.writeHead(200);
        return res.end();
      }
      return error(res, 404, 'not_found_error');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchanges,
    /** Model exchanges (POST /v1/messages) that started within [from, to] (epoch ms). */
    modelExchanges: (from, to) =>
      exchanges.filter((e) => e.path === '/v1/messages' && e.start >= from && e.start <= to),
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Epoch milliseconds with sub-millisecond resolution (comparable with Date-based timestamps). */
export const now = () => performance.timeOrigin + performance.now();

function error(res, status, type) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message: `bench fake: ${type}` } }));
}

/** The prompt: the last text block of the last user message that is not a system reminder. */
function promptOf(body) {
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  const texts = last.content.filter((b) => b.type === 'text').map((b) => b.text ?? '');
  return texts.filter((t) => !t.startsWith('<system-reminder>')).pop() ?? '';
}

function reply(res, body) {
  const text = `FAKE_REPLY: ${promptOf(body).slice(0, 60)}`;
  const usage = {
    input_tokens: 10,
    output_tokens: 2,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(
      JSON.stringify({
        id: `msg_bench_${randomUUID()}`,
        type: 'message',
        role: 'assistant',
        model: body.model ?? 'claude-fake',
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage,
      }),
    );
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event, data) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  send('message_start', {
    message: {
      id: `msg_bench_${randomUUID()}`,
      type: 'message',
      role: 'assistant',
      model: body.model ?? 'claude-fake',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
  send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  send('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
  send('content_block_stop', { index: 0 });
  send('message_delta', {
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 2 },
  });
  send('message_stop', {});
  res.end();
}

export const newToken = (prefix) => `${prefix}-${randomBytes(16).toString('hex')}`;

/**
 * A temp SAC_HOME with one bwrap agent that talks to `fakeUrl`, and the environment to run sac
 * with. XDG_RUNTIME_DIR is temp too, so sockets and locks go away with it.
 */
export function benchHome({ name, fakeUrl, token, startupPrompt, network = 'host' }) {
  const root = mkdtempSync(join(tmpdir(), 'sac-bench-'));
  const sacHome = join(root, 'sac');
  const xdg = join(root, 'xdg');
  const agentDir = join(sacHome, 'agents', name);
  mkdirSync(agentDir, { recursive: true });
  mkdirSync(xdg, { mode: 0o700 });
  writeFileSync(
    join(agentDir, 'spec.yaml'),
    [
      'apiVersion: scitex-agent-container/v3',
      'kind: Agent',
      'spec:',
      '  runtime: bwrap',
      '  claude:',
      '    model: haiku',
      '    flags: [--dangerously-skip-permissions]',
      `    provider: {base_url: "${fakeUrl}", auth_token_env: BENCH_FAKE_KEY}`,
      `  sandbox: {network: ${network}}`,
      '  env: {CLAUDE_CODE_MAX_RETRIES: "1"}',
      ...(startupPrompt ? [`  startup_prompts: [${JSON.stringify(startupPrompt)}]`] : []),
      '',
    ].join('\n'),
  );
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: join(root, 'operator-home'),
    SAC_HOME: sacHome,
    XDG_RUNTIME_DIR: xdg,
    SCITEX_AGENT_CONTAINER_YAML_DIRS: '',
    BENCH_FAKE_KEY: token,
  };
  mkdirSync(env.HOME);
  const runtimeDir = join(sacHome, 'runtime', name);
  return {
    root,
    sacHome,
    env,
    runtimeDir,
    sessionJsonl: join(runtimeDir, 'session.jsonl'),
    heartbeat: join(runtimeDir, 'heartbeat.json'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Spawn a process; resolves with its exit and timings (epoch ms): `firstStdout` when its first
 * output byte arrived, `exit` when it exited. Never rejects on a non-zero exit (callers check).
 */
export function timedSpawn(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    let firstStdout = NaN;
    let stdout = '';
    let stderr = '';
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => {
      if (Number.isNaN(firstStdout)) firstStdout = now();
      stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, start, firstStdout, exit: now(), stdout, stderr }));
  });
}

/** `sac ARGS` for a bench home; throws with its stderr when it fails. */
export async function sac(args, home) {
  const r = await timedSpawn(process.execPath, [SAC, ...args], { env: home.env, cwd: home.root });
  if (r.code !== 0) throw new Error(`sac ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

export function fileSize(path) {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Records of a JSON-lines file from byte `offset` on (a partly written last line is skipped). */
export function jsonLinesFrom(path, offset = 0) {
  let text;
  try {
    text = readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // still being written
    }
  }
  return out;
}

/** Poll a JSON-lines file from `offset` until a record matches; resolves with [record, epoch ms]. */
export async function waitForRecord(path, offset, match, timeoutMs = 60_000, everyMs = 2) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const rec = jsonLinesFrom(path, offset).find(match);
    if (rec) return [rec, now()];
    if (now() > deadline) throw new Error(`no matching record in ${path} within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** VmRSS / VmHWM (kB) of a process, from /proc. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** True while `pid` exists and is not a zombie (the /proc state letter; never kill -0). */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The supervisor pid a running agent's heartbeat names. */
export function supervisorPid(home) {
  return JSON.parse(readFileSync(home.heartbeat, 'utf8')).pid;
}

/**
 * Stop the agent if its supervisor still runs, and wait until the supervisor is gone. Used in
 * `finally` blocks: it must not throw.
 */
export async function stopQuietly(home, name) {
  let pid;
  try {
    pid = supervisorPid(home);
  } catch {
    return;
  }
  if (!isAlive(pid)) return;
  await timedSpawn(process.execPath, [SAC, 'agents', 'stop', '--force', name], {
    env: home.env,
    cwd: home.root,
  });
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
}

/**
 * When a process was created, as epoch ms with the kernel's 10 ms tick resolution: field 22 of
 * /proc/<pid>/stat (ticks since boot) placed on the wall clock through /proc/uptime (read at the
 * same instant as Date.now()). NaN when the process is gone.
 */
export function processStartedAt(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bootAt = now() - uptimeS * 1000;
    return bootAt + (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture sac runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/**
 * The environment of a bare headless Claude Code run (the recipe's): nothing inherited but PATH,
 * its own HOME, straight to the fake, the four "no extra traffic" switches, one retry.
 */
export function bareClaudeEnv(homeDir, fakeUrl, token) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: homeDir,
    ANTHROPIC_BASE_URL: fakeUrl,
    ANTHROPIC_API_KEY: token,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_MAX_RETRIES: '1',
  };
}

/** A difference with its sign: "+12.3", "-1.6". */
export const signed = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)}` : '-');
