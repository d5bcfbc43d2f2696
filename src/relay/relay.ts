/**
 * The model relay: one per agent, inside the supervisor. Claude Code in the sandbox authenticates to
 * it with a per-agent token; the relay checks that token in constant time, drops the agent's
 * credential and hop-by-hop headers, attaches the real credential and streams the request and the
 * response through without buffering. The real credential exists only in this process.
 *
 * Listens on a unix socket (network none: bound into the sandbox at /run/sac/model.sock) and/or on
 * TCP 127.0.0.1:<random> (network host). Nothing is logged here; callers get per-request facts
 * (never headers or bodies) through `onRequest`.
 * @module
 */
import { chmodSync, chownSync, lstatSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.ts';
import {
  attachCredential,
  errorBody,
  forwardableHeaders,
  presentedToken,
  responseHeaders,
  tokenMatches,
} from './headers.ts';
import type { RelayCredential } from './headers.ts';

export type { RelayCredential } from './headers.ts';

/** Longest unix socket path accepted (sun_path is 108 bytes; Node 20 truncates silently). */
export const MAX_SOCKET_PATH_BYTES = 100;
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The Anthropic API paths Claude Code needs. Anything else (files, batches, admin) is refused. */
export function defaultAllowPath(method: string, path: string): boolean {
  if (/^\/v1\/messages(\/count_tokens)?$/.test(path)) return method === 'POST';
  if (/^\/v1\/models(\/[\w.:@-]+)?$/.test(path)) return method === 'GET';
  return (method === 'HEAD' || method === 'GET') && (path === '/' || path === '/api/hello');
}

export interface RelayOptions {
  /** Base URL of the provider (`https://api.anthropic.com`); a path prefix is kept. */
  upstream: string;
  /**
   * The real credential, or a function read on every request (a Claude login's access token is
   * rotated on disk by Claude Code; a long-lived relay must not keep an expired copy).
   */
  credential: RelayCredential | (() => RelayCredential);
  /** The per-agent token Claude Code presents (x-api-key or Bearer). */
  agentToken: string;
  /** Also listen on TCP 127.0.0.1:<random port>. */
  tcp?: boolean;
  /** Listen on this unix socket (≤ 100 bytes; a stale socket is replaced). */
  socketPath?: string;
  /** chown the socket to the agent when running as root (mode is 0600 either way). */
  socketOwner?: { uid: number; gid: number };
  /** Default 32 MiB; larger request bodies get 413. */
  maxBodyBytes?: number;
  /** Which method/path pairs may pass (path without query). Default `defaultAllowPath`. */
  allowPath?: (method: string, path: string) => boolean;
  /** Called once per request when its response is done (or abandoned). Must not throw. */
  onRequest?: (info: RelayRequestInfo) => void;
}

export type RelayOutcome =
  | 'ok'
  | 'unauthorized'
  | 'forbidden-path'
  | 'too-large'
  | 'bad-request'
  | 'upstream-error'
  | 'client-aborted';

export interface RelayRequestInfo {
  id: number;
  method: string;
  /** Request path without the query string. */
  path: string;
  /** Status sent to the client (0 when none was sent). */
  status: number;
  outcome: RelayOutcome;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  /** Error code (ECONNREFUSED, ...) for upstream errors. Never a header or body. */
  error?: string;
}

export interface RelayStats {
  requests: number;
  active: number;
  bytesIn: number;
  bytesOut: number;
  unauthorized: number;
  upstreamErrors: number;
}

export interface Relay {
  /** TCP port on 127.0.0.1, when `tcp` was requested. */
  readonly port?: number;
  readonly socketPath?: string;
  stats(): RelayStats;
  /** Stop listening, cut open connections, release upstream sockets. */
  close(): Promise<void>;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  if (!opts.tcp && !opts.socketPath) {
    throw new AppError('INTERNAL', 'startRelay needs tcp, socketPath or both');
  }
  let up: URL;
  try {
    up = new URL(opts.upstream);
  } catch {
    // Neither echoed nor chained as a cause: a malformed URL may still carry user:password.
    throw new AppError('CONFIG_INVALID', 'relay upstream is not a valid URL');
  }
  if (up.protocol !== 'http:' && up.protocol !== 'https:') {
    throw new AppError(
      'CONFIG_INVALID',
      `relay upstream must be an http(s) URL, got ${up.protocol}`,
      {
        details: { upstream: `${up.protocol}//${up.host}` },
      },
    );
  }
  if (opts.socketPath) checkSocketPath(opts.socketPath);

  const lib = up.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({ keepAlive: true });
  const handler = makeHandler(opts, up, agent);
  const servers: http.Server[] = [];
  const relay: { -readonly [K in keyof Relay]: Relay[K] } = {
    stats: () => ({ ...handler.stats }),
    close: async () => {
      await Promise.all(servers.map(closeServer));
      agent.destroy();
    },
  };
  try {
    if (opts.tcp) {
      const s = http.createServer(handler.handle);
      servers.push(s);
      await listen(s, { port: 0, host: '127.0.0.1' });
      relay.port = (s.address() as AddressInfo).port;
    }
    if (opts.socketPath) {
      removeStaleSocket(opts.socketPath);
      const s = http.createServer(handler.handle);
      servers.push(s);
      await listen(s, { path: opts.socketPath });
      chmodSync(opts.socketPath, 0o600);
      if (opts.socketOwner && process.getuid?.() === 0) {
        chownSync(opts.socketPath, opts.socketOwner.uid, opts.socketOwner.gid);
      }
      relay.socketPath = opts.socketPath;
    }
  } catch (e) {
    await relay.close();
    throw e instanceof AppError
      ? e
      : new AppError('FAILED', `relay could not listen: ${(e as Error).message}`, { cause: e });
  }
  return relay;
}

function makeHandler(
  opts: RelayOptions,
  up: URL,
  agent: http.Agent,
): { handle: (req: IncomingMessage, res: ServerResponse) => void; stats: RelayStats } {
  const lib = up.protocol === 'https:' ? https : http;
  const want = Buffer.from(opts.agentToken, 'utf8');
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const allow = opts.allowPath ?? defaultAllowPath;
  const prefix = up.pathname.replace(/\/$/, '');
  const hostname = up.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  const stats: RelayStats = {
    requests: 0,
    active: 0,
    bytesIn: 0,
    bytesOut: 0,
    unauthorized: 0,
    upstreamErrors: 0,
  };
  let seq = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const info: RelayRequestInfo = {
      id: ++seq,
      method,
      path,
      status: 0,
      outcome: 'ok',
      durationMs: 0,
      bytesIn: 0,
      bytesOut: 0,
    };
    stats.requests++;
    stats.active++;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      stats.active--;
      info.durationMs = Math.round(performance.now() - t0);
      info.status = res.headersSent ? res.statusCode : 0;
      if (info.outcome === 'unauthorized') stats.unauthorized++;
      if (info.outcome === 'upstream-error') stats.upstreamErrors++;
      try {
        opts.onRequest?.(info);
      } catch {
        // a faulty observer must not take the relay down
      }
    };
    const upstream: { req?: http.ClientRequest } = {}; // set once the request is relayed
    res.on('close', () => {
      // Client gone before the response finished: cancel the upstream stream (stops the spend).
      if (!res.writableFinished) {
        if (info.outcome === 'ok') info.outcome = 'client-aborted';
        upstream.req?.destroy();
      }
      settle();
    });
    const fail = (status: number, outcome: RelayOutcome, type: string, message: string): void => {
      info.outcome = outcome;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Do not read what is left of the body: answer and let Node close the connection.
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(errorBody(type, message));
    };

    if (!tokenMatches(presentedToken(req.headers), want)) {
      req.resume();
      return fail(401, 'unauthorized', 'authentication_error', 'relay: unknown agent token');
    }
    if (!url.startsWith('/'))
      return fail(400, 'bad-request', 'invalid_request_error', 'relay: bad request target');
    if (!allow(method, path)) {
      return fail(
        404,
        'forbidden-path',
        'not_found_error',
        `relay: ${method} ${path} is not relayed`,
      );
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      return fail(413, 'too-large', 'request_too_large', `relay: request body over ${max} bytes`);
    }

    const preq = lib.request(
      {
        agent,
        protocol: up.protocol,
        hostname,
        port: up.port || undefined,
        method,
        path: prefix + url,
        headers: attachCredential(
          forwardableHeaders(req.headers),
          typeof opts.credential === 'function' ? opts.credential() : opts.credential,
        ),
      },
      (pres) => {
        res.writeHead(pres.statusCode ?? 502, responseHeaders(pres.headers));
        res.flushHeaders(); // SSE: let the client see the status before the first event
        pres.on('data', (c: Buffer) => {
          info.bytesOut += c.length;
          stats.bytesOut += c.length;
        });
        pres.on('error', () => res.destroy()); // upstream cut mid-stream: cut the client too
        pres.pipe(res);
      },
    );
    preq.on('error', (e: NodeJS.ErrnoException) => {
      if (info.outcome !== 'ok') return; // we destroyed it ourselves (client gone, too large)
      info.error = e.code ?? 'EUPSTREAM';
      fail(502, 'upstream-error', 'api_error', `relay: upstream ${info.error}`);
    });
    upstream.req = preq;
    req.on('data', (c: Buffer) => {
      info.bytesIn += c.length;
      stats.bytesIn += c.length;
      if (info.bytesIn > max && info.outcome === 'ok') {
        req.unpipe(preq);
        fail(413, 'too-large', 'request_too_large', `relay: request body over ${max} bytes`);
        preq.destroy();
      }
    });
    req.pipe(preq);
  };
  return { handle, stats };
}

function checkSocketPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new AppError(
      'PATH_TOO_LONG',
      `relay socket path is ${bytes} bytes, at most ${MAX_SOCKET_PATH_BYTES}`,
      {
        hint: 'keep runtime sockets under a short directory such as $XDG_RUNTIME_DIR/sac or /tmp/sac-<uid>',
        details: { path, bytes, max: MAX_SOCKET_PATH_BYTES },
      },
    );
  }
}

/** A socket left by a supervisor killed with -9 blocks listen(): remove it, but nothing else. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) {
    throw new AppError('FAILED', `relay socket path exists and is not a socket: ${path}`, {
      hint: 'remove the file or choose another runtime directory',
      details: { path },
    });
  }
  rmSync(path, { force: true });
}

function listen(
  s: http.Server,
  where: { port: number; host: string } | { path: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(where, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function closeServer(s: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!s.listening) return resolve();
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
