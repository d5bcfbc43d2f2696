#!/usr/bin/env node
// Entry point: run the built CLI. A fresh clone builds it with `npm run quickstart` (see README).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'error[USAGE]: sac is not built yet\n    hint: run `npm ci && npm run build` in the sac checkout\n',
  );
  process.exit(2);
}
await import(main.href);
