import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledFeedFiles, importProducts } from '../../src/roles/import.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrator.ts';
import { recreateDatabase, silentLog, testDatabaseConfig, testDatabaseName } from '../support/database.ts';
import { changeEventValidator, committedChanges } from '../support/change-events.ts';

const malformedFile = fileURLToPath(new URL('../fixtures/malformed-products.csv', import.meta.url));

let database: Database;
beforeAll(async () => {
  database = createDatabase({ primary: await recreateDatabase(testDatabaseName('catalog_test_import')) }, testDatabaseConfig, silentLog);
  await migrate(database.primary, silentLog);
});
afterAll(() => database.close());

async function snapshot(): Promise<string> {
  const { rows } = await database.primary.query<{ digest: string }>(
    `SELECT md5(string_agg(row_to_json(t)::text, '' ORDER BY t.id)) AS digest FROM
       (SELECT p.id, p.version, p.updated_at, p.slug, p.price_min, v.sku, v.updated_at AS variant_updated_at
          FROM products p LEFT JOIN variants v ON v.product_id = p.id) t`,
  );
  return rows[0]?.digest ?? '';
}

describe('when the bundled products are imported', () => {
  it('then every product arrives, and a second run changes nothing', async () => {
    const first = await importProducts(database.primary, bundledFeedFiles);
    expect(first.skipped).toEqual([]);
    expect(first.products).toEqual({ inserted: 20000, updated: 0, unchanged: 0 });
    expect(first.variants.inserted).toBe(20000 - 78);
    expect(first.drafts).toBe(78);
    const before = await snapshot();

    const second = await importProducts(database.primary, bundledFeedFiles);
    expect(second.products).toEqual({ inserted: 0, updated: 0, unchanged: 20000 });
    expect(second.variants).toEqual({ inserted: 0, updated: 0, unchanged: 20000 - 78 });
    expect(second.categories + second.brands).toBe(0);
    expect(await snapshot()).toBe(before);
  });

  it('then each new product committed one "created" change event, valid against asyncapi.yaml, and the second run none', async () => {
    const events = await committedChanges(database.primary);
    expect(events).toHaveLength(20000);
    expect(new Set(events.map((event) => event.productId)).size).toBe(20000);
    const valid = await changeEventValidator();
    for (const event of events) expect(valid(event) ? [] : valid.errors).toEqual([]);
    expect(events.every((event) => event.kind === 'created' && event.before === null && event.actor === 'import')).toBe(true);
    const drafts = events.filter((event) => !event.after.listed);
    expect(drafts).toHaveLength(78);
  });

  it('then the category tree, brands, prices and ratings come from the feed', async () => {
    const { rows } = await database.primary.query<{ name: string; brand: string; price_min: number; compare: number; rating: string; category: string }>(
      `SELECT p.name, b.name AS brand, p.price_min, v.compare_at_minor AS compare, p.rating,
              (SELECT string_agg(c.name, ' > ' ORDER BY nlevel(c.path)) FROM categories c WHERE c.path @> p.category_path) AS category
         FROM products p JOIN brands b ON b.id = p.brand_id JOIN variants v ON v.product_id = p.id
        WHERE p.external_id = 'e54bc0a7c3429da2ebef0b30331fe3d2'`,
    );
    expect(rows[0]).toEqual({
      name: 'Ladela Bellies',
      brand: 'Ladela',
      price_min: 95000,
      compare: 172400,
      rating: 5,
      category: "Footwear > Women's Footwear > Ballerinas",
    });
  });

  it('then a changed row updates just that product and bumps its version', async () => {
    const { rows } = await database.primary.query<{ id: number; version: number }>(`SELECT id, version FROM products ORDER BY id LIMIT 1`);
    await database.primary.query(`UPDATE products SET name = 'Renamed upstream' WHERE id = $1`, [rows[0]?.id]);
    const report = await importProducts(database.primary, bundledFeedFiles);
    expect(report.products).toEqual({ inserted: 0, updated: 1, unchanged: 19999 });
    const after = await database.primary.query<{ name: string; version: number }>(`SELECT name, version FROM products WHERE id = $1`, [rows[0]?.id]);
    expect(after.rows[0]?.name).toBe("Alisha Solid Women's Cycling Shorts");
    expect(after.rows[0]?.version).toBe((rows[0]?.version ?? 0) + 2);
    const [event, ...others] = (await committedChanges(database.primary)).filter((change) => change.productId === rows[0]?.id && change.kind === 'updated');
    expect(others).toEqual([]);
    // The outbox row holds the version the write committed, and the placement on both sides.
    expect(event).toMatchObject({ version: after.rows[0]?.version, changed: ['name'], before: { id: rows[0]?.id, listed: true }, after: { id: rows[0]?.id, listed: true } });
  });
});

describe('when a feed file has malformed rows', () => {
  it('then each is reported with its line and skipped, and the good rows are imported whole', async () => {
    const report = await importProducts(database.primary, [malformedFile]);
    const file = path.basename(malformedFile);
    expect(report.skipped).toEqual([
      { file, line: 3, reason: expect.stringMatching(/retail_price "lots"/) },
      { file, line: 4, reason: expect.stringMatching(/uniq_id/) },
      { file, line: 5, reason: expect.stringMatching(/product_rating "7"/) },
      { file, line: 7, reason: expect.stringMatching(/column|Record Length/i) },
      { file, line: 10, reason: expect.stringMatching(/product_category_tree/) },
    ]);
    expect(report.products.inserted).toBe(3);

    const { rows } = await database.primary.query<{ external_id: string; status: string; variants: number }>(
      `SELECT p.external_id, p.status, (SELECT count(*)::int FROM variants v WHERE v.product_id = p.id) AS variants
         FROM products p WHERE p.external_id LIKE 'test%' ORDER BY p.external_id`,
    );
    expect(rows).toEqual([
      { external_id: 'test0000000000000000000000000001', status: 'active', variants: 1 },
      { external_id: 'test0000000000000000000000000006', status: 'draft', variants: 0 },
      { external_id: 'test0000000000000000000000000007', status: 'active', variants: 1 },
    ]);
  });

  it('then a file that does not exist fails the import before anything is written', async () => {
    const before = await snapshot();
    await expect(importProducts(database.primary, [malformedFile, '/no/such/file.csv'])).rejects.toThrow(/cannot read feed file \/no\/such\/file.csv/);
    expect(await snapshot()).toBe(before);
  });
});

describe('when migrations run again', () => {
  it('then nothing is applied twice', async () => {
    const result = await migrate(database.primary, silentLog);
    expect(result.applied).toEqual([]);
    expect(result.alreadyApplied).toBeGreaterThan(0);
  });
});
