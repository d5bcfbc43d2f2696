/**
 * What state each agent is in: its supervisor's lock and heartbeat when it runs, its last launch's
 * outcome when it does not (see liveness.ts). An agent with no launch is `stopped`.
 * @module
 */
import type { Env } from '../paths.ts';
import type { AgentRef } from '../spec/resolve.ts';
import type { Store } from '../store/db.ts';
import { agentLiveness } from './liveness.ts';

export function agentStates(
  store: Store,
  agents: readonly AgentRef[],
  env: Env = process.env,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const ref of agents) out.set(ref.specPath, agentLiveness(ref, store, env).liveness);
  return out;
}
