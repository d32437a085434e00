import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/store/postgres-guard.ts';

function databaseError(code: string): pg.DatabaseError {
  const error = new pg.DatabaseError('from the server', 0, 'error');
  error.code = code;
  return error;
}

describe('when a query fails, the breaker', () => {
  it('then counts what says the database is in trouble', () => {
    for (const code of ['57014', '08006', '53300', '57P01', '40001', 'XX000']) expect(isDatabaseUnavailable(databaseError(code)), code).toBe(true);
  });

  it('then counts socket errors whose code merely looks like a SQLSTATE', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('then leaves a bad query to the caller', () => {
    for (const code of ['22P02', '23505', '42703', '21000']) expect(isDatabaseUnavailable(databaseError(code)), code).toBe(false);
  });
});
