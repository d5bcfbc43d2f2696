/**
 * The real model credential, read on the host by the supervisor and attached by its relay. It never
 * enters the sandbox. Order: the provider's token variable; else `ANTHROPIC_API_KEY`; else the
 * operator's Claude Code login (`$CLAUDE_CONFIG_DIR` or `~/.claude/.credentials.json`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import type { Env } from '../paths.ts';
import type { ProviderEndpoint } from '../plan/providers.ts';
import type { RelayCredential } from '../relay/relay.ts';

export interface ResolvedCredential {
  credential: RelayCredential;
  /** Where it came from, for status and logs (never the value). */
  source: string;
  /** Read from a file that can change (a Claude login): worth reading again. */
  fromFile?: boolean;
}

interface ClaudeCredentialsFile {
  claudeAiOauth?: { accessToken?: string; expiresAt?: number };
}

function claudeLogin(env: Env): { token: string; file: string; expiresAt?: number } | undefined {
  const files = [
    env.CLAUDE_CONFIG_DIR ? join(env.CLAUDE_CONFIG_DIR, '.credentials.json') : undefined,
    env.HOME ? join(env.HOME, '.claude', '.credentials.json') : undefined,
  ].filter((f): f is string => !!f);
  for (const file of files) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as ClaudeCredentialsFile;
      const token = parsed.claudeAiOauth?.accessToken;
      if (token) {
        return {
          token,
          file,
          ...(parsed.claudeAiOauth?.expiresAt ? { expiresAt: parsed.claudeAiOauth.expiresAt } : {}),
        };
      }
    } catch {
      // absent or unreadable: try the next one
    }
  }
  return undefined;
}

export function resolveCredential(
  provider: ProviderEndpoint,
  env: Env,
  now = Date.now(),
): ResolvedCredential {
  if (provider.tokenEnv) {
    const value = env[provider.tokenEnv];
    if (!value) {
      throw new AppError(
        'CREDENTIAL_MISSING',
        `provider ${provider.name} needs ${provider.tokenEnv}, which is not set`,
        {
          hint: `export ${provider.tokenEnv}=<key> in the environment that runs sac (it never enters the sandbox)`,
        },
      );
    }
    return { credential: { header: 'x-api-key', value }, source: `$${provider.tokenEnv}` };
  }
  if (env.ANTHROPIC_API_KEY) {
    return {
      credential: { header: 'x-api-key', value: env.ANTHROPIC_API_KEY },
      source: '$ANTHROPIC_API_KEY',
    };
  }
  const login = claudeLogin(env);
  if (login) {
    if (login.expiresAt !== undefined && login.expiresAt < now) {
      throw new AppError(
        'CREDENTIAL_MISSING',
        `the Claude Code login in ${login.file} has expired`,
        {
          hint: 'run `claude` once and /login again, or set ANTHROPIC_API_KEY',
        },
      );
    }
    return {
      credential: { header: 'authorization', value: login.token, oauth: true },
      source: login.file,
      fromFile: true,
    };
  }
  throw new AppError(
    'CREDENTIAL_MISSING',
    'no Anthropic credential: ANTHROPIC_API_KEY is not set and Claude Code is not logged in',
    {
      hint: 'export ANTHROPIC_API_KEY=<key>, or log in once with `claude` (/login), or set spec.claude.provider',
    },
  );
}
