/** `sac agents start` and `sac agents restart`. */
import { AppError, formatIssue, isAppError, type SpecIssue } from '../../errors.ts';
import { type GlobalOptions, printResult } from '../output.ts';
import { Progress } from '../progress.ts';

interface StartFlags {
  foreground?: boolean;
  dryRun?: boolean;
  force?: boolean;
  fresh?: boolean;
  continue?: boolean;
  resume?: string;
  oneShot?: boolean;
}

type Outcome =
  | { name: string; ok: true; pid: number; launch_id: string; runtimeDir: string }
  | { name: string; ok: false; error: ReturnType<AppError['toJSON']>['error'] };

function sessionOf(o: StartFlags): {
  session?: 'fresh' | 'continue' | 'resume';
  resumeId?: string;
} {
  if (o.resume) return { session: 'resume', resumeId: o.resume };
  if (o.continue) return { session: 'continue' };
  if (o.fresh) return { session: 'fresh' };
  return {};
}

export async function runStart(
  g: GlobalOptions,
  targets: string[],
  raw: Record<string, unknown>,
): Promise<void> {
  const o = raw as StartFlags;
  const { expandTargets, resolveAgent } = await import('../../spec/resolve.ts');
  targets = expandTargets(targets);
  if (o.dryRun) {
    const { explainAgent } = await import('../../agents/inspect.ts');
    const plans = targets.map((t) => explainAgent(t, { scope: g.scope }).plan);
    printResult(g, { dryRun: true, plans }, () =>
      plans
        .map(
          (p) =>
            `${p.name}: would start with ${p.runtime.name} (${p.runtime.reason}); see \`sac agents explain ${p.name}\``,
        )
        .join('\n'),
    );
    return;
  }
  // resolve everything first: a typo in one name starts nothing
  const refs = targets.map((t) => resolveAgent(t, { scope: g.scope }));
  const { startAgent } = await import('../../agents/lifecycle.ts');
  const progress = g.json ? undefined : new Progress(refs.map((r) => r.name));
  const outcomes: Outcome[] = await Promise.all(
    refs.map(async (ref): Promise<Outcome> => {
      progress?.set(ref.name, 'starting');
      try {
        const s = await startAgent(ref, {
          ...sessionOf(o),
          force: o.force === true,
          oneShot: o.oneShot === true,
        });
        progress?.set(ref.name, `ready (supervisor pid ${s.pid})`);
        return {
          name: ref.name,
          ok: true,
          pid: s.pid,
          launch_id: s.launch_id,
          runtimeDir: s.runtimeDir,
        };
      } catch (err) {
        if (!isAppError(err)) throw err;
        progress?.set(ref.name, `failed: ${err.message}`);
        return { name: ref.name, ok: false, error: err.toJSON().error };
      }
    }),
  );
  const failed = outcomes.filter((x): x is Extract<Outcome, { ok: false }> => !x.ok);
  if (g.json) printResult(g, { agents: outcomes }, () => '');
  for (const f of failed) {
    if (g.json) continue;
    process.stderr.write(`error[${f.error.code}]: ${f.error.message}\n`);
    const d = f.error.details as
      { stderr?: string[]; log?: string[]; issues?: SpecIssue[] } | undefined;
    for (const issue of d?.issues ?? []) process.stderr.write(`  ${formatIssue(issue)}\n`);
    if (f.error.hint) process.stderr.write(`    hint: ${f.error.hint}\n`);
    const lines = d?.issues ? [] : d?.stderr?.length ? d.stderr : (d?.log ?? []);
    if (lines.length)
      process.stderr.write(
        `    last lines of its log:\n${lines.map((l) => `      ${l}`).join('\n')}\n`,
      );
  }
  if (failed.length) {
    const first = failed[0]!;
    process.exitCode = new AppError(first.error.code, first.error.message).exitCode;
    return;
  }
  if (o.foreground) {
    const { followForeground } = await import('./agents-tail.ts');
    await followForeground(g, refs);
  }
}

export async function runRestart(
  g: GlobalOptions,
  name: string,
  o: { fresh?: boolean; continue?: boolean },
): Promise<void> {
  const { resolveAgent } = await import('../../spec/resolve.ts');
  const { liveness, startAgent, stopAgent } = await import('../../agents/lifecycle.ts');
  const ref = resolveAgent(name, { scope: g.scope });
  const live = liveness(ref);
  if (live.liveness === 'running' || live.liveness === 'unresponsive') await stopAgent(ref);
  const s = await startAgent(ref, sessionOf(o));
  printResult(
    g,
    { name: s.name, pid: s.pid, launch_id: s.launch_id, restarted: true },
    () => `${s.name}: restarted (supervisor pid ${s.pid})`,
  );
}
