#!/usr/bin/env node
// CLI start-up benchmark: whole processes, interleaved, medians, ratios against `node -e 0`
// measured in the same run (the machine is noisy; only ratios are comparable across runs).
//
//   node bench/cli-speed.js [--runs 21] [--agents 200]
//
// Targets (issue 2): `sac --help` within 2x the floor; `sac agents list` over 200 agents within 3x.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const runs = opt('--runs', 21);
const agents = opt('--agents', 200);

const home = mkdtempSync(join(tmpdir(), 'sac-bench-'));
const env = { ...process.env, SAC_HOME: home, SCITEX_AGENT_CONTAINER_YAML_DIRS: '' };
for (let i = 0; i < agents; i++) {
  const dir = join(home, 'agents', `bench-agent-${String(i).padStart(3, '0')}`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(repo, 'examples/agents/minimal-agent/spec.yaml'), join(dir, 'spec.yaml'));
}

const sac = join(repo, 'bin/sac.js');
const cases = [
  { name: 'node -e 0 (floor)', argv: ['-e', '0'] },
  { name: 'sac --help', argv: [sac, '--help'], target: 2 },
  { name: `sac agents list (${agents} agents, cached)`, argv: [sac, 'agents', 'list'], target: 3 },
  { name: 'sac --version', argv: [sac, '--version'] },
];

function time(argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

try {
  // Cold list: parses every spec and fills the definitions cache.
  const cold = await time([sac, 'agents', 'list']);
  for (const c of cases) await time(c.argv); // warm the OS page cache
  const samples = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < cases.length; i++) samples[i].push(await time(cases[i].argv));
  }
  const floor = median(samples[0]);
  const rows = cases.map((c, i) => {
    const m = median(samples[i]);
    const ratio = m / floor;
    const verdict = c.target
      ? ratio <= c.target
        ? `ok (<= ${c.target}x)`
        : `MISSED (target ${c.target}x)`
      : '';
    return [c.name, m.toFixed(1), ratio.toFixed(2) + 'x', verdict];
  });
  rows.push([
    `sac agents list (${agents} agents, cold cache, 1 run)`,
    cold.toFixed(1),
    (cold / floor).toFixed(2) + 'x',
    '',
  ]);
  const head = ['case', 'median ms', 'vs floor', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`runs per case: ${runs}; node ${process.version}; ${new Date().toISOString()}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
} finally {
  rmSync(home, { recursive: true, force: true });
}
