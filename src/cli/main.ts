/**
 * The `sac` command. Only commander and the command definitions load at start-up; each action
 * imports what it needs, so `sac --help` stays close to bare `node` start-up time.
 * @module
 */
import { CommanderError } from 'commander';
import { AppError, formatIssue, isAppError, SpecError } from '../errors.ts';
import { buildProgram } from './program.ts';

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

function report(err: unknown, json: boolean): number {
  if (isAppError(err)) {
    if (json) {
      process.stdout.write(JSON.stringify(err.toJSON(), null, 2) + '\n');
    } else {
      process.stderr.write(`error[${err.code}]: ${err.message}\n`);
      if (err instanceof SpecError) {
        for (const issue of err.issues) process.stderr.write(`  ${formatIssue(issue)}\n`);
      }
      if (err.hint) process.stderr.write(`    hint: ${err.hint}\n`);
    }
    return err.exitCode;
  }
  const bug = new AppError('INTERNAL', 'unexpected error: this is a bug in sac, please report it', {
    cause: err,
  });
  if (json) process.stdout.write(JSON.stringify(bug.toJSON(), null, 2) + '\n');
  process.stderr.write(`error[INTERNAL]: ${bug.message}\n`);
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return bug.exitCode;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not failures; commander already printed them
      if (err.exitCode === 0) return 0;
      const usage = new AppError('USAGE', err.message.replace(/^error: /, ''), {
        hint: 'see `sac --help` or `sac <command> --help`',
      });
      return report(usage, wantsJson(argv));
    }
    return report(err, wantsJson(argv));
  }
}

process.exitCode = await main(process.argv.slice(2));
