/**
 * The CLI's side of a supervisor's control socket: JSON over HTTP/1.1 on a 0600 unix socket.
 * The socket's file mode is the authentication (only its owner can connect). Error envelopes
 * come back as the same AppError codes the supervisor raised.
 * @module
 */
import { request } from 'node:http';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.ts';

export interface ControlRequestOptions {
  body?: unknown;
  /** 0 = wait forever (a `send` waits for the model). */
  timeoutMs?: number;
}

export function controlRequest<T>(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  opts: ControlRequestOptions = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : {};
          } catch {
            reject(
              new AppError(
                'DAEMON_UNREACHABLE',
                `supervisor answered ${res.statusCode} with non-JSON`,
              ),
            );
            return;
          }
          const err = (
            body as {
              error?: {
                code?: string;
                message?: string;
                hint?: string;
                details?: Record<string, unknown>;
              };
            }
          ).error;
          if ((res.statusCode ?? 500) >= 400 && err) {
            const code = (err.code && err.code in ERROR_CODES ? err.code : 'FAILED') as ErrorCode;
            reject(
              new AppError(code, err.message ?? 'supervisor error', {
                ...(err.hint ? { hint: err.hint } : {}),
                ...(err.details ? { details: err.details } : {}),
              }),
            );
            return;
          }
          resolve(body as T);
        });
      },
    );
    if (opts.timeoutMs) {
      req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('ETIMEDOUT')));
    }
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new AppError(
          'DAEMON_UNREACHABLE',
          `cannot reach the agent's supervisor at ${socketPath}: ${e.code ?? e.message}`,
          {
            cause: e,
            hint: 'check `sac agents status`; a supervisor that died is brought back by `sac agents resurrect`',
          },
        ),
      ),
    );
    req.end(payload);
  });
}
