/**
 * Where state.db is for an environment, without opening it (and without loading SQLite), so
 * `sac agents check` can report a relocation cheaply.
 * @module
 */
import { dirname, resolve } from 'node:path';
import { type Env, layout, sacRoot } from '../paths.ts';
import { chooseDbLocation, classifyFsType, probeFsType, type StoreLocation } from './fs-detect.ts';
import { currentUid } from './host.ts';

export interface LocateOptions {
  env?: Env;
  /** An explicit database file (or `:memory:`); used verbatim, never relocated. */
  path?: string;
  /** Test seam: the `f_type` probe (default `statfs(2)` on the runtime directory). */
  probeFsType?: (path: string) => number | undefined;
  /** Test seam: node-local base for a relocated state.db (default `/var/tmp`). */
  localBase?: string;
}

export function locateStore(opts: LocateOptions = {}): StoreLocation {
  const probe = opts.probeFsType ?? probeFsType;
  if (opts.path === ':memory:') return { path: ':memory:', networkFs: undefined, relocated: false };
  if (opts.path !== undefined) {
    // Explicit means explicit: report a network file system, but do not second-guess the caller.
    const path = resolve(opts.path);
    const type = probe(dirname(path));
    const networkFs = type === undefined ? undefined : classifyFsType(type);
    return {
      path,
      networkFs,
      relocated: false,
      ...(networkFs
        ? {
            reason: `state.db ${path} was given explicitly and is on ${networkFs}: WAL is unsafe there`,
          }
        : {}),
    };
  }
  const root = sacRoot(opts.env ?? process.env);
  return chooseDbLocation({
    root,
    fsType: probe(layout(root).runtime),
    uid: currentUid(),
    ...(opts.localBase !== undefined ? { localBase: opts.localBase } : {}),
  });
}
