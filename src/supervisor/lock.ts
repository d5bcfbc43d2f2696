/**
 * Supervisor liveness: a supervisor is alive exactly while it holds an exclusive lock on its lock
 * file. Node has no flock(2), so the lock is SQLite's: an open `BEGIN EXCLUSIVE` transaction on a
 * private lock database, which SQLite implements with POSIX fcntl locks. The kernel drops those
 * locks when the process exits for any reason (kill -9, OOM), before it even becomes a zombie, so a
 * lock never outlives its holder and a reused pid can never look alive.
 * @module
 */
import Database from 'better-sqlite3';

export class SupervisorLock {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Take the lock, or return undefined when another process holds it. */
  static tryAcquire(path: string): SupervisorLock | undefined {
    const db = new Database(path);
    try {
      // a concurrent `isLockHeld` probe holds a shared lock for microseconds: wait that out
      db.pragma('busy_timeout = 250');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      return new SupervisorLock(db);
    } catch (err) {
      db.close();
      if (isBusy(err)) return undefined;
      throw err;
    }
  }

  release(): void {
    if (this.#db.open) this.#db.close();
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** True while some process holds the lock at `path`. Never takes it. */
export function isLockHeld(path: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch {
    return false;
  }
  try {
    db.pragma('busy_timeout = 0');
    // a shared (read) lock conflicts only with the holder's exclusive lock, not with other probes
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (err) {
    if (isBusy(err)) return true;
    throw err;
  } finally {
    db.close();
  }
}
