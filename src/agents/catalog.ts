/**
 * The catalog of defined agents: every spec in every scope, summarised. Summaries are cached in
 * state.db keyed by file identity (device, inode, size, mtime) and sac version, so listing
 * hundreds of agents parses only the specs that changed. Spec files stay the source of truth.
 * @module
 */
import { statSync } from 'node:fs';
import type { SpecIssue } from '../errors.ts';
import { type AgentRef, listAgents, type ResolveOptions } from '../spec/resolve.ts';
import { sacVersion } from '../version.ts';
import type { Store } from '../store/db.ts';
import { type DefinitionRow, getDefinitions, putDefinition } from '../store/repos/definitions.ts';

/** What `list` and `find` need of a spec, small enough to cache. */
export interface AgentSummary {
  name: string;
  kind: string | null;
  valid: boolean;
  runtime: string | null;
  model: string | null;
  description: string | null;
  capabilities: string[];
  errors: number;
  warnings: number;
  /** First error, for a one-line reason in listings. */
  firstError: string | null;
}

export interface CatalogEntry extends AgentRef {
  summary: AgentSummary;
}

interface Identity {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
}

function identity(path: string): Identity | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return {
      dev: st.dev.toString(),
      ino: st.ino.toString(),
      size: Number(st.size),
      mtimeNs: st.mtimeNs.toString(),
    };
  } catch {
    return undefined;
  }
}

function csv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Summarise one spec file (loads the parser: the slow path the cache avoids). */
export async function summarise(ref: AgentRef): Promise<{ summary: AgentSummary; sha256: string }> {
  const { parseSpecFile } = await import('../spec/parse.ts');
  const { effectiveRuntime } = await import('../spec/rules.ts');
  const result = parseSpecFile(ref.specPath);
  const count = (sev: SpecIssue['severity']): number =>
    result.issues.filter((i) => i.severity === sev).length;
  const firstError = result.issues.find((i) => i.severity === 'error');
  if (!result.ok) {
    return {
      sha256: result.sha256,
      summary: {
        name: ref.name,
        kind: null,
        valid: false,
        runtime: null,
        model: null,
        description: null,
        capabilities: [],
        errors: count('error'),
        warnings: count('warning'),
        firstError: firstError
          ? `${firstError.line ?? '?'}:${firstError.col ?? '?'} ${firstError.path} ${firstError.message}`
          : null,
      },
    };
  }
  const labels = result.spec.metadata?.labels ?? {};
  return {
    sha256: result.sha256,
    summary: {
      name: ref.name,
      kind: result.spec.kind,
      valid: true,
      runtime: effectiveRuntime(result.spec).runtime,
      model: result.spec.kind === 'Agent' ? result.spec.spec.claude.model : null,
      description: labels.description ?? null,
      capabilities: [...new Set([...csv(labels.capabilities), ...csv(labels.skills)])],
      errors: 0,
      warnings: count('warning'),
      firstError: null,
    },
  };
}

/** Every defined agent with its summary, from the cache where the file is unchanged. */
export async function loadCatalog(
  opts: ResolveOptions & { store?: Store | undefined } = {},
): Promise<CatalogEntry[]> {
  const refs = listAgents(opts);
  const store = opts.store;
  const cached = store
    ? getDefinitions(
        store,
        refs.map((r) => r.specPath),
      )
    : new Map<string, DefinitionRow>();
  const version = sacVersion();
  const out: CatalogEntry[] = [];
  for (const ref of refs) {
    const id = identity(ref.specPath);
    const row = cached.get(ref.specPath);
    if (
      id &&
      row &&
      row.file_dev === id.dev &&
      row.file_ino === id.ino &&
      row.file_size === id.size &&
      row.file_mtime_ns === id.mtimeNs
    ) {
      const parsed = JSON.parse(row.summary_json) as {
        sacVersion?: string;
        summary?: AgentSummary;
      };
      if (parsed.sacVersion === version && parsed.summary) {
        out.push({ ...ref, summary: parsed.summary });
        continue;
      }
    }
    const { summary, sha256 } = await summarise(ref);
    out.push({ ...ref, summary });
    if (store && id) {
      putDefinition(store, {
        path: ref.specPath,
        name: ref.name,
        scope: ref.scope,
        file_dev: id.dev,
        file_ino: id.ino,
        file_size: id.size,
        file_mtime_ns: id.mtimeNs,
        spec_sha256: sha256,
        valid: summary.valid ? 1 : 0,
        summary_json: JSON.stringify({ sacVersion: version, summary }),
        checked_at: new Date().toISOString(),
      });
    }
  }
  return out;
}

/** True when `capabilities` includes `capability` (case-insensitive). */
export function hasCapability(capabilities: readonly string[], capability: string): boolean {
  const want = capability.trim().toLowerCase();
  return capabilities.some((c) => c.toLowerCase() === want);
}
