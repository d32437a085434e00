// What a change's invalidation must be enough for, through the real cache: two api pods with near
// caches sharing Redis, listening on sockets (so the hot path answers what it remembers), and the
// invalidations made by a process that serves no HTTP (buildInvalidator), as the indexer makes them.
// The pods read a "replica": a second copy of the catalogue that a test makes trail the primary by
// applying a change to it later, as replication would.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TagInvalidator } from '../../src/cache/change-invalidation.ts';
import type { Invalidator } from '../../src/cache/invalidator.ts';
import { productChangeTags, type ProductPlacement } from '../../src/catalog/cache-tags.ts';
import { loadConfig } from '../../src/config.ts';
import { buildChangeInvalidation, buildInvalidator, closeRedis, openRedis } from '../../src/roles/dependencies.ts';
import { createPlacementSource } from '../../src/store/product-placements.ts';
import { startTestCatalog, type TestCatalog } from '../support/catalog-app.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog } from '../support/database.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `catalog-test:${randomUUID()}:`;
// Fresh for a minute: a page kept wrongly would outlive every wait below, so only an invalidation
// can explain a new answer.
const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, CACHE_FRESH_TTL_MS: '60000', CACHE_MAX_STALE_MS: '120000' };

interface Pod {
  catalog: TestCatalog;
  url: string;
}

interface Answer {
  status: number;
  xCache: string | null;
  body: Record<string, unknown> & { items?: { id: number; price: { min: number } }[]; price?: { min: number } | null; id?: number };
}

let databases: { name: string; url: string }[] = [];
let primary: pg.Pool;
let replica: pg.Pool;
const pods: Pod[] = [];
let indexerRedis: Redis | undefined;
let invalidator: Invalidator;
const indexerConfig = () =>
  loadConfig({ ...env, DATABASE_URL: databases[0]?.url ?? '', DATABASE_REPLICA_URL: databases[1]?.url ?? '', DATABASE_REPLICA_LAG_BOUND_MS: '300' });

beforeAll(async () => {
  const primaryDb = await cloneCatalogDatabase('fences_primary');
  const replicaDb = await cloneCatalogDatabase('fences_replica');
  databases = [primaryDb, replicaDb];
  primary = new pg.Pool({ connectionString: primaryDb.url, max: 2 });
  replica = new pg.Pool({ connectionString: replicaDb.url, max: 2 });
  for (let i = 0; i < 2; i++) {
    const catalog = await startTestCatalog({ databaseUrl: primaryDb.url, replicaUrl: replicaDb.url, env });
    pods.push({ catalog, url: await catalog.app.listen({ host: '127.0.0.1', port: 0 }) });
  }
  // The indexer's side: its own Redis connection, no near cache, no HTTP.
  const config = indexerConfig();
  indexerRedis = await openRedis(config.cache, silentLog, 'test-indexer');
  invalidator = buildInvalidator(config.cache, indexerRedis as Redis);
});

afterAll(async () => {
  await Promise.all(pods.map(({ catalog }) => catalog.close()));
  invalidator?.close();
  if (indexerRedis) {
    await deleteKeysWithPrefix(indexerRedis, prefix);
    await closeRedis(indexerRedis);
  }
  await primary?.end();
  await replica?.end();
  for (const { name } of databases) await dropDatabase(name);
});

async function get(pod: Pod, path: string): Promise<Answer> {
  const response = await fetch(pod.url + path);
  return { status: response.status, xCache: response.headers.get('x-cache'), body: (await response.json()) as Answer['body'] };
}

/** Reads again until `done` holds, for at most 5 s (room for pub/sub on a slow host, not a window the test measures). */
async function readUntil(pod: Pod, path: string, done: (answer: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + 5_000;
  let answer = await get(pod, path);
  while (!done(answer) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    answer = await get(pod, path);
  }
  return answer;
}

const onBoth = async (sql: string, params: unknown[]) => {
  await primary.query(sql, params);
  await replica.query(sql, params);
};
const findPlacement = (id: number): Promise<ProductPlacement | null> => createPlacementSource({ pool: primary }).findPlacement(id);
const priceOf = (answer: Answer) => answer.body.price?.min;

/** Listed products with one variant, so a variant's price is the product's, away from each other's related lists. */
async function listedProducts(count: number): Promise<number[]> {
  const { rows } = await primary.query<{ id: number }>(
    `SELECT p.id FROM products p WHERE p.status = 'active' AND p.price_min IS NOT NULL AND p.brand_id IS NOT NULL
        AND (SELECT count(*) FROM variants v WHERE v.product_id = p.id) = 1
      ORDER BY p.id LIMIT $1`,
    [count],
  );
  return rows.map((row) => row.id);
}

/** An invalidator whose second and later bumps wait until the test opens the gate. */
function gatedAfterFirst(inner: TagInvalidator): TagInvalidator & { open(): void } {
  let calls = 0;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    async invalidate(tags) {
      calls += 1;
      if (calls > 1) await gate;
      return inner.invalidate(tags);
    },
    open: () => open(),
  };
}

describe('when a change is invalidated before the replica the pods read has it', () => {
  /**
   * Changes the price on the primary, invalidates, and has pod A refill the page from the replica
   * (the old price, current against that invalidation); pod B then reads that refill from Redis.
   */
  async function changeAndRefillFromLaggingReplica(id: number, invalidate: (tags: string[]) => Promise<void>): Promise<number> {
    const [a, b] = pods as [Pod, Pod];
    const old = priceOf(await get(a, `/products/${id}`));
    expect(priceOf(await get(b, `/products/${id}`))).toBe(old);
    await primary.query('UPDATE variants SET price_minor = price_minor + 100 WHERE product_id = $1', [id]);
    const placement = await findPlacement(id);
    await invalidate(productChangeTags(placement, placement));
    const refilled = await readUntil(a, `/products/${id}`, (answer) => answer.xCache === 'MISS');
    expect(refilled.xCache).toBe('MISS');
    expect(priceOf(refilled)).toBe(old);
    const shared = await readUntil(b, `/products/${id}`, (answer) => answer.xCache === 'HIT-REDIS');
    expect(shared.xCache).toBe('HIT-REDIS');
    expect(priceOf(shared)).toBe(old);
    return Number(old) + 100;
  }

  const catchUp = (id: number) => replica.query('UPDATE variants SET price_minor = price_minor + 100 WHERE product_id = $1', [id]);

  it('then the page refilled from the replica with the old price is dropped by the second bump past the lag bound, on both pods', async () => {
    const [id] = await listedProducts(1);
    const gated = gatedAfterFirst(invalidator);
    const changes = buildChangeInvalidation(indexerConfig().database, gated, silentLog);
    const price = await changeAndRefillFromLaggingReplica(Number(id), (tags) => changes.invalidate(tags));
    await catchUp(Number(id));
    // Replication caught up, but the refill is current against the first bump: without a second
    // one, both pods keep the old price for the page's whole fresh span.
    for (const pod of pods) expect(priceOf(await get(pod, `/products/${id}`))).not.toBe(price);
    gated.open();
    await changes.settled();
    for (const pod of pods) expect(priceOf(await readUntil(pod, `/products/${id}`, (answer) => priceOf(answer) === price))).toBe(price);
    await changes.close();
  });

  it('then second bumps still pending at shutdown are done by close(), not dropped', async () => {
    const [, id] = await listedProducts(2);
    const gated = gatedAfterFirst(invalidator);
    const changes = buildChangeInvalidation(indexerConfig().database, gated, silentLog);
    const price = await changeAndRefillFromLaggingReplica(Number(id), (tags) => changes.invalidate(tags));
    await catchUp(Number(id));
    const closing = changes.close();
    gated.open();
    await closing;
    expect(changes.pending).toBe(0);
    for (const pod of pods) expect(priceOf(await readUntil(pod, `/products/${id}`, (answer) => priceOf(answer) === price))).toBe(price);
  });
});

async function loadsNotKept(pod: Pod): Promise<number> {
  const metric = await pod.catalog.readPath.metrics.getSingleMetric('catalog_cache_loads_not_kept_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe("when a product shown in other products' related lists changes", () => {
  it('then every pod shows the change in those lists, and keeps the other products\' pages', async () => {
    const [a, b] = pods as [Pod, Pod];
    const [, , related] = await listedProducts(3);
    const path = `/products/${related}/related?limit=50`;
    const list = await get(a, path);
    const shown = list.body.items?.[0];
    if (!shown) throw new Error(`product ${related} shows nothing related`);
    // Cached on both pods, beside the product's own page.
    for (const pod of pods) {
      await get(pod, path);
      expect((await get(pod, path)).xCache).toBe('HIT-NEAR');
      await get(pod, `/products/${related}`);
    }
    await onBoth('UPDATE variants SET price_minor = price_minor + 1 WHERE product_id = $1', [shown.id]);
    const placement = await findPlacement(shown.id);
    await invalidator.invalidate(productChangeTags(placement, placement));
    const priceShown = (answer: Answer) => answer.body.items?.find((item) => item.id === shown.id)?.price.min;
    for (const pod of [a, b]) {
      expect(priceShown(await readUntil(pod, path, (answer) => priceShown(answer) === shown.price.min + 1))).toBe(shown.price.min + 1);
      // The page of the product whose list it is was not named by the change.
      expect((await get(pod, `/products/${related}`)).xCache).toMatch(/^HIT-/);
    }
  });

  it('then a list read in a scope its product has left since its scope was cached is answered, not kept', async () => {
    const [a] = pods as [Pod, Pod];
    const [, , , moved] = await listedProducts(4);
    await get(a, `/products/${moved}/related?limit=5`);
    const before = await findPlacement(Number(moved));
    const { rows } = await primary.query<{ id: number }>(
      'SELECT id FROM categories WHERE NOT path <@ (SELECT subpath(category_path, 0, 1) FROM products WHERE id = $1) ORDER BY id LIMIT 1',
      [moved],
    );
    // Moved without an invalidation yet: the race of a move landing between the scope's read and the list's load.
    await onBoth('UPDATE products SET category_id = $2 WHERE id = $1', [moved, rows[0]?.id]);
    const notKept = await loadsNotKept(a);
    const path = `/products/${moved}/related?limit=6`;
    expect((await get(a, path)).xCache).toBe('MISS');
    expect((await get(a, path)).xCache).toBe('MISS');
    expect(await loadsNotKept(a)).toBe(notKept + 2);
    // The move's own invalidation names the product: its scope is read again, and its list kept.
    await invalidator.invalidate(productChangeTags(before, await findPlacement(Number(moved))));
    expect((await readUntil(a, path, (answer) => answer.xCache === 'HIT-NEAR')).xCache).toBe('HIT-NEAR');
  });
});

describe("when a product's slug is renamed", () => {
  it('then its page and related list under the old slug are dropped on every pod, and the new slug answers', async () => {
    const [, , , , id] = await listedProducts(5);
    const before = await findPlacement(Number(id));
    const old = String(before?.slug);
    const renamed = `${old}-renamed`;
    for (const pod of pods) {
      for (const path of [`/products/${old}`, `/products/${old}/related?limit=4`]) {
        await get(pod, path);
        expect((await get(pod, path)).xCache).toBe('HIT-NEAR');
      }
    }
    await onBoth('UPDATE products SET slug = $2 WHERE id = $1', [id, renamed]);
    await invalidator.invalidate(productChangeTags(before, await findPlacement(Number(id))));
    for (const pod of pods) {
      for (const path of [`/products/${old}`, `/products/${old}/related?limit=4`]) {
        const gone = await readUntil(pod, path, (answer) => answer.status === 404);
        expect(gone.status, path).toBe(404);
        expect(gone.body.type).toBe('/problems/product-not-found');
      }
      const current = await get(pod, `/products/${renamed}`);
      expect(current.status).toBe(200);
      expect(current.body.id).toBe(id);
    }
  });
});
