/**
 * Redaction of known secret shapes in free text (exports, transcripts, the dashboard).
 *
 * Pure and conservative: it only rewrites the secret part and keeps the surrounding text (the key
 * name, `Bearer `, quotes), so a redacted JSON string stays valid JSON and a reader still sees what
 * was there. It cannot find secrets of unknown shapes; callers must not treat it as a guarantee.
 * @module
 */

/** What a secret is replaced with. Stable: tests and downstream tools may look for it. */
export const REDACTED = '[REDACTED]';

interface Rule {
  /** Stable name, for `redactionsIn` callers that want to report what was found. */
  name: string;
  re: RegExp;
  replace: string | ((match: string, ...groups: string[]) => string);
}

// Order matters: the specific shapes run before the generic `name=value` rule, so an Anthropic key
// in `api_key=sk-ant-...` is rewritten once, not twice.
const RULES: readonly Rule[] = [
  {
    // PEM private keys: the whole block, as a partial key is still a key.
    name: 'private-key',
    re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
    replace: `-----BEGIN $1PRIVATE KEY-----${REDACTED}-----END $1PRIVATE KEY-----`,
  },
  {
    // Anthropic API keys and OAuth tokens: sk-ant-api03-..., sk-ant-oat01-...
    name: 'anthropic-key',
    re: /\bsk-ant-[A-Za-z0-9_-]{8,}/g,
    replace: `sk-ant-${REDACTED}`,
  },
  {
    // OpenAI-style keys (sk-..., sk-proj-...); long enough not to hit words like "sk-learn".
    name: 'openai-key',
    re: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g,
    replace: `sk-${REDACTED}`,
  },
  {
    name: 'github-token',
    re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g,
    replace: REDACTED,
  },
  {
    name: 'aws-access-key',
    re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
    replace: REDACTED,
  },
  {
    // JSON Web Tokens: three base64url parts, the first two starting with `{"` encoded.
    name: 'jwt',
    re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g,
    replace: REDACTED,
  },
  {
    // Authorization headers and the like: keep the scheme, drop the credential.
    name: 'bearer',
    re: /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    // Passwords in URLs: scheme://user:password@host
    name: 'url-password',
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi,
    replace: `$1${REDACTED}@`,
  },
  {
    // Generic `api_key=value`, `"access_token": "value"`, `ANTHROPIC_AUTH_TOKEN: value`,
    // `X-Api-Key: value`. The name must END in a secret word, so `max_tokens=100`, `input_tokens`
    // and `auth_token_env: MY_VAR` (a variable name, not a secret) are left alone.
    name: 'key-value',
    re: /\b([A-Za-z0-9_-]*(?:api[_-]?key|token|secret|password|passwd))(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)/gi,
    // A value an earlier rule already redacted (`api_key=sk-ant-[REDACTED]`) is left as it is.
    replace: (match: string, name: string, sep: string, value: string) =>
      value.includes(REDACTED) ? match : `${name}${sep}${REDACTED}`,
  },
];

/** Replace every known secret shape in `text` with {@link REDACTED}. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const rule of RULES) {
    const { re, replace } = rule;
    out = typeof replace === 'string' ? out.replace(re, replace) : out.replace(re, replace);
  }
  return out;
}

/** The names of the rules that would fire on `text` (for reports such as "2 secrets redacted"). */
export function redactionsIn(text: string): string[] {
  return RULES.filter((rule) => new RegExp(rule.re.source, rule.re.flags).test(text)).map(
    (rule) => rule.name,
  );
}

/**
 * Redact every string inside a JSON-like value, recursively. Numbers, booleans and null pass
 * through; object keys are kept (they are names, not secrets).
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
