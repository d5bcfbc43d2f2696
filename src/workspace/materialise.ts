/**
 * Building an agent's home (`runtime/<name>/home`, mounted at /home/agent) before each start.
 *
 * Order: the baseline (`$SAC_TO_HOME_BASELINE`, else `<agents dir>/_shared/to_home`, else
 * `<agents dir>/_base`), then the agent's own to_home: a per-agent file wins over the baseline's.
 * Per-file rules live in rules.ts; docs/workspace.md is the user-facing description.
 *
 * Two phases. First everything is read, parsed, merged and checked (sources, markers of the
 * existing home files, MCP conflicts) without writing; then the writes happen. So a refused start
 * (a credentials file, broken markers, an MCP conflict) leaves the home exactly as it was.
 *
 * The home is never wiped: Claude Code keeps its transcripts and state under `home/.claude/` and
 * `home/.claude.json`, and a restart must find them. A file removed from to_home therefore stays in
 * the home (except inside the managed blocks of CLAUDE.md/state.md, which follow the sources).
 * @module
 */
import { chmodSync, lchownSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Env } from '../paths.ts';
import { isDir } from '../paths.ts';
import type { LaunchPlan } from '../plan/launch-plan.ts';
import type { AgentRef } from '../spec/resolve.ts';
import type { AgentSpec } from '../spec/schema.ts';
import { fillMissing, seedClaudeJson } from './claude-json.ts';
import { ensureRealDir, HomeWriter, lstatOrUndefined, type Owner, reownTree } from './home-fs.ts';
import {
  hasPlaceholder,
  interpolate,
  interpolateJson,
  type InterpolationVars,
  isRecord,
} from './interpolate.ts';
import { assertNoMarkers, mergeManaged, splitManaged } from './markers.ts';
import { checkMcpDoc, type McpServer, type McpSource, mergeMcp, parseMcpJson } from './mcp.ts';
import { workspaceError } from './problems.ts';
import { decodeText, modeFor, ruleFor } from './rules.ts';
import { type LayerName, scanLayers, type SourceFile, type SourceTree } from './scan.ts';

export type { Owner } from './home-fs.ts';
export type { McpServer } from './mcp.ts';

/** Environment variable naming the baseline directory (the original's name). */
export const BASELINE_ENV = 'SAC_TO_HOME_BASELINE';

/** Where `home/.claude/CLAUDE.md` points when to_home has none: relative, so it works inside too. */
export const CLAUDE_MD_LINK = '../CLAUDE.md';

/** Files larger than this are copied byte for byte, never scanned for placeholders. */
export const MAX_TEXT_BYTES = 4 * 1024 * 1024;

export interface MaterialiseOptions {
  /** The agent's name (`${metadata.name}`). */
  name: string;
  /** `metadata.labels` (`${metadata.labels.<key>}`). */
  labels?: Readonly<Record<string, string>>;
  /** Host path of the home: `runtime/<name>/home`. Created if missing. */
  homeDir: string;
  /** The agent's to_home directory (resolved `spec.to_home`); a missing one is fine. */
  toHomeDir: string;
  /** The directory holding the agent directories: where `_shared/to_home` and `_base` are looked up. */
  agentsDir: string;
  /** The working directory: created on the host if missing; its sandbox path is marked trusted. */
  workdir: { host: string; sandbox: string };
  /** `spec.mcp_servers`. */
  mcpServers?: Readonly<Record<string, McpServer>>;
  /** The spec file, for messages about spec.mcp_servers. */
  specPath?: string;
  /**
   * The agent's own uid/gid when sac runs as root: everything sac creates or copies in the home is
   * chowned to it (and the workdir, only if sac created it), and the home is made 0700.
   */
  owner?: Owner;
  /** For `SAC_TO_HOME_BASELINE`; default `process.env`. Nothing else is read from it. */
  env?: Env;
}

export interface MaterialiseReport {
  home: string;
  /** The baseline directory applied, if any. */
  baseline: string | undefined;
  /** Home-relative paths of the files and links sac wrote, in order. */
  filesWritten: string[];
  warnings: string[];
  /**
   * The merged MCP servers, also written to `home/.mcp.json`. Claude Code reads `.mcp.json` from
   * its working directory, not from $HOME: the driver must pass these to the SDK (`mcpServers`,
   * delivered with `mcpServersDelivery: 'initialize'`, never on argv).
   */
  mcpServers: Record<string, McpServer>;
  /** True when the workdir did not exist and sac created it. */
  workdirCreated: boolean;
}

/** The baseline directory: `$SAC_TO_HOME_BASELINE`, else `_shared/to_home`, else `_base`. */
export function resolveBaseline(agentsDir: string, env: Env = process.env): string | undefined {
  const fromEnv = env[BASELINE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    // Explicitly configured: a typo must not silently start agents without their baseline.
    if (!isDir(fromEnv)) {
      throw workspaceError({ file: fromEnv }, `${BASELINE_ENV} names no directory`, {
        hint: `create it, or unset ${BASELINE_ENV} to use <agents dir>/_shared/to_home`,
      });
    }
    return fromEnv;
  }
  for (const candidate of [join(agentsDir, '_shared', 'to_home'), join(agentsDir, '_base')]) {
    if (isDir(candidate)) return candidate;
  }
  return undefined;
}

/** The options for an agent as the launch plan describes it. */
export function materialiseOptionsFor(
  ref: AgentRef,
  spec: AgentSpec,
  plan: LaunchPlan,
  extra: { owner?: Owner; env?: Env } = {},
): MaterialiseOptions {
  return {
    name: ref.name,
    labels: spec.metadata.labels,
    homeDir: plan.home.host,
    toHomeDir: plan.toHome,
    agentsDir: dirname(ref.agentDir),
    workdir: plan.workdir,
    mcpServers: spec.spec.mcp_servers,
    specPath: ref.specPath,
    ...(extra.owner === undefined ? {} : { owner: extra.owner }),
    ...(extra.env === undefined ? {} : { env: extra.env }),
  };
}

/** A write decided in the first phase and carried out in the second. */
type Op =
  | { op: 'dir'; rel: string; mode: number }
  | { op: 'data'; rel: string; data: string | Uint8Array; mode: number }
  | { op: 'copy'; rel: string; source: string; mode: number; mtime: Date }
  | { op: 'link'; rel: string; target: string };

/** Build or refresh the agent's home; see the module comment for the rules. */
export function materialiseHome(opts: MaterialiseOptions): MaterialiseReport {
  const env = opts.env ?? process.env;
  const vars: InterpolationVars = { name: opts.name, labels: opts.labels ?? {} };
  const baseline = resolveBaseline(opts.agentsDir, env);
  const layers: { name: LayerName; root: string }[] = [];
  if (baseline !== undefined) layers.push({ name: 'baseline', root: baseline });
  layers.push({ name: 'to_home', root: opts.toHomeDir });

  // ---- phase 1: read and decide (no writes)
  assertRealDirOrMissing(opts.homeDir);
  const tree = scanLayers(layers);
  const writer = new HomeWriter(opts.homeDir, opts.owner);
  const warnings = [...tree.warnings];
  const ops: Op[] = [];

  for (const dir of [...tree.dirs.values()].sort(byRel)) {
    ops.push({ op: 'dir', rel: dir.rel, mode: (dir.mode & 0o777) | 0o700 });
  }
  for (const file of [...tree.files.values()].sort(byRel)) {
    const rule = ruleFor(file.rel);
    // merged files are decided below from every layer at once
    if (rule === 'managed' || rule === 'mcp' || rule === 'claude-json') continue;
    ops.push(plainFile(file, modeFor(rule, file.mode), vars, warnings));
  }
  const managedWrites = planManaged(tree, writer, vars, warnings, ops);
  const mcp = planMcp(tree, opts, vars, warnings);
  ops.push({
    op: 'data',
    rel: '.mcp.json',
    data: `${JSON.stringify(mcp.doc, null, 2)}\n`,
    mode: 0o600,
  });
  const claudeJson = planClaudeJson(tree, writer, opts, vars, warnings);
  planClaudeMdLink(tree, writer, managedWrites, warnings, ops);
  for (const op of ops) writer.preflight(op.rel, op.op === 'dir' ? 'dir' : 'file');
  writer.preflight('.claude.json', 'file');

  // ---- phase 2: write
  const homeCreated = ensureRealDir(opts.homeDir, 0o700);
  prepareHomeOwnership(opts, homeCreated, warnings);
  if (claudeJson.corrupt !== undefined) {
    writer.writeFile(claudeJson.corrupt.rel, claudeJson.corrupt.data, 0o600);
  }
  for (const op of ops) apply(writer, op);
  writer.writeFile('.claude.json', `${JSON.stringify(claudeJson.doc, null, 2)}\n`, 0o600);

  const workdirCreated = prepareWorkdir(opts, warnings);
  return {
    home: opts.homeDir,
    baseline,
    filesWritten: writer.written,
    warnings,
    mcpServers: mcp.doc.mcpServers,
    workdirCreated,
  };
}

/** Reading "existing" files through a home that is a link would read someone else's files. */
function assertRealDirOrMissing(dir: string): void {
  const st = lstatOrUndefined(dir);
  if (st !== undefined && (st.isSymbolicLink() || !st.isDirectory())) {
    throw workspaceError(
      { file: dir },
      st.isSymbolicLink() ? 'is a symlink, not a directory' : 'is not a directory',
      {
        hint: 'an agent home must be a plain directory; move this entry away',
      },
    );
  }
}

function byRel(a: { rel: string }, b: { rel: string }): number {
  return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
}

function apply(writer: HomeWriter, op: Op): void {
  switch (op.op) {
    case 'dir':
      writer.ensureDir(op.rel, op.mode);
      return;
    case 'data':
      writer.writeFile(op.rel, op.data, op.mode);
      return;
    case 'copy':
      writer.copyFile(op.rel, op.source, op.mode, op.mtime);
      return;
    case 'link':
      writer.symlink(op.rel, op.target);
      return;
  }
}

function unresolvedWarnings(
  file: string,
  unresolved: readonly { placeholder: string; line: number }[],
  vars: InterpolationVars,
): string[] {
  const known = Object.keys(vars.labels);
  const labels = known.length > 0 ? `labels: ${known.join(', ')}` : 'the spec has no labels';
  return unresolved.map(
    (u) => `${file}:${u.line}: ${u.placeholder} names nothing (${labels}); left as written`,
  );
}

/** An ordinary or private file: interpolated if it is text with placeholders, else copied. */
function plainFile(
  file: SourceFile,
  mode: number,
  vars: InterpolationVars,
  warnings: string[],
): Op {
  if (file.size <= MAX_TEXT_BYTES) {
    const buf = readFileSync(file.path);
    const text = decodeText(buf);
    if (text !== undefined && hasPlaceholder(text)) {
      const r = interpolate(text, vars);
      warnings.push(...unresolvedWarnings(file.path, r.unresolved, vars));
      return { op: 'data', rel: file.rel, data: r.text, mode };
    }
  }
  return { op: 'copy', rel: file.rel, source: file.path, mode, mtime: file.mtime };
}

function readSourceText(file: SourceFile): string {
  const text = decodeText(readFileSync(file.path));
  if (text === undefined) {
    throw workspaceError({ file: file.path }, 'must be UTF-8 text', {
      hint: 'CLAUDE.md, state.md and .mcp.json are text files',
    });
  }
  return text;
}

const MANAGED_FILES = ['CLAUDE.md', 'state.md', '.claude/CLAUDE.md'] as const;

/**
 * CLAUDE.md, state.md, .claude/CLAUDE.md: the block between the markers follows the sources; the
 * rest of the home file is kept. Returns the home-relative paths that will exist as files.
 */
function planManaged(
  tree: SourceTree,
  writer: HomeWriter,
  vars: InterpolationVars,
  warnings: string[],
  ops: Op[],
): Set<string> {
  const present = new Set<string>();
  for (const rel of MANAGED_FILES) {
    const source = tree.files.get(rel);
    // .claude/CLAUDE.md without a source is the link's business (planClaudeMdLink)
    if (rel === '.claude/CLAUDE.md' && source === undefined) continue;
    let generated: string | undefined;
    if (source !== undefined) {
      const text = readSourceText(source);
      assertNoMarkers(text, source.path);
      const r = interpolate(text, vars);
      warnings.push(...unresolvedWarnings(source.path, r.unresolved, vars));
      generated = r.text;
    }
    let existing: string | undefined;
    if (writer.kind(rel) === 'symlink') {
      // never read through it (as root that could copy a host file into the home)
      if (generated === undefined) continue;
      warnings.push(
        `${writer.abs(rel)}: was a symlink; replaced by a regular file (sac never follows links in a home)`,
      );
    } else {
      existing = homeText(writer, rel);
    }
    const merged = mergeManaged(existing, generated, writer.abs(rel));
    warnings.push(...merged.warnings);
    if (merged.text !== undefined) {
      ops.push({
        op: 'data',
        rel,
        data: merged.text,
        mode: modeFor('managed', source?.mode ?? 0o644),
      });
    }
    if (merged.text !== undefined || existing !== undefined) present.add(rel);
  }
  return present;
}

/** A home file's text for merging; a binary one is refused rather than mangled. */
function homeText(writer: HomeWriter, rel: string): string | undefined {
  const buf = writer.read(rel);
  if (buf === undefined) return undefined;
  const text = decodeText(buf);
  if (text === undefined) {
    throw workspaceError(
      { file: writer.abs(rel) },
      'is not UTF-8 text, so its sac markers cannot be merged',
      {
        hint: 'move the file away; sac recreates it at the next start',
      },
    );
  }
  return text;
}

function layerLabel(layer: LayerName, path: string): string {
  return `${layer} ${path}`;
}

function planMcp(
  tree: SourceTree,
  opts: MaterialiseOptions,
  vars: InterpolationVars,
  warnings: string[],
): ReturnType<typeof mergeMcp> {
  const sources: McpSource[] = [];
  const addDoc = (label: string, file: string, doc: Record<string, unknown>): void => {
    const unresolved: string[] = [];
    const interpolated = interpolateJson(doc, vars, unresolved);
    for (const p of new Set(unresolved)) {
      warnings.push(`${file}: ${p} names nothing; left as written`);
    }
    sources.push({ label, file, doc: interpolated as Record<string, unknown> });
  };
  for (const f of tree.all.filter((x) => x.rel === '.mcp.json')) {
    addDoc(layerLabel(f.layer, f.path), f.path, parseMcpJson(readSourceText(f), f.path));
  }
  const spec = opts.mcpServers ?? {};
  if (Object.keys(spec).length > 0) {
    const file = opts.specPath ?? 'spec.yaml';
    addDoc(`spec.mcp_servers in ${file}`, file, checkMcpDoc({ mcpServers: spec }, file));
  }
  return mergeMcp(sources);
}

interface ClaudeJsonPlan {
  doc: Record<string, unknown>;
  /** An unreadable existing file, kept under another name before it is replaced. */
  corrupt: { rel: string; data: Uint8Array } | undefined;
}

function planClaudeJson(
  tree: SourceTree,
  writer: HomeWriter,
  opts: MaterialiseOptions,
  vars: InterpolationVars,
  warnings: string[],
): ClaudeJsonPlan {
  // to_home's seed fills first, the baseline's fills what is still missing
  let seed: Record<string, unknown> | undefined;
  for (const f of tree.all.filter((x) => x.rel === '.claude.json').reverse()) {
    const doc = interpolateJson(parseJsonObject(readSourceText(f), f.path), vars);
    seed = fillMissing(seed ?? {}, doc as Record<string, unknown>);
  }
  let existing: Record<string, unknown> | undefined;
  let corrupt: ClaudeJsonPlan['corrupt'];
  const buf = writer.read('.claude.json');
  if (buf !== undefined) {
    try {
      const value = JSON.parse(buf.toString('utf8')) as unknown;
      if (!isRecord(value)) throw new Error('not a JSON object');
      existing = value;
    } catch (err) {
      // Claude Code's own file is damaged: keep a copy for forensics, start from a clean one.
      corrupt = { rel: `.claude.json.corrupt-${Date.now()}`, data: buf };
      warnings.push(
        `${writer.abs('.claude.json')}: unreadable (${(err as Error).message}); kept as ${corrupt.rel} and rebuilt`,
      );
    }
  }
  const doc = seedClaudeJson(existing, seed, { trustedDirs: [opts.workdir.sandbox] });
  return { doc, corrupt };
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw workspaceError({ file }, `not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value)) throw workspaceError({ file }, 'expected a JSON object');
  return value;
}

/**
 * Claude Code reads user instructions from `~/.claude/CLAUDE.md`, not `~/CLAUDE.md`. Unless
 * to_home provides its own `.claude/CLAUDE.md`, link it to `../CLAUDE.md` so the agent's CLAUDE.md
 * reaches the model. A regular file there that holds someone's text is never replaced.
 */
function planClaudeMdLink(
  tree: SourceTree,
  writer: HomeWriter,
  managed: ReadonlySet<string>,
  warnings: string[],
  ops: Op[],
): void {
  const rel = '.claude/CLAUDE.md';
  if (tree.files.has(rel)) return;
  const path = writer.abs(rel);
  const kind = writer.kind('.claude') === 'dir' ? writer.kind(rel) : undefined;
  const hasTarget = managed.has('CLAUDE.md');
  const link = (): void => {
    if (!tree.dirs.has('.claude')) ops.push({ op: 'dir', rel: '.claude', mode: 0o700 });
    ops.push({ op: 'link', rel, target: CLAUDE_MD_LINK });
  };
  switch (kind) {
    case undefined:
      if (hasTarget) link();
      return;
    case 'symlink': {
      const target = readlinkSync(path);
      if (target === CLAUDE_MD_LINK) return;
      warnings.push(`${path}: pointed to ${target}; now points to ${CLAUDE_MD_LINK} again`);
      link();
      return;
    }
    case 'file': {
      const text = homeText(writer, rel);
      const split = text === undefined ? undefined : splitManaged(text, path);
      if (split !== undefined && `${split.head}${split.tail}`.trim() === '') {
        // entirely sac's, from a to_home that used to provide .claude/CLAUDE.md: replace by the link
        link();
        return;
      }
      if (split !== undefined) {
        // the source is gone: empty sac's block, keep the rest
        const merged = mergeManaged(text, undefined, path);
        if (merged.text !== undefined) {
          ops.push({ op: 'data', rel, data: merged.text, mode: 0o644 });
        }
      }
      warnings.push(
        `${path} is a file of its own, so ~/CLAUDE.md does not reach the model; ` +
          `move its content into to_home/CLAUDE.md and delete it, or provide to_home/.claude/CLAUDE.md`,
      );
      return;
    }
    case 'dir':
    case 'other':
      warnings.push(`${path} is not a file; ~/CLAUDE.md does not reach the model`);
      return;
  }
}

/**
 * The home is the agent's alone: mode 0700 (other users and other agents' uids must not read its
 * transcripts or MCP definitions) and, as root, owned by the agent's uid. A home that changes
 * hands (first start as root after runs as a user, or a new uid) is re-owned entirely, or the new
 * uid could not read what Claude Code wrote there before.
 */
function prepareHomeOwnership(
  opts: MaterialiseOptions,
  created: boolean,
  warnings: string[],
): void {
  const st = statSync(opts.homeDir);
  if ((st.mode & 0o777) !== 0o700) chmodSync(opts.homeDir, 0o700);
  const owner = opts.owner;
  if (owner === undefined || (st.uid === owner.uid && st.gid === owner.gid)) return;
  const changed = reownTree(opts.homeDir, owner);
  if (!created && changed > 1) {
    warnings.push(
      `${opts.homeDir}: was owned by ${st.uid}:${st.gid}; ${changed} entries re-owned to ${owner.uid}:${owner.gid}`,
    );
  }
}

/** Create the workdir if missing; chown only one sac created (never a user's directory). */
function prepareWorkdir(opts: MaterialiseOptions, warnings: string[]): boolean {
  const dir = opts.workdir.host;
  const owner = opts.owner;
  // 0711, not 0700: bwrap (root without DAC capabilities) must chdir into it before dropping to
  // the agent's uid; other host users still cannot list it
  const created = ensureRealDir(dir, owner === undefined ? 0o755 : 0o711);
  if (owner === undefined) return created;
  if (created) {
    lchownSync(dir, owner.uid, owner.gid);
    return true;
  }
  const st = statSync(dir);
  const writable =
    st.uid === owner.uid
      ? (st.mode & 0o200) !== 0
      : st.gid === owner.gid
        ? (st.mode & 0o020) !== 0
        : (st.mode & 0o002) !== 0;
  if (!writable) {
    warnings.push(
      `${dir}: the agent's uid ${owner.uid} cannot write its workdir (owned by ${st.uid}:${st.gid}, mode ${(st.mode & 0o777).toString(8)}); sac never changes the owner of an existing directory`,
    );
  }
  return false;
}
