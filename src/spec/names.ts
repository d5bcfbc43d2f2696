/**
 * Agent names become directory names, socket names, hostnames and URL segments, so they are
 * checked before any file is touched.
 * @module
 */
import { AppError } from '../errors.ts';

export const MAX_NAME_LENGTH = 63;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `name` is not a valid agent name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.length > MAX_NAME_LENGTH)
    return `it is ${name.length} characters long (at most ${MAX_NAME_LENGTH})`;
  if (name.includes('/') || name.includes('\\')) return 'it contains a path separator';
  if (name.includes('..')) return "it contains '..'";
  if (name.startsWith('.')) return "it starts with '.'";
  if (name.startsWith('-')) return "it starts with '-'";
  if (!NAME_RE.test(name)) return 'it contains characters other than ASCII letters, digits, - _ .';
  return undefined;
}

/** Throw NAME_INVALID unless `name` is a valid agent name. */
export function assertAgentName(name: string): string {
  const problem = nameProblem(name);
  if (problem) {
    throw new AppError('NAME_INVALID', `invalid agent name ${JSON.stringify(name)}: ${problem}`, {
      hint: `agent names use ASCII letters, digits, '-', '_' and '.', do not start with '.' or '-', contain no '..', and are at most ${MAX_NAME_LENGTH} characters`,
      details: { name },
    });
  }
  return name;
}
