/**
 * Where state.db may live. SQLite's WAL needs shared memory (mmap of `-shm`) and POSIX locks that
 * network and FUSE file systems do not give reliably: on NFS, Lustre or GPFS homes (common on HPC)
 * a WAL database corrupts or deadlocks. So when the sac root sits on one of them, state.db moves to
 * node-local storage. The classification and the choice are pure; only {@link probeFsType} touches
 * the file system, so all of it is unit-testable without a network mount.
 * @module
 */
import { createHash } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `statfs(2)` `f_type` magic numbers of file systems on which SQLite WAL is unsafe. */
export const NETWORK_FS_MAGIC: Readonly<Record<string, readonly number[]>> = {
  nfs: [0x6969],
  smb: [0xff534d42, 0xfe534d42], // CIFS and SMB2
  lustre: [0x0bd00bd0],
  gpfs: [0x47504653],
  ceph: [0x00c36400],
  beegfs: [0x19830326],
  fuse: [0x65735546], // sshfs, gcsfuse, s3fs...: no reliable shared-memory locking either
  afs: [0x5346414f],
  '9p': [0x01021997],
};

/**
 * The network file system `type` (an `f_type` magic) belongs to, or undefined for local ones.
 * `f_type` is a signed long on some platforms, so magics above 2^31 may arrive negative.
 */
export function classifyFsType(type: number): string | undefined {
  const t = type < 0 ? type + 2 ** 32 : type;
  for (const [name, magics] of Object.entries(NETWORK_FS_MAGIC)) {
    if (magics.includes(t)) return name;
  }
  return undefined;
}

/** Where state.db is, and why there. */
export interface StoreLocation {
  /** The database file (or `:memory:`). */
  path: string;
  /** The network file system the sac root is on, if any (`nfs`, `lustre`, ...). */
  networkFs: string | undefined;
  /** True when state.db was moved off the sac root onto node-local storage. */
  relocated: boolean;
  /** A sentence for `sac agents check` / `sac db show` explaining a relocation. */
  reason?: string;
}

export interface LocationInput {
  /** The sac root (`sacRoot(env)`). */
  root: string;
  /** `f_type` of the file system holding the root's runtime directory; undefined if unknown. */
  fsType: number | undefined;
  /** The operator's uid, which keys the node-local directory. */
  uid: number;
  /** Base of node-local storage; `/var/tmp` (survives reboots, unlike `/tmp` on many hosts). */
  localBase?: string;
}

/** Default node-local base. `/var/tmp` rather than `/tmp`: history should survive a reboot. */
export const LOCAL_BASE = '/var/tmp';

/** The state.db path under a sac root when no relocation applies. */
export function defaultDbPath(root: string): string {
  return join(root, 'runtime', 'state.db');
}

/**
 * Choose where state.db lives. On a network file system: `<localBase>/sac-<uid>/<hash>/state.db`,
 * keyed by a hash of the root so two sac roots on one node never share a database.
 */
export function chooseDbLocation(input: LocationInput): StoreLocation {
  const networkFs = input.fsType === undefined ? undefined : classifyFsType(input.fsType);
  if (networkFs === undefined) {
    return { path: defaultDbPath(input.root), networkFs: undefined, relocated: false };
  }
  const key = createHash('sha256').update(input.root).digest('hex').slice(0, 12);
  const path = join(input.localBase ?? LOCAL_BASE, `sac-${input.uid}`, key, 'state.db');
  return {
    path,
    networkFs,
    relocated: true,
    reason:
      `sac root ${input.root} is on ${networkFs}, where SQLite WAL is unsafe; ` +
      `state.db is kept on node-local storage at ${path} (one per node)`,
  };
}

/**
 * `f_type` of the file system holding `path`, probing the nearest existing ancestor (the runtime
 * directory may not exist yet). Undefined when it cannot be determined (then we assume local).
 */
export function probeFsType(path: string): number | undefined {
  let dir = path;
  for (;;) {
    try {
      return statfsSync(dir).type;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}
