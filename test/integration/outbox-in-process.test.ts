// The relay with the in-process carrier (the embedded default) and the relay's housekeeping, on real
// PostgreSQL: rows are marked published only once the delivery resolved, a failed delivery is
// retried, stop() finishes the batch in flight and hands the lock on, and pruning keeps what it must.
import type pg from 'pg';
import { Registry } from 'prom-client';
import { Value } from 'typebox/value';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProductChangeEvent } from '../../src/catalog/product-change.ts';
import type { ChangeFeedConfig } from '../../src/config.ts';
import type { ChangeMessage } from '../../src/events/change-feed.ts';
import { startInProcessChangeFeed, type ChangeDelivery } from '../../src/events/in-process-feed.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { markOutboxPublished, productsWithVariants, restock, unpublishedCount, waitFor } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';

let database: Database;
let databaseName: string;
let pool: pg.Pool;
const feeds: { stop(): Promise<void> }[] = [];

const SETTINGS: ChangeFeedConfig['outbox'] = { pollIntervalMs: 50, batchSize: 100, retentionMs: 86_400_000, pruneIntervalMs: 3_600_000 };

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_test_outbox_in_process');
  databaseName = clone.name;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  pool = database.primary;
});

afterEach(async () => {
  for (const feed of feeds.splice(0)) await feed.stop();
});

afterAll(async () => {
  await database?.close();
  await dropDatabase(databaseName);
});

function startFeed(deliver: ChangeDelivery, settings: Partial<ChangeFeedConfig['outbox']> = {}, metrics = new Registry()) {
  const feed = startInProcessChangeFeed({ pool, deliver, log: silentLog, metrics, settings: { ...SETTINGS, ...settings } });
  feeds.push(feed);
  return feed;
}

/** A delivery the test settles batch by batch. */
function heldDelivery() {
  const batches: { messages: ChangeMessage[]; resolve: () => void; reject: (error: Error) => void }[] = [];
  const deliver: ChangeDelivery = (messages) => new Promise<void>((resolve, reject) => batches.push({ messages, resolve, reject }));
  return { batches, deliver };
}

async function counter(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;
}

describe('when the in-process feed delivers a batch', () => {
  it('then the rows stay unpublished until the delivery resolved, and the messages are what a Kafka partition would have carried', async () => {
    await markOutboxPublished(pool);
    const { batches, deliver } = heldDelivery();
    startFeed(deliver);
    const products = await productsWithVariants(pool, 3);
    await restock(pool, products);
    await waitFor('a delivery', () => batches.length === 1);
    // Held: nothing is marked while the indexer has not applied it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await unpublishedCount(pool)).toBe(3);
    expect(batches).toHaveLength(1);

    const { rows } = await pool.query<{ id: string; product_id: number }>('SELECT id::text AS id, product_id FROM product_changes WHERE published_at IS NULL ORDER BY id');
    const messages = batches[0]?.messages ?? [];
    expect(messages.map((message) => [message.topic, message.partition, message.offset, message.key])).toEqual(
      rows.map((row) => ['in-process', 0, row.id, String(row.product_id)]),
    );
    for (const message of messages) {
      const event = JSON.parse(message.value?.toString() ?? '') as unknown;
      expect(Value.Check(ProductChangeEvent, event)).toBe(true);
      expect(event).toMatchObject({ eventId: message.offset, actor: 'test', changed: ['stock'] });
      expect(message.headers).toEqual({ 'event-type': 'catalog.product.changed', 'schema-version': '1' });
    }

    batches[0]?.resolve();
    await waitFor('the rows marked published', async () => (await unpublishedCount(pool)) === 0);
  });

  it('then a delivery that rejects leaves the rows unpublished and the same batch is delivered again', async () => {
    await markOutboxPublished(pool);
    const { batches, deliver } = heldDelivery();
    const metrics = new Registry();
    startFeed(deliver, {}, metrics);
    await restock(pool, await productsWithVariants(pool, 2, 10));
    await waitFor('a delivery', () => batches.length === 1);
    batches[0]?.reject(new Error('Redis is down'));
    await waitFor('the retry', () => batches.length === 2);
    expect(await unpublishedCount(pool)).toBe(2);
    expect(await counter(metrics, 'catalog_outbox_publish_failures_total')).toBe(1);
    expect(batches[1]?.messages.map((message) => message.offset)).toEqual(batches[0]?.messages.map((message) => message.offset));
    batches[1]?.resolve();
    await waitFor('the rows marked published', async () => (await unpublishedCount(pool)) === 0);
    await waitFor('the publish counted', async () => (await counter(metrics, 'catalog_change_events_published_total')) === 2);
  });
});

describe('when the relay is stopped with a batch in flight', () => {
  it('then stop() waits for that batch to be delivered and marked, and another relay takes the lock', async () => {
    await markOutboxPublished(pool);
    const { batches, deliver } = heldDelivery();
    const feed = startFeed(deliver);
    await restock(pool, await productsWithVariants(pool, 2, 20));
    await waitFor('a delivery', () => batches.length === 1);
    let stopped = false;
    const stopping = feed.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    batches[0]?.resolve();
    await stopping;
    expect(await unpublishedCount(pool)).toBe(0);

    const next = heldDelivery();
    const successor = startFeed(next.deliver);
    await waitFor('the next relay to lead', () => successor.leader);
    await restock(pool, await productsWithVariants(pool, 1, 30));
    await waitFor('a delivery by the successor', () => next.batches.length === 1);
    next.batches[0]?.resolve();
    await waitFor('the rows marked published', async () => (await unpublishedCount(pool)) === 0);
    // The first relay delivered nothing after it stopped.
    expect(batches).toHaveLength(1);
  });
});

describe('when published rows outlive the retention', () => {
  it('then the schedule prunes them and keeps recent and unpublished rows', async () => {
    await markOutboxPublished(pool);
    await restock(pool, await productsWithVariants(pool, 6, 40));
    const { rows } = await pool.query<{ id: string }>('SELECT id::text AS id FROM product_changes WHERE published_at IS NULL ORDER BY id');
    const ids = rows.map((row) => row.id);
    const [oldPublished, recentPublished, oldUnpublished] = [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)];
    await pool.query("UPDATE product_changes SET published_at = now() - interval '3 days' WHERE id = ANY($1::bigint[])", [oldPublished]);
    await pool.query("UPDATE product_changes SET published_at = now() - interval '1 hour' WHERE id = ANY($1::bigint[])", [recentPublished]);
    // Unpublished for three days (the publisher refuses everything): never pruned, however old.
    await pool.query("UPDATE product_changes SET committed_at = now() - interval '3 days' WHERE id = ANY($1::bigint[])", [oldUnpublished]);
    // The bundled import's 20,000 events too: more than one chunk of the prune.
    await pool.query("UPDATE product_changes SET published_at = now() - interval '2 days' WHERE published_at IS NOT NULL AND id < $1", [oldPublished[0]]);
    const { rows: before } = await pool.query<{ count: string }>("SELECT count(*) AS count FROM product_changes WHERE published_at < now() - interval '1 day'");
    expect(Number(before[0]?.count)).toBeGreaterThan(20_000);

    startFeed(() => Promise.reject(new Error('the indexer is down')), { pruneIntervalMs: 100, retentionMs: 86_400_000 });
    await waitFor('old published rows pruned', async () => {
      const { rows: left } = await pool.query<{ count: string }>("SELECT count(*) AS count FROM product_changes WHERE published_at < now() - interval '1 day'");
      return Number(left[0]?.count) === 0;
    });
    const { rows: kept } = await pool.query<{ id: string }>('SELECT id::text AS id FROM product_changes WHERE id = ANY($1::bigint[]) ORDER BY id', [
      [...oldPublished, ...recentPublished, ...oldUnpublished],
    ]);
    expect(kept.map((row) => row.id)).toEqual([...recentPublished, ...oldUnpublished]);
  });
});
