/**
 * How commands print. Results go to stdout (human text, or one JSON document with `--json`);
 * diagnostics and warnings go to stderr so pipelines stay clean.
 * @module
 */
import type { Command } from 'commander';

export interface GlobalOptions {
  json: boolean;
  scope?: string;
}

/** The global options as seen from any (sub)command. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ json?: boolean; scope?: string }>();
  return { json: o.json === true, ...(o.scope ? { scope: o.scope } : {}) };
}

/** Print a command's result: JSON when asked, otherwise the human rendering. */
export function printResult(opts: GlobalOptions, data: unknown, human: () => string): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    return;
  }
  const text = human();
  if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** A warning for a person; suppressed from stdout so `--json` output stays parseable. */
export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** Render rows as an aligned plain-text table. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c == null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
