import { linkSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { startRelay } from './relay.ts';
import type { Relay, RelayOptions, RelayRequestInfo } from './relay.ts';

const AGENT = 'agent-token-0123456789';
const REAL = 'sk-ant-real-credential';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Upstream = { url: string; seen: Seen[]; closed: Promise<void>; close(): Promise<void> };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An upstream that records requests; `route` answers (default: 200 JSON echo of the path). */
async function upstream(
  route?: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<Upstream> {
  const seen: Seen[] = [];
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    res.on('close', () => markClosed());
    const answer = (): void => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (route) return route(req, res, body);
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive',
        'x-up': '1',
      });
      res.end(JSON.stringify({ path: req.url }));
    };
    // Streaming routes answer before the body ends; others after.
    if (route && req.url?.includes('early')) answer();
    else req.on('end', answer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const up: Upstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    closed,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  cleanups.push(() => up.close());
  return up;
}

async function relay(opts: Partial<RelayOptions> & { upstream: string }): Promise<Relay> {
  const r = await startRelay({
    credential: { header: 'x-api-key', value: REAL },
    agentToken: AGENT,
    tcp: true,
    ...opts,
  });
  cleanups.push(() => r.close());
  return r;
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  target: { port?: number; socketPath?: string },
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(target.socketPath
          ? { socketPath: target.socketPath }
          : { host: '127.0.0.1', port: target.port }),
        method: opts.method ?? 'POST',
        path: opts.path ?? '/v1/messages',
        headers: { 'x-api-key': AGENT, ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    const method = opts.method ?? 'POST';
    req.end(method === 'GET' || method === 'HEAD' ? undefined : (opts.body ?? '{}'));
  });
}

describe('model relay', () => {
  it('refuses a missing or wrong token with an Anthropic-shaped 401', async () => {
    const up = await upstream();
    const r = await relay({ upstream: up.url });
    for (const headers of [
      { 'x-api-key': '' },
      { 'x-api-key': 'nope' },
      { 'x-api-key': AGENT + 'x' },
      { 'x-api-key': REAL },
    ]) {
      const res = await send(r, { headers });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toEqual({
        type: 'error',
        error: { type: 'authentication_error', message: 'relay: unknown agent token' },
      });
    }
    expect(up.seen).toHaveLength(0);
    expect(r.stats().unauthorized).toBe(4);
  });

  it('swaps the agent token for the real credential and keeps the upstream path prefix', async () => {
    const up = await upstream();
    const r = await relay({ upstream: up.url + '/prefix/' });
    const res = await send(r, {
      path: '/v1/messages?beta=true',
      headers: {
        'anthropic-version': '2023-06-01',
        connection: 'x-hop',
        'x-hop': '1',
        cookie: 'c=1',
      },
      body: '{"model":"m"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-up']).toBe('1');
    const seen = up.seen[0];
    expect(seen?.url).toBe('/prefix/v1/messages?beta=true');
    expect(seen?.headers['x-api-key']).toBe(REAL);
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-hop']).toBeUndefined();
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.body).toBe('{"model":"m"}');
    expect(JSON.stringify(seen?.headers)).not.toContain(AGENT);
  });

  it('accepts Bearer from the agent and sends a Bearer OAuth credential with the beta flag', async () => {
    const up = await upstream();
    const r = await relay({
      upstream: up.url,
      credential: { header: 'authorization', value: 'oat-1', oauth: true },
    });
    const res = await send(r, {
      headers: { 'x-api-key': '', authorization: `Bearer ${AGENT}`, 'anthropic-beta': 'a,b' },
    });
    expect(res.status).toBe(200);
    expect(up.seen[0]?.headers.authorization).toBe('Bearer oat-1');
    expect(up.seen[0]?.headers['x-api-key']).toBeUndefined();
    expect(up.seen[0]?.headers['anthropic-beta']).toBe('a,b,oauth-2025-04-20');
  });

  it('refuses paths Claude Code does not need (files, batches, admin)', async () => {
    const up = await upstream();
    const r = await relay({ upstream: up.url });
    expect((await send(r, { method: 'GET', path: '/v1/files' })).status).toBe(404);
    expect((await send(r, { path: '/v1/messages/batches' })).status).toBe(404);
    expect((await send(r, { method: 'GET', path: '/v1/models' })).status).toBe(200);
    expect((await send(r, { path: '/v1/messages/count_tokens' })).status).toBe(200);
    expect(up.seen.map((s) => s.url)).toEqual(['/v1/models', '/v1/messages/count_tokens']);
  });

  it('keeps a chunked request body framed, even on GET', async () => {
    const up = await upstream();
    const r = await relay({ upstream: up.url, allowPath: () => true });
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: r.port,
          method: 'GET',
          path: '/v1/models',
          headers: { 'x-api-key': AGENT, 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    expect(res).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(up.seen.map((s) => s.url)).toEqual(['/v1/models']);
    expect(up.seen[0]?.body).toContain('/smuggled');
  });

  it('streams the response without buffering', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\n\n');
      void gate.then(() => res.end('event: two\n\n'));
    });
    const r = await relay({ upstream: up.url });
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: r.port,
          method: 'POST',
          path: '/v1/messages',
          headers: { 'x-api-key': AGENT },
        },
        (res) => {
          res.setEncoding('utf8').once('data', (c: string) => {
            resolve(c);
            res.resume();
          });
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(first).toBe('event: one\n\n'); // arrived while upstream still holds the rest
    release();
  });

  it('cancels the upstream request when the client goes away', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: start\n\n'); // and never ends
    });
    const infos: RelayRequestInfo[] = [];
    const r = await relay({ upstream: up.url, onRequest: (i) => infos.push(i) });
    await new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: r.port,
          method: 'POST',
          path: '/v1/messages',
          headers: { 'x-api-key': AGENT },
        },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end('{}');
    });
    await up.closed; // the relay tore down its upstream leg
    await waitFor(() => infos.length === 1);
    expect(infos[0]).toMatchObject({
      outcome: 'client-aborted',
      status: 200,
      method: 'POST',
      path: '/v1/messages',
    });
  });

  it('answers 502 with an Anthropic-shaped error when upstream is down', async () => {
    const up = await upstream();
    const url = up.url;
    await up.close();
    const infos: RelayRequestInfo[] = [];
    const r = await relay({ upstream: url, onRequest: (i) => infos.push(i) });
    const res = await send(r);
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'relay: upstream ECONNREFUSED' },
    });
    await waitFor(() => infos.length === 1);
    expect(infos[0]).toMatchObject({
      outcome: 'upstream-error',
      error: 'ECONNREFUSED',
      status: 502,
    });
    expect(r.stats().upstreamErrors).toBe(1);
  });

  it('caps the request body (declared and chunked) with 413', async () => {
    const up = await upstream();
    const r = await relay({ upstream: up.url, maxBodyBytes: 1000 });
    const declared = await send(r, { body: 'x'.repeat(1001) });
    expect(declared.status).toBe(413);
    expect(declared.body).toContain('"type":"request_too_large"');
    const chunked = await send(r, {
      headers: { 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(5000, 'y'),
    });
    expect(chunked.status).toBe(413);
    expect(up.seen).toHaveLength(0);
    expect((await send(r, { body: 'z'.repeat(1000) })).status).toBe(200);
  });

  it('counts requests and bytes and reports each request', async () => {
    const up = await upstream();
    const infos: RelayRequestInfo[] = [];
    const r = await relay({ upstream: up.url, onRequest: (i) => infos.push(i) });
    await send(r, { body: '{"a":1}' });
    await send(r, { body: '{"b":22}' });
    await waitFor(() => infos.length === 2);
    const s = r.stats();
    expect(s).toMatchObject({ requests: 2, active: 0, bytesIn: 15 });
    expect(s.bytesOut).toBeGreaterThan(0);
    expect(infos[1]).toMatchObject({
      id: 2,
      method: 'POST',
      path: '/v1/messages',
      status: 200,
      outcome: 'ok',
      bytesIn: 8,
    });
    expect(JSON.stringify(infos)).not.toContain(REAL);
  });

  describe('unix socket', () => {
    const dir = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'sac-relay-'));
      cleanups.push(() => rmSync(d, { recursive: true, force: true }));
      return d;
    };

    it('listens 0600, replaces a stale socket, serves requests', async () => {
      const up = await upstream();
      const d = dir();
      const socketPath = join(d, 'model.sock');
      // A supervisor killed with -9 leaves its socket file behind: make one (a hard link to a
      // socket whose server then closes, which unlinks only the original name).
      const other = join(d, 'other.sock');
      const tmp = net.createServer();
      await new Promise<void>((r) => tmp.listen(other, r));
      linkSync(other, socketPath);
      await new Promise<void>((r) => tmp.close(() => r()));
      expect(lstatSync(socketPath).isSocket()).toBe(true);
      const r = await relay({ upstream: up.url, tcp: false, socketPath });
      expect(r.socketPath).toBe(socketPath);
      expect(r.port).toBeUndefined();
      expect(statSync(socketPath).mode & 0o777).toBe(0o600);
      expect((await send({ socketPath }, {})).status).toBe(200);
    });

    it.runIf(process.getuid?.() === 0)('chowns the socket to the agent when root', async () => {
      const up = await upstream();
      const socketPath = join(dir(), 'model.sock');
      await relay({
        upstream: up.url,
        tcp: false,
        socketPath,
        socketOwner: { uid: 61234, gid: 61235 },
      });
      const st = statSync(socketPath);
      expect([st.uid, st.gid]).toEqual([61234, 61235]);
    });

    it('refuses a path over 100 bytes with PATH_TOO_LONG', async () => {
      const socketPath = '/tmp/' + 'x'.repeat(100) + '.sock';
      const err = await startRelay({
        upstream: 'http://127.0.0.1:9',
        credential: { header: 'x-api-key', value: REAL },
        agentToken: AGENT,
        socketPath,
      }).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('PATH_TOO_LONG');
      expect(isAppError(err) && err.details?.path).toBe(socketPath);
    });

    it('will not delete a regular file in the socket place', async () => {
      const p = join(dir(), 'model.sock');
      writeFileSync(p, 'not a socket');
      const err = await startRelay({
        upstream: 'http://127.0.0.1:9',
        credential: { header: 'x-api-key', value: REAL },
        agentToken: AGENT,
        socketPath: p,
      }).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('FAILED');
      expect(statSync(p).isFile()).toBe(true);
    });
  });

  it('refuses an upstream that is not an http(s) URL', async () => {
    for (const upstream of ['not a url', 'ftp://example.com']) {
      const err = await startRelay({
        upstream,
        credential: { header: 'x-api-key', value: REAL },
        agentToken: AGENT,
        tcp: true,
      }).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('CONFIG_INVALID');
    }
  });

  it('close() stops listening', async () => {
    const up = await upstream();
    const r = await startRelay({
      upstream: up.url,
      credential: { header: 'x-api-key', value: REAL },
      agentToken: AGENT,
      tcp: true,
    });
    await r.close();
    await expect(send(r)).rejects.toThrow(/ECONNREFUSED/);
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
