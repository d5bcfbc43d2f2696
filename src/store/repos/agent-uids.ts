/**
 * Agent uids: when sac runs as root, every agent runs as its own unprivileged uid (architecture
 * §3.1). `spec.user` may name one; otherwise one is allocated from the host config's
 * `sandbox.uid_range` at the agent's first start and kept for good, because the agent's home and
 * the workdirs sac created belong to it.
 *
 * Allocation happens in one immediate (write-locking) transaction that re-reads the table, so two
 * `sac agents start` running at once, in different processes, never hand out the same uid; the
 * UNIQUE constraint on `uid` backs that up.
 * @module
 */
import { readFileSync } from 'node:fs';
import { AppError } from '../../errors.ts';
import type { Store } from '../db.ts';
import { nowIso } from '../host.ts';

export interface AgentUidRow {
  /** `runtime/<name>/`: one per agent and scope (a project agent and a user agent may share a name). */
  runtime_dir: string;
  name: string;
  uid: number;
  gid: number;
  created_at: string;
}

/** Ids the host already uses; an agent must not share a uid or gid with a real account. */
export interface HostIds {
  uids: ReadonlySet<number>;
  gids: ReadonlySet<number>;
}

export interface AgentUidRequest {
  runtimeDir: string;
  name: string;
  /** `sandbox.uid_range` from config.yaml: `[lo, hi]`, inclusive. */
  range: readonly [number, number];
  /** From `spec.user: <uid>[:<gid>]` (see {@link parseSpecUser}); wins over everything. */
  explicit?: { uid: number; gid: number } | undefined;
  /** Test seam: the host's ids (default {@link readHostIds}: /etc/passwd and /etc/group). */
  hostIds?: () => HostIds;
}

export interface AgentIdentity {
  uid: number;
  gid: number;
  /** `explicit`: spec.user; `recorded`: allocated at an earlier start; `allocated`: just now. */
  source: 'explicit' | 'recorded' | 'allocated';
  /** Things the operator should know (a recorded uid now used by a host account). */
  warnings: string[];
}

/**
 * `spec.user` as an explicit identity: `'<uid>'` (gid = uid) or `'<uid>:<gid>'`; undefined for
 * `''` (allocate) and `'host'` (the operator's own ids, the caller's business).
 */
export function parseSpecUser(user: string): { uid: number; gid: number } | undefined {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return undefined;
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** Numeric ids in field 3 of `name:x:id:...` lines (passwd and group share the layout). */
export function parseIdFile(text: string): Set<number> {
  const ids = new Set<number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const id = line.split(':')[2];
    if (id !== undefined && /^\d+$/.test(id)) ids.add(Number(id));
  }
  return ids;
}

/**
 * The ids of /etc/passwd and /etc/group. Accounts only a directory service (LDAP, sssd) knows are
 * not seen: choose a `sandbox.uid_range` outside the site's account range there.
 */
export function readHostIds(passwd = '/etc/passwd', group = '/etc/group'): HostIds {
  const read = (file: string): Set<number> => {
    try {
      return parseIdFile(readFileSync(file, 'utf8'));
    } catch {
      return new Set();
    }
  };
  return { uids: read(passwd), gids: read(group) };
}

/** The uid/gid the agent at `runtimeDir` runs as when sac is root; allocates one if needed. */
export function agentUid(store: Store, req: AgentUidRequest): AgentIdentity {
  if (req.explicit !== undefined) return explicitIdentity(store, req, req.explicit);
  const hostIds = (req.hostIds ?? readHostIds)();
  const recorded = getAgentUid(store, req.runtimeDir);
  if (recorded !== undefined) return recordedIdentity(store, req, recorded, hostIds);
  return store.tx((): AgentIdentity => {
    // Another start may have allocated for this agent since we looked: the lock is ours now.
    const again = getAgentUid(store, req.runtimeDir);
    if (again !== undefined) return recordedIdentity(store, req, again, hostIds);
    const uid = lowestFree(store, req, hostIds);
    store.db
      .prepare(
        'INSERT INTO agent_uids (runtime_dir, name, uid, gid, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(req.runtimeDir, req.name, uid, uid, nowIso());
    return { uid, gid: uid, source: 'allocated', warnings: [] };
  });
}

function explicitIdentity(
  store: Store,
  req: AgentUidRequest,
  explicit: { uid: number; gid: number },
): AgentIdentity {
  if (explicit.uid === 0 || explicit.gid === 0) {
    throw new AppError(
      'SPEC_INVALID',
      `spec.user of agent ${req.name} names root (${explicit.uid}:${explicit.gid})`,
      {
        hint: "agents never run as root: name an unprivileged uid, or leave spec.user '' to get one from sandbox.uid_range",
        details: { name: req.name, ...explicit },
      },
    );
  }
  // Sharing a uid with an agent that got it by allocation is an accident, and it would let the two
  // read each other's homes; two specs naming the same uid on purpose are not recorded, so pass.
  const holder = store.db
    .prepare<[number, string], AgentUidRow>(
      'SELECT * FROM agent_uids WHERE uid = ? AND runtime_dir <> ?',
    )
    .get(explicit.uid, req.runtimeDir);
  if (holder !== undefined) {
    throw new AppError(
      'SPEC_INVALID',
      `spec.user of agent ${req.name} names uid ${explicit.uid}, which sac allocated to agent ${holder.name} (${holder.runtime_dir})`,
      {
        hint: "two agents with one uid can read each other's homes: choose another uid for spec.user",
        details: {
          name: req.name,
          uid: explicit.uid,
          holder: holder.name,
          holderRuntimeDir: holder.runtime_dir,
        },
      },
    );
  }
  return { ...explicit, source: 'explicit', warnings: [] };
}

function recordedIdentity(
  store: Store,
  req: AgentUidRequest,
  row: AgentUidRow,
  hostIds: HostIds,
): AgentIdentity {
  if (row.name !== req.name) {
    // one statement: atomic without a transaction (and callable inside the allocation's)
    store.db
      .prepare('UPDATE agent_uids SET name = ? WHERE runtime_dir = ?')
      .run(req.name, req.runtimeDir);
  }
  const warnings: string[] = [];
  // Kept anyway: the agent's files are owned by it, and changing uids behind the operator's back
  // would strand them. A warning lets `check` and `start` say what to do.
  if (hostIds.uids.has(row.uid) || hostIds.gids.has(row.gid)) {
    warnings.push(
      `agent ${req.name} runs as ${row.uid}:${row.gid}, which a host account or group now uses too (/etc/passwd, /etc/group); give that account another id or name another one in spec.user`,
    );
  }
  const [lo, hi] = req.range;
  if (row.uid < lo || row.uid > hi) {
    warnings.push(
      `agent ${req.name} keeps uid ${row.uid}, allocated before sandbox.uid_range became ${lo}-${hi}`,
    );
  }
  return { uid: row.uid, gid: row.gid, source: 'recorded', warnings };
}

/** The lowest uid of the range that no agent holds (as uid or gid) and no host account uses. */
function lowestFree(store: Store, req: AgentUidRequest, hostIds: HostIds): number {
  const [lo, hi] = req.range;
  const taken = new Set<number>();
  const rows = store.db
    .prepare<[number, number, number, number], { uid: number; gid: number }>(
      'SELECT uid, gid FROM agent_uids WHERE uid BETWEEN ? AND ? OR gid BETWEEN ? AND ?',
    )
    .all(lo, hi, lo, hi);
  for (const r of rows) taken.add(r.uid).add(r.gid);
  for (const id of hostIds.uids) taken.add(id);
  for (const id of hostIds.gids) taken.add(id);
  // at most |taken| + 1 steps, however wide the range
  for (let uid = lo; uid <= hi; uid++) if (!taken.has(uid)) return uid;
  throw new AppError(
    'UID_RANGE_FULL',
    `no free uid for agent ${req.name}: every uid of sandbox.uid_range ${lo}-${hi} is held by an agent or a host account`,
    {
      hint: 'widen sandbox.uid_range in config.yaml (or set SAC_SANDBOX_UID_RANGE)',
      details: { name: req.name, range: [lo, hi] },
    },
  );
}

export function getAgentUid(store: Store, runtimeDir: string): AgentUidRow | undefined {
  return store.db
    .prepare<[string], AgentUidRow>('SELECT * FROM agent_uids WHERE runtime_dir = ?')
    .get(runtimeDir);
}

export function listAgentUids(store: Store): AgentUidRow[] {
  return store.db.prepare<[], AgentUidRow>('SELECT * FROM agent_uids ORDER BY uid').all();
}

/**
 * Forget an agent's uid (when the agent and its runtime dir are deleted), so the uid can be
 * reused. Returns whether there was one. Never call it while files owned by the uid remain: a
 * new agent given the uid would own them.
 */
export function releaseAgentUid(store: Store, runtimeDir: string): boolean {
  return store.tx(
    () =>
      store.db.prepare('DELETE FROM agent_uids WHERE runtime_dir = ?').run(runtimeDir).changes > 0,
  );
}
