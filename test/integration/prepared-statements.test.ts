// The read path's queries run as named prepared statements, so PostgreSQL plans each one once per
// connection; checked on a real PostgreSQL session (pg_prepared_statements is per connection).
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { preparedStatements } from '../../src/store/prepared-statements.ts';
import { testDatabaseUrl } from '../support/database.ts';

const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });

afterAll(async () => {
  await pool.query('DROP TABLE IF EXISTS prepared_statement_probe');
  await pool.end();
});

describe('when read queries go through preparedStatements', () => {
  it('then each distinct text is prepared once on the connection and reused, with the right rows', async () => {
    const reads = preparedStatements(pool);
    const byId = 'SELECT id::int, slug FROM products WHERE id = $1';
    const bySlug = 'SELECT id::int, slug FROM products WHERE slug = $1';
    const first = await reads.query<{ id: number; slug: string }>(byId, [3]);
    const again = await reads.query<{ id: number; slug: string }>(byId, [4]);
    const slug = await reads.query<{ id: number; slug: string }>(bySlug, [first.rows[0]?.slug]);
    expect(first.rows[0]?.id).toBe(3);
    expect(again.rows[0]?.id).toBe(4);
    expect(slug.rows[0]?.id).toBe(3);

    const { rows } = await pool.query<{ name: string; statement: string }>(`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'catalog\\_%'`);
    expect(rows.map((row) => row.statement).sort()).toEqual([byId, bySlug].sort());
    expect(new Set(rows.map((row) => row.name)).size).toBe(2);
  });

  it('then a migration that changes a returned column type is survived: the next query gets the new type, not an error', async () => {
    const reads = preparedStatements(pool);
    await pool.query(`DROP TABLE IF EXISTS prepared_statement_probe; CREATE TABLE prepared_statement_probe (id int, price int); INSERT INTO prepared_statement_probe VALUES (1, 1999)`);
    const text = 'SELECT id, price FROM prepared_statement_probe WHERE id = $1';
    expect((await reads.query<{ price: unknown }>(text, [1])).rows[0]?.price).toBe(1999);

    await pool.query('ALTER TABLE prepared_statement_probe ALTER COLUMN price TYPE numeric(10,2)');
    // The connection still holds the statement prepared before the change, which PostgreSQL now
    // refuses to run (0A000); the read is answered all the same, with the new type.
    expect((await reads.query<{ price: unknown }>(text, [1])).rows[0]?.price).toBe('1999.00');
    expect((await reads.query<{ price: unknown }>(text, [1])).rows[0]?.price).toBe('1999.00');
  });
});
