import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { logError } from '../../src/observability/logger.ts';
import { capturedLog as capture } from '../support/captured-log.ts';

/** What pg hands a pool's 'error' listener when the server ends an idle connection: the client hangs off it. */
function driverError(): Error {
  const error = new Error('terminating connection due to administrator command') as Error & Record<string, unknown>;
  error.code = '57P01';
  error.client = { connectionParameters: { password: 'hunter2' }, preparedStatements: { listing: 'SELECT * FROM products' } };
  error.cause = new Error('connect ECONNREFUSED postgres://catalog:hunter2@db:5432/catalog');
  return error;
}

describe('when an error is logged', () => {
  it('then the line carries its type, message, code and stack, and none of the driver objects hanging off it', () => {
    const { lines, log } = capture();
    log.warn({ err: driverError() }, 'idle PostgreSQL connection failed');
    const err = lines[0]?.err as Record<string, unknown>;
    expect(Object.keys(err).sort()).toEqual(['cause', 'code', 'message', 'stack', 'type']);
    expect(err).toMatchObject({ type: 'Error', code: '57P01', message: 'terminating connection due to administrator command' });
    expect(JSON.stringify(lines[0])).not.toMatch(/hunter2|preparedStatements|SELECT \*/);
  });

  it('then a connection string in a message or stack loses its credentials', () => {
    const logged = logError(driverError());
    expect(logged.cause?.message).toBe('connect ECONNREFUSED postgres://***@db:5432/catalog');
    expect(logged.cause?.stack).not.toContain('hunter2');
  });

  it('then a request that fails inside Fastify is logged through the same serializer', async () => {
    const { lines, log } = capture();
    const app = Fastify({ loggerInstance: log });
    app.get('/boom', async () => {
      throw driverError();
    });
    const reply = await app.inject('/boom');
    await app.close();
    expect(reply.statusCode).toBe(500);
    const failed = lines.find((line) => line.err !== undefined);
    expect(Object.keys(failed?.err as object).sort()).toEqual(['cause', 'code', 'message', 'stack', 'type']);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});
