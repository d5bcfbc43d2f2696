/**
 * `sac db`: inspect, export, import and clean the host's state.db. Definitions only; each action
 * loads the store (and better-sqlite3) lazily so `sac --help` stays fast.
 * @module
 */
import type { Command } from 'commander';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from '../../errors.ts';
import type * as AdminModule from '../../store/admin.ts';
import type { Store } from '../../store/db.ts';
import { globals, printResult, table } from '../output.ts';

type Admin = typeof AdminModule;

/** Open the store, run `fn`, always close. */
async function withStore<T>(fn: (admin: Admin, store: Store) => T): Promise<T> {
  const admin = await import('../../store/admin.ts');
  const store = admin.openStore();
  try {
    return fn(admin, store);
  } finally {
    store.close();
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new AppError('USAGE', `--limit ${JSON.stringify(value)} is not a positive integer`);
  }
  return n;
}

/** Long cell values (spec summaries, turn texts) would wreck the table; JSON output has them whole. */
function cell(value: unknown, max = 60): string | number | null {
  if (value === null || value === undefined) return null;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Register `sac db ...`. Subcommands are made with `.command()`, which copies the parent's
 * exitOverride and output settings, so errors reach main's single catch like `sub()` arranges.
 */
export function registerDbCommands(program: Command): void {
  const db = program
    .command('db')
    .description('inspect, export, import and clean the host state store (state.db)')
    .addHelpText('after', '\nSee docs/state.md for what state.db holds and the export format.');

  db.command('show')
    .description('where state.db is, its schema and sqlite versions, rows per table')
    .action(async (_opts: unknown, cmd: Command) => {
      const out = await withStore((admin, store) => admin.show(store));
      printResult(globals(cmd), out, () => {
        const loc = out.location;
        const lines = [
          `path:     ${out.path}${loc.relocated ? '  (relocated to node-local storage)' : ''}`,
          ...(loc.reason ? [`note:     ${loc.reason}`] : []),
          `host:     ${out.host}${out.recordedHost && out.recordedHost !== out.host ? ` (recorded: ${out.recordedHost})` : ''}`,
          `created:  ${out.createdAt ?? '-'}`,
          `schema:   v${out.schemaVersion} (this sac knows v${out.knownSchemaVersion})`,
          `sqlite:   ${out.sqliteVersion}, journal ${out.journalMode}`,
          '',
          table(
            ['TABLE', 'ROWS'],
            Object.entries(out.tables).map(([t, n]) => [t, n]),
          ),
        ];
        return lines.join('\n');
      });
    });

  db.command('query')
    .description('rows of one table, newest first (col=value filters, never raw SQL)')
    .argument(
      '<table>',
      'launches, turns, events, definitions, a2a_ports, lineage, grants, blocks, agent_uids, meta',
    )
    .option(
      '-w, --where <col=value>',
      'filter (repeatable, AND-ed); col=null matches NULL',
      collect,
    )
    .option('-n, --limit <n>', 'at most this many rows (default 50)', positiveInt)
    .action(async (name: string, opts: { where?: string[]; limit?: number }, cmd: Command) => {
      const out = await withStore((admin, store) =>
        admin.query(store, name, {
          ...(opts.where ? { where: opts.where } : {}),
          ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        }),
      );
      printResult(globals(cmd), out, () =>
        out.rows.length === 0
          ? `no rows in ${out.table}`
          : table(
              out.columns.map((c) => c.toUpperCase()),
              out.rows.map((r) => out.columns.map((c) => cell(r[c]))),
            ),
      );
    });

  db.command('export')
    .description('write rows as JSON (secrets redacted), to stdout or a file')
    .option('--since <iso>', 'only rows at or after this time (each table by its time column)')
    .option(
      '--tables <list>',
      'comma-separated tables (default: launches,turns,events,lineage,grants,blocks)',
    )
    .option('-o, --output <file>', 'write to FILE (atomically, mode 0600) instead of stdout')
    .action(async (opts: { since?: string; tables?: string; output?: string }, cmd: Command) => {
      const envelope = await withStore((admin, store) =>
        admin.exportDb(store, {
          ...(opts.since !== undefined ? { since: opts.since } : {}),
          ...(opts.tables !== undefined ? { tables: splitList(opts.tables) } : {}),
        }),
      );
      const text = JSON.stringify(envelope, null, 2) + '\n';
      if (opts.output === undefined) {
        process.stdout.write(text);
        return;
      }
      const file = resolve(opts.output);
      writeFileAtomic(file, text);
      const counts = Object.fromEntries(
        Object.entries(envelope.tables).map(([t, rows]) => [t, rows.length]),
      );
      printResult(globals(cmd), { file, tables: counts }, () =>
        [`wrote ${file}`, table(['TABLE', 'ROWS'], Object.entries(counts))].join('\n'),
      );
    });

  db.command('import')
    .description('merge an export into state.db (idempotent: existing rows are skipped)')
    .argument('<file>', 'a file written by `sac db export`, or - for stdin')
    .option('--dry-run', 'validate and count, write nothing')
    .action(async (file: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const source = file === '-' ? 'stdin' : resolve(file);
      const text = readInput(file);
      const out = await withStore((admin, store) =>
        admin.importDb(store, admin.parseImport(text, source), { dryRun: opts.dryRun === true }),
      );
      printResult(globals(cmd), out, () =>
        [
          `${out.dryRun ? 'would import' : 'imported'} from ${source} (host ${out.host ?? '?'}, schema v${out.schema})`,
          table(
            ['TABLE', 'INSERTED', 'SKIPPED'],
            Object.entries(out.tables).map(([t, c]) => [t, c.inserted, c.skipped]),
          ),
        ].join('\n'),
      );
    });

  db.command('clean')
    .description('sweep launches from earlier boots, forget deleted specs, release idle ports')
    .option('--dry-run', 'report what would be done, change nothing')
    .action(async (opts: { dryRun?: boolean }, cmd: Command) => {
      const out = await withStore((admin, store) =>
        admin.clean(store, { dryRun: opts.dryRun === true }),
      );
      printResult(globals(cmd), out, () => {
        const verb = out.dryRun ? 'would ' : '';
        const lines = [
          ...out.sweptLaunches.map(
            (l) => `${verb}mark launch ${l.id} (${l.name}) crashed: reboot-swept`,
          ),
          ...out.deletedDefinitions.map((d) => `${verb}forget definition ${d.path}`),
          ...out.releasedPorts.map((p) => `${verb}release port ${p.port} (${p.name})`),
          ...out.notes.map((n) => `note: ${n}`),
        ];
        return lines.length > 0 ? lines.join('\n') : 'nothing to clean';
      });
    });
}

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new AppError('USAGE', `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Write via a private temp file and rename, so a reader never sees half an export. */
function writeFileAtomic(file: string, text: string): void {
  const tmp = join(
    dirname(file),
    `.${basename(file)}.${process.pid}-${Date.now().toString(36)}.tmp`,
  );
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd); // the rename must not land before the data does
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new AppError('FAILED', `cannot write ${file}: ${(err as Error).message}`);
  }
}
