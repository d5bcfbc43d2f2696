/**
 * The command tree. Definitions only: every action loads its implementation lazily.
 * @module
 */
import { Command, Option } from 'commander';
import { registerAgentCommands } from './commands/agents.ts';
import { registerCompletionCommand } from './commands/completion.ts';
import { registerDbCommands } from './commands/db.ts';
import { sacVersion } from '../version.ts';

/** Every command's full help, depth first, for `sac --help-recursive`. */
export function recursiveHelp(cmd: Command, prefix = ''): string {
  const name = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
  const own = `${'='.repeat(8)} ${name}\n${cmd.helpInformation()}`;
  return [own, ...cmd.commands.map((c) => recursiveHelp(c, name))].join('\n');
}

export function buildProgram(): Command {
  const program = new Command('sac')
    .description(
      'Declarative, on-prem-first lifecycle manager for Claude Code agents.\n' +
        'One spec.yaml per agent directory becomes a long-lived, sandboxed Claude Code session.',
    )
    .version(sacVersion(), '-V, --version', 'print the version')
    .option('--json', 'print results as JSON (errors too: {"error":{code,message,...}})')
    .addOption(
      new Option('--scope <scope>', 'which scope a NAME is looked up in').choices([
        'project',
        'user',
        'dirs',
      ]),
    )
    .option('--help-recursive', 'print the help of every command')
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    .enablePositionalOptions(false);

  program.on('option:help-recursive', () => {
    process.stdout.write(recursiveHelp(program));
    process.exit(0);
  });

  registerAgentCommands(program);
  registerDbCommands(program);
  registerCompletionCommand(program);

  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 failed, 2 usage or bad name, 3 invalid spec, 4 agent not found,
5 supervisor unreachable, 6 ambiguous name, 7 already running, 8 not running,
9 not ready (check --strict), 10 sandbox unavailable, 18 no model credential,
19 failed before ready, 70 bug in sac. All codes: docs/cli.md.`,
  );
  return program;
}
