#!/usr/bin/env node
// The supervisor's resident memory, Claude Code excluded: VmRSS and VmHWM from /proc of a running
// agent's supervisor (its pid from runtime/NAME/heartbeat.json) after a few turns, and what its
// module graph alone costs: bare `node` processes that import, cumulatively,
//   (1) nothing, (2) better-sqlite3 + the store, (3) zod + yaml + the spec parser,
//   (4) the Agent SDK, (5) the whole supervisor module graph (dist/supervisor/main.js, which runs
//   nothing unless given --launch),
// each read after a forced GC, so the increments are what each layer keeps resident.
//
//   npm run build && node bench/supervisor-rss.js [--runs 5] [--turns 5] [--more 25]
//       [--node-options "--max-semi-space-size=1"]   (NODE_OPTIONS for sac and so its supervisor)
//
// Target: supervisor RSS <= 80 MB.
import { pathToFileURL } from 'node:url';
import {
  REPO,
  benchHome,
  header,
  median,
  memoryOf,
  newToken,
  numberOption,
  printTable,
  sac,
  signed,
  startTimedFake,
  stringOption,
  stopQuietly,
  supervisorPid,
  timedSpawn,
} from './lib/common.js';

const RUNS = numberOption('--runs', 5);
const TURNS = numberOption('--turns', 5);
const MORE_TURNS = numberOption('--more', 25);
const NAME = 'bench-rss';
const TARGET_MB = 80;

const dist = (p) => pathToFileURL(`${REPO}dist/${p}`).href;
const STEPS = [
  { name: '(1) node, nothing imported', imports: [] },
  {
    name: '(2) + better-sqlite3 + the store',
    imports: ['better-sqlite3', dist('store/db.js')],
  },
  {
    name: '(3) + zod + yaml + the spec parser',
    imports: ['zod', 'yaml', dist('spec/parse.js')],
  },
  { name: '(4) + the Agent SDK', imports: ['@anthropic-ai/claude-agent-sdk'] },
  {
    name: '(5) + the whole supervisor module graph',
    imports: [
      dist('supervisor/main.js'),
      dist('supervisor/supervisor.js'),
      dist('supervisor/setup.js'),
    ],
  },
];

/** RSS/HWM (kB) of a fresh node that imports `specs` in order, after a GC. */
async function importedRss(specs) {
  const code = [
    ...specs.map((s) => `await import(${JSON.stringify(s)});`),
    'globalThis.gc(); globalThis.gc();',
    "const st = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');",
    "const kb = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+)', 'm').exec(st)[1]);",
    "console.log(JSON.stringify({ rss: kb('VmRSS'), hwm: kb('VmHWM') }));",
  ].join('\n');
  // cwd = the repository, so bare specifiers resolve from its node_modules
  const r = await timedSpawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    cwd: REPO,
  });
  if (r.code !== 0) throw new Error(`import probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const mb = (kb) => (kb / 1024).toFixed(1);

const token = newToken('sk-ant-bench');
const fake = await startTimedFake(token);
const home = benchHome({ name: NAME, fakeUrl: fake.url, token, startupPrompt: 'hello' });
const nodeOptions = stringOption('--node-options', '');
// The supervisor inherits sac's environment, so V8 flags can be tried without changing sac.
if (nodeOptions) home.env.NODE_OPTIONS = nodeOptions;
const { sendTurn } = await import('../dist/agents/lifecycle.js');
try {
  // Module graph first, while no agent runs (less noise on 2 cores).
  const layers = [];
  for (let i = 0; i < STEPS.length; i++) {
    const specs = STEPS.slice(0, i + 1).flatMap((s) => s.imports);
    const samples = [];
    for (let r = 0; r < RUNS; r++) samples.push(await importedRss(specs));
    layers.push({ rss: median(samples.map((s) => s.rss)), hwm: median(samples.map((s) => s.hwm)) });
  }

  await sac(['agents', 'start', NAME], home);
  const pid = supervisorPid(home);
  const atReady = memoryOf(pid);
  const turn = async (i) => {
    const r = await sendTurn(NAME, `turn ${i}`, { env: home.env, cwd: home.root });
    if (r.state !== 'done') throw new Error(`turn ${i}: ${JSON.stringify(r)}`);
  };
  for (let i = 0; i < TURNS; i++) await turn(i);
  const afterFew = memoryOf(pid);
  for (let i = TURNS; i < TURNS + MORE_TURNS; i++) await turn(i);
  const afterMore = memoryOf(pid);

  header(`supervisor memory${nodeOptions ? ` (NODE_OPTIONS=${nodeOptions})` : ''}`, RUNS);
  const verdict = (kb) =>
    kb / 1024 <= TARGET_MB ? `ok (<= ${TARGET_MB} MB)` : `MISSED (target ${TARGET_MB} MB)`;
  printTable(
    ['running supervisor (pid from heartbeat.json)', 'VmRSS MB', 'VmHWM MB', 'target'],
    [
      ['ready (startup prompt answered)', mb(atReady.rss), mb(atReady.hwm), ''],
      [`after ${TURNS} more turns`, mb(afterFew.rss), mb(afterFew.hwm), verdict(afterFew.rss)],
      [
        `after ${TURNS + MORE_TURNS} turns`,
        mb(afterMore.rss),
        mb(afterMore.hwm),
        verdict(afterMore.rss),
      ],
    ],
  );
  console.log(
    `\nwhat it loads: fresh \`node\` processes, cumulative imports, after gc() (median of ${RUNS}):`,
  );
  printTable(
    ['step', 'VmRSS MB', '+ increment MB', 'VmHWM MB'],
    [
      ...STEPS.map((s, i) => [
        s.name,
        mb(layers[i].rss),
        i === 0 ? '' : signed((layers[i].rss - layers[i - 1].rss) / 1024),
        mb(layers[i].hwm),
      ]),
      [
        'running supervisor after the turns, vs (5)',
        mb(afterFew.rss),
        signed((afterFew.rss - layers.at(-1).rss) / 1024),
        mb(afterFew.hwm),
      ],
    ],
  );
} finally {
  await stopQuietly(home, NAME);
  await fake.close();
  home.remove();
}
