/**
 * Writing into an agent's home without trusting it. Between two starts the home belongs to the
 * agent, which may have replaced any entry with a symlink (`CLAUDE.md -> /etc/shadow`,
 * `.claude -> /root/.claude`). sac writes there on the host, often as root, so it:
 *
 * - never follows a symlink in the home: parent directories must be real directories (checked with
 *   lstat, component by component), existing files are read with O_NOFOLLOW, and new content is
 *   written to a temporary file and renamed over the old entry (rename replaces a symlink itself,
 *   not its target, and also replaces a read-only file without a chmod dance);
 * - changes ownership with lchown/fchown only, so a link can never make it chown a host file.
 *
 * The agent is not running while sac prepares its home (the start sequence guarantees it), so
 * these checks are not racing it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError, isAppError } from '../errors.ts';
import { workspaceError } from './problems.ts';

/** The uid/gid the agent runs as, when it is not the operator's (sac runs as root). */
export interface Owner {
  uid: number;
  gid: number;
}

const SYMLINK_HINT =
  'something (likely the agent) replaced part of its home with a symlink; sac never writes ' +
  'through links in a home. Remove the link, then start again';

export class HomeWriter {
  /** Home-relative paths of the files and links written, in order. */
  readonly written: string[] = [];

  readonly home: string;
  readonly owner: Owner | undefined;

  constructor(home: string, owner: Owner | undefined) {
    this.home = home;
    this.owner = owner;
  }

  abs(rel: string): string {
    return rel === '' ? this.home : join(this.home, ...rel.split('/'));
  }

  /**
   * Throw now what writing `rel` as a directory or a file would throw later (a planted symlink, a
   * directory where a file goes), so a refused start writes nothing at all.
   */
  preflight(rel: string, as: 'dir' | 'file'): void {
    this.walkDirs(as === 'dir' ? rel : parentOf(rel), undefined);
    if (as === 'file') this.assertNotDir(rel);
  }

  /** Make `rel` (and its parents) real directories in the home; created ones get `mode`. */
  ensureDir(rel: string, mode = 0o755): void {
    this.walkDirs(rel, mode);
  }

  /** Check (mode undefined) or create (with mode) every component of `rel` as a real directory. */
  private walkDirs(rel: string, mode: number | undefined): void {
    if (rel === '') return;
    let cur = '';
    for (const part of rel.split('/')) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const path = this.abs(cur);
      const st = lstatOrUndefined(path);
      if (st === undefined) {
        // nothing further down can exist either
        if (mode === undefined) return;
        this.io(path, 'create directory', () => {
          mkdirSync(path, { mode });
          // mkdir's mode is filtered by the umask; the source's mode is what was asked for
          chmodSync(path, mode);
          if (this.owner) lchownSync(path, this.owner.uid, this.owner.gid);
        });
      } else if (st.isSymbolicLink()) {
        throw workspaceError({ file: path }, 'is a symlink where sac needs a directory', {
          hint: SYMLINK_HINT,
        });
      } else if (!st.isDirectory()) {
        throw workspaceError({ file: path }, 'is a file where to_home has a directory', {
          hint: 'move the file away in the home (or rename the directory in to_home)',
        });
      }
    }
  }

  /** The current content of a home file; undefined if absent or not a regular file. */
  read(rel: string): Buffer | undefined {
    // O_NOFOLLOW guards the last component only: the parents must be real directories too
    this.walkDirs(parentOf(rel), undefined);
    const path = this.abs(rel);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ELOOP: the entry is a symlink. Reading through it as root could copy a host file into the
      // home; treat it as absent (it is replaced by a regular file when written).
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
      throw ioError(path, 'read', err);
    }
    try {
      if (!fstatSync(fd).isFile()) return undefined;
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** What is at `rel` now, without following a link. */
  kind(rel: string): 'file' | 'dir' | 'symlink' | 'other' | undefined {
    const st = lstatOrUndefined(this.abs(rel));
    if (st === undefined) return undefined;
    if (st.isSymbolicLink()) return 'symlink';
    if (st.isDirectory()) return 'dir';
    return st.isFile() ? 'file' : 'other';
  }

  /** Atomically replace `rel` with `data` (mode `mode`, owned by the agent). */
  writeFile(rel: string, data: string | Uint8Array, mode: number): void {
    this.replace(rel, mode, (_tmp, fd) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    });
  }

  /** Atomically replace `rel` with a byte copy of `source`, keeping its modification time. */
  copyFile(rel: string, source: string, mode: number, mtime: Date): void {
    this.replace(rel, mode, (tmp) => {
      copyFileSync(source, tmp);
      utimesSync(tmp, mtime, mtime);
    });
  }

  /** Make `rel` a symlink to `target` (replacing a file or link there). */
  symlink(rel: string, target: string): void {
    this.ensureDir(parentOf(rel));
    this.assertNotDir(rel);
    const path = this.abs(rel);
    const tmp = tempName(path);
    this.io(path, 'create symlink', () => {
      symlinkSync(target, tmp);
      try {
        if (this.owner) lchownSync(tmp, this.owner.uid, this.owner.gid);
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    });
    this.written.push(rel);
  }

  remove(rel: string): void {
    const path = this.abs(rel);
    this.io(path, 'remove', () => unlinkSync(path));
  }

  /**
   * Write a temporary file next to `rel`, let `fill` put the content in, fix its mode and owner,
   * then rename it over `rel`. A crash leaves either the old or the new file, never half of one.
   */
  private replace(rel: string, mode: number, fill: (tmp: string, fd: number) => void): void {
    this.ensureDir(parentOf(rel));
    const path = this.abs(rel);
    this.assertNotDir(rel);
    const tmp = tempName(path);
    this.io(path, 'write', () => {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        try {
          fill(tmp, fd);
          fchmodSync(fd, mode);
          if (this.owner) fchownSync(fd, this.owner.uid, this.owner.gid);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
    });
    this.written.push(rel);
  }

  private assertNotDir(rel: string): void {
    const path = this.abs(rel);
    if (lstatOrUndefined(path)?.isDirectory()) {
      throw workspaceError({ file: path }, 'is a directory where sac writes a file', {
        hint: 'move the directory away in the home (or rename the file in to_home)',
      });
    }
  }

  private io(path: string, action: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw isAppError(err) ? err : ioError(path, action, err);
    }
  }
}

/**
 * Make `dir` an existing real directory with `mode`; returns whether it was created. Missing
 * parents are created 0755 (operator-owned: traversable by an agent's uid, e.g. for the host
 * runtime, never writable by it); only `dir` itself gets `mode`.
 */
export function ensureRealDir(dir: string, mode: number): boolean {
  const before = lstatOrUndefined(dir);
  if (before === undefined) {
    try {
      mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
      mkdirSync(dir, { mode });
      chmodSync(dir, mode);
    } catch (err) {
      throw ioError(dir, 'create directory', err);
    }
    return true;
  }
  if (before.isSymbolicLink() || !before.isDirectory()) {
    throw workspaceError(
      { file: dir },
      before.isSymbolicLink() ? 'is a symlink, not a directory' : 'is not a directory',
      {
        hint: 'sac keeps agent homes as plain directories; move this entry away',
      },
    );
  }
  return false;
}

/**
 * lchown every entry under `root` (and `root`) to `owner`, never following links. Used once when
 * a home changes hands (first start as root, or a new uid): files Claude Code wrote as the old
 * owner would otherwise be unreadable to the new one.
 */
export function reownTree(root: string, owner: Owner): number {
  let n = 0;
  const visit = (path: string): void => {
    const st = lstatSync(path);
    if (st.uid !== owner.uid || st.gid !== owner.gid) {
      lchownSync(path, owner.uid, owner.gid);
      n++;
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  try {
    visit(root);
  } catch (err) {
    throw ioError(root, 'change the owner of', err);
  }
  return n;
}

export function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError(path, 'inspect', err);
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

function tempName(path: string): string {
  return `${path}.sac-tmp-${randomBytes(6).toString('hex')}`;
}

function ioError(path: string, action: string, err: unknown): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EPERM' || code === 'EACCES'
      ? 'check the ownership and permissions of the agent runtime directory (as root, sac owns homes itself)'
      : undefined;
  return new AppError(
    'FAILED',
    `cannot ${action} ${path}: ${err instanceof Error ? err.message : String(err)}`,
    {
      ...(hint === undefined ? {} : { hint }),
      details: { path, ...(code === undefined ? {} : { code }) },
      cause: err,
    },
  );
}
