/** `sac agents explain TARGET`: the effective spec and the launch plan. */
import { stringify } from 'yaml';
import { explainAgent } from '../../agents/inspect.ts';
import { formatIssue } from '../../errors.ts';
import { type GlobalOptions, printResult, table } from '../output.ts';

export function runExplain(g: GlobalOptions, target: string): void {
  const x = explainAgent(target, { scope: g.scope });
  printResult(g, x, () => {
    const p = x.plan;
    const provider = p.model.provider;
    const providerText =
      'unknown' in provider
        ? `${provider.name} (unknown)`
        : `${provider.name} ${provider.baseUrl}` +
          (provider.tokenEnv
            ? ` (token from $${provider.tokenEnv})`
            : ' (ANTHROPIC_API_KEY or your Claude login)');
    const out = [
      `${x.name} (${x.scope}) ${x.specPath}`,
      '',
      'Launch plan',
      `  runtime:   ${p.runtime.name}: ${p.runtime.reason}`,
      `  network:   ${p.network.mode}: ${p.network.note}`,
      `  runs as:   ${p.identity.runsAs} (${p.identity.note})`,
      `  home:      ${p.home.host} -> ${p.home.sandbox} (from ${p.toHome})`,
      `  workdir:   ${p.workdir.host} -> ${p.workdir.sandbox}`,
      `  model:     ${p.model.model} via ${providerText}`,
      `  session:   ${p.session.mode}${p.session.resumeId ? ` ${p.session.resumeId}` : ''} (recovery after a crash always resumes)`,
      `  a2a:       ${p.a2a.host}:${p.a2a.port ?? 'off'}`,
      `  turns:     ${p.turns.startupPrompts} startup prompt(s), ${p.turns.startupCommands} startup command(s), residency ${p.turns.residency}${p.turns.autonomous ? ', autonomous' : ''}`,
      `  restart:   ${p.restart.policy} (max ${p.restart.max_retries} retries, backoff ${p.restart.backoff.initial}s x${p.restart.backoff.multiplier} up to ${p.restart.backoff.max}s)`,
      `  health:    ${p.health.enabled ? `${p.health.method} every ${p.health.interval}s` : 'off'}${p.health.stall_after ? `, stalled after ${p.health.stall_after}s` : ''}`,
      '',
      p.mounts.length ? 'Mounts' : 'Mounts: none (no sandbox)',
      ...(p.mounts.length
        ? table(
            ['HOST', 'SANDBOX', 'MODE', 'WHY'],
            p.mounts.map((m) => [m.host, m.container, m.mode, m.origin]),
          )
            .split('\n')
            .map((l) => `  ${l}`)
        : []),
      '',
      `Environment (names only): ${p.env.names.join(' ')}`,
      ...(p.notes.length ? ['', 'Notes', ...p.notes.map((n) => `  ! ${n}`)] : []),
      ...(x.warnings.length
        ? ['', 'Warnings', ...x.warnings.map((w) => `  ${formatIssue(w)}`)]
        : []),
      '',
      'Effective spec (every default resolved)',
      ...stringify(x.spec, { lineWidth: 0 })
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
    ];
    return out.join('\n');
  });
}
