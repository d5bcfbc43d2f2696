import type { Command } from 'commander';

/** Apply the common settings to a subcommand: errors flow to the single catch in main. */
export function sub(cmd: Command): Command {
  return cmd.exitOverride().configureOutput({ outputError: () => {} });
}
