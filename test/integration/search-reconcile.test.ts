// reconcile and reindex on the PostgreSQL read model: drift of every kind made by hand in a copy of the
// catalogue, found by the `reconcile` role, repaired from the current rows, and gone on the next run.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { startRoleProcess } from '../support/role-process.ts';

let database: { name: string; url: string };
let pool: pg.Pool;
beforeAll(async () => {
  database = await cloneCatalogDatabase('search_reconcile');
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  if (database) await dropDatabase(database.name);
});

async function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const role = startRoleProcess(args, { DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
  const { code } = await role.exited;
  return { code, output: role.output() };
}

const listed = async (count: number): Promise<number[]> =>
  (await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'active' AND price_min IS NOT NULL ORDER BY id LIMIT $1`, [count])).rows.map((row) => Number(row.id));

describe('when the search read model drifted from PostgreSQL', () => {
  it('then reconcile names each kind of drift, repairs all but an index ahead of the database, and a second run finds none of them', async () => {
    const [missing, behind, hidden, ahead] = (await listed(4)) as [number, number, number, number];
    const draft = Number((await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'draft' ORDER BY id LIMIT 1`)).rows[0]?.id);
    await pool.query('DELETE FROM search_documents WHERE product_id = $1', [missing]);
    await pool.query('UPDATE search_documents SET version = version - 1 WHERE product_id = $1', [behind]);
    // A listed product the read model holds as removed, at its own version; a draft it shows.
    await pool.query(`UPDATE search_documents SET removed = true, document = NULL WHERE product_id = $1`, [hidden]);
    await pool.query(`INSERT INTO search_documents (product_id, version, removed, document) SELECT $1, p.version, false, d.document FROM products p, search_documents d WHERE p.id = $1 AND d.product_id = $2
                      ON CONFLICT (product_id) DO UPDATE SET removed = false, document = excluded.document, version = excluded.version`, [draft, behind]);
    // A document for a product PostgreSQL never had, and one ahead of its product.
    await pool.query(`INSERT INTO search_documents (product_id, version, removed, document) SELECT 99999999, 1, false, document FROM search_documents WHERE product_id = $1`, [ahead]);
    await pool.query('UPDATE search_documents SET version = version + 5 WHERE product_id = $1', [ahead]);

    const dry = await run(['reconcile', '--dry-run']);
    expect(dry.output).toMatch(/postgres: checked \d+ product\(s\); 1 missing, 1 behind, 2 visibility, 1 gone, 1 ahead/);
    expect(dry.output).toMatch(/dry run: nothing written/);
    expect(dry.code).toBe(1);

    const fixed = await run(['reconcile']);
    expect(fixed.output).toMatch(/repaired 5/);
    const { rows } = await pool.query<{ product_id: string; version: string; removed: boolean; product_version: string | null }>(
      `SELECT d.product_id, d.version, d.removed, p.version AS product_version FROM search_documents d LEFT JOIN products p ON p.id = d.product_id WHERE d.product_id = ANY($1)`,
      [[missing, behind, hidden, draft, 99999999]],
    );
    const byId = new Map(rows.map((row) => [Number(row.product_id), row]));
    for (const id of [missing, behind, hidden]) expect(byId.get(id)).toMatchObject({ removed: false, version: byId.get(id)?.product_version });
    expect(byId.get(draft)?.removed).toBe(true);
    expect(byId.get(99999999)?.removed).toBe(true);

    const again = await run(['reconcile']);
    expect(again.output).toMatch(/postgres: checked \d+ product\(s\); 1 ahead/);
    expect(again.output).toMatch(/run reindex/);
  });

  it('then reindex rewrites every row at its version, all but the one ahead of the database (never overwritten by an older version)', async () => {
    const result = await run(['reindex']);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/postgres: rewrote (\d+) search document\(s\)/);
    const rewrote = Number(/rewrote (\d+)/.exec(result.output)?.[1]);
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM products');
    expect(rewrote).toBe(Number(rows[0]?.n) - 1);
  });
});
