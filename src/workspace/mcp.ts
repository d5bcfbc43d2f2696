/**
 * The agent's `.mcp.json`: the union of the baseline's, the agent's to_home's and `spec.mcp_servers`.
 * Pure. The result is regenerated at every start (an edit the agent made to its copy does not
 * survive), and a server name defined in two sources with different content is an error naming
 * both: silently picking one would run a server nobody asked for.
 * @module
 */
import { isRecord } from './interpolate.ts';
import { type Location, workspaceError } from './problems.ts';

/** One MCP server definition, in the `.mcp.json` shape (`command`/`args`/`env` or `type`/`url`). */
export type McpServer = Record<string, unknown>;

export interface McpSource {
  /** For messages: `to_home /a/to_home/.mcp.json`, `spec.mcp_servers in /a/spec.yaml`. */
  label: string;
  /** The file the servers were read from (the spec file for spec.mcp_servers). */
  file: string;
  /** The document: `{ mcpServers: { name: server } }`, possibly with other top-level keys. */
  doc: Record<string, unknown>;
}

export interface McpMerged {
  /** What `.mcp.json` in the home contains. */
  doc: Record<string, unknown> & { mcpServers: Record<string, McpServer> };
  /** Server name → label of the source(s) defining it (first one). */
  origin: Record<string, string>;
}

/** Parse and shape-check a `.mcp.json` file. */
export function parseMcpJson(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const loc: Location =
      pos?.[1] === undefined ? { file } : { file, line: lineOfOffset(text, Number(pos[1])) };
    throw workspaceError(loc, `not valid JSON: ${message}`, {
      hint: 'fix the JSON syntax (.mcp.json is {"mcpServers": {"name": {...}}})',
    });
  }
  return checkMcpDoc(value, file);
}

/** Check the `.mcp.json` shape: an object whose `mcpServers`, if present, maps names to objects. */
export function checkMcpDoc(value: unknown, file: string): Record<string, unknown> {
  const hint = '.mcp.json is {"mcpServers": {"<name>": {"command": ..., "args": [...]}}}';
  if (!isRecord(value)) throw workspaceError({ file }, 'expected a JSON object', { hint });
  const servers = value.mcpServers;
  if (servers === undefined) return value;
  if (!isRecord(servers)) throw workspaceError({ file }, 'mcpServers must be an object', { hint });
  for (const [name, server] of Object.entries(servers)) {
    if (!isRecord(server)) {
      throw workspaceError({ file }, `mcpServers.${name} must be an object`, { hint });
    }
  }
  return value;
}

/** Merge sources in order (baseline, to_home, spec). */
export function mergeMcp(sources: readonly McpSource[]): McpMerged {
  const servers: Record<string, McpServer> = {};
  const origin: Record<string, string> = {};
  let rest: Record<string, unknown> = {};
  for (const src of sources) {
    const { mcpServers, ...other } = src.doc;
    rest = deepMerge(rest, other);
    if (!isRecord(mcpServers)) continue;
    for (const [name, server] of Object.entries(mcpServers)) {
      if (!isRecord(server)) continue;
      const seen = servers[name];
      if (seen !== undefined && canonicalJson(seen) !== canonicalJson(server)) {
        throw workspaceError(
          { file: src.file },
          `MCP server "${name}" is defined differently in ${origin[name]} and in ${src.label}`,
          {
            hint: `keep one definition of "${name}" (or make both identical), or rename one of them`,
            details: { server: name, sources: [origin[name], src.label] },
          },
        );
      }
      if (seen === undefined) {
        servers[name] = server;
        origin[name] = src.label;
      }
    }
  }
  return { doc: { ...rest, mcpServers: servers }, origin };
}

/** Objects merge key by key; anything else: the later value wins. */
function deepMerge(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

/** JSON with object keys sorted: equal for values that differ only in key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function lineOfOffset(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}
