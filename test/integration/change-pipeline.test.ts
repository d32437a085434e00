// The change pipeline end to end, as production runs it: two api processes with near caches, a
// relay and an indexer as processes of their own, the Kafka test broker, a Redis of the test's own
// (so it can be killed) and a copy of the catalogue. Writes go through the admin API; what is
// checked is what shoppers get from both api processes.
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markOutboxPublished, waitFor } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { startRoleProcess, type RoleProcess } from '../support/role-process.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

const token = randomBytes(24).toString('base64url');
const adminTokens = `e2e:${createHash('sha256').update(token).digest('hex')}:read+write`;

let database: { name: string; url: string };
let pool: pg.Pool;
let broker: KafkaTestBroker;
let redis: RedisServer;
const apis: ServiceProcess[] = [];
let relay: ServiceProcess;
let indexer: RoleProcess;

interface Product {
  id: number;
  slug: string;
  sku: string;
  brand: string;
  categories: string[];
}

beforeAll(async () => {
  database = await cloneCatalogDatabase('catalog_test_pipeline');
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await markOutboxPublished(pool);
  broker = await startKafkaBroker({ defaultPartitions: 4 });
  redis = await startRedisServer();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'catalog-e2e:',
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ADMIN_TOKENS: adminTokens,
    // Short, so a test that stopped Redis sees the indexer retry within its wait, not after 30 s.
    INDEXER_RETRY_MAX_MS: '500',
    // Cached pages stay fresh for a minute in both tiers: a new price served sooner is the
    // invalidation's doing, never an expiry's.
    CACHE_NEAR_TTL_MS: '60000',
    CACHE_FRESH_TTL_MS: '60000',
    CACHE_MAX_STALE_MS: '60000',
  };
  [apis[0], apis[1], relay] = await Promise.all([startServiceProcess(env), startServiceProcess(env), startServiceProcess(env, 90_000, 'relay')]);
  indexer = startRoleProcess(['indexer'], env);
  await indexer.waitForOutput(/catalog indexer consuming/, 90_000);
}, 180_000);

/** SIGTERM, and SIGKILL after 20 s: a hung shutdown fails the test that checks it, not this teardown. */
async function stopProcess(name: string, child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`${name} did not exit within 20 s of SIGTERM`, name === 'indexer' ? indexer.output().slice(-3000) : '');
    child.kill('SIGKILL');
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

afterAll(async () => {
  await Promise.all([
    ...apis.map((api, n) => stopProcess(`api ${n}`, api.child)),
    stopProcess('relay', relay?.child),
    stopProcess('indexer', indexer?.child),
  ]);
  await broker?.stop();
  await redis?.stop();
  await pool?.end();
  if (database) await dropDatabase(database.name);
});

/** A listed product with a brand, two category levels or more, and one variant: its SKU sets its price. */
async function pickProduct(offset: number): Promise<Product> {
  const { rows } = await pool.query<{ id: string; slug: string; sku: string; brand: string; categories: string[] }>(
    `SELECT p.id, p.slug, min(v.sku) AS sku, b.slug AS brand,
            (SELECT array_agg(c.slug ORDER BY nlevel(c.path)) FROM categories c WHERE c.path @> p.category_path) AS categories
       FROM products p JOIN brands b ON b.id = p.brand_id JOIN variants v ON v.product_id = p.id
      WHERE p.status = 'active' AND p.price_min IS NOT NULL AND nlevel(p.category_path) >= 2
      GROUP BY p.id, b.slug HAVING count(v.id) = 1 ORDER BY p.id OFFSET $1 LIMIT 1`,
    [offset],
  );
  const row = rows[0]!;
  return { ...row, id: Number(row.id) };
}

/** Every page that shows the product's price: its page by id and slug, and (priced lowest) the first item of every listing it is in, sorted by price. */
function pagesShowing(product: Product): string[] {
  return [
    `/products/${product.id}`,
    `/products/${product.slug}`,
    '/products?sort=price_asc&limit=5',
    `/products?brand=${product.brand}&sort=price_asc&limit=5`,
    ...product.categories.map((category) => `/products?category=${category}&sort=price_asc&limit=5`),
  ];
}

/** The price a page shows for the product: its page's first variant, or the listing item's lowest; undefined when the listing's first item is another product. */
async function priceShown(api: ServiceProcess, path: string, productId: number): Promise<number | undefined> {
  const response = await fetch(api.address + path);
  expect(response.status, path).toBe(200);
  const body = (await response.json()) as { id?: number; price?: { min: number }; items?: { id: number; price: { min: number } }[] };
  if (body.items) return body.items[0]?.id === productId ? body.items[0].price.min : undefined;
  return body.id === productId ? body.price?.min : undefined;
}

async function admin(method: string, path: string, body: unknown): Promise<Response> {
  const response = await fetch(apis[0]!.address + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBe(200);
  return response;
}

async function committedAt(productId: number): Promise<number> {
  const { rows } = await pool.query<{ at: number }>(
    'SELECT (extract(epoch FROM committed_at) * 1000)::float8 AS at FROM product_changes WHERE product_id = $1 ORDER BY id DESC LIMIT 1',
    [productId],
  );
  return Number(rows[0]?.at);
}

/** Waits until every path shows `price` on both api processes; resolves with when the last one did. */
async function servedEverywhere(product: Product, paths: string[], price: number | undefined, timeoutMs = 20_000): Promise<number> {
  const pending = new Set(apis.flatMap((api) => paths.map((path) => [api, path] as const)));
  await waitFor(
    `${paths.length} pages on ${apis.length} api processes to show product ${product.id} at ${price}`,
    async () => {
      for (const entry of [...pending]) if ((await priceShown(entry[0], entry[1], product.id)) === price) pending.delete(entry);
      return pending.size === 0;
    },
    timeoutMs,
  );
  return Date.now();
}

async function warm(paths: string[]): Promise<void> {
  for (const api of apis) for (const path of paths) for (let n = 0; n < 2; n += 1) await (await fetch(api.address + path)).arrayBuffer();
}

describe('when a price changes through the admin API', () => {
  it('then its page and every listing that shows it serve the new price on both api processes within 1 s of the commit', async () => {
    const product = await pickProduct(0);
    const paths = pagesShowing(product);
    await warm(paths);
    // The cached pages still show the old price: what is served next is the invalidation's doing.
    expect(await priceShown(apis[1]!, paths[0]!, product.id)).not.toBe(1);

    await admin('PATCH', `/admin/variants/${product.sku}`, { price: 1 });
    const served = await servedEverywhere(product, paths, 1);
    expect(served - (await committedAt(product.id))).toBeLessThan(1000);
  });
});

describe('when a product moves to another category', () => {
  it('then it leaves the old category listings and appears in the new one, on both api processes', async () => {
    const product = await pickProduct(1);
    // Priced 0, the only such product: first in every listing sorted by price that holds it.
    await admin('PATCH', `/admin/variants/${product.sku}`, { price: 0 });
    const oldLeaf = `/products?category=${product.categories.at(-1)}&sort=price_asc&limit=5`;
    await servedEverywhere(product, [oldLeaf], 0);
    const { rows } = await pool.query<{ slug: string }>(
      `SELECT c.slug FROM categories c WHERE NOT c.path @> (SELECT category_path FROM products WHERE id = $1)
          AND NOT (SELECT category_path FROM products WHERE id = $1) @> c.path AND nlevel(c.path) >= 2 ORDER BY c.id LIMIT 1`,
      [product.id],
    );
    const target = rows[0]!.slug;
    const newLeaf = `/products?category=${target}&sort=price_asc&limit=5`;
    await warm([oldLeaf, newLeaf]);

    await admin('PATCH', `/admin/products/${product.id}`, { category: target });
    await servedEverywhere(product, [newLeaf], 0);
    await servedEverywhere(product, [oldLeaf], undefined);
  });
});

describe('when the broker is down', () => {
  it('then writes still commit, and the change is served once the broker is back', async () => {
    const product = await pickProduct(2);
    const paths = pagesShowing(product).slice(0, 2);
    await warm(paths);
    await broker.stop();
    try {
      await admin('PATCH', `/admin/variants/${product.sku}`, { price: 2 });
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM product_changes WHERE product_id = $1 AND published_at IS NULL', [product.id]);
      expect(Number(rows[0]?.n)).toBe(1);
    } finally {
      await broker.restart();
    }
    await servedEverywhere(product, paths, 2, 60_000);
  });
});

describe('when Redis is killed during a change', () => {
  it('then the indexer keeps retrying, and once Redis is back the change is invalidated and served: nothing was skipped', async () => {
    const product = await pickProduct(3);
    const paths = pagesShowing(product).slice(0, 2);
    await warm(paths);
    const invalidatedBefore = await changesInvalidated();
    const port = redis.port;
    await redis.stop();
    const outputBefore = indexer.output().length;
    await admin('PATCH', `/admin/variants/${product.sku}`, { price: 3 });
    // The indexer cannot invalidate: it says so, retries, and commits nothing meanwhile.
    await waitFor('the indexer to retry for Redis', () => indexer.output().slice(outputBefore).includes('"reason":"redis-unavailable"'), 30_000);
    expect(await changesInvalidated()).toBe(invalidatedBefore);
    // Meanwhile both api processes still answer, from their near caches: the old price.
    for (const api of apis) expect(await priceShown(api, paths[0]!, product.id)).not.toBe(3);

    redis = await startRedisServer(port);
    await waitFor('the change to be invalidated', async () => (await changesInvalidated()) > invalidatedBefore, 60_000);
    await servedEverywhere(product, paths, 3, 60_000);
  });
});

/** Changes the indexer has carried through to invalidation: its commit-to-invalidation histogram's count. */
async function changesInvalidated(): Promise<number> {
  const origin = /health and metrics on (http:\/\/[^"\s]+)/.exec(indexer.output())?.[1];
  const text = await (await fetch(`${origin}/metrics`)).text();
  return Number(/^catalog_change_latency_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}
