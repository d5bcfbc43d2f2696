/** `sac agents check TARGET...`: validate, then probe readiness; human or JSON report. */
import { type CheckReport, checkAgents } from '../../agents/inspect.ts';
import { expandTargets } from '../../spec/resolve.ts';
import { ERROR_CODES, formatIssue, type ErrorCode } from '../../errors.ts';
import { type GlobalOptions, printResult } from '../output.ts';

function renderReport(r: CheckReport, strict: boolean): string {
  const lines: string[] = [];
  if (r.error) {
    lines.push(`${r.target}: error[${r.error.code}]: ${r.error.message}`);
    if (r.error.hint) lines.push(`    hint: ${r.error.hint}`);
    return lines.join('\n');
  }
  const errors = r.issues.filter((i) => i.severity === 'error').length;
  const warnings = r.issues.length - errors;
  lines.push(`${r.name} (${r.scope}) ${r.specPath}`);
  lines.push(
    r.valid
      ? `  spec: valid${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`
      : `  spec: INVALID (${errors} error${errors === 1 ? '' : 's'})`,
  );
  for (const i of r.issues)
    lines.push(
      ...formatIssue(i)
        .split('\n')
        .map((l) => `    ${l}`),
    );
  if (r.valid) {
    if (r.findings.length === 0) lines.push('  readiness: ready to start on this host');
    else lines.push('  readiness:');
    for (const f of r.findings) {
      const label =
        f.severity === 'blocker'
          ? strict
            ? 'error'
            : 'warning'
          : f.severity === 'advice'
            ? 'advice'
            : 'note';
      lines.push(`    ${label}: ${f.message}`);
      if (f.fix) lines.push(`      fix: ${f.fix}`);
    }
    if (!r.ready && !strict) {
      lines.push('  (these would stop `sac agents start`; --strict makes check fail on them)');
    }
  }
  return lines.join('\n');
}

/** The exit code of a check run: invalid specs first, then unresolved targets, then --strict. */
function exitCode(reports: CheckReport[], strict: boolean): number {
  const codes: ErrorCode[] = [];
  for (const r of reports) {
    if (r.error) codes.push(r.error.code as ErrorCode);
    else if (!r.valid) codes.push('SPEC_INVALID');
    else if (strict && !r.ready) codes.push('NOT_READY');
  }
  if (codes.includes('SPEC_INVALID')) return ERROR_CODES.SPEC_INVALID.exit;
  const first = codes[0];
  return first ? ERROR_CODES[first].exit : 0;
}

export function runCheck(g: GlobalOptions, targets: string[], o: { strict?: boolean }): void {
  const strict = o.strict === true;
  const reports = checkAgents(expandTargets(targets), { scope: g.scope });
  const code = exitCode(reports, strict);
  printResult(g, { ok: code === 0, strict, agents: reports }, () =>
    reports.map((r) => renderReport(r, strict)).join('\n\n'),
  );
  process.exitCode = code;
}
