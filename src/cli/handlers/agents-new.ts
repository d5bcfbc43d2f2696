/** `sac agents new NAME`. */
import { newAgent } from '../../agents/scaffold.ts';
import { type GlobalOptions, printResult } from '../output.ts';

export function runNew(
  g: GlobalOptions,
  name: string,
  o: { in: 'user' | 'project'; runtime: string; model: string },
): void {
  const result = newAgent(name, {
    in: o.in,
    runtime: o.runtime as 'bwrap' | 'apptainer' | 'host',
    model: o.model,
  });
  printResult(g, result, () =>
    [
      `created agent ${result.name} (${result.scope} scope) in ${result.agentDir}`,
      ...result.files.map((f) => `  ${f}`),
      '',
      `next: edit ${result.specPath}, then \`sac agents check ${result.name}\``,
    ].join('\n'),
  );
}
