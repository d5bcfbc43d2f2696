/**
 * Every defined agent with its summary and state: what `sac agents list --json` prints. Loads no
 * parser unless a spec changed since it was last summarised.
 * @module
 */
import type { ResolveOptions } from '../spec/resolve.ts';
import { openStore } from '../store/db.ts';
import { type CatalogEntry, loadCatalog } from './catalog.ts';
import { agentStates } from './state.ts';

export type ListedAgent = CatalogEntry & { state: string };

export async function listDefinedAgents(opts: ResolveOptions = {}): Promise<ListedAgent[]> {
  const store = openStore(opts.env ? { env: opts.env } : {});
  try {
    const catalog = await loadCatalog({ ...opts, store });
    const states = agentStates(store, catalog, opts.env);
    return catalog.map((e) => ({
      ...e,
      state: e.summary.valid ? (states.get(e.specPath) ?? 'stopped') : 'invalid',
    }));
  } finally {
    store.close();
  }
}
