/** `sac agents status [NAME]` and `sac agents health NAME`. */
import { AppError } from '../../errors.ts';
import { type GlobalOptions, printResult, table } from '../output.ts';
import type { AgentStatus } from '../../agents/status.ts';

function uptime(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function stateText(a: AgentStatus): string {
  return (
    a.state +
    (a.spec_changed ? ' (spec changed since start)' : '') +
    (!a.isolated ? ' [NO ISOLATION]' : '')
  );
}

function detail(a: AgentStatus): string {
  const rows: [string, string][] = [
    ['state', stateText(a)],
    ['runtime', `${a.runtime ?? '-'}${a.isolated ? '' : ' (host: no isolation)'}`],
    ['model', a.model ?? '-'],
    ['uptime', uptime(a.uptime_s)],
    ['restarts', String(a.restarts)],
    ['turns', String(a.turns)],
    ['tokens', `${a.tokens.input} in / ${a.tokens.output} out`],
    ['cost', `$${a.cost_usd.toFixed(4)}`],
    ['supervisor pid', String(a.pid ?? '-')],
    ['claude pid', String(a.claude_pid ?? '-')],
    ['session', a.session_id ?? '-'],
    ['launch', a.launch_id ?? '-'],
    ['exit reason', a.exit_reason ?? '-'],
    ['spec', a.specPath],
    ['runtime dir', a.runtimeDir],
  ];
  if (a.last_error) rows.push(['last error', a.last_error]);
  const w = Math.max(...rows.map((r) => r[0].length));
  const out = [`${a.name} (${a.scope})`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)];
  if (a.stderr_tail.length)
    out.push('  last lines of Claude Code stderr:', ...a.stderr_tail.map((l) => `    ${l}`));
  if (a.liveness === 'dead' || a.liveness === 'stale')
    out.push('  its supervisor died: `sac agents resurrect` brings it back with its session');
  return out.join('\n');
}

export async function runStatus(g: GlobalOptions, name: string | undefined): Promise<void> {
  const { fleetStatus, statusOf } = await import('../../agents/status.ts');
  if (name) {
    const a = await statusOf(name, { scope: g.scope });
    printResult(g, a, () => detail(a));
    return;
  }
  const agents = await fleetStatus({ scope: g.scope });
  printResult(g, { agents }, () =>
    agents.length === 0
      ? 'no agents defined yet: create one with `sac agents new NAME`'
      : table(
          ['NAME', 'STATE', 'RUNTIME', 'MODEL', 'UPTIME', 'RESTARTS', 'TURNS', 'TOKENS', 'PORT'],
          agents.map((a) => [
            a.name,
            stateText(a),
            a.runtime,
            a.model,
            uptime(a.uptime_s),
            a.restarts,
            a.turns,
            `${a.tokens.input}/${a.tokens.output}`,
            a.port,
          ]),
        ),
  );
}

export async function runHealth(g: GlobalOptions, name: string): Promise<void> {
  const { agentHealth } = await import('../../agents/status.ts');
  const h = await agentHealth(name, { scope: g.scope });
  if (h.liveness !== 'running' && h.liveness !== 'unresponsive') {
    throw new AppError('AGENT_NOT_RUNNING', `${name} is not running (${String(h.liveness)})`);
  }
  printResult(g, h, () =>
    Object.entries(h)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n'),
  );
  if (h.ok !== true) process.exitCode = 1;
}
