#!/usr/bin/env node
// Agent start-up: from spawning `sac agents start NAME` (a whole process, as a user types it) to the
// reply of the agent's startup prompt being recorded (its first `result` in runtime/NAME/
// session.jsonl), against bare `claude -p "<same prompt>"` (the SDK's bundled binary, no sandbox,
// no relay, no supervisor) to its first stdout and its exit. Both talk to the same in-process fake
// API. Runs alternate (sac, bare, sac, bare, ...) so that the machine's drift hits both alike; each
// agent is stopped before the next run.
//
//   npm run build && node bench/agent-start.js [--runs 9]
//
// Target: sac <= bare (first stdout) + 300 ms.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLAUDE_BIN,
  SAC,
  bareClaudeEnv,
  benchHome,
  fileSize,
  header,
  jsonLinesFrom,
  median,
  ms,
  newToken,
  now,
  numberOption,
  printTable,
  processStartedAt,
  sac,
  signed,
  sleep,
  startTimedFake,
  stopQuietly,
  timedSpawn,
} from './lib/common.js';

const RUNS = numberOption('--runs', 9);
const NAME = 'bench-start';
const PROMPT = 'timing hello';
const TARGET_MS = 300;

const token = newToken('sk-ant-bench');
const fake = await startTimedFake(token);
const home = benchHome({ name: NAME, fakeUrl: fake.url, token, startupPrompt: PROMPT });
const bareHome = join(home.root, 'bare-home');
const bareWork = join(home.root, 'bare-work');
mkdirSync(bareHome);
mkdirSync(bareWork);
const bareEnv = bareClaudeEnv(bareHome, fake.url, token);
const supervisorLog = join(home.runtimeDir, 'supervisor.log');
const iso = (s) => Date.parse(s);

/** One `sac agents start` run, to the recorded reply; then `sac agents stop`. */
async function sacRun() {
  const jsonlOffset = fileSize(home.sessionJsonl);
  const logOffset = fileSize(supervisorLog);
  let startDone;
  const startP = timedSpawn(process.execPath, [SAC, 'agents', 'start', NAME], {
    env: home.env,
    cwd: home.root,
  }).then((r) => (startDone = r));
  // Poll the transcript for the first result; stop polling if `start` itself failed.
  let result;
  let detected;
  for (const deadline = now() + 120_000; ;) {
    result = jsonLinesFrom(home.sessionJsonl, jsonlOffset).find((r) => r.type === 'result');
    if (result) {
      detected = now();
      break;
    }
    if (startDone && startDone.code !== 0)
      throw new Error(`sac agents start exited ${startDone.code}: ${startDone.stderr.trim()}`);
    if (now() > deadline) throw new Error('no result within 120 s');
    await sleep(2);
  }
  const start = await startP;
  if (start.code !== 0) throw new Error(`sac agents start exited ${start.code}: ${start.stderr}`);
  if (!String(result.text ?? '').includes(`FAKE_REPLY: ${PROMPT}`))
    throw new Error(`unexpected reply: ${JSON.stringify(result)}`);
  const recs = jsonLinesFrom(home.sessionJsonl, jsonlOffset);
  const claudeStarting = recs.find((r) => r.event === 'claude-starting');
  const init = recs.find((r) => r.type === 'system' && r.subtype === 'init');
  // "<iso> [pid] supervisor <version> for NAME (...)": the supervisor's first act after its imports
  const logText = readFileSync(supervisorLog).subarray(logOffset).toString('utf8');
  const supLine = /^(\S+) \[\d+\] supervisor \S+ for /m.exec(logText);
  // Process creation times (10 ms ticks) split the two long phases: the supervisor's node start and
  // imports, and the lazy SDK import + bwrap spawn before Claude Code itself boots.
  const heartbeat = JSON.parse(readFileSync(home.heartbeat, 'utf8'));
  const supervisorBorn = processStartedAt(heartbeat.pid);
  const ready = recs.find((r) => r.event === 'claude-ready');
  const sandboxBorn = processStartedAt(ready?.pid);
  const model = fake
    .modelExchanges(start.start, detected)
    .reduce((sum, e) => sum + (e.end - e.start), 0);
  const stop = await sac(['agents', 'stop', NAME], home);
  return {
    toReply: detected - start.start,
    toStartExit: start.exit - start.start,
    cli: supervisorBorn - start.start,
    supervisorBoot: supLine ? iso(supLine[1]) - supervisorBorn : NaN,
    supervisorSetup: supLine && claudeStarting ? iso(claudeStarting.ts) - iso(supLine[1]) : NaN,
    sdkAndBwrap: claudeStarting ? sandboxBorn - iso(claudeStarting.ts) : NaN,
    claudeBoot: init ? iso(init.ts) - sandboxBorn : NaN,
    firstTurn: init ? iso(result.ts) - iso(init.ts) : NaN,
    pollLag: detected - iso(result.ts),
    model,
    stop: stop.exit - stop.start,
  };
}

/** One bare `claude -p` run. */
async function bareRun() {
  const r = await timedSpawn(CLAUDE_BIN, ['-p', PROMPT, '--model', 'haiku'], {
    env: bareEnv,
    cwd: bareWork,
  });
  if (r.code !== 0 || !r.stdout.includes(`FAKE_REPLY: ${PROMPT}`))
    throw new Error(`claude -p exited ${r.code}: ${r.stdout} ${r.stderr}`);
  return { firstStdout: r.firstStdout - r.start, exit: r.exit - r.start };
}

try {
  // Warm-up (page cache for the 400 MB binary, first SQLite migration): not counted.
  await bareRun();
  await sacRun();
  const s = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    s.push(await sacRun());
    b.push(await bareRun());
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const bare = med(b, 'firstStdout');
  const toReply = med(s, 'toReply');
  header('agent start-up', RUNS);
  printTable(
    ['path', 'median ms', 'vs bare first stdout'],
    [
      ['bare `claude -p`: first stdout (the reply)', ms(bare), ''],
      ['bare `claude -p`: exit', ms(med(b, 'exit')), signed(med(b, 'exit') - bare)],
      [
        '`sac agents start` -> reply recorded in session.jsonl',
        ms(toReply),
        `${signed(toReply - bare)} (target +${TARGET_MS}: ${toReply - bare <= TARGET_MS ? 'ok' : 'MISSED'})`,
      ],
      ['`sac agents start` exits (ready: prompt accepted)', ms(med(s, 'toStartExit')), ''],
      ['`sac agents stop` (whole process)', ms(med(s, 'stop')), ''],
    ],
  );
  console.log(
    '\nwhere the sac path spends its time (medians of each phase; they need not add up):',
  );
  printTable(
    ['phase', 'median ms'],
    [
      [
        '`sac agents start`: node, imports, preflight (to the supervisor forked)',
        ms(med(s, 'cli')),
      ],
      [
        'supervisor: node start + module imports (to its first log line)',
        ms(med(s, 'supervisorBoot')),
      ],
      [
        'supervisor setup: store, home, relay, launch record (to claude-starting)',
        ms(med(s, 'supervisorSetup')),
      ],
      [
        'SDK import (lazy) + bwrap spawn (to the sandboxed process forked)',
        ms(med(s, 'sdkAndBwrap')),
      ],
      [
        'setpriv, entry.sh, Claude Code boot + first message (to system/init)',
        ms(med(s, 'claudeBoot')),
      ],
      ['first turn (init to result record)', ms(med(s, 'firstTurn'))],
      ['  of which the fake model itself', ms(med(s, 'model'))],
      ['result record to seen by this bench (poll lag)', ms(med(s, 'pollLag'))],
    ],
  );
} finally {
  await stopQuietly(home, NAME);
  await fake.close();
  home.remove();
}
