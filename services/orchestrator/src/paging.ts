import { AppError } from '@codeagent/contracts';

/** A list's `cursor` (the offset a previous page handed out); anything else is the caller's error. */
export function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  if (!/^\d{1,9}$/.test(cursor)) throw new AppError('VALIDATION_FAILED', `cursor "${cursor.slice(0, 40)}" is not one this list handed out`, { details: { fields: { cursor: 'not a cursor of this list' } } });
  return Number(cursor);
}
