/**
 * `sac db ...` through commander, with the same global options as the real program, against a
 * temporary SAC_HOME. Builds its own root command so it does not depend on the rest of the CLI.
 */
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDbCommands } from '../../src/cli/commands/db.ts';
import { isAppError } from '../../src/errors.ts';
import { runSac, testEnv } from '../helpers.ts';

let home: string;
let savedHome: string | undefined;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sac-dbcli-'));
  savedHome = process.env.SAC_HOME;
  process.env.SAC_HOME = home;
});
afterEach(() => {
  if (savedHome === undefined) delete process.env.SAC_HOME;
  else process.env.SAC_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** Run `sac <args>` and capture stdout. */
async function sac(...args: string[]): Promise<string> {
  const program = new Command('sac')
    .option('--json')
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  registerDbCommands(program);
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return out;
}

describe('sac db', () => {
  it('show --json describes the store', async () => {
    const out = JSON.parse(await sac('--json', 'db', 'show')) as Record<string, unknown>;
    expect(out.path).toBe(join(home, 'runtime', 'state.db'));
    expect(out.tables).toMatchObject({ launches: 0, meta: 2 });
  });

  it('show prints a human summary', async () => {
    const out = await sac('db', 'show');
    expect(out).toContain(`path:     ${join(home, 'runtime', 'state.db')}`);
    expect(out).toMatch(/TABLE\s+ROWS/);
  });

  it('query lists rows, with --where and --limit', async () => {
    await sac('db', 'show');
    const human = await sac('db', 'query', 'meta', '--where', 'key=host');
    expect(human).toMatch(/^KEY\s+VALUE\nhost\s+\S+/);
    const json = JSON.parse(await sac('db', 'query', 'meta', '-n', '1', '--json')) as {
      rows: unknown[];
    };
    expect(json.rows).toHaveLength(1);
  });

  it('query of an unknown table is a USAGE error', async () => {
    const err: unknown = await sac('db', 'query', 'sqlite_master').catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('USAGE');
  });

  it('export -o writes 0600 atomically; import twice is idempotent', async () => {
    await sac('db', 'show');
    const file = join(home, 'dump.json');
    const summary = JSON.parse(await sac('--json', 'db', 'export', '-o', file)) as {
      file: string;
    };
    expect(summary.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const envelope = JSON.parse(readFileSync(file, 'utf8')) as { format: string };
    expect(envelope.format).toBe('sac-state-export');

    // add a row by importing a hand-made file
    const extra = join(home, 'extra.json');
    writeFileSync(
      extra,
      JSON.stringify({
        format: 'sac-state-export',
        schema: 1,
        host: 'elsewhere',
        tables: { lineage: [{ child: 'c', parent: 'p', created_at: '2026-01-01T00:00:00.000Z' }] },
      }),
    );
    const first = JSON.parse(await sac('--json', 'db', 'import', extra)) as {
      tables: Record<string, { inserted: number }>;
    };
    expect(first.tables.lineage?.inserted).toBe(1);
    const second = await sac('db', 'import', extra);
    expect(second).toMatch(/lineage\s+0\s+1/);

    const stdout = await sac('db', 'export', '--tables', 'lineage');
    expect(JSON.parse(stdout)).toMatchObject({ tables: { lineage: [{ child: 'c' }] } });
  });

  it('clean --dry-run reports', async () => {
    expect(await sac('db', 'clean', '--dry-run')).toBe('nothing to clean\n');
  });
});

describe('sac db (built CLI)', () => {
  it('import - reads stdin; a second import skips everything', async () => {
    const env = testEnv();
    const input = JSON.stringify({
      format: 'sac-state-export',
      schema: 1,
      host: 'elsewhere',
      tables: { blocks: [{ sender: 'a', target: 'b', created_at: '2026-01-01T00:00:00.000Z' }] },
    });
    const first = await runSac(['--json', 'db', 'import', '-'], { env, input });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      tables: { blocks: { inserted: 1, skipped: 0 } },
    });
    const second = await runSac(['--json', 'db', 'import', '-'], { env, input });
    expect(JSON.parse(second.stdout)).toMatchObject({
      tables: { blocks: { inserted: 0, skipped: 1 } },
    });
  });

  it('export | import moves rows between two SAC_HOMEs', async () => {
    const a = testEnv();
    const b = testEnv();
    const seed = JSON.stringify({
      format: 'sac-state-export',
      schema: 1,
      host: 'x',
      tables: { lineage: [{ child: 'c', parent: 'p', created_at: '2026-01-01T00:00:00.000Z' }] },
    });
    await runSac(['db', 'import', '-'], { env: a, input: seed });
    const exported = await runSac(['db', 'export'], { env: a });
    expect(exported.code).toBe(0);
    const imported = await runSac(['--json', 'db', 'import', '-'], {
      env: b,
      input: exported.stdout,
    });
    expect(JSON.parse(imported.stdout)).toMatchObject({ tables: { lineage: { inserted: 1 } } });
    const rows = await runSac(['--json', 'db', 'query', 'lineage'], { env: b });
    expect(JSON.parse(rows.stdout)).toMatchObject({ rows: [{ child: 'c', parent: 'p' }] });
  });

  it('errors carry stable codes and exit codes, without stack traces', async () => {
    const env = testEnv();
    const usage = await runSac(['db', 'query', 'launches', '--where', 'nope=1'], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error\[USAGE\]: table launches has no column "nope"/);
    expect(usage.stderr).not.toMatch(/\n\s+at /);
    const bad = await runSac(['--json', 'db', 'import', '-'], { env, input: '{"format":"x"}' });
    expect(bad.code).toBe(13);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'IMPORT_INVALID' } });
    const junk = await runSac(['db', 'import', '-'], { env, input: 'not json' });
    expect(junk.code).toBe(13);
    expect(junk.stderr).toMatch(/^error\[IMPORT_INVALID\]: stdin: not JSON/);
  });
});
