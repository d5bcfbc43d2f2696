#!/usr/bin/env node
// The cost sac adds to one turn, with the model's own time taken out. One running agent (bwrap,
// network host) and the fake API in this process, which times each model exchange as it sees it
// (request arrival to response end). Three paths, interleaved turn by turn:
//
//   bare       Claude Code itself, no sac: the SDK's binary in stream-json mode (no sandbox, no
//              relay, no supervisor), one user message on stdin to its `result` on stdout. The
//              baseline: what any driver of Claude Code pays per turn.
//   relayed    the same bare Claude Code, but through sac's model relay (dist/relay/relay.js,
//              started in this process): isolates the relay's share.
//   in-process sendTurn() from dist/agents/lifecycle.js: the control socket request to the
//              supervisor, its durable queue, the SDK, bwrap, the relay, and back.
//   CLI        `sac agents send NAME TEXT` as a whole process (adds Node's start-up and the CLI's
//              imports; `node -e 0` is measured alongside for scale).
//
// overhead = round trip - model time. The in-process turn is also split with the supervisor's own
// transcript timestamps (ms resolution) into sac's ingress and egress and Claude Code's part.
//
//   npm run build && node bench/send-roundtrip.js [--runs 21]
//
// Target: in-process overhead <= 30 ms. Claude Code's own per-turn work (the bare path's overhead)
// is inside every round trip and no driver can remove it, so sac's share (in-process overhead minus
// bare overhead) is judged against the target too.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CLAUDE_BIN,
  SAC,
  bareClaudeEnv,
  benchHome,
  header,
  jsonLinesFrom,
  median,
  ms,
  newToken,
  now,
  numberOption,
  printTable,
  sac,
  signed,
  startTimedFake,
  stopQuietly,
  timedSpawn,
} from './lib/common.js';

const RUNS = numberOption('--runs', 21);
const WARMUP = 3;
const NAME = 'bench-send';
const TARGET_MS = 30;

const token = newToken('sk-ant-bench');
const fake = await startTimedFake(token);
const home = benchHome({ name: NAME, fakeUrl: fake.url, token });
// sendTurn resolves NAME through the environment it is given, as the CLI would.
const { sendTurn } = await import('../dist/agents/lifecycle.js');
const { startRelay } = await import('../dist/relay/relay.js');
const lib = { env: home.env, cwd: home.root };
const iso = (s) => Date.parse(s);
const modelMs = (from, to) =>
  fake.modelExchanges(from, to).reduce((sum, e) => sum + (e.end - e.start), 0);

/** Bare Claude Code in stream-json mode: one process, turns over stdin, to `baseUrl`. */
function startBare(tag, baseUrl, apiKey) {
  const bareHome = join(home.root, `${tag}-home`);
  const bareWork = join(home.root, `${tag}-work`);
  mkdirSync(bareHome);
  mkdirSync(bareWork);
  const child = spawn(
    CLAUDE_BIN,
    [
      '-p',
      '--input-format',
      'stream-json',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'haiku',
    ],
    {
      env: bareClaudeEnv(bareHome, fake.url, token),
      cwd: bareWork,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.type === 'result') waiting.shift()?.(msg);
  });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    /** One turn; resolves with [result, round trip start, end]. */
    turn(text) {
      const t0 = now();
      const done = new Promise((r) => waiting.push(r));
      child.stdin.write(
        JSON.stringify({
          type: 'user',
          message: { role: 'user', content: [{ type: 'text', text }] },
          parent_tool_use_id: null,
          session_id: '',
        }) + '\n',
      );
      return done.then((result) => [result, t0, now()]);
    },
    /** End the input: Claude Code exits by itself when idle. */
    async close() {
      child.stdin.end();
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!gone) child.kill('SIGKILL');
    },
  };
}

async function bareTurn(bare, i) {
  const [result, t0, t1] = await bare.turn(`bare ${i}`);
  if (result.is_error) throw new Error(`bare turn failed: ${JSON.stringify(result)}`);
  return { rt: t1 - t0, model: modelMs(t0, t1) };
}

async function inProcessTurn(i) {
  const t0 = now();
  const reply = await sendTurn(NAME, `inproc ${i}`, lib);
  const t1 = now();
  if (reply.state !== 'done') throw new Error(`turn ${reply.state}: ${JSON.stringify(reply)}`);
  const exchanges = fake.modelExchanges(t0, t1);
  // The supervisor writes the user record right before handing the turn to the SDK, and the
  // result record as soon as the SDK yields it.
  const recs = jsonLinesFrom(home.sessionJsonl);
  const at = recs.findIndex((r) => r.type === 'user' && r.turn_id === reply.turn_id);
  const result = recs.slice(at).find((r) => r.type === 'result');
  const first = exchanges[0];
  const last = exchanges.at(-1);
  return {
    rt: t1 - t0,
    model: modelMs(t0, t1),
    ingress: at >= 0 ? iso(recs[at].ts) - t0 : NaN,
    claudeBefore: at >= 0 && first ? first.start - iso(recs[at].ts) : NaN,
    claudeAfter: result && last ? iso(result.ts) - last.end : NaN,
    egress: result ? t1 - iso(result.ts) : NaN,
  };
}

async function cliTurn(i) {
  const r = await sac(['agents', 'send', NAME, `cli ${i}`], home);
  return { rt: r.exit - r.start, model: modelMs(r.start, r.exit) };
}

async function floor() {
  const r = await timedSpawn(process.execPath, ['-e', '0']);
  return { rt: r.exit - r.start, model: 0 };
}

let bare;
let relayed;
let relay;
try {
  await sac(['agents', 'start', NAME], home);
  bare = startBare('bare', fake.url, token);
  const agentToken = newToken('sac-agent-bench');
  relay = await startRelay({
    upstream: fake.url,
    credential: { header: 'x-api-key', value: token },
    agentToken,
    tcp: true,
  });
  relayed = startBare('relayed', `http://127.0.0.1:${relay.port}`, agentToken);
  for (let i = 0; i < WARMUP; i++) {
    await bareTurn(bare, `warm ${i}`);
    await bareTurn(relayed, `warm ${i}`);
    await inProcessTurn(`warm ${i}`);
    await cliTurn(`warm ${i}`);
  }
  const samples = { bare: [], relayed: [], inproc: [], cli: [], floor: [] };
  for (let i = 0; i < RUNS; i++) {
    samples.bare.push(await bareTurn(bare, i));
    samples.relayed.push(await bareTurn(relayed, i));
    samples.inproc.push(await inProcessTurn(i));
    samples.cli.push(await cliTurn(i));
    samples.floor.push(await floor());
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const over = (xs) => median(xs.map((x) => x.rt - x.model));
  const bareOver = over(samples.bare);
  const inOver = over(samples.inproc);
  header('send round trip', RUNS);
  printTable(
    ['path', 'round trip', 'model (fake)', 'overhead', 'vs bare overhead'],
    [
      [
        'bare Claude Code turn (stream-json stdin -> result)',
        ms(med(samples.bare, 'rt')),
        ms(med(samples.bare, 'model')),
        ms(bareOver),
        '',
      ],
      [
        'bare Claude Code through the relay',
        ms(med(samples.relayed, 'rt')),
        ms(med(samples.relayed, 'model')),
        ms(over(samples.relayed)),
        signed(over(samples.relayed) - bareOver),
      ],
      [
        'sendTurn() in-process (control socket)',
        ms(med(samples.inproc, 'rt')),
        ms(med(samples.inproc, 'model')),
        `${ms(inOver)} (target ${TARGET_MS}: ${inOver <= TARGET_MS ? 'ok' : 'MISSED'})`,
        signed(inOver - bareOver),
      ],
      [
        '`sac agents send` (whole process)',
        ms(med(samples.cli, 'rt')),
        ms(med(samples.cli, 'model')),
        ms(over(samples.cli)),
        signed(over(samples.cli) - bareOver),
      ],
      ['`node -e 0` (process floor, for scale)', ms(med(samples.floor, 'rt')), '', '', ''],
    ],
  );
  // Claude Code's own per-turn work (bare overhead) is in every path: sac's share is the rest.
  const share = inOver - bareOver;
  const own = median(samples.inproc.map((x) => x.ingress + x.egress));
  const ok = (x) => (x <= TARGET_MS ? 'ok' : 'MISSED');
  console.log(
    `\nsac's share of an in-process turn: overhead - bare overhead = ${ms(share)} ms ` +
      `(target ${TARGET_MS}: ${ok(share)}); its own segments (ingress + egress) = ${ms(own)} ms ` +
      `(${ok(own)})`,
  );
  console.log(
    '\nthe in-process turn, split by the supervisor transcript timestamps (ms resolution):',
  );
  printTable(
    ['segment', 'median ms', 'whose'],
    [
      [
        'sendTurn() -> user record (socket, queue insert, pump)',
        ms(med(samples.inproc, 'ingress')),
        'sac',
      ],
      [
        'user record -> model request at the fake',
        ms(med(samples.inproc, 'claudeBefore')),
        'SDK, Claude Code, relay',
      ],
      ['model exchange', ms(med(samples.inproc, 'model')), 'fake model'],
      [
        'model response end -> result record',
        ms(med(samples.inproc, 'claudeAfter')),
        'relay, Claude Code, SDK',
      ],
      [
        'result record -> sendTurn() resolved (queue finish, reply)',
        ms(med(samples.inproc, 'egress')),
        'sac',
      ],
    ],
  );
} finally {
  await bare?.close();
  await relayed?.close();
  await relay?.close();
  await stopQuietly(home, NAME);
  await fake.close();
  home.remove();
}
