/**
 * `${metadata.name}` and `${metadata.labels.<key>}` placeholders in to_home text files and MCP
 * server definitions. Pure.
 *
 * Deliberately NOT `${ENV}` (the original expanded host environment variables too): sac runs the
 * copy on the host, often as root, so `${ANTHROPIC_API_KEY}` in a to_home file would pull a host
 * secret into the sandbox, which the agent can read. Only the spec's own, non-secret metadata is
 * available. Any other `${...}` is left as written (shell scripts and docs use that syntax).
 * @module
 */

/** What placeholders may refer to: the agent's name and its labels. */
export interface InterpolationVars {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** A `${metadata...}` placeholder that names nothing (an unknown label): left as written. */
export interface UnresolvedPlaceholder {
  placeholder: string;
  /** 1-based line of its first character. */
  line: number;
}

export interface Interpolated {
  text: string;
  unresolved: UnresolvedPlaceholder[];
}

/**
 * `$${metadata.x}` is the escape: it yields the literal `${metadata.x}` (for docs that explain
 * the syntax). Label keys may hold anything but `}` and whitespace.
 */
const PLACEHOLDER = /(\$?)\$\{metadata\.([^}\s]*)\}/g;

/** True when `text` may contain a placeholder (cheap pre-check before the regex). */
export function hasPlaceholder(text: string): boolean {
  return text.includes('${metadata.');
}

function resolve(path: string, vars: InterpolationVars): string | undefined {
  if (path === 'name') return vars.name;
  if (path.startsWith('labels.')) {
    const key = path.slice('labels.'.length);
    return Object.hasOwn(vars.labels, key) ? vars.labels[key] : undefined;
  }
  return undefined;
}

/** Replace every known placeholder in `text`; report the unknown ones with their line. */
export function interpolate(text: string, vars: InterpolationVars): Interpolated {
  const unresolved: UnresolvedPlaceholder[] = [];
  if (!hasPlaceholder(text)) return { text, unresolved };
  const out = text.replace(
    PLACEHOLDER,
    (match: string, escape: string, path: string, offset: number) => {
      if (escape === '$') return match.slice(1);
      const value = resolve(path, vars);
      if (value !== undefined) return value;
      unresolved.push({ placeholder: match, line: lineAt(text, offset) });
      return match;
    },
  );
  return { text: out, unresolved };
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Interpolate every string inside a parsed JSON value (keys are left alone). Working on parsed
 * values rather than on the file text keeps the JSON valid whatever a label holds (`"`, `\`).
 */
export function interpolateJson(
  value: unknown,
  vars: InterpolationVars,
  unresolved: string[] = [],
): unknown {
  if (typeof value === 'string') {
    const r = interpolate(value, vars);
    unresolved.push(...r.unresolved.map((u) => u.placeholder));
    return r.text;
  }
  if (Array.isArray(value)) return value.map((v) => interpolateJson(v, vars, unresolved));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateJson(v, vars, unresolved);
    return out;
  }
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
