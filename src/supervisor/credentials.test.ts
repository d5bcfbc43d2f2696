import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { resolveCredential } from './credentials.ts';

const anthropic = { name: 'anthropic', baseUrl: 'https://api.anthropic.com', tokenEnv: undefined };
const deepseek = { name: 'deepseek', baseUrl: 'https://x', tokenEnv: 'DEEPSEEK_API_KEY' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function loginHome(token: string, expiresAt: number): string {
  const home = mkdtempSync(join(tmpdir(), 'sac-cred-'));
  dirs.push(home);
  mkdirSync(join(home, '.claude'));
  writeFileSync(
    join(home, '.claude', '.credentials.json'),
    JSON.stringify({ claudeAiOauth: { accessToken: token, expiresAt } }),
  );
  return home;
}

describe('resolveCredential', () => {
  it("prefers the provider's token variable, then ANTHROPIC_API_KEY, then the Claude login", () => {
    expect(
      resolveCredential(deepseek, { DEEPSEEK_API_KEY: 'ds', ANTHROPIC_API_KEY: 'a' }),
    ).toMatchObject({
      credential: { header: 'x-api-key', value: 'ds' },
      source: '$DEEPSEEK_API_KEY',
    });
    expect(resolveCredential(anthropic, { ANTHROPIC_API_KEY: 'a' }).credential).toEqual({
      header: 'x-api-key',
      value: 'a',
    });
    const home = loginHome('oauth-token', Date.now() + 60_000);
    expect(resolveCredential(anthropic, { HOME: home })).toMatchObject({
      credential: { header: 'authorization', value: 'oauth-token', oauth: true },
      fromFile: true,
    });
  });

  it('names what is missing, with a distinct code', () => {
    for (const [p, env] of [
      [deepseek, {}],
      [anthropic, {}],
      [anthropic, { HOME: loginHome('t', Date.now() - 1) }],
    ] as const) {
      try {
        resolveCredential(p, env);
        expect.unreachable();
      } catch (err) {
        expect(isAppError(err) && err.code).toBe('CREDENTIAL_MISSING');
      }
    }
  });
});
