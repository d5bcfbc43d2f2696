/** Integration tests run the built CLI: build once before them so they never test stale code. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(
    process.execPath,
    [`${repo}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'],
    {
      cwd: repo,
      stdio: 'inherit',
    },
  );
}
