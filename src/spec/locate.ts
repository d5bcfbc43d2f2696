/**
 * Map a path inside a parsed YAML document back to a line and column, so every problem is
 * reported where the user wrote it.
 * @module
 */
import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

/** Render a path the way users write it: `spec.startup_commands[0].command`. */
export function dotPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    return acc ? `${acc}.${seg}` : seg;
  }, '');
}

function keyMatches(key: unknown, seg: PathSegment): boolean {
  const value = isScalar(key) ? key.value : key;
  return String(value) === String(seg);
}

/**
 * The position of the node at `path`. With `at: 'key'` a map entry is located at its key (for
 * unknown or misplaced keys); otherwise at its value. Missing nodes fall back to the deepest
 * existing parent, so a missing required field points at the mapping that lacks it.
 */
export function locate(
  doc: Document,
  counter: LineCounter,
  path: readonly PathSegment[],
  at: 'key' | 'value' = 'value',
): Position | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyMatches(p.key, seg));
      if (!pair) break;
      if (last && at === 'key' && pair.key && typeof pair.key === 'object') {
        found = pair.key as Node;
        break;
      }
      node = pair.value;
      // `key:` with no value has a null value node without a range: point at the key instead
      const valueNode = pair.value as Node | null;
      found = valueNode?.range ? valueNode : ((pair.key as Node | null) ?? found);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      found = item;
    } else {
      break;
    }
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return undefined;
  const pos = counter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** A YAML parser message without its position suffix and code frame (we print file:line:col). */
export function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}
