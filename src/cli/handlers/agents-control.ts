/** `sac agents stop|send|delete|forget|resurrect`. */
import { AppError } from '../../errors.ts';
import { type GlobalOptions, printResult } from '../output.ts';
import { Progress } from '../progress.ts';

export async function runStop(
  g: GlobalOptions,
  names: string[],
  o: { all?: boolean; force?: boolean },
): Promise<void> {
  const { resolveAgent, listAgents } = await import('../../spec/resolve.ts');
  const { liveness, stopAgent } = await import('../../agents/lifecycle.ts');
  if (!o.all && names.length === 0)
    throw new AppError('USAGE', 'name the agents to stop, or use --all');
  const running = (r: ReturnType<typeof resolveAgent>): boolean =>
    ['running', 'unresponsive'].includes(liveness(r).liveness);
  const refs = o.all
    ? listAgents({ scope: g.scope }).filter(running)
    : names.map((n) => resolveAgent(n, { scope: g.scope }));
  const idle = o.all ? undefined : refs.find((r) => !running(r));
  if (idle) {
    throw new AppError(
      'AGENT_NOT_RUNNING',
      `${idle.name} is not running (${liveness(idle).liveness})`,
      {
        hint: `see \`sac agents status ${idle.name}\``,
      },
    );
  }
  const progress = g.json || refs.length === 0 ? undefined : new Progress(refs.map((r) => r.name));
  const results = await Promise.allSettled(
    refs.map(async (ref) => {
      progress?.set(ref.name, 'stopping');
      const r = await stopAgent(ref, { force: o.force === true });
      progress?.set(ref.name, `stopped (${r.reason})`);
      return r;
    }),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  const stopped = results
    .filter((r) => r.status === 'fulfilled')
    .map((r) => (r as PromiseFulfilledResult<unknown>).value);
  if (failures.length) throw failures[0]!.reason;
  printResult(g, { stopped }, () => (refs.length === 0 ? 'no running agents' : ''));
}

export async function runSend(
  g: GlobalOptions,
  name: string,
  prompt: string | undefined,
  o: { wait: boolean; key?: string; exitAfter?: boolean },
): Promise<void> {
  const { interruptAgent, sendTurn } = await import('../../agents/lifecycle.ts');
  if (o.key) {
    if (prompt) throw new AppError('USAGE', 'give either a prompt or --key, not both');
    const r = await interruptAgent(name, { scope: g.scope });
    printResult(g, r, () =>
      r.interrupted ? `interrupted turn ${r.turn_id}` : 'no turn in progress',
    );
    return;
  }
  if (!prompt)
    throw new AppError('USAGE', 'missing prompt', {
      hint: `sac agents send ${name} "your prompt"`,
    });
  const r = await sendTurn(name, prompt, {
    scope: g.scope,
    wait: o.wait,
    exitAfter: o.exitAfter === true,
  });
  printResult(g, r, () => ('text' in r ? r.text : `queued turn ${r.turn_id}`));
  if (
    'state' in r &&
    (r.state === 'failed' || r.state === 'cancelled' || r.state === 'interrupted')
  ) {
    process.stderr.write(`turn ${r.state}${'error' in r && r.error ? `: ${r.error}` : ''}\n`);
    process.exitCode = 1;
  }
}

export async function runDelete(
  g: GlobalOptions,
  names: string[],
  o: { yes?: boolean },
): Promise<void> {
  if (!o.yes)
    throw new AppError('USAGE', 'delete removes the spec and runtime directories: confirm with -y');
  const { deleteAgent } = await import('../../agents/admin.ts');
  const deleted: Awaited<ReturnType<typeof deleteAgent>>[] = [];
  for (const n of names) deleted.push(await deleteAgent(n, { scope: g.scope }));
  printResult(g, { deleted }, () =>
    deleted.map((d) => `deleted ${d.name} (${d.removed.join(', ')})`).join('\n'),
  );
}

export async function runForget(g: GlobalOptions, name: string): Promise<void> {
  const { forgetAgent } = await import('../../agents/admin.ts');
  const r = forgetAgent(name, { scope: g.scope });
  printResult(
    g,
    r,
    () =>
      `forgot ${r.name}: ${Object.entries(r.rows)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ')}`,
  );
}

export async function runResurrect(
  g: GlobalOptions,
  o: { install?: 'systemd' | 'cron'; print?: boolean },
): Promise<void> {
  const { installResurrect, resurrectAgents } = await import('../../agents/admin.ts');
  if (o.install) {
    const r = await installResurrect(o.install, { print: o.print === true });
    printResult(g, r, () => r.message);
    return;
  }
  const r = await resurrectAgents({ scope: g.scope });
  printResult(g, r, () =>
    r.agents.length === 0
      ? "nothing to resurrect: no agent's supervisor died"
      : r.agents
          .map(
            (a) =>
              `${a.name}: ${a.ok ? `resurrected (supervisor pid ${a.pid})` : `failed: ${a.error}`}`,
          )
          .join('\n'),
  );
  if (r.agents.some((a) => !a.ok)) process.exitCode = 1;
}
