/** `sac agents list` and `sac agents find`. */
import { hasCapability } from '../../agents/catalog.ts';
import { type GlobalOptions, printResult, table } from '../output.ts';

interface ListedAgent {
  name: string;
  scope: string;
  state: string;
  kind: string | null;
  runtime: string | null;
  model: string | null;
  valid: boolean;
  description: string | null;
  capabilities: string[];
  errors: number;
  warnings: number;
  firstError: string | null;
  specPath: string;
  runtimeDir: string;
}

async function listed(g: GlobalOptions): Promise<ListedAgent[]> {
  const { listDefinedAgents } = await import('../../agents/list.ts');
  return (await listDefinedAgents({ scope: g.scope })).map((e) => ({
    name: e.name,
    scope: e.scope,
    state: e.state,
    kind: e.summary.kind,
    runtime: e.summary.runtime,
    model: e.summary.model,
    valid: e.summary.valid,
    description: e.summary.description,
    capabilities: e.summary.capabilities,
    errors: e.summary.errors,
    warnings: e.summary.warnings,
    firstError: e.summary.firstError,
    specPath: e.specPath,
    runtimeDir: e.runtimeDir,
  }));
}

function render(agents: ListedAgent[], empty: string): string {
  if (agents.length === 0) return empty;
  const dup = new Set(
    agents.filter((a, i) => agents.findIndex((b) => b.name === a.name) !== i).map((a) => a.name),
  );
  const rows = agents.map((a) => [
    a.name + (dup.has(a.name) ? ' (ambiguous)' : ''),
    a.scope,
    a.state,
    a.runtime,
    a.model,
    a.valid
      ? a.specPath
      : `${a.specPath}  (${a.errors} error${a.errors === 1 ? '' : 's'}: ${a.firstError ?? ''})`,
  ]);
  return table(['NAME', 'SCOPE', 'STATE', 'RUNTIME', 'MODEL', 'SPEC'], rows);
}

export async function runList(g: GlobalOptions, o: { quiet?: boolean }): Promise<void> {
  const agents = await listed(g);
  if (o.quiet && !g.json) {
    process.stdout.write(agents.map((a) => a.name).join('\n') + (agents.length ? '\n' : ''));
    return;
  }
  printResult(g, { agents }, () =>
    render(agents, 'no agents defined yet: create one with `sac agents new NAME`'),
  );
}

export async function runFind(g: GlobalOptions, capability: string): Promise<void> {
  const hits = (await listed(g)).filter((a) => hasCapability(a.capabilities, capability));
  printResult(g, { capability, agents: hits }, () =>
    render(
      hits,
      `no agent declares capability ${JSON.stringify(capability)} (metadata.labels.capabilities)`,
    ),
  );
}
