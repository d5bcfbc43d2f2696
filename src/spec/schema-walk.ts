/**
 * Read-only introspection of the spec schema: which keys exist at a path (for "did you mean"
 * hints). Walks zod v4 definitions; anything it does not understand yields no suggestions.
 * @module
 */
import type { PathSegment } from './locate.ts';
import { AgentSpecSchema } from './schema.ts';

interface ZodDefLike {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  options?: unknown[];
  valueType?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
}

/** Strip wrappers (optional, default, pipe, ...) down to the structural schemas at this level. */
function structural(schema: unknown, depth = 0): unknown[] {
  const def = defOf(schema);
  if (!def || depth > 20) return [];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return structural(def.innerType, depth + 1);
    case 'pipe':
      return structural(def.in, depth + 1);
    case 'union':
      return (def.options ?? []).flatMap((o) => structural(o, depth + 1));
    case undefined:
    default:
      return [schema];
  }
}

function child(schema: unknown, seg: PathSegment): unknown[] {
  return structural(schema).flatMap((s) => {
    const def = defOf(s);
    if (def?.type === 'object' && typeof seg === 'string' && def.shape && seg in def.shape) {
      return [def.shape[seg]];
    }
    if (def?.type === 'array' && typeof seg === 'number') return [def.element];
    if (def?.type === 'record') return [def.valueType];
    return [];
  });
}

/** The keys the schema defines for the mapping at `path` (empty when unknown). */
export function knownKeysAt(path: readonly PathSegment[]): string[] {
  let level: unknown[] = [AgentSpecSchema];
  for (const seg of path) level = level.flatMap((s) => child(s, seg));
  const keys = new Set<string>();
  for (const s of level.flatMap((l) => structural(l))) {
    const def = defOf(s);
    if (def?.type === 'object' && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return [...keys];
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest known key when it is close enough to be a typo. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestScore) {
      best = k;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(key.length / 3))
    ? best
    : undefined;
}
