// What the configuration bounds in memory: the hot path's URL table in bytes, held to what its
// entries really retain (each keeps its route's loader and what that captured, measured on the V8
// heap), and the near cache in entries.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const SORTS = ['newest', 'price_asc', 'price_desc', 'name', 'rating'];

/** Distinct listing URLs with every filter set, so each captured query is as large as it gets. */
async function listingUrls(catalog: TestCatalog, count: number): Promise<string[]> {
  const { rows } = await catalog.database.primary.query<{ slug: string }>('SELECT slug FROM categories ORDER BY slug');
  const urls: string[] = [];
  for (const { slug } of rows) {
    for (const sort of SORTS) urls.push(`/products?category=${slug}&sort=${sort}&limit=7&minPrice=100&maxPrice=900000&inStock=true`);
  }
  return urls.slice(0, count);
}

let catalog: TestCatalog | undefined;
afterEach(async () => {
  await catalog?.close();
  catalog = undefined;
});

/** Heap retained by answering `urls` (after a warm-up on others), with the hot-URL table bounded at `maxBytes`. */
async function retainedBy(maxBytes: number, warmUp: readonly string[], urls: readonly string[]): Promise<{ heap: number; counted: number }> {
  // No near cache and no Redis: the table is the only thing a URL leaves behind.
  catalog = await startTestCatalog({ env: { CACHE_NEAR_ENABLED: 'false', CACHE_HOT_URLS_MAX_BYTES: String(maxBytes) } });
  const app = catalog.app;
  for (const url of warmUp) expect((await app.inject(url)).statusCode).toBe(200);
  const before = heapUsed();
  for (let i = 0; i < urls.length; i += 25) {
    const answers = await Promise.all(urls.slice(i, i + 25).map((url) => app.inject(url)));
    for (const answer of answers) expect(answer.statusCode).toBe(200);
  }
  const heap = heapUsed() - before;
  const metric = await catalog.readPath.metrics.getSingleMetric('catalog_hot_urls_bytes')?.get();
  const counted = metric?.values[0]?.value ?? 0;
  await catalog.close();
  catalog = undefined;
  return { heap, counted };
}

describe('when many distinct URLs have been answered', () => {
  it('then the hot-URL table counts at least what its entries retain on the heap, and not far more', async () => {
    catalog = await startTestCatalog({ env: { CACHE_NEAR_ENABLED: 'false' } });
    const all = await listingUrls(catalog, 1_700);
    await catalog.close();
    catalog = undefined;
    const warmUp = all.slice(0, 200);
    const urls = all.slice(200);

    const without = await retainedBy(0, warmUp, urls);
    const withTable = await retainedBy(64 * 1024 * 1024, warmUp, urls);
    const retained = withTable.heap - without.heap;

    expect(without.counted).toBe(0);
    expect(withTable.counted).toBeGreaterThanOrEqual(retained);
    expect(withTable.counted).toBeLessThan(2 * retained);
  });

  it('then a table bounded below what they need keeps its count under the bound', async () => {
    const bound = 256 * 1024;
    catalog = await startTestCatalog({ env: { CACHE_NEAR_ENABLED: 'false', CACHE_HOT_URLS_MAX_BYTES: String(bound) } });
    for (const url of await listingUrls(catalog, 300)) expect((await catalog.app.inject(url)).statusCode).toBe(200);
    const metric = await catalog.readPath.metrics.getSingleMetric('catalog_hot_urls_bytes')?.get();
    const counted = metric?.values[0]?.value ?? 0;
    expect(counted).toBeGreaterThan(bound / 2);
    expect(counted).toBeLessThanOrEqual(bound);
  });
});

describe('when more pages are read than CACHE_NEAR_MAX_ENTRIES allows', () => {
  it('then the least recently read ones are no longer held in memory', async () => {
    catalog = await startTestCatalog({ env: { CACHE_NEAR_MAX_ENTRIES: '3' } });
    for (const id of [1, 2, 3, 4, 5]) expect((await catalog.app.inject(`/products/${id}`)).headers['x-cache']).toBe('MISS');
    expect((await catalog.app.inject('/products/5')).headers['x-cache']).toBe('HIT-NEAR');
    expect((await catalog.app.inject('/products/1')).headers['x-cache']).toBe('MISS');
  });
});
