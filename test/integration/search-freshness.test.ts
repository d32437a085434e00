// A change made through the admin API reaches /products/search through the change pipeline: the
// api process's in-process feed writes the search read model and drops every cached search answer.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../support/admin-api.ts';
import { markOutboxPublished } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

const admin = mintToken('search-freshness', 'read+write');
let database: { name: string; url: string };
let pool: pg.Pool;
let service: ServiceProcess;

beforeAll(async () => {
  database = await cloneCatalogDatabase('search_freshness');
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // The import's events are already in the read model (the template's): start with an empty outbox.
  await markOutboxPublished(pool);
  // Cached answers stay fresh for 60 s: anything served sooner comes from invalidation.
  service = await startServiceProcess({ DATABASE_URL: database.url, ADMIN_TOKENS: admin.entry, CACHE_FRESH_TTL_MS: '60000', CACHE_MAX_STALE_MS: '60000', LOG_LEVEL: 'info' });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await pool?.end();
  if (database) await dropDatabase(database.name);
});

interface Found {
  items: { id: number; name: string }[];
}
const search = async (q: string): Promise<Found & { cache: string | null }> => {
  const response = await fetch(`${service.address}/products/search?q=${encodeURIComponent(q)}&facets=none`);
  expect(response.status).toBe(200);
  return { ...((await response.json()) as Found), cache: response.headers.get('x-cache') };
};

/** Polls until `done` holds; resolves with the milliseconds it took. */
async function within(ms: number, done: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('when a product changes through the admin API', () => {
  const newName = 'Zephyrine Quokka Reading Lamp';

  it('then /products/search finds it by its new name within 1 s, though that query was answered (and cached) before', async () => {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'active' AND price_min IS NOT NULL ORDER BY id LIMIT 1 OFFSET 40`);
    const id = Number(rows[0]?.id);
    expect((await search('zephyrine quokka')).items).toHaveLength(0);
    expect((await search('zephyrine quokka')).cache).toMatch(/hit/i);

    const renamed = await fetch(`${service.address}/admin/products/${id}`, {
      method: 'PATCH',
      headers: { authorization: admin.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: newName }),
    });
    expect(renamed.status).toBe(200);
    const took = await within(1000, async () => (await search('zephyrine quokka')).items.some((item) => item.id === id));
    expect(took).toBeLessThan(1000);
    const [first] = (await search('zephyrine quokka lamp')).items;
    expect(first).toMatchObject({ id, name: newName });
  });

  it('then an archived product disappears from the answers within 1 s', async () => {
    const [found] = (await search('zephyrine quokka')).items;
    expect(found).toBeDefined();
    const archived = await fetch(`${service.address}/admin/products/${found?.id}`, { method: 'DELETE', headers: { authorization: admin.authorization } });
    expect(archived.status).toBeLessThan(300);
    const took = await within(1000, async () => (await search('zephyrine quokka')).items.length === 0);
    expect(took).toBeLessThan(1000);
  });
});
