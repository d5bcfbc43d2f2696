/**
 * sac as a library: everything the CLI does, as typed functions that return data and never print.
 *
 * @example
 * ```ts
 * import { checkAgents, explainAgent, listDefinedAgents, parseSpecFile } from 'sac';
 *
 * const result = parseSpecFile('examples/agents/hello-bwrap/spec.yaml');
 * if (!result.ok) for (const i of result.issues) console.error(formatIssue(i));
 *
 * const [report] = checkAgents(['hello-bwrap']);
 * const { plan } = explainAgent('hello-bwrap');
 * console.log(plan.runtime.name, plan.mounts);
 * ```
 * @module
 */

export { AppError, ERROR_CODES, formatIssue, isAppError, SpecError } from './errors.ts';
export type { ErrorCode, SpecIssue } from './errors.ts';

export { parseSpecFile, parseSpecText } from './spec/parse.ts';
export type { ParseResult } from './spec/parse.ts';
export { AgentSpecSchema } from './spec/schema.ts';
export type { AgentSpec, AgentSpecInput } from './spec/schema.ts';
export { effectiveRuntime } from './spec/rules.ts';
export { assertAgentName, nameProblem } from './spec/names.ts';
export { findByName, listAgents, resolveAgent, SCOPES } from './spec/resolve.ts';
export type { AgentRef, Scope } from './spec/resolve.ts';

export { loadHostConfig } from './config.ts';
export type { LoadedHostConfig } from './config.ts';
export { sacRoot } from './paths.ts';

export { checkAgents, explainAgent } from './agents/inspect.ts';
export type { CheckReport, Explanation } from './agents/inspect.ts';
export type { Finding } from './check/findings.ts';
export { planLaunch } from './plan/launch-plan.ts';
export type { LaunchPlan } from './plan/launch-plan.ts';
export { newAgent } from './agents/scaffold.ts';
export { hasCapability, loadCatalog } from './agents/catalog.ts';
export type { AgentSummary, CatalogEntry } from './agents/catalog.ts';

export { openStore } from './store/db.ts';
export type { Store } from './store/db.ts';
export { listDefinedAgents } from './agents/list.ts';
export type { ListedAgent } from './agents/list.ts';

export { interruptAgent, liveness, sendTurn, startAgent, stopAgent } from './agents/lifecycle.ts';
export type { Started, StartOptions, Stopped } from './agents/lifecycle.ts';
export { agentHealth, fleetStatus, statusOf } from './agents/status.ts';
export type { AgentStatus } from './agents/status.ts';
export { deleteAgent, forgetAgent, installResurrect, resurrectAgents } from './agents/admin.ts';
export type { Liveness } from './agents/liveness.ts';
export type { TurnReply } from './supervisor/turn-queue.ts';
