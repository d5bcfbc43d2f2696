/**
 * Real `apptainer exec` through `buildApptainerInvocation`, spawned exactly as sac would: the
 * planner's argv and its complete environment, nothing of process.env. Runs only where apptainer
 * (or singularity) is on PATH AND SAC_TEST_APPTAINER_IMAGE names an image with /bin/sh (a .sif,
 * a sandbox directory, or a docker:// URI); elsewhere it skips and prints why. The argv itself is
 * covered everywhere by the golden tests in src/sandbox/apptainer-plan.test.ts.
 *
 *   SAC_TEST_APPTAINER_IMAGE=docker://alpine:3.20 npx vitest run test/sandbox/apptainer-run.test.ts
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, AgentSpecSchema } from '../../src/spec/schema.ts';
import { buildApptainerInvocation } from '../../src/sandbox/apptainer-plan.ts';
import type { ApptainerFlavour, ApptainerInput } from '../../src/sandbox/apptainer-plan.ts';
import { PREFLIGHT_EXIT, parseApptainerVersion } from '../../src/sandbox/apptainer-preflight.ts';

function onPath(names: readonly string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const binary = onPath(['apptainer', 'singularity']);
const hasApptainer = binary !== undefined;
const image = process.env.SAC_TEST_APPTAINER_IMAGE;
const skipReason = !hasApptainer
  ? 'apptainer is not installed on this host (neither apptainer nor singularity is on PATH)'
  : !image
    ? 'SAC_TEST_APPTAINER_IMAGE is not set (a .sif, sandbox dir or docker:// URI with /bin/sh)'
    : undefined;
if (skipReason) console.log(`skipping apptainer run tests: ${skipReason}`);

const IS_ROOT = process.getuid?.() === 0;
/** Everything a shell or apptainer's env injection could mangle. */
const SECRET = `sk-test-$(id)\`id\`'"\\$HOME-end`;
const LONG = 300_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `key=value` lines → record. */
function facts(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe.skipIf(!hasApptainer || !image)(
  'apptainer exec through the planner (real apptainer)',
  () => {
    let root: string;
    let flavour: ApptainerFlavour = 'apptainer';
    let base: Omit<ApptainerInput, 'command'>;

    beforeAll(async () => {
      const version = await run(binary ?? 'apptainer', ['--version'], {
        PATH: process.env.PATH ?? '',
      });
      const parsed = parseApptainerVersion(version.stdout);
      if (parsed?.family === 'singularity-ce') flavour = 'singularity-ce';
      console.log(`apptainer under test: ${version.stdout.trim()} (${binary ?? ''})`);

      root = await realpath(await mkdtemp(join(tmpdir(), 'sac-apptainer-')));
      const dirs = ['home', 'work', 'run', 'ro', 'rw', 'scratch'].map((d) => join(root, d));
      await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
      await writeFile(join(root, 'ro', 'data.txt'), 'read-only data\n');
      const claude = join(root, 'claude');
      await writeFile(claude, '#!/bin/sh\necho fake-claude "$@"\n');
      await chmod(claude, 0o755);
      base = {
        apptainer: AgentSpecSchema.parse({ apiVersion: API_VERSION, kind: 'Agent' }).spec.apptainer,
        image: image ?? '',
        flavour,
        homeDir: join(root, 'home'),
        workDir: join(root, 'work'),
        runDir: join(root, 'run'),
        claudeBinary: claude,
        network: 'host',
        scratchDir: join(root, 'scratch'),
        mounts: [
          { host: join(root, 'ro'), container: '/mnt/ro', mode: 'ro' },
          { host: join(root, 'rw'), container: '/mnt/rw', mode: 'rw' },
        ],
        env: {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          HOME: '/home/agent',
          SAC_TEST_SECRET: SECRET,
        },
        launcherEnv: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root },
      };
    }, LONG);

    afterAll(async () => {
      if (root) await rm(root, { recursive: true, force: true });
    });

    async function exec(script: string, over: Partial<ApptainerInput> = {}): Promise<Run> {
      const inv = buildApptainerInvocation({
        ...base,
        ...over,
        command: ['/bin/sh', '-c', script],
      });
      await Promise.all(inv.prepareDirs.map((d) => mkdir(d, { recursive: true })));
      return run(binary ?? 'apptainer', inv.argv, inv.env);
    }

    /** One `key=value` line per fact; `hostRoot` (the test's temp dir) must not be visible inside. */
    const probe = (hostRoot: string): string =>
      [
        'echo "home=$HOME"',
        'echo "pwd=$(pwd)"',
        'echo "uid=$(id -u)"',
        // printf, not echo: dash's echo would interpret the backslash in the secret
        'printf "secret=%s\\n" "$SAC_TEST_SECRET"',
        `echo "host_root=$(ls -d ${hostRoot} 2>/dev/null || echo invisible)"`,
        'echo "ro=$(touch /mnt/ro/x 2>/dev/null && echo writable || echo readonly)"',
        'echo "ro_read=$(cat /mnt/ro/data.txt)"',
        'echo "rw=$(touch /mnt/rw/x && echo writable || echo readonly)"',
        'echo "claude=$(/opt/sac/claude hi)"',
      ].join('; ');

    it.runIf(IS_ROOT)(
      'as root: the preflight refuses to start (exit 11)',
      async () => {
        const r = await exec('echo started');
        expect(r.code, r.stderr).toBe(PREFLIGHT_EXIT.root);
        expect(r.stderr).toContain('ERROR[sac-preflight]: running as root');
        expect(r.stdout).not.toContain('started');
      },
      LONG,
    );

    it.runIf(!IS_ROOT)(
      'hardened run: own home, workdir, literal secret, mounts with their modes, host hidden',
      async () => {
        const r = await exec(probe(root));
        expect(r.code, r.stderr).toBe(0);
        const f = facts(r.stdout);
        expect(f).toMatchObject({
          home: '/home/agent',
          pwd: '/work',
          uid: String(process.getuid?.()),
          secret: SECRET,
          host_root: 'invisible',
          ro: 'readonly',
          ro_read: 'read-only data',
          rw: 'writable',
          claude: 'fake-claude hi',
        });
      },
      LONG,
    );

    it.runIf(!IS_ROOT)(
      'relaxed run: no preflight, the command runs as given',
      async () => {
        const relaxed = { ...base.apptainer, relaxed: true };
        const r = await exec('printf "secret=%s\\n" "$SAC_TEST_SECRET"', { apptainer: relaxed });
        expect(r.code, r.stderr).toBe(0);
        expect(facts(r.stdout).secret).toBe(SECRET);
      },
      LONG,
    );
  },
);
