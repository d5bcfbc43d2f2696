/**
 * Model providers: where an agent's model traffic goes and which host environment variable holds
 * the credential. The supervisor's relay reads the variable on the host; the value never enters
 * the sandbox.
 * @module
 */
import type { ProviderName } from '../spec/schema.ts';

export interface ProviderEndpoint {
  /** Registry name, or `custom` for an inline `{base_url, auth_token_env}`. */
  name: string;
  baseUrl: string;
  /** Host environment variable holding the token; undefined means "the operator's Claude login or ANTHROPIC_API_KEY". */
  tokenEnv: string | undefined;
}

/** The original's bundled registry (inventory §1.5), minus its operator-specific `codex` gateway. */
// keyed by the schema's provider names, so the compiler keeps the two lists equal
export const PROVIDER_REGISTRY: Readonly<Record<ProviderName, ProviderEndpoint>> = {
  anthropic: { name: 'anthropic', baseUrl: 'https://api.anthropic.com', tokenEnv: undefined },
  deepseek: {
    name: 'deepseek',
    baseUrl: 'https://api.deepseek.com/anthropic',
    tokenEnv: 'DEEPSEEK_API_KEY',
  },
  mimo: {
    name: 'mimo',
    baseUrl: 'https://token-plan-sgp.xiaomimimo.com/anthropic',
    tokenEnv: 'XIAOMI_API_KEY',
  },
  xiaomi: {
    name: 'xiaomi',
    baseUrl: 'https://token-plan-sgp.xiaomimimo.com/anthropic',
    tokenEnv: 'XIAOMI_API_KEY',
  },
};

export type ProviderSetting =
  string | { base_url: string; auth_token_env: string } | null | undefined;

/** The endpoint a spec's `claude.provider` names, or undefined for an unknown registry name. */
export function resolveProvider(setting: ProviderSetting): ProviderEndpoint | undefined {
  if (setting == null || setting === '') return PROVIDER_REGISTRY.anthropic;
  if (typeof setting === 'string') {
    const key = setting.toLowerCase();
    return key in PROVIDER_REGISTRY ? PROVIDER_REGISTRY[key as ProviderName] : undefined;
  }
  return { name: 'custom', baseUrl: setting.base_url, tokenEnv: setting.auth_token_env };
}
