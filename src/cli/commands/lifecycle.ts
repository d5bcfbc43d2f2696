/**
 * `sac agents start|stop|restart|status|health|send|tail|recall|delete|forget|resurrect`:
 * definitions only; implementations load when a command runs.
 * @module
 */
import { type Command, Option } from 'commander';
import { sub } from '../define.ts';
import { globals } from '../output.ts';

export function registerLifecycleCommands(agents: Command): void {
  sub(
    agents
      .command('start')
      .description(
        'start agents: each gets a supervisor that keeps its sandboxed Claude Code session running',
      )
      .argument(
        '<targets...>',
        'agent NAMEs, spec files or agent directories (started concurrently)',
      )
      .option('--foreground', 'stream the transcript; Ctrl-C stops the agent cleanly')
      .option('--dry-run', 'validate and show the launch plan; start nothing')
      .option('--force', 'stop a running agent first')
      .addOption(
        new Option('--fresh', 'start a new conversation').conflicts(['continue', 'resume']),
      )
      .addOption(
        new Option('--continue', "resume the agent's last conversation").conflicts(['resume']),
      )
      .option('--resume <session-id>', 'resume this conversation')
      .option('--one-shot', 'run the startup prompts, then stop (exit reason oneshot-complete)')
      .action(async (targets: string[], o: Record<string, unknown>, cmd: Command) => {
        const { runStart } = await import('../handlers/agents-start.ts');
        await runStart(globals(cmd), targets, o);
      }),
  );

  sub(
    agents
      .command('stop')
      .description(
        'stop agents: no new turns, Claude Code exits by itself, then anything left is killed',
      )
      .argument('[names...]', 'agents to stop')
      .option('--all', 'stop every running agent')
      .option('--force', 'kill at once instead of waiting for Claude Code to exit')
      .action(async (names: string[], o: { all?: boolean; force?: boolean }, cmd: Command) => {
        const { runStop } = await import('../handlers/agents-control.ts');
        await runStop(globals(cmd), names, o);
      }),
  );

  sub(
    agents
      .command('restart')
      .description('stop and start an agent, applying a changed spec')
      .argument('<name>', 'the agent')
      .addOption(new Option('--fresh', 'start a new conversation').conflicts(['continue']))
      .option('--continue', "resume the agent's last conversation")
      .action(async (name: string, o: { fresh?: boolean; continue?: boolean }, cmd: Command) => {
        const { runRestart } = await import('../handlers/agents-start.ts');
        await runRestart(globals(cmd), name, o);
      }),
  );

  sub(
    agents
      .command('status')
      .description('fleet table (no NAME) or one agent in detail')
      .argument('[name]', 'the agent')
      .action(async (name: string | undefined, _o: unknown, cmd: Command) => {
        const { runStatus } = await import('../handlers/agents-status.ts');
        await runStatus(globals(cmd), name);
      }),
  );

  sub(
    agents
      .command('health')
      .description(
        "an agent's health: supervisor, Claude Code, heartbeat, stalls (exit 1 when unhealthy)",
      )
      .argument('<name>', 'the agent')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const { runHealth } = await import('../handlers/agents-status.ts');
        await runHealth(globals(cmd), name);
      }),
  );

  sub(
    agents
      .command('send')
      .description('send a turn to a running agent and print its reply')
      .argument('<name>', 'the agent')
      .argument('[prompt]', 'the text to send')
      .option('--no-wait', 'queue the turn and return at once')
      .option('--exit-after', 'stop the agent after this turn (exit reason exit-after)')
      .addOption(
        new Option(
          '--key <key>',
          'send a key instead of a prompt: ESC interrupts the turn in progress',
        ).choices(['ESC', 'C-c']),
      )
      .action(
        async (
          name: string,
          prompt: string | undefined,
          o: { wait: boolean; key?: string },
          cmd: Command,
        ) => {
          const { runSend } = await import('../handlers/agents-control.ts');
          await runSend(globals(cmd), name, prompt, o);
        },
      ),
  );

  sub(
    agents
      .command('tail')
      .description(
        'show transcripts: user, assistant, tool calls and results, usage, errors, supervisor events',
      )
      .argument('<names...>', 'agents (several are interleaved, each line prefixed with its name)')
      .option('-n, --lines <n>', 'records to show from the end of each', '20')
      .option('-f, --follow', 'keep printing new records')
      .action(async (names: string[], o: { lines: string; follow?: boolean }, cmd: Command) => {
        const { runTail } = await import('../handlers/agents-tail.ts');
        await runTail(globals(cmd), names, o);
      }),
  );

  sub(
    agents
      .command('recall')
      .description("a short summary of an agent's session")
      .argument('<name>', 'the agent')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const { runRecall } = await import('../handlers/agents-tail.ts');
        await runRecall(globals(cmd), name);
      }),
  );

  sub(
    agents
      .command('delete')
      .description('stop agents and remove their spec directory, runtime directory and records')
      .argument('<names...>', 'agents to delete')
      .option('-y, --yes', 'really delete (required)')
      .action(async (names: string[], o: { yes?: boolean }, cmd: Command) => {
        const { runDelete } = await import('../handlers/agents-control.ts');
        await runDelete(globals(cmd), names, o);
      }),
  );

  sub(
    agents
      .command('forget')
      .description("drop an agent's records from state.db (no signals, files stay)")
      .argument('<name>', 'the agent')
      .action(async (name: string, _o: unknown, cmd: Command) => {
        const { runForget } = await import('../handlers/agents-control.ts');
        await runForget(globals(cmd), name);
      }),
  );

  sub(
    agents
      .command('resurrect')
      .description(
        'bring back agents whose supervisor died (kill -9, OOM, reboot), resuming their sessions',
      )
      .addOption(
        new Option(
          '--install <how>',
          'run resurrect at boot: a systemd user unit or an @reboot cron entry',
        ).choices(['systemd', 'cron']),
      )
      .option('--print', 'with --install: print what would be installed instead')
      .action(async (o: { install?: 'systemd' | 'cron'; print?: boolean }, cmd: Command) => {
        const { runResurrect } = await import('../handlers/agents-control.ts');
        await runResurrect(globals(cmd), o);
      }),
  );
}
