/** Shared by unit and integration tests: the AppError a call throws (fails the test otherwise). */
import { type AppError, isAppError } from '../../src/errors.ts';

export function appErrorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (isAppError(err)) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}
