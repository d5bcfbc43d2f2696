/**
 * Which rule applies to a file copied into the home, chosen by its home-relative path. Pure.
 *
 * | path                                          | rule                                    |
 * |-----------------------------------------------|-----------------------------------------|
 * | `CLAUDE.md`, `state.md`, `.claude/CLAUDE.md`  | marker-protected merge (markers.ts)     |
 * | `.mcp.json` (top level)                       | merge of every source (mcp.ts)          |
 * | `.claude.json` (top level)                    | seeds Claude Code's state (claude-json) |
 * | `.env`, `.envrc` (any depth)                  | overwrite, mode 0600                    |
 * | `.credentials.json` (any depth, any layer)    | refused: the whole start fails          |
 * | anything else                                 | overwrite, source mode                  |
 *
 * The marker rule is limited to these three paths on purpose: a skill's own `state.md` deep in
 * `.claude/skills/` is the skill author's file and must arrive byte for byte.
 * @module
 */

export type FileRule = 'managed' | 'mcp' | 'claude-json' | 'private' | 'copy';

/** Credentials never enter the sandbox: the supervisor's relay attaches the real one. */
export const CREDENTIALS_FILE = '.credentials.json';

const MANAGED = new Set(['CLAUDE.md', 'state.md', '.claude/CLAUDE.md']);
const PRIVATE = new Set(['.env', '.envrc']);

/** The rule for `rel`, a home-relative path with `/` separators. */
export function ruleFor(rel: string): FileRule {
  if (MANAGED.has(rel)) return 'managed';
  if (rel === '.mcp.json') return 'mcp';
  if (rel === '.claude.json') return 'claude-json';
  if (PRIVATE.has(baseName(rel))) return 'private';
  return 'copy';
}

export function isCredentialsFile(rel: string): boolean {
  return baseName(rel) === CREDENTIALS_FILE;
}

/**
 * The mode of the home copy. Set-id and sticky bits never cross (sac may run as root and chown
 * the copy to the agent); secrets and MCP definitions (whose env may hold tokens) are 0600;
 * marker files must stay writable by their owner, who adds notes below the end marker.
 */
export function modeFor(rule: FileRule, sourceMode: number): number {
  const perms = sourceMode & 0o777;
  switch (rule) {
    case 'private':
    case 'mcp':
    case 'claude-json':
      return 0o600;
    case 'managed':
      return perms | 0o600;
    case 'copy':
      return perms;
  }
}

function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? rel : rel.slice(i + 1);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text is what placeholders are replaced in: valid UTF-8 without NUL bytes. Anything else (images,
 * archives, compiled helpers) is copied byte for byte.
 */
export function decodeText(buf: Uint8Array): string | undefined {
  if (buf.includes(0)) return undefined;
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}
