/**
 * Opening state.db: location (with network-file-system relocation), file modes, pragmas,
 * migrations and the one-host rule. Everything else in `src/store` takes the {@link Store} this
 * returns. Only host-side processes call this; nothing inside a sandbox ever opens state.db.
 * @module
 */
import Database from 'better-sqlite3';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { AppError, isAppError } from '../errors.ts';
import type { Env } from '../paths.ts';
import type { StoreLocation } from './fs-detect.ts';
import { currentUid, hostName, nowIso } from './host.ts';
import { type LocateOptions, locateStore } from './location.ts';
import {
  applyMigrations,
  assertKnownVersion,
  SCHEMA_VERSION,
  schemaVersion,
} from './migrations.ts';

export type { StoreLocation } from './fs-detect.ts';
export { locateStore } from './location.ts';

/** How long a writer waits for another's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** Set to `1` to let this host take over a state.db recorded as another host's (a renamed machine). */
export const ADOPT_HOST_ENV = 'SAC_STORE_ADOPT_HOST';

export interface OpenStoreOptions extends LocateOptions {
  /** Open without writing: no migrations, no file creation. */
  readonly?: boolean;
  /** Test seam: this host's name (default `os.hostname()`). */
  host?: string;
}

export interface Store {
  readonly db: Database.Database;
  readonly location: StoreLocation;
  /** This host's name, as recorded in launches and in `meta.host`. */
  readonly host: string;
  readonly readonly: boolean;
  /** `user_version` after open (= the code's {@link SCHEMA_VERSION} for a writable store). */
  readonly schemaVersion: number;
  /** Run `fn` in an immediate (write-locking) transaction; SQLite failures become STORE_FAILED. */
  tx<T>(fn: () => T): T;
  close(): void;
}

/** Open (creating and migrating as needed) the host's state.db. */
export function openStore(opts: OpenStoreOptions = {}): Store {
  const env = opts.env ?? process.env;
  const host = opts.host ?? hostName();
  const readonly = opts.readonly === true;
  const location = locateStore(opts);
  const memory = location.path === ':memory:';

  if (!memory) prepareFile(location, readonly);

  let db: Database.Database;
  try {
    db = new Database(location.path, { readonly, fileMustExist: readonly });
  } catch (err) {
    throw toStoreError(err, location.path, 'open');
  }
  try {
    // busy_timeout first: the pragmas and migrations below may need a lock another process holds.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    const adopt = env[ADOPT_HOST_ENV] === '1';
    const version = readonly
      ? checkReadonly(db, location, host)
      : migrate(db, location, host, adopt);
    return makeStore(db, location, host, readonly, version);
  } catch (err) {
    db.close();
    throw isAppError(err) ? err : toStoreError(err, location.path, 'open');
  }
}

/** Directories 0700 and the database file 0600, created before SQLite sees them. */
function prepareFile(location: StoreLocation, readonly: boolean): void {
  const dir = dirname(location.path);
  if (readonly) {
    if (!existsSync(location.path)) {
      throw new AppError('STORE_FAILED', `no state.db at ${location.path} yet`, {
        hint: 'it is created by the first command that records state (for example `sac db show`)',
        details: { path: location.path },
      });
    }
    return;
  }
  try {
    if (location.relocated) {
      // Shared /var/tmp: another user could have planted the directory or a symlink in our way.
      ensurePrivateDir(dirname(dir));
      ensurePrivateDir(dir);
    } else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    // Create the file 0600 ourselves: SQLite would use the umask (usually 0644), and it gives the
    // -wal and -shm files the mode of the database file.
    try {
      closeSync(openSync(location.path, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = statSync(location.path);
      if ((st.mode & 0o077) !== 0 && st.uid === currentUid()) chmodSync(location.path, 0o600);
    }
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new AppError(
      'STORE_FAILED',
      `cannot create state.db at ${location.path}: ${errText(err)}`,
      {
        hint: 'check the permissions of the sac root (SAC_HOME)',
        details: { path: location.path },
        cause: err,
      },
    );
  }
}

/** Create `dir` 0700 if missing; refuse one that is a symlink or someone else's. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = currentUid();
  if (!st.isDirectory() || st.uid !== uid) {
    throw new AppError('STORE_FAILED', `${dir} is not a directory owned by uid ${uid}`, {
      hint: `remove ${dir} (someone else created it) and retry`,
      details: { path: dir },
    });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

function migrate(
  db: Database.Database,
  location: StoreLocation,
  host: string,
  adopt: boolean,
): number {
  // Fast path: already current, so no write lock is taken just to find that out.
  if (schemaVersion(db) === SCHEMA_VERSION) {
    checkHost(db, location, host, adopt);
    return SCHEMA_VERSION;
  }
  const result = applyMigrations(db, {
    within: (from) => {
      if (from > 0) checkHost(db, location, host, adopt);
      const seed = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
      seed.run('host', host);
      seed.run('created_at', nowIso());
    },
  });
  return result.to;
}

function checkReadonly(db: Database.Database, location: StoreLocation, host: string): number {
  const version = schemaVersion(db);
  assertKnownVersion(version);
  if (version < SCHEMA_VERSION) {
    throw new AppError(
      'STORE_FAILED',
      `state.db schema v${version} is older than this sac (v${SCHEMA_VERSION}) and was opened read-only`,
      { hint: 'run any writing sac command once (for example `sac db show`) to migrate it' },
    );
  }
  checkHost(db, location, host, false);
  return version;
}

/**
 * Never open one state.db from two hosts: WAL's shared memory is per host, so two hosts writing
 * the same file (an undetected network mount) corrupt it. A relocated store is node-local anyway.
 */
function checkHost(
  db: Database.Database,
  location: StoreLocation,
  host: string,
  adopt: boolean,
): void {
  if (location.relocated || location.path === ':memory:') return;
  const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'host'").get();
  if (row === undefined || row.value === host) return;
  if (adopt && !db.readonly) {
    db.transaction(() => {
      db.prepare("UPDATE meta SET value = ? WHERE key = 'host'").run(host);
      db.prepare('INSERT INTO events (ts, kind, actor, payload_json) VALUES (?, ?, ?, ?)').run(
        nowIso(),
        'store-adopted',
        'sac',
        JSON.stringify({ from: row.value, to: host }),
      );
    }).immediate();
    return;
  }
  throw new AppError(
    'STORE_FAILED',
    `state.db at ${location.path} belongs to host "${row.value}", not this host "${host}"`,
    {
      hint:
        'one state.db must never be used from two hosts: give each host its own SAC_HOME; ' +
        `if this machine was only renamed, run once with ${ADOPT_HOST_ENV}=1`,
      details: { path: location.path, recorded: row.value, host },
    },
  );
}

function makeStore(
  db: Database.Database,
  location: StoreLocation,
  host: string,
  readonly: boolean,
  version: number,
): Store {
  return {
    db,
    location,
    host,
    readonly,
    schemaVersion: version,
    tx<T>(fn: () => T): T {
      try {
        return db.transaction(fn).immediate();
      } catch (err) {
        throw isAppError(err) ? err : toStoreError(err, location.path, 'write');
      }
    },
    close(): void {
      if (db.open) db.close();
    },
  };
}

const SQLITE_HINTS: Readonly<Record<string, string>> = {
  SQLITE_BUSY: `another process held the lock for more than ${BUSY_TIMEOUT_MS / 1000} s; retry`,
  SQLITE_NOTADB: 'the file is not a SQLite database; move it aside and let sac create a new one',
  SQLITE_CORRUPT:
    'the database is damaged; move it aside (keep a copy) and let sac create a new one',
  SQLITE_CANTOPEN: 'check that the directory exists and is writable',
  SQLITE_READONLY: 'check the permissions of state.db and its directory',
  SQLITE_FULL: 'the disk is full',
};

/**
 * Turn a SQLite or file-system failure into STORE_FAILED. Constraint violations are not mapped:
 * those are caller bugs and must surface as such.
 */
export function toStoreError(err: unknown, path: string, action: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  if (code.startsWith('SQLITE_CONSTRAINT')) return err;
  const base = code.split('_').slice(0, 2).join('_');
  const isFs = /^E[A-Z]+$/.test(code);
  if (!code.startsWith('SQLITE_') && !isFs) return err;
  return new AppError('STORE_FAILED', `cannot ${action} state.db at ${path}: ${errText(err)}`, {
    hint: SQLITE_HINTS[base] ?? 'see docs/state.md',
    details: { path, code },
    cause: err,
  });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Where state.db is (or would be) for `env`, without opening it. The same as {@link locateStore};
 * import that from ./location.ts to avoid loading SQLite.
 */
export function storeLocation(env: Env = process.env): StoreLocation {
  return locateStore({ env });
}
