/**
 * Pure header logic for the model relay: which headers cross it, how the agent's token is read, and
 * how the real credential is attached.
 * @module
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy-era ones: never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

/** Credentials: the agent's are dropped, the real one is added by `attachCredential` only. */
const CREDENTIALS = new Set(['x-api-key', 'authorization', 'cookie', 'set-cookie']);

/** The real credential: an API key (`x-api-key`) or a bearer token (`authorization`). */
export interface RelayCredential {
  header: 'x-api-key' | 'authorization';
  value: string;
  /** A Claude OAuth token (`claude setup-token`): needs the oauth beta flag. */
  oauth?: boolean;
}

export const OAUTH_BETA = 'oauth-2025-04-20';

/** Copy `headers` without hop-by-hop, credential, and `Connection`-named headers. */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || CREDENTIALS.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  // The body is re-framed hop by hop. Say so explicitly: Node sends a GET/DELETE body unframed
  // unless told, which upstream would read as the start of another request.
  if (headers['transfer-encoding'] !== undefined) out['transfer-encoding'] = 'chunked';
  return out;
}

/** Add the real credential (and, for OAuth, the beta flag merged into the incoming list). */
export function attachCredential(
  headers: OutgoingHttpHeaders,
  cred: RelayCredential,
): OutgoingHttpHeaders {
  const out = { ...headers };
  if (cred.header === 'x-api-key') out['x-api-key'] = cred.value;
  else out.authorization = `Bearer ${cred.value}`;
  if (cred.oauth) out['anthropic-beta'] = mergeBeta(out['anthropic-beta'], OAUTH_BETA);
  return out;
}

/** Merge `flag` into a comma-separated beta list (header value or array), without duplicates. */
export function mergeBeta(current: OutgoingHttpHeaders[string], flag: string): string {
  const list = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.includes(flag)) list.push(flag);
  return list.join(',');
}

/** The token a client presented: `x-api-key`, else `Authorization: Bearer <token>`. */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key !== '') return key;
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

/** Constant-time token comparison that does not throw on a length mismatch. */
export function tokenMatches(presented: string | undefined, expected: Buffer): boolean {
  const got = Buffer.from(presented ?? '', 'utf8');
  // Compare against an equal-length buffer either way, so timing does not reveal much beyond length.
  const same = got.length === expected.length;
  return timingSafeEqual(same ? got : expected, expected) && same;
}

/** Response headers from upstream that may go back to the client. */
export function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k === 'set-cookie') continue;
    out[k] = v;
  }
  return out;
}

/** An Anthropic-shaped error body: `{type: 'error', error: {type, message}}`. */
export function errorBody(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}
