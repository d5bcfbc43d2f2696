/**
 * `spec.startup_commands`: shell commands run inside the agent's sandbox, in order, each after its
 * delay, once per launch before Claude Code starts. Output goes to the supervisor log; a failing
 * command fails the start with its output's tail.
 * @module
 */
import { type ChildProcess } from 'node:child_process';
import { AppError } from '../errors.ts';
import { redactSecrets } from '../util/redact.ts';

export interface StartupCommand {
  delay: number;
  command: string;
}

/** Starts `sh -c <command>` the way Claude Code would be started (same sandbox, uid, env). */
export type CommandRunner = (command: string) => {
  child: ChildProcess;
  done: Promise<number | null>;
};

const TAIL = 20;

export async function runStartupCommands(
  commands: readonly StartupCommand[],
  run: CommandRunner,
  log: (line: string) => void,
): Promise<void> {
  for (const [i, c] of commands.entries()) {
    if (c.delay > 0) await new Promise((r) => setTimeout(r, c.delay * 1000));
    log(`startup_commands[${i}]: ${redactSecrets(c.command)}`);
    const { child, done } = run(c.command);
    const lines: string[] = [];
    const collect = (d: Buffer): void => {
      for (const line of d.toString('utf8').split('\n')) {
        if (!line) continue;
        log(`startup_commands[${i}] | ${redactSecrets(line)}`);
        lines.push(redactSecrets(line));
        if (lines.length > TAIL) lines.shift();
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const code = await done;
    if (code !== 0) {
      throw new AppError(
        'START_FAILED',
        `startup_commands[${i}] failed with exit code ${code ?? 'unknown (signal)'}`,
        {
          hint: 'see the supervisor log; startup commands run inside the sandbox as the agent',
          details: { command: redactSecrets(c.command), stderr: lines },
        },
      );
    }
  }
}
