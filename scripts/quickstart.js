#!/usr/bin/env node
// The README's first command ends here (after `npm ci` and the build): validate every bundled
// example agent, then explain the demo agent, hello-bwrap. Nothing is written to your sac root.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const sac = `${repo}bin/sac.js`;

function run(args) {
  return new Promise((resolve) => {
    process.stdout.write(`\n$ sac ${args.join(' ')}\n`);
    const child = spawn(process.execPath, [sac, ...args], { stdio: 'inherit', cwd: repo });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const examples = readdirSync(`${repo}examples/agents`)
  .sort()
  .map((n) => `examples/agents/${n}`);
const checked = await run(['agents', 'check', ...examples]);
const explained = await run(['agents', 'explain', 'examples/agents/hello-bwrap']);
process.stdout.write(
  checked === 0 && explained === 0
    ? '\nAll example specs are valid. Warnings above name what this host still needs to run them.\n' +
        'Next: `./bin/sac.js agents new my-agent` (see README.md).\n'
    : '\nquickstart: a step failed (see above)\n',
);
process.exit(checked || explained);
