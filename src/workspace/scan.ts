/**
 * Reading the sources of a home (the baseline, then the agent's to_home) into one overlay, before
 * anything is written: every refusal (a credentials file, a dangling or looping symlink, a file in
 * one layer where the other has a directory) is found here, so a refused start leaves the home as
 * it was.
 * @module
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import type { Location } from './problems.ts';
import { workspaceErrors } from './problems.ts';
import { CREDENTIALS_FILE, isCredentialsFile } from './rules.ts';

export type LayerName = 'baseline' | 'to_home';

export interface SourceLayer {
  name: LayerName;
  /** Host directory; a missing one contributes nothing. */
  root: string;
}

export interface SourceFile {
  /** Home-relative path, `/`-separated. */
  rel: string;
  /** Host path as found (it may run through symlinks, which are followed). */
  path: string;
  layer: LayerName;
  /** Mode and times of the file itself (symlinks dereferenced). */
  mode: number;
  size: number;
  mtime: Date;
}

export interface SourceDir {
  rel: string;
  path: string;
  layer: LayerName;
  mode: number;
}

export interface SourceTree {
  /** Later layers win: a file of to_home replaces the baseline's file at the same path. */
  files: Map<string, SourceFile>;
  dirs: Map<string, SourceDir>;
  /** Every file of every layer, in layer order, shadowed ones included (for merged files). */
  all: SourceFile[];
  /** Layers that exist, in order. */
  layers: SourceLayer[];
  warnings: string[];
}

interface Problem {
  loc: Location;
  message: string;
}

const CREDENTIALS_HINT =
  'remove it from the to_home/baseline: real credentials never enter the sandbox; the ' +
  "supervisor's relay attaches them to the agent's model traffic";

/** Scan `layers` in order into one tree; throws WORKSPACE_INVALID listing every problem found. */
export function scanLayers(layers: readonly SourceLayer[]): SourceTree {
  const tree: SourceTree = { files: new Map(), dirs: new Map(), all: [], layers: [], warnings: [] };
  const problems: Problem[] = [];
  for (const layer of layers) {
    let st: Stats;
    try {
      st = statSync(layer.root);
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      problems.push({ loc: { file: layer.root }, message: `cannot read: ${errText(err)}` });
      continue;
    }
    if (!st.isDirectory()) {
      problems.push({ loc: { file: layer.root }, message: `${layer.name} is not a directory` });
      continue;
    }
    tree.layers.push(layer);
    walk(layer, layer.root, '', [realpathSync(layer.root)], tree, problems);
  }
  if (problems.length > 0) {
    const hint = problems.some((p) => p.message.includes(CREDENTIALS_FILE))
      ? CREDENTIALS_HINT
      : 'fix or remove the listed entries in the to_home/baseline directory';
    throw workspaceErrors(problems, hint);
  }
  return tree;
}

function walk(
  layer: SourceLayer,
  dir: string,
  relDir: string,
  ancestors: readonly string[],
  tree: SourceTree,
  problems: Problem[],
): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    problems.push({ loc: { file: dir }, message: `cannot read: ${errText(err)}` });
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    if (isCredentialsFile(rel)) {
      problems.push({
        loc: { file: path },
        message: `${CREDENTIALS_FILE} is never copied into an agent's home`,
      });
      continue;
    }
    const st = follow(path, problems);
    if (st === undefined) continue;
    if (st.isDirectory()) {
      const real = realpathSync(path);
      if (ancestors.includes(real)) {
        problems.push({ loc: { file: path }, message: `symlink loop: leads back to ${real}` });
        continue;
      }
      const clash = tree.files.get(rel);
      if (clash !== undefined) {
        problems.push({
          loc: { file: path },
          message: `is a directory, but ${clash.layer} has a file at ${rel} (${clash.path})`,
        });
        continue;
      }
      tree.dirs.set(rel, { rel, path, layer: layer.name, mode: st.mode });
      walk(layer, path, rel, [...ancestors, real], tree, problems);
    } else if (st.isFile()) {
      // A symlink with an innocent name can still point at a credentials file.
      if (basename(realpathSync(path)) === CREDENTIALS_FILE) {
        problems.push({
          loc: { file: path },
          message: `links to a ${CREDENTIALS_FILE}, which is never copied into an agent's home`,
        });
        continue;
      }
      const clash = tree.dirs.get(rel);
      if (clash !== undefined) {
        problems.push({
          loc: { file: path },
          message: `is a file, but ${clash.layer} has a directory at ${rel} (${clash.path})`,
        });
        continue;
      }
      const file = { rel, path, layer: layer.name, mode: st.mode, size: st.size, mtime: st.mtime };
      tree.files.set(rel, file);
      tree.all.push(file);
    } else {
      tree.warnings.push(
        `${path}: not a regular file or directory (fifo, socket or device); skipped`,
      );
    }
  }
}

/** stat() through symlinks; a dangling or looping link is a problem (the copy would be incomplete). */
function follow(path: string, problems: Problem[]): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = errno(err);
    let target = '';
    try {
      if (lstatSync(path).isSymbolicLink()) target = readlinkSync(path);
    } catch {
      // the lstat failing too means the entry vanished; the original error says enough
    }
    const message =
      code === 'ENOENT' && target !== ''
        ? `dangling symlink (-> ${target})`
        : code === 'ELOOP'
          ? `symlink loop (-> ${target})`
          : `cannot read: ${errText(err)}`;
    problems.push({ loc: { file: path }, message });
    return undefined;
  }
}

function errno(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
