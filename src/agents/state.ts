/**
 * What state each agent is in, as the host's registry records it. An agent with no launch is
 * `stopped`; otherwise its latest launch says (running, stopped, failed, ...).
 * @module
 */
import type { Store } from '../store/db.ts';
import { latestLaunch } from '../store/repos/launches.ts';

export function agentStates(
  store: Store,
  agents: readonly { name: string }[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name } of agents) out.set(name, latestLaunch(store, name)?.state ?? 'stopped');
  return out;
}
