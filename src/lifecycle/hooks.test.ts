import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type AppError, isAppError } from '../errors.ts';
import { type HookContext, isHttpHook, runHooks } from './hooks.ts';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sac-hooks-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function context(extra: Partial<HookContext> = {}): HookContext & { dir: string } {
  const dir = tempDir();
  const agentDir = join(dir, 'agents', 'alpha');
  mkdirSync(agentDir, { recursive: true });
  return {
    dir,
    name: 'alpha',
    agentDir,
    specPath: join(agentDir, 'spec.yaml'),
    logFile: join(dir, 'runtime', 'alpha', 'logs', 'hooks.log'),
    env: { PATH: process.env.PATH, OPERATOR_VAR: 'from-operator' },
    ...extra,
  };
}

/** Dead = gone from /proc or a zombie (pid 1 here reaps slowly); never `kill -0`. */
function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitDead(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (isDead(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return isDead(pid);
}

function killLater(pid: number): void {
  onTestFinished(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('shell hooks', () => {
  it('run with /bin/sh in the agent dir, with the operator env plus the sac variables', async () => {
    const ctx = context();
    const report = await runHooks(
      'post_start',
      [
        'pwd; echo "$SAC_NAME $SAC_EVENT $SCITEX_AGENT_CONTAINER_NAME $SCITEX_AGENT_CONTAINER_CONFIG_PATH $OPERATOR_VAR"; echo oops >&2',
      ],
      ctx,
    );
    expect(report.failed).toEqual([]);
    expect(report.results[0]).toMatchObject({
      ok: true,
      exitCode: 0,
      kind: 'shell',
      timedOut: false,
    });
    expect(report.results[0]?.tail).toEqual([
      ctx.agentDir,
      `alpha post_start alpha ${ctx.specPath} from-operator`,
      'oops',
    ]);
    const log = readFileSync(ctx.logFile, 'utf8');
    expect(log).toMatch(/^\S+Z post_start\[1\] \$ pwd; echo/m);
    expect(log).toMatch(new RegExp(`^\\S+Z post_start\\[1\\] out\\| ${ctx.agentDir}$`, 'm'));
    expect(log).toMatch(/^\S+Z post_start\[1\] err\| oops$/m);
    expect(log).toMatch(/^\S+Z post_start\[1\] exit 0 \(\d+ ms\)$/m);
    expect(statSync(ctx.logFile).mode & 0o777).toBe(0o600);
  });

  it('appends to the log across calls and redacts secrets in it', async () => {
    const ctx = context();
    await runHooks('pre_stop', ['echo first'], ctx);
    await runHooks('post_stop', ['echo key=sk-ant-api03-abcdefghijklmnop'], ctx);
    const log = readFileSync(ctx.logFile, 'utf8');
    expect(log).toMatch(
      /pre_stop\[1\] out\| first\n[\s\S]*post_stop\[1\] out\| key=sk-ant-\[REDACTED\]/,
    );
    expect(log).not.toContain('abcdefghijklmnop');
  });

  it('reports failures of non-fatal events and still runs the rest', async () => {
    const ctx = context();
    const report = await runHooks('post_start', ['echo bad; exit 3', 'touch ran-second'], ctx);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]).toMatchObject({
      index: 1,
      ok: false,
      exitCode: 3,
      error: 'exited with 3',
      tail: ['bad'],
    });
    expect(existsSync(join(ctx.agentDir, 'ran-second'))).toBe(true);
    expect(readFileSync(ctx.logFile, 'utf8')).toMatch(/post_start\[1\] failed: exited with 3/);
  });

  it('a failing pre_start hook fails the start with the tail of its output; later hooks do not run', async () => {
    const ctx = context();
    const err = await rejection(
      runHooks(
        'pre_start',
        ['echo checking; echo "disk full" >&2; exit 1', 'touch ran-second'],
        ctx,
      ),
    );
    expect(err.code).toBe('HOOK_FAILED');
    expect(err.exitCode).toBe(16);
    expect(err.message).toBe(
      'pre_start hook 1 (echo checking; echo "disk full" >&2; exit 1) exited with 1\n  | checking\n  | disk full',
    );
    expect(err.hint).toContain(ctx.logFile);
    expect(err.details).toMatchObject({ exitCode: 1, tail: ['checking', 'disk full'] });
    expect(existsSync(join(ctx.agentDir, 'ran-second'))).toBe(false);
  });

  it('kills the whole process group on timeout, also what ignores SIGTERM', async () => {
    const ctx = context({ timeoutMs: 300, killGraceMs: 200 });
    const pidFile = join(ctx.dir, 'bg.pid');
    const started = Date.now();
    const report = await runHooks(
      'post_stop',
      [`trap "" TERM; sleep 30 & echo $! > ${pidFile}; echo started; wait`],
      ctx,
    );
    const pid = Number(readFileSync(pidFile, 'utf8'));
    killLater(pid);
    expect(report.failed[0]).toMatchObject({ timedOut: true, ok: false, tail: ['started'] });
    expect(report.failed[0]?.error).toBe('timed out after 300 ms (its process group was killed)');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitDead(pid)).toBe(true);
  });

  it('a timed-out pre_start hook fails the start', async () => {
    const ctx = context({ timeoutMs: 200, killGraceMs: 50 });
    const err = await rejection(runHooks('pre_start', ['sleep 30'], ctx));
    expect(err.code).toBe('HOOK_FAILED');
    expect(err.message).toContain('timed out after 200 ms');
  });

  it('returns when the shell exits even if a background child keeps its output open', async () => {
    const ctx = context();
    const pidFile = join(ctx.dir, 'daemon.pid');
    const started = Date.now();
    const report = await runHooks('post_start', [`sleep 20 & echo $! > ${pidFile}; echo up`], ctx);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    killLater(pid);
    expect(report.results[0]).toMatchObject({ ok: true, tail: ['up'] });
    expect(Date.now() - started).toBeLessThan(3000);
    // a hook that finished in time may leave its helpers running
    expect(isDead(pid)).toBe(false);
  });

  it('a hook that cannot start is a failure, not a crash', async () => {
    const ctx = context();
    const report = await runHooks('on_restart', ['true'], {
      ...ctx,
      agentDir: join(ctx.dir, 'gone'),
    });
    expect(report.failed[0]?.error).toMatch(/^could not run: /);
  });

  it('does nothing (not even a log file) without hooks', async () => {
    const ctx = context();
    expect(await runHooks('pre_start', [], ctx)).toEqual({
      event: 'pre_start',
      results: [],
      failed: [],
    });
    expect(existsSync(ctx.logFile)).toBe(false);
  });
});

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('http hooks', () => {
  async function server(
    handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
  ): Promise<string> {
    const srv: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    onTestFinished(
      () =>
        new Promise<void>((r) => {
          srv.closeAllConnections();
          srv.close(() => r());
        }),
    );
    return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  }

  it('POSTs {event, name, ts} as JSON', async () => {
    const seen: { method?: string; type?: string; body?: string } = {};
    const url = await server((req, body, res) => {
      Object.assign(seen, { method: req.method, type: req.headers['content-type'], body });
      res.end('thanks\n');
    });
    const ctx = context();
    const report = await runHooks('post_start', [`${url}/hook`], ctx);
    expect(report.results[0]).toMatchObject({
      kind: 'http',
      ok: true,
      status: 200,
      tail: ['thanks'],
    });
    expect(seen.method).toBe('POST');
    expect(seen.type).toBe('application/json');
    const body = JSON.parse(seen.body!) as Record<string, unknown>;
    expect(body).toEqual({ event: 'post_start', name: 'alpha', ts: expect.any(String) as unknown });
    expect(Number.isNaN(Date.parse(body.ts as string))).toBe(false);
    expect(readFileSync(ctx.logFile, 'utf8')).toMatch(/post_start\[1\] http 200 \(\d+ ms\)/);
  });

  it('a non-2xx answer, a refused connection and a timeout are failures', async () => {
    const url = await server((req, _body, res) => {
      if (req.url === '/slow') return; // never answers
      res.statusCode = 503;
      res.end('down');
    });
    const ctx = context({ timeoutMs: 300 });
    const closed = await freePort();
    const report = await runHooks(
      'pre_stop',
      [`${url}/x`, `http://127.0.0.1:${closed}/`, `${url}/slow`],
      ctx,
    );
    expect(report.failed.map((r) => [r.status, r.timedOut, r.error])).toEqual([
      [503, false, 'answered HTTP 503'],
      [undefined, false, expect.stringMatching(/^request failed: .*ECONNREFUSED/) as unknown],
      [undefined, true, 'timed out after 300 ms'],
    ]);
  });

  it('never logs URL credentials', async () => {
    const url = await server((_req, _body, res) => res.end());
    const ctx = context();
    const report = await runHooks(
      'post_stop',
      [url.replace('http://', 'http://user:hunter2@')],
      ctx,
    );
    expect(report.results[0]?.hook).not.toContain('hunter2');
    expect(readFileSync(ctx.logFile, 'utf8')).not.toContain('hunter2');
  });
});

describe('isHttpHook', () => {
  it.each([
    ['http://127.0.0.1:9/x', true],
    ['https://example.org/hook?a=1', true],
    ['  https://example.org  ', true],
    ['curl http://x', false],
    ['http://x; rm -rf /', false],
    ['echo http://x', false],
    ['ftp://x', false],
  ])('%s → %s', (entry, expected) => {
    expect(isHttpHook(entry)).toBe(expected);
  });
});
