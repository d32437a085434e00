// The herd test's count of statements at the database is only as good as the proxy's reading of
// what node-postgres really sends: checked here against the real server.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../support/database.ts';
import { startPostgresStatementProxy, type PostgresStatementProxy } from '../support/postgres-statements.ts';

describe('when node-postgres queries through the statement-counting proxy', () => {
  let database: PostgresStatementProxy;
  let client: pg.Client;
  beforeAll(async () => {
    database = await startPostgresStatementProxy(testDatabaseUrl());
    client = new pg.Client({ connectionString: database.url, statement_timeout: 5_000 });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await database.close();
  });

  it('then connecting counts nothing, and each simple, parameterized or prepared query counts once', async () => {
    expect(database.statements()).toBe(0);
    await client.query('SELECT 1');
    expect(database.statements()).toBe(1);
    await client.query('SELECT $1::int AS n', [2]);
    expect(database.statements()).toBe(2);
    for (let run = 0; run < 3; run += 1) await client.query({ name: 'count-products', text: 'SELECT count(*) FROM products WHERE id > $1', values: [run] });
    expect(database.statements()).toBe(5);
    await expect(client.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
    expect(database.statements()).toBe(6);
  });
});
