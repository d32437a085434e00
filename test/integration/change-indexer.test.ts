// The indexer as functions (processBatch), on real PostgreSQL (a copy of the bundled catalogue) and
// real Redis: what a change writes to the search read model, what it invalidates, and what happens
// to duplicates, late events, poison messages, a product that cannot be written, and outages.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { categoryTag, productTag, brandTag, ALL_LISTINGS, CATEGORY_TREE } from '../../src/catalog/cache-tags.ts';
import { createInvalidator } from '../../src/cache/invalidator.ts';
import { createTagKeys } from '../../src/cache/key-space.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { createChangeIndexer, type ChangeIndexerOptions } from '../../src/events/change-indexer.ts';
import { replayPostgresDeadLetters } from '../../src/events/dead-letter-replay.ts';
import { createPostgresDeadLetterSink } from '../../src/events/dead-letters.ts';
import { createInProcessIndexer } from '../../src/roles/embedded-change-feed.ts';
import { createPostgresSearchIndex } from '../../src/search/postgres-search-index.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { loadSearchDocumentChanges } from '../../src/store/search-documents.ts';
import { cacheSettings } from '../support/cache-settings.ts';
import { changeMessages, listedProducts, setPrice, writeProducts } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { deleteKeysWithPrefix, startRedisServer, type RedisServer } from '../support/redis-server.ts';

const SETTINGS = { concurrency: 4, maxAttempts: 3, retryBaseMs: 1, retryMaxMs: 20 };
const PREFIX = `catalog-test:indexer:${process.pid}:`;

let databaseName: string;
let database: Database;
let pool: pg.Pool;
let redis: Redis;
let keyPrefix = PREFIX;
let testNumber = 0;
let nextProduct = 0;
let privateRedis: RedisServer | undefined;

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_change_indexer');
  databaseName = clone.name;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  pool = database.primary;
  redis = createRedisClient('redis://127.0.0.1:6379', { commandTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
});

afterEach(async () => {
  await privateRedis?.stop();
  privateRedis = undefined;
});

afterAll(async () => {
  await deleteKeysWithPrefix(redis, PREFIX);
  redis.disconnect();
  await database.close();
  await dropDatabase(databaseName);
});

/** The next listed products no other test has touched. */
async function freshProducts(count: number): Promise<{ id: number; slug: string; version: number }[]> {
  const products = await listedProducts(pool, count, nextProduct);
  nextProduct += count;
  return products;
}

/** An indexer on the test's own key prefix, with what it registers and invalidates. */
function indexer(overrides: Partial<ChangeIndexerOptions> = {}) {
  keyPrefix = `${PREFIX}${++testNumber}:`;
  const metrics = new Registry();
  const invalidator = createInvalidator({ redis, settings: cacheSettings({ REDIS_KEY_PREFIX: keyPrefix, REDIS_COMMAND_TIMEOUT_MS: '2000' }) });
  const created = createChangeIndexer({
    documents: (ids) => loadSearchDocumentChanges(pool, ids),
    searchIndex: createPostgresSearchIndex({ pool }),
    invalidator,
    deadLetters: createPostgresDeadLetterSink({ pool }),
    log: silentLog,
    metrics,
    settings: SETTINGS,
    ...overrides,
  });
  return { ...created, metrics, invalidator };
}

async function generation(tag: string, client: Redis = redis): Promise<number> {
  return Number((await client.get(createTagKeys(keyPrefix).tag(tag))) ?? 0);
}

/** A counter's total over the series matching `labels`; for a histogram, `name` is e.g. its `_count` series. */
async function counter(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.getSingleMetric(name.replace(/_count$/, ''))?.get();
  return (
    metric?.values
      .filter((value) => ((value as { metricName?: string }).metricName ?? metric.name) === name && Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
      .reduce((sum, value) => sum + value.value, 0) ?? 0
  );
}

async function indexed(productId: number): Promise<{ version: number; removed: boolean; document: { priceMin: number; slug: string; categories: { id: number }[] } | null } | undefined> {
  const { rows } = await pool.query('SELECT version, removed, document FROM search_documents WHERE product_id = $1', [productId]);
  return rows[0];
}

async function currentVersion(productId: number): Promise<number> {
  const { rows } = await pool.query<{ version: number }>('SELECT version FROM products WHERE id = $1', [productId]);
  return Number(rows[0]?.version);
}

async function deadLetters(key: string): Promise<{ value: Buffer; error: { reason: string; type: string; message: string }; offset: string }[]> {
  const { rows } = await pool.query('SELECT value, error, "offset" FROM change_dead_letters WHERE key = $1 ORDER BY id', [key]);
  return rows;
}

describe('when a product changes', () => {
  it('then a price change indexes the new document and bumps the product, its categories, its brand and the listings', async () => {
    const [product] = await freshProducts(1);
    const event = await setPrice(pool, product!.id, 123_456);
    const { processBatch, metrics } = indexer();

    const outcome = await processBatch(changeMessages([event]));

    expect(outcome).toEqual({ events: 1, applied: 1, stale: 0, deadLettered: 0 });
    const row = await indexed(product!.id);
    expect(row).toMatchObject({ version: await currentVersion(product!.id), removed: false });
    expect(row?.document?.priceMin).toBe(123_456);
    const placement = event.after;
    const expected = [productTag(placement.id), productTag(placement.slug), ALL_LISTINGS, brandTag(placement.brand!.id), brandTag(placement.brand!.slug)];
    for (const category of placement.categories) expected.push(categoryTag(category.id), categoryTag(category.slug));
    for (const tag of expected) expect({ tag, generation: await generation(tag) }).toEqual({ tag, generation: 1 });
    // A price change leaves the category tree's counts alone.
    expect(await generation(CATEGORY_TREE)).toBe(0);
    expect(await counter(metrics, 'catalog_change_events_consumed_total')).toBe(1);
    expect(await counter(metrics, 'catalog_change_latency_seconds_count')).toBe(1);
  });

  it('then duplicates and reordered events (v3, v2, v3) end in the newest state', async () => {
    const [product] = await freshProducts(1);
    const id = product!.id;
    const v1 = await setPrice(pool, id, 10_000);
    const early = await loadSearchDocumentChanges(pool, [id]);
    const v2 = await setPrice(pool, id, 20_000);
    const v3 = await setPrice(pool, id, 30_000);
    // The late event's document as a slow reader would have loaded it, before the newer writes.
    let lagging = false;
    const { processBatch, metrics } = indexer({ documents: async (ids) => (lagging ? early : loadSearchDocumentChanges(pool, ids)) });

    await processBatch(changeMessages([v3]));
    lagging = true;
    const late = await processBatch(changeMessages([v2]));
    lagging = false;
    await processBatch(changeMessages([v3]));
    await processBatch(changeMessages([v1, v3, v2, v3]));

    expect(late).toMatchObject({ applied: 0, stale: 1 });
    const row = await indexed(id);
    expect(row?.version).toBe(v3.version);
    expect(row?.document?.priceMin).toBe(30_000);
    expect(await counter(metrics, 'catalog_change_events_stale_total')).toBe(3);
    // Each delivery still invalidated: a crash may have come between a write and its invalidation.
    expect(await generation(productTag(id))).toBe(4);
  });

  it('then an archived product is removed and a late older event does not bring it back', async () => {
    const [product] = await freshProducts(1);
    const id = product!.id;
    const priced = await setPrice(pool, id, 15_000);
    const beforeArchive = await loadSearchDocumentChanges(pool, [id]);
    let lateReader = false;
    const { processBatch } = indexer({ documents: async (ids) => (lateReader ? beforeArchive : loadSearchDocumentChanges(pool, ids)) });
    await processBatch(changeMessages([priced]));
    expect((await indexed(id))?.removed).toBe(false);

    const [archived] = await writeProducts(pool, [id], (client) => client.query(`UPDATE products SET status = 'archived' WHERE id = $1`, [id]));
    await processBatch(changeMessages([archived!]));
    expect(await indexed(id)).toEqual({ version: archived!.version, removed: true, document: null });
    // Leaving the listings changes the category counts too.
    expect(await generation(CATEGORY_TREE)).toBe(1);

    lateReader = true;
    const late = await processBatch(changeMessages([priced]));
    expect(late).toMatchObject({ applied: 0, stale: 1 });
    expect(await indexed(id)).toEqual({ version: archived!.version, removed: true, document: null });
  });

  it('then a move to another category and a new slug invalidate the old and the new category and the old slug', async () => {
    const [product] = await freshProducts(1);
    const id = product!.id;
    const { rows } = await pool.query<{ id: number }>(
      `SELECT c.id FROM categories c, products p WHERE p.id = $1 AND NOT c.path @> p.category_path AND NOT p.category_path @> c.path AND nlevel(c.path) >= 2 ORDER BY c.id LIMIT 1`,
      [id],
    );
    const target = Number(rows[0]!.id);
    const [moved] = await writeProducts(pool, [id], (client) => client.query(`UPDATE products SET category_id = $2, slug = slug || '-moved' WHERE id = $1`, [id, target]));
    const { processBatch } = indexer();

    await processBatch(changeMessages([moved!]));

    expect(moved!.changed).toEqual(expect.arrayContaining(['slug', 'category']));
    const old = moved!.before!;
    const now = moved!.after;
    expect(now.categories.at(-1)?.id).toBe(target);
    for (const tag of [productTag(old.slug), productTag(now.slug), CATEGORY_TREE, ...[...old.categories, ...now.categories].flatMap((category) => [categoryTag(category.id), categoryTag(category.slug)])]) {
      expect({ tag, generation: await generation(tag) }).toEqual({ tag, generation: 1 });
    }
    const row = await indexed(id);
    expect(row?.document?.slug).toBe(now.slug);
    expect(row?.document?.categories.at(-1)?.id).toBe(target);
  });
});

describe('when a message cannot be applied', () => {
  it('then bad JSON and an unknown schema version are dead-lettered at once and the next change is applied', async () => {
    const [product] = await freshProducts(1);
    const event = await setPrice(pool, product!.id, 42_000);
    const { processBatch, metrics } = indexer();
    const messages = changeMessages(['{"type":', JSON.stringify({ ...event, schemaVersion: 99 }), event], { firstOffset: 700 });
    messages[0]!.key = 'bad-json';
    messages[1]!.key = 'schema-99';

    const outcome = await processBatch(messages);

    expect(outcome).toMatchObject({ events: 1, applied: 1, deadLettered: 2 });
    const [badJson] = await deadLetters('bad-json');
    expect(badJson?.value.toString()).toBe('{"type":');
    expect(badJson?.offset).toBe('700');
    expect(badJson?.error).toMatchObject({ reason: 'invalid-event', type: 'InvalidChangeEvent', message: expect.stringMatching(/not JSON/) });
    const [future] = await deadLetters('schema-99');
    expect(future?.error).toMatchObject({ reason: 'invalid-event', message: expect.stringMatching(/schemaVersion/) });
    expect(await counter(metrics, 'catalog_change_events_dead_lettered_total', { reason: 'invalid-event' })).toBe(2);
    // Never retried: nothing counted as a failed attempt.
    expect(await counter(metrics, 'catalog_change_events_failed_total')).toBe(0);
    expect((await indexed(product!.id))?.document?.priceMin).toBe(42_000);
  });

  it('then a product whose search write keeps failing is retried, dead-lettered, and the others in its batch are applied; the replay re-drives it once fixed', async () => {
    const products = await freshProducts(3);
    const [poison, ...others] = products.map((product) => product.id) as [number, number, number];
    const events = [];
    for (const id of [poison, ...others]) events.push(await setPrice(pool, id, 77_700));
    await pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.product_id = ${poison} THEN RAISE EXCEPTION 'the engine refuses product %', NEW.product_id; END IF; RETURN NEW; END $$`);
    await pool.query('CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    const { processBatch, metrics } = indexer();
    try {
      const outcome = await processBatch(changeMessages(events));

      expect(outcome).toMatchObject({ events: 3, applied: 2, deadLettered: 1 });
      for (const id of others) expect((await indexed(id))?.document?.priceMin).toBe(77_700);
      // The read model still holds the product as imported (the global setup fills it), not the new price.
      expect((await indexed(poison))?.document?.priceMin).not.toBe(77_700);
      const [letter] = await deadLetters(String(poison));
      expect(letter?.error).toMatchObject({ reason: 'search-write-failed', message: expect.stringMatching(/refuses product/) });
      expect(JSON.parse(letter!.value.toString())).toEqual(events[0]);
      // The batch's attempt (3 events), then the poison product's own three.
      expect(await counter(metrics, 'catalog_change_events_failed_total', { reason: 'search-write-failed' })).toBe(3 + SETTINGS.maxAttempts);
      expect(await counter(metrics, 'catalog_change_events_dead_lettered_total', { reason: 'search-write-failed' })).toBe(1);
      // The others' pages were invalidated all the same.
      for (const id of others) expect(await generation(productTag(id))).toBe(1);
    } finally {
      await pool.query('DROP TRIGGER refuse_poison ON search_documents; DROP FUNCTION refuse_poison()');
    }

    // Fixed: the replay puts it back in the outbox as the event it was, and marks it replayed.
    const report = await replayPostgresDeadLetters(pool);
    expect(report.replayed).toBe(1);
    // By the column, not the text alias: as text, "8" sorts after "20012".
    const { rows } = await pool.query<{ id: string; event: object; committed_at: Date }>(
      'SELECT id::text, event, committed_at FROM product_changes WHERE product_id = $1 ORDER BY product_changes.id DESC LIMIT 1',
      [poison],
    );
    const { eventId: _eventId, committedAt: _committedAt, ...body } = events[0]!;
    expect(rows[0]?.event).toEqual(body);
    expect((await replayPostgresDeadLetters(pool)).replayed).toBe(0);
    const relayed = { ...body, eventId: rows[0]!.id, committedAt: rows[0]!.committed_at.toISOString() };
    await processBatch(changeMessages([relayed]));
    expect(await indexed(poison)).toMatchObject({ version: await currentVersion(poison), removed: false });
  });
});

describe('when a dependency is down', () => {
  it('then with Redis down the batch keeps retrying, nothing is skipped or dead-lettered, and it completes once Redis is back', async () => {
    privateRedis = await startRedisServer();
    const port = privateRedis.port;
    const client = createRedisClient(privateRedis.url, { commandTimeoutMs: 200, connectTimeoutMs: 200, maxReconnectDelayMs: 100 });
    try {
      await waitForRedisReady(client, 5000);
      const [product] = await freshProducts(1);
      const event = await setPrice(pool, product!.id, 55_500);
      const invalidator = createInvalidator({
        redis: client,
        settings: cacheSettings({ REDIS_KEY_PREFIX: `${PREFIX}outage:`, REDIS_COMMAND_TIMEOUT_MS: '200' }),
        redisBreaker: { resetTimeoutMs: 200, volumeThreshold: 2 },
      });
      const { processBatch, metrics } = indexer({ invalidator, settings: { ...SETTINGS, retryMaxMs: 100 } });
      await privateRedis.stop();

      let settled = false;
      const processing = processBatch(changeMessages([event])).finally(() => (settled = true));
      await waitUntil(async () => (await counter(metrics, 'catalog_change_events_failed_total', { reason: 'redis-unavailable' })) >= 5);
      expect(settled).toBe(false);

      privateRedis = await startRedisServer(port);
      const outcome = await processing;
      expect(outcome).toMatchObject({ events: 1, deadLettered: 0 });
      keyPrefix = `${PREFIX}outage:`;
      expect(await generation(productTag(product!.id), client)).toBe(1);
      expect((await indexed(product!.id))?.document?.priceMin).toBe(55_500);
      expect(await counter(metrics, 'catalog_change_events_dead_lettered_total')).toBe(0);
      invalidator.close();
    } finally {
      client.disconnect();
    }
  });

  it('then with PostgreSQL unreachable the batch waits without dead-lettering, and a shutdown ends the wait with nothing marked done', async () => {
    const [product] = await freshProducts(1);
    const event = await setPrice(pool, product!.id, 66_600);
    const unreachable = createDatabase({ primary: 'postgres://postgres@127.0.0.1:1/none' }, { ...testDatabaseConfig, connectTimeoutMs: 200 }, silentLog);
    const { processBatch, metrics } = indexer({ documents: (ids) => loadSearchDocumentChanges(unreachable.primary, ids) });
    const stopping = new AbortController();
    try {
      const processing = processBatch(changeMessages([event]), { signal: stopping.signal });
      const rejected = expect(processing).rejects.toThrow('shutting down');
      await waitUntil(async () => (await counter(metrics, 'catalog_change_events_failed_total', { reason: 'database-unavailable' })) >= 5);
      stopping.abort(new Error('shutting down'));
      await rejected;
      expect(await counter(metrics, 'catalog_change_events_dead_lettered_total')).toBe(0);
      expect((await indexed(product!.id))?.document?.priceMin).not.toBe(66_600);
    } finally {
      await unreachable.close();
    }
  });
});

describe('when the api builds the embedded default indexer', () => {
  it('then it indexes into search_documents and invalidates through the cache it is given', async () => {
    const [product] = await freshProducts(1);
    const event = await setPrice(pool, product!.id, 88_800);
    const invalidated: string[][] = [];
    const inProcess = createInProcessIndexer({ pool, invalidator: { invalidate: async (tags) => void invalidated.push([...tags]) }, log: silentLog, metrics: new Registry(), settings: SETTINGS });

    await inProcess.processBatch(changeMessages([event]));

    expect((await indexed(product!.id))?.document?.priceMin).toBe(88_800);
    expect(invalidated.flat()).toContain(productTag(product!.id));
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
