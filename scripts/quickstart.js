#!/usr/bin/env node
// The README's first command ends here (after `npm ci` and the build): validate every bundled
// example agent, explain the demo agent (hello-bwrap), then run it in the foreground when a model
// credential is available (ANTHROPIC_API_KEY or a logged-in Claude Code); otherwise say what is
// missing. Ctrl-C stops the agent cleanly.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const sac = `${repo}bin/sac.js`;

function run(args) {
  return new Promise((resolve) => {
    process.stdout.write(`\n$ sac ${args.join(' ')}\n`);
    const child = spawn(process.execPath, [sac, ...args], { stdio: 'inherit', cwd: repo });
    // Ctrl-C reaches the child (same process group); wait for it to stop the agent
    process.on('SIGINT', () => {});
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const examples = readdirSync(`${repo}examples/agents`)
  .sort()
  .map((n) => `examples/agents/${n}`);
const checked = await run(['agents', 'check', ...examples]);
const explained = await run(['agents', 'explain', 'examples/agents/hello-bwrap']);
if (checked !== 0 || explained !== 0) {
  process.stdout.write('\nquickstart: a step failed (see above)\n');
  process.exit(checked || explained);
}

const home = process.env.HOME ?? homedir();
const login = [process.env.CLAUDE_CONFIG_DIR, join(home, '.claude')]
  .filter(Boolean)
  .some((d) => existsSync(join(d, '.credentials.json')));
if (!process.env.ANTHROPIC_API_KEY && !login) {
  process.stdout.write(
    '\nAll example specs are valid. To run the demo agent, sac needs a model credential, and none is here:\n' +
      '  - export ANTHROPIC_API_KEY=<your key>, or\n' +
      '  - log in once with Claude Code (`claude`, then /login), or\n' +
      '  - point an agent at another provider (see examples/agents/deepseek-agent).\n' +
      'Then run `npm run quickstart` again, or `./bin/sac.js agents start examples/agents/hello-bwrap --foreground`.\n',
  );
  process.exit(1);
}
const started = await run(['agents', 'start', 'examples/agents/hello-bwrap', '--foreground']);
process.exit(started === 130 ? 0 : started);
