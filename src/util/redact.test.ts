import { describe, expect, it } from 'vitest';
import { REDACTED, redactDeep, redactionsIn, redactSecrets } from './redact.ts';

describe('redactSecrets', () => {
  it('redacts Anthropic keys and OAuth tokens', () => {
    const key = 'sk-ant-api03-' + 'a'.repeat(40);
    expect(redactSecrets(`key is ${key}.`)).toBe(`key is sk-ant-${REDACTED}.`);
    expect(redactSecrets('sk-ant-oat01-abcdefghijkl')).toBe(`sk-ant-${REDACTED}`);
  });

  it('redacts bearer tokens but keeps the scheme', () => {
    expect(redactSecrets('Authorization: Bearer abc.def-ghi_jkl')).toBe(
      `Authorization: Bearer ${REDACTED}`,
    );
    expect(redactSecrets('bearer 12345678')).toBe(`bearer ${REDACTED}`);
  });

  it('redacts generic name=value and JSON "name": "value" secrets', () => {
    expect(redactSecrets('curl x?api_key=abc123&x=1')).toBe(`curl x?api_key=${REDACTED}&x=1`);
    expect(redactSecrets('API-KEY=zzz')).toBe(`API-KEY=${REDACTED}`);
    expect(redactSecrets('ANTHROPIC_AUTH_TOKEN=xyz')).toBe(`ANTHROPIC_AUTH_TOKEN=${REDACTED}`);
    expect(redactSecrets('client_secret: hunter2')).toBe(`client_secret: ${REDACTED}`);
    const json = JSON.stringify({ access_token: 'tok123', other: 'kept' });
    const out = redactSecrets(json);
    expect(JSON.parse(out)).toEqual({ access_token: REDACTED, other: 'kept' });
  });

  it('leaves token counts, variable names and ordinary prose alone', () => {
    for (const s of [
      'max_tokens=1000',
      '{"input_tokens": 12, "output_tokens": 34}',
      'auth_token_env: MY_PROVIDER_TOKEN_VAR',
      'the quick brown fox',
      'sk-learn is a library',
      'a sha256 of 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    ]) {
      expect(redactSecrets(s)).toBe(s);
    }
  });

  it('does not double-redact a key inside key=value', () => {
    const out = redactSecrets('api_key=sk-ant-api03-abcdefghijklmnop');
    expect(out).toBe(`api_key=sk-ant-${REDACTED}`);
  });

  it('redacts other well-known shapes', () => {
    expect(redactSecrets('ghp_' + 'A'.repeat(36))).toBe(REDACTED);
    expect(redactSecrets('AKIAABCDEFGHIJKLMNOP')).toBe(REDACTED);
    expect(redactSecrets('https://bob:s3cret@example.com/x')).toBe(
      `https://bob:${REDACTED}@example.com/x`,
    );
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY-----';
    expect(redactSecrets(pem)).toBe(
      `-----BEGIN RSA PRIVATE KEY-----${REDACTED}-----END RSA PRIVATE KEY-----`,
    );
    expect(redactSecrets('eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl')).toBe(REDACTED);
  });

  it('is idempotent', () => {
    const s = 'Bearer abcdefghijk api_key=abc sk-ant-api03-abcdefghijk';
    expect(redactSecrets(redactSecrets(s))).toBe(redactSecrets(s));
  });

  it('names the rules that fire', () => {
    expect(redactionsIn('Bearer abcdefghijk')).toEqual(['bearer']);
    expect(redactionsIn('nothing here')).toEqual([]);
  });

  it('redactDeep walks objects and arrays, keeps keys and non-strings', () => {
    expect(
      redactDeep({ token: 'x', n: 3, list: ['Bearer abcdefghijk', null], nested: { ok: true } }),
    ).toEqual({ token: 'x', n: 3, list: [`Bearer ${REDACTED}`, null], nested: { ok: true } });
  });
});
