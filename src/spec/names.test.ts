import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { assertAgentName, MAX_NAME_LENGTH, nameProblem } from './names.ts';

describe('agent names', () => {
  it.each(['hello-agent', 'a', 'A_1.b-c', 'x'.repeat(MAX_NAME_LENGTH), '9lives'])(
    'accepts %s',
    (name) => {
      expect(nameProblem(name)).toBeUndefined();
      expect(assertAgentName(name)).toBe(name);
    },
  );

  it.each([
    ['', 'empty'],
    ['../x', 'path separator'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['.hidden', "starts with '.'"],
    ['-flag', "starts with '-'"],
    ['a..b', "'..'"],
    ['x'.repeat(MAX_NAME_LENGTH + 1), 'at most 63'],
    ['spa ce', 'characters other than'],
    ['ünï', 'characters other than'],
  ])('refuses %j (%s)', (name, why) => {
    expect(nameProblem(name)).toContain(why);
    try {
      assertAgentName(name);
      expect.unreachable('should throw');
    } catch (err) {
      expect(isAppError(err) && err.code).toBe('NAME_INVALID');
    }
  });
});
