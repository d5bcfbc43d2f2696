import { describe, expect, it } from 'vitest';
import {
  OAUTH_BETA,
  attachCredential,
  forwardableHeaders,
  mergeBeta,
  presentedToken,
  responseHeaders,
  tokenMatches,
} from './headers.ts';

describe('relay headers', () => {
  it('drops hop-by-hop, credential and Connection-named headers', () => {
    const out = forwardableHeaders({
      host: 'relay',
      connection: 'keep-alive, x-secret-hop',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'proxy-authorization': 'Basic abc',
      'x-api-key': 'agent-token',
      authorization: 'Bearer agent-token',
      cookie: 'a=b',
      'x-secret-hop': 'v',
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      'content-length': '12',
    });
    expect(out).toEqual({
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      'content-length': '12',
      'transfer-encoding': 'chunked', // re-framed by us, not copied
    });
    expect(forwardableHeaders({ 'content-length': '2' })).toEqual({ 'content-length': '2' });
  });

  it('attaches an API key as x-api-key', () => {
    expect(attachCredential({ a: '1' }, { header: 'x-api-key', value: 'sk-real' })).toEqual({
      a: '1',
      'x-api-key': 'sk-real',
    });
  });

  it('attaches a bearer token, adding the oauth beta to the incoming list once', () => {
    const out = attachCredential(
      { 'anthropic-beta': 'claude-code-20250219, interleaved-thinking-2025-05-14' },
      { header: 'authorization', value: 'tok', oauth: true },
    );
    expect(out.authorization).toBe('Bearer tok');
    expect(out['anthropic-beta']).toBe(
      `claude-code-20250219,interleaved-thinking-2025-05-14,${OAUTH_BETA}`,
    );
    expect(mergeBeta(`x,${OAUTH_BETA}`, OAUTH_BETA)).toBe(`x,${OAUTH_BETA}`);
    expect(mergeBeta(undefined, OAUTH_BETA)).toBe(OAUTH_BETA);
    expect(
      attachCredential({}, { header: 'authorization', value: 'k' })['anthropic-beta'],
    ).toBeUndefined();
  });

  it('reads the presented token from x-api-key, else Bearer', () => {
    expect(presentedToken({ 'x-api-key': 'a', authorization: 'Bearer b' })).toBe('a');
    expect(presentedToken({ authorization: 'bearer  b ' })).toBe('b');
    expect(presentedToken({ authorization: 'Basic b' })).toBeUndefined();
    expect(presentedToken({})).toBeUndefined();
  });

  it('compares tokens without throwing on length mismatch', () => {
    const want = Buffer.from('token-123');
    expect(tokenMatches('token-123', want)).toBe(true);
    expect(tokenMatches('token-124', want)).toBe(false);
    expect(tokenMatches('token', want)).toBe(false);
    expect(tokenMatches('token-1234', want)).toBe(false);
    expect(tokenMatches(undefined, want)).toBe(false);
  });

  it('filters response headers', () => {
    expect(
      responseHeaders({
        connection: 'close',
        'set-cookie': ['a=b'],
        'content-type': 'text/event-stream',
        'request-id': 'r',
      }),
    ).toEqual({
      'content-type': 'text/event-stream',
      'request-id': 'r',
    });
  });
});
