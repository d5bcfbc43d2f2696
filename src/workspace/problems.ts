/**
 * How the workspace code reports a problem: one coded error (WORKSPACE_INVALID) whose message
 * starts with the location, the way compilers do (`file:line: message`), so a user can jump to it.
 * @module
 */
import { AppError } from '../errors.ts';

export interface Location {
  /** Host path of the offending file or directory. */
  file: string;
  /** 1-based line, when the problem is inside a text file. */
  line?: number;
}

export function located(loc: Location): string {
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

/** A WORKSPACE_INVALID error located at `loc`. */
export function workspaceError(
  loc: Location,
  message: string,
  extra: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
): AppError {
  return new AppError('WORKSPACE_INVALID', `${located(loc)}: ${message}`, {
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
    details: {
      file: loc.file,
      ...(loc.line === undefined ? {} : { line: loc.line }),
      ...extra.details,
    },
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
  });
}

/** Several problems found in one pass: the first is the message, all are in `details.problems`. */
export function workspaceErrors(
  problems: readonly { loc: Location; message: string }[],
  hint?: string,
): AppError {
  const first = problems[0];
  if (first === undefined)
    throw new AppError('INTERNAL', 'workspaceErrors called without problems');
  const more =
    problems.length > 1
      ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
      : '';
  return new AppError('WORKSPACE_INVALID', `${located(first.loc)}: ${first.message}${more}`, {
    ...(hint === undefined ? {} : { hint }),
    details: {
      file: first.loc.file,
      problems: problems.map((p) => `${located(p.loc)}: ${p.message}`),
    },
  });
}
