/** `sac agents tail`, `sac agents recall`, and the transcript view of `start --foreground`. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { AgentRef } from '../../spec/resolve.ts';
import { redactSecrets } from '../../util/redact.ts';
import { type GlobalOptions, printResult } from '../output.ts';

type Rec = { ts?: string; type?: string; [k: string]: unknown };

const clip = (s: string, n = 400): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** One transcript record as a line for people. */
export function renderRecord(r: Rec): string {
  const s = (k: string): string => {
    const v = r[k];
    return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
  };
  switch (r.type) {
    case 'user':
      return `[user] ${s('text')}`;
    case 'assistant':
      return `[assistant] ${s('text')}`;
    case 'tool_use':
      return `[tool] ${s('name')} ${clip(s('input'), 200)}`;
    case 'tool_result':
      return `[tool result${r.is_error ? ', error' : ''}] ${clip(s('content'))}`;
    case 'result': {
      const u = (r.usage ?? {}) as Record<string, number>;
      return `[result] ${s('subtype')} in=${u.input_tokens ?? 0} out=${u.output_tokens ?? 0} cache=${(u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0)}`;
    }
    case 'system':
      return `[session] ${s('session_id')} model=${s('model')}`;
    case 'error':
      return `[error] ${s('kind')}: ${s('detail')}`;
    case 'supervisor': {
      const extra = Object.entries(r)
        .filter(([k]) => !['ts', 'type', 'event'].includes(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      return `[sac] ${s('event')}${extra.length ? ` ${extra.join(' ')}` : ''}`;
    }
    case undefined:
    default:
      return `[${r.type ?? '?'}] ${JSON.stringify(r)}`;
  }
}

function readFrom(path: string, offset: number): { text: string; end: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { text: '', end: offset };
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return { text: '', end: size < offset ? 0 : offset };
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return { text: buf.toString('utf8'), end: size };
  } finally {
    closeSync(fd);
  }
}

function parseLines(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(redactSecrets(line)) as Rec);
    } catch {
      // a torn last line is completed by the next read
    }
  }
  return out;
}

function printRecords(
  g: GlobalOptions,
  items: { name: string; rec: Rec }[],
  prefix: boolean,
): void {
  for (const { name, rec } of items) {
    if (g.json) process.stdout.write(JSON.stringify({ agent: name, ...rec }) + '\n');
    else
      process.stdout.write(
        `${prefix ? `[${name}] ` : ''}${rec.ts ? `${rec.ts.slice(11, 19)} ` : ''}${renderRecord(rec)}\n`,
      );
  }
}

interface Cursor {
  ref: AgentRef;
  path: string;
  offset: number;
  partial: string;
}

function poll(c: Cursor): Rec[] {
  const { text, end } = readFrom(c.path, c.offset);
  c.offset = end;
  const all = c.partial + text;
  const cut = all.lastIndexOf('\n');
  c.partial = cut === -1 ? all : all.slice(cut + 1);
  return parseLines(cut === -1 ? '' : all.slice(0, cut));
}

async function follow(g: GlobalOptions, cursors: Cursor[], until: () => boolean): Promise<void> {
  const prefix = cursors.length > 1;
  for (;;) {
    const items = cursors.flatMap((c) => poll(c).map((rec) => ({ name: c.ref.name, rec })));
    items.sort((a, b) => String(a.rec.ts).localeCompare(String(b.rec.ts)));
    printRecords(g, items, prefix);
    if (until()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function runTail(
  g: GlobalOptions,
  names: string[],
  o: { lines: string; follow?: boolean },
): Promise<void> {
  const { resolveAgent } = await import('../../spec/resolve.ts');
  const { runtimeFiles } = await import('../../supervisor/files.ts');
  const n = Number(o.lines);
  if (!Number.isInteger(n) || n < 0)
    throw new (await import('../../errors.ts')).AppError(
      'USAGE',
      `-n expects a whole number, got ${o.lines}`,
    );
  const cursors: Cursor[] = names.map((name) => {
    const ref = resolveAgent(name, { scope: g.scope });
    return { ref, path: runtimeFiles(ref.runtimeDir).sessionJsonl, offset: 0, partial: '' };
  });
  const items = cursors
    .flatMap((c) =>
      poll(c)
        .slice(-n)
        .map((rec) => ({ name: c.ref.name, rec })),
    )
    .sort((a, b) => String(a.rec.ts).localeCompare(String(b.rec.ts)));
  printRecords(g, n === 0 ? [] : items, cursors.length > 1);
  if (!o.follow) return;
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  await follow(g, cursors, () => stop);
}

/** `start --foreground`: stream the agents' transcripts; Ctrl-C stops them cleanly. */
export async function followForeground(g: GlobalOptions, refs: AgentRef[]): Promise<void> {
  const { runtimeFiles } = await import('../../supervisor/files.ts');
  const { liveness, stopAgent } = await import('../../agents/lifecycle.ts');
  const { isLockHeld } = await import('../../supervisor/lock.ts');
  const { agentSockets } = await import('../../supervisor/sockets.ts');
  const cursors: Cursor[] = refs.map((ref) => {
    const path = runtimeFiles(ref.runtimeDir).sessionJsonl;
    return { ref, path, offset: 0, partial: '' };
  });
  // show this launch from its start: skip what earlier launches wrote
  for (const c of cursors) {
    const startedAt = liveness(c.ref).launch?.started_at ?? '';
    const recs = poll(c).filter((r) => String(r.ts ?? '') >= startedAt);
    printRecords(
      g,
      recs.map((rec) => ({ name: c.ref.name, rec })),
      cursors.length > 1,
    );
  }
  const locks = refs.map((r) => agentSockets(r.name, r.runtimeDir).lock);
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(
      '\nstopping (Ctrl-C again is ignored; the agents are being stopped cleanly)\n',
    );
    void Promise.allSettled(refs.map((r) => stopAgent(r)));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  await follow(g, cursors, () => locks.every((l) => !isLockHeld(l)));
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  const failed = refs.filter((r) => liveness(r).liveness === 'failed');
  if (interrupted) process.exitCode = 130;
  else if (failed.length) process.exitCode = 1;
}

export async function runRecall(g: GlobalOptions, name: string): Promise<void> {
  const { resolveAgent } = await import('../../spec/resolve.ts');
  const { runtimeFiles } = await import('../../supervisor/files.ts');
  const ref = resolveAgent(name, { scope: g.scope });
  const recs = poll({
    ref,
    path: runtimeFiles(ref.runtimeDir).sessionJsonl,
    offset: 0,
    partial: '',
  });
  const users = recs.filter((r) => r.type === 'user');
  const replies = recs.filter((r) => r.type === 'assistant');
  const results = recs.filter((r) => r.type === 'result');
  const tools = new Map<string, number>();
  for (const r of recs.filter((x) => x.type === 'tool_use'))
    tools.set(String(r.name), (tools.get(String(r.name)) ?? 0) + 1);
  const sum = (k: string): number =>
    results.reduce((a, r) => a + (((r.usage ?? {}) as Record<string, number>)[k] ?? 0), 0);
  const sessions = [
    ...new Set(recs.filter((r) => r.type === 'system').map((r) => String(r.session_id))),
  ];
  const summary = {
    name: ref.name,
    sessions,
    first_at: recs[0]?.ts ?? null,
    last_at: recs.at(-1)?.ts ?? null,
    turns: users.length,
    first_prompt: users[0] ? String(users[0].text) : null,
    last_prompt: users.at(-1) ? String(users.at(-1)!.text) : null,
    last_reply: replies.at(-1) ? String(replies.at(-1)!.text) : null,
    tools: Object.fromEntries(tools),
    errors: recs.filter((r) => r.type === 'error').length,
    restarts: recs.filter((r) => r.type === 'supervisor' && r.event === 'restarting').length,
    tokens: { input: sum('input_tokens'), output: sum('output_tokens') },
  };
  printResult(g, summary, () =>
    [
      `${summary.name}: ${summary.turns} turn(s) from ${summary.first_at ?? '-'} to ${summary.last_at ?? '-'}`,
      `  session(s): ${sessions.join(', ') || '-'}`,
      `  first prompt: ${clip(summary.first_prompt ?? '-', 200)}`,
      `  last prompt:  ${clip(summary.last_prompt ?? '-', 200)}`,
      `  last reply:   ${clip(summary.last_reply ?? '-', 400)}`,
      `  tools used:   ${[...tools].map(([k, v]) => `${k}×${v}`).join(', ') || 'none'}`,
      `  tokens:       ${summary.tokens.input} in / ${summary.tokens.output} out; ${summary.restarts} restart(s), ${summary.errors} error(s)`,
    ].join('\n'),
  );
}
