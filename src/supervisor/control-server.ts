/**
 * The supervisor's control socket: a small JSON-over-HTTP API on a 0600 unix socket, for the CLI
 * (and the library). Bodies are validated with zod and capped in size; every failure is the shared
 * error envelope `{"error": {code, message, hint?}}`.
 * @module
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { AppError, isAppError } from '../errors.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export const TurnRequestSchema = z.strictObject({
  text: z.string().min(1, 'text must not be empty'),
  caller: z.string().max(200).optional(),
  exit_after: z.boolean().default(false),
  wait: z.boolean().default(true),
});
export type TurnRequest = z.output<typeof TurnRequestSchema>;

export const StopRequestSchema = z.strictObject({
  reason: z.string().max(200).default('operator-stop'),
  force: z.boolean().default(false),
  grace_ms: z.number().int().min(0).max(600_000).optional(),
});
export type StopRequest = z.output<typeof StopRequestSchema>;

/** What the server needs from the supervisor. */
export interface ControlHandlers {
  status(): unknown;
  health(): unknown;
  turn(req: TurnRequest): Promise<unknown>;
  interrupt(): Promise<unknown>;
  stop(req: StopRequest): unknown;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new AppError('USAGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AppError('USAGE', 'request body is not JSON');
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new AppError(
      'USAGE',
      `invalid request: ${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

async function route(h: ControlHandlers, req: IncomingMessage): Promise<[number, unknown]> {
  const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
  switch (key) {
    case 'GET /v1/status':
      return [200, h.status()];
    case 'GET /v1/health':
      return [200, h.health()];
    case 'POST /v1/turns': {
      const body = parse(TurnRequestSchema, await readBody(req));
      return [body.wait ? 200 : 202, await h.turn(body)];
    }
    case 'POST /v1/interrupt':
      return [200, await h.interrupt()];
    case 'POST /v1/stop':
      return [202, h.stop(parse(StopRequestSchema, await readBody(req)))];
    default:
      throw new AppError('USAGE', `no such endpoint: ${key}`);
  }
}

/** Listen on `socketPath` (0600; a stale socket from a killed supervisor is replaced). */
export async function startControlServer(socketPath: string, h: ControlHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    route(h, req).then(
      ([status, body]) => send(res, status, body),
      (err: unknown) => {
        const e = isAppError(err)
          ? err
          : new AppError('INTERNAL', `supervisor bug: ${String(err)}`);
        send(res, e.httpStatus, e.toJSON());
      },
    );
  });
  // requests may wait for a model reply for a long time
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return server;
}
