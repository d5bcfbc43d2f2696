/**
 * `sac agents ...`: definitions only. Each action imports its implementation when it runs, so the
 * schema, YAML parser and store never load for `--help`.
 * @module
 */
import { type Command, Option } from 'commander';
import { sub } from '../define.ts';
import { globals } from '../output.ts';
import { registerLifecycleCommands } from './lifecycle.ts';

export function registerAgentCommands(program: Command): void {
  const agents = sub(
    program
      .command('agents')
      .description('define, check, run and talk to agents (one spec.yaml per agent directory)'),
  );

  sub(
    agents
      .command('list')
      .description('list defined agents in every scope, with their state')
      .option('-q, --quiet', 'print agent names only')
      .action(async (o: { quiet?: boolean }, cmd: Command) => {
        const { runList } = await import('../handlers/agents-list.ts');
        await runList(globals(cmd), o);
      }),
  );

  sub(
    agents
      .command('check')
      .description(
        'validate specs, then probe what starting them would need (runtime, image, token, mounts)',
      )
      .argument('<targets...>', 'agent NAMEs, spec files or agent directories')
      .option('--strict', 'fail (exit 9) when a finding would stop the agent from starting')
      .action(async (targets: string[], o: { strict?: boolean }, cmd: Command) => {
        const { runCheck } = await import('../handlers/agents-check.ts');
        runCheck(globals(cmd), targets, o);
      }),
  );

  sub(
    agents
      .command('explain')
      .description('show the effective spec (every default resolved) and the launch plan')
      .argument('<target>', 'agent NAME, spec file or agent directory')
      .action(async (target: string, _o: unknown, cmd: Command) => {
        const { runExplain } = await import('../handlers/agents-explain.ts');
        runExplain(globals(cmd), target);
      }),
  );

  sub(
    agents
      .command('new')
      .description('scaffold a new agent: <scope>/agents/NAME/{spec.yaml,to_home/}')
      .argument('<name>', 'the agent name (its directory name)')
      .addOption(
        new Option('--in <scope>', 'where to create it')
          .choices(['user', 'project'])
          .default('user'),
      )
      .addOption(
        new Option('--runtime <runtime>', 'sandbox runtime')
          .choices(['bwrap', 'apptainer', 'host'])
          .default('bwrap'),
      )
      .option('--model <model>', 'model alias or id', 'sonnet')
      .action(
        async (
          name: string,
          o: { in: 'user' | 'project'; runtime: string; model: string },
          cmd: Command,
        ) => {
          const { runNew } = await import('../handlers/agents-new.ts');
          runNew(globals(cmd), name, o);
        },
      ),
  );

  sub(
    agents
      .command('find')
      .description('find agents by capability (metadata.labels.capabilities or skills)')
      .argument('<capability>', 'capability to look for (case-insensitive)')
      .action(async (capability: string, _o: unknown, cmd: Command) => {
        const { runFind } = await import('../handlers/agents-list.ts');
        await runFind(globals(cmd), capability);
      }),
  );

  registerLifecycleCommands(agents);
}
