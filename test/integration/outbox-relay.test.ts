// The relay against real PostgreSQL (a copy of the imported catalogue) and the Kafka test broker,
// through the real kafkajs producer: every outbox row reaches the topic keyed by product id, in order
// per product, woken by NOTIFY, with one relay publishing at a time, and across a broker outage.
import type pg from 'pg';
import { Registry } from 'prom-client';
import { Value } from 'typebox/value';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProductChangeEvent } from '../../src/catalog/product-change.ts';
import type { ChangeFeedConfig, KafkaConfig } from '../../src/config.ts';
import type { ChangePublisher } from '../../src/events/change-feed.ts';
import { createKafkaChangePublisher } from '../../src/events/kafka-change-publisher.ts';
import { createOutboxRelay, type OutboxRelay } from '../../src/events/outbox-relay.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { capturedLog, type LogLine } from '../support/captured-log.ts';
import {
  markOutboxPublished,
  productsWithVariants,
  readTopic,
  restock,
  unpublishedCount,
  waitFor,
  type ReceivedChange,
  type TopicReader,
} from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';

let database: Database;
let databaseName: string;
let broker: KafkaTestBroker;
let pool: pg.Pool;
const running: { relay: OutboxRelay; publisher: ChangePublisher }[] = [];
const readers: TopicReader[] = [];
let topics = 0;

const SETTINGS: ChangeFeedConfig['outbox'] = { pollIntervalMs: 100, batchSize: 500, retentionMs: 86_400_000, pruneIntervalMs: 3_600_000 };

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_test_outbox_relay');
  databaseName = clone.name;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  pool = database.primary;
  broker = await startKafkaBroker({ defaultPartitions: 3 });
});

afterEach(async () => {
  for (const { relay, publisher } of running.splice(0)) {
    await relay.stop();
    await publisher.close();
  }
  for (const reader of readers.splice(0)) await reader.stop();
});

afterAll(async () => {
  await broker?.stop();
  await database?.close();
  await dropDatabase(databaseName);
});

function kafkaSettings(topic: string): KafkaConfig {
  return { brokers: broker.brokers, clientId: 'relay-test', changeTopic: topic, deadLetterTopic: `${topic}.dead-letter`, indexerGroup: 'unused', sessionTimeoutMs: 30_000 };
}

function newTopic(): string {
  topics += 1;
  return `relay-test-${topics}`;
}

interface TestRelay {
  relay: OutboxRelay;
  metrics: Registry;
  lines: LogLine[];
}

function startRelay(topic: string, settings: Partial<ChangeFeedConfig['outbox']> = {}, name = 'relay'): TestRelay {
  const { log, lines } = capturedLog('debug');
  const metrics = new Registry();
  const publisher = createKafkaChangePublisher({ kafka: kafkaSettings(topic), log: log.child({ name }) });
  const relay = createOutboxRelay({ pool, publisher, log: log.child({ name }), metrics, settings: { ...SETTINGS, ...settings }, retry: { minMs: 50, maxMs: 500 } });
  relay.start();
  running.push({ relay, publisher });
  return { relay, metrics, lines };
}

async function reader(topic: string): Promise<TopicReader> {
  const started = await readTopic(broker.brokers, topic);
  readers.push(started);
  return started;
}

async function gauge(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value ?? Number.NaN;
}

async function outboxIds(where = 'true'): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(`SELECT id::text AS id FROM product_changes WHERE ${where} ORDER BY id`);
  return rows.map((row) => row.id);
}

/**
 * Per product key, on one partition, each event arrives before every later one. A repeat of an event
 * already seen is at-least-once delivery (a relay that lost its lock before marking), not a reorder.
 */
function expectInOrderPerProduct(received: readonly ReceivedChange[]): void {
  const byKey = new Map<string, ReceivedChange[]>();
  for (const message of received) byKey.set(message.key ?? '', [...(byKey.get(message.key ?? '') ?? []), message]);
  for (const [key, messages] of byKey) {
    expect(key).toBe(String(messages[0]?.event.productId));
    expect(new Set(messages.map((message) => message.partition)).size).toBe(1);
    const seen = new Set<string>();
    let last = -1n;
    for (const { event } of messages) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      if (BigInt(event.eventId) <= last) throw new Error(`product ${key}: event ${event.eventId} arrived after ${last}`);
      last = BigInt(event.eventId);
    }
  }
}

describe('when the relay runs on an outbox holding the bundled import and later writes', () => {
  it('then every unpublished row reaches the topic once, keyed by product id, in id order per product, valid, and is marked published', async () => {
    // Three more writes for a few products, so each has four events to keep in order.
    const products = await productsWithVariants(pool, 40);
    for (let round = 0; round < 3; round += 1) await restock(pool, products);
    // Rewriting the oldest rows moves them to the end of the table: only ORDER BY id keeps them first.
    await pool.query('UPDATE product_changes SET committed_at = committed_at WHERE product_id = ANY($1::bigint[])', [products]);
    const expected = await outboxIds('published_at IS NULL');
    expect(expected.length).toBeGreaterThan(20_000);

    const topic = newTopic();
    const { metrics } = startRelay(topic);
    const topicReader = await reader(topic);
    await waitFor('every row published', async () => (await unpublishedCount(pool)) === 0, 120_000);
    await waitFor('every message consumed', () => topicReader.received.length >= expected.length, 60_000);

    const received = topicReader.received;
    expect(received.map((message) => message.event.eventId).sort()).toEqual([...expected].sort());
    expectInOrderPerProduct(received);
    const restocked = received.filter((message) => message.event.productId === products[0]);
    expect(restocked.map((message) => message.event.version)).toEqual([...restocked.map((message) => message.event.version)].sort((a, b) => a - b));
    expect(restocked).toHaveLength(4);
    for (const message of received) {
      if (!Value.Check(ProductChangeEvent, message.event)) throw new Error(`event ${message.event.eventId} does not match the schema: ${message.value}`);
      expect(message.headers).toEqual({ 'event-type': 'catalog.product.changed', 'schema-version': '1' });
    }
    await waitFor('every publish counted', async () => (await gauge(metrics, 'catalog_change_events_published_total')) === expected.length);
    expect(await gauge(metrics, 'catalog_outbox_backlog')).toBe(0);
    expect(await gauge(metrics, 'catalog_outbox_relay_leader')).toBe(1);
  });
});

describe('when a write commits while the relay waits', () => {
  it('then NOTIFY wakes it: the change is published long before the next poll', async () => {
    await markOutboxPublished(pool);
    const topic = newTopic();
    const { relay } = startRelay(topic, { pollIntervalMs: 3_600_000 });
    const topicReader = await reader(topic);
    await waitFor('the relay to lead', () => relay.leader);
    // Past its first (empty) read, the relay waits for an hour unless woken.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [product] = await productsWithVariants(pool, 1, 100);
    await restock(pool, [product as number]);
    await waitFor('the change on the topic', () => topicReader.received.length === 1, 5_000);
    expect(topicReader.received[0]?.event.productId).toBe(product);
  });
});

async function lastOutboxId(): Promise<bigint> {
  const { rows } = await pool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM product_changes');
  return BigInt(rows[0]?.id ?? 0);
}

/** Everything committed after `since` reached the topic (duplicates allowed: at least once). */
async function expectAllReceivedSince(since: bigint, topicReader: TopicReader): Promise<void> {
  const expected = (await outboxIds(`id > ${since}`)).filter(Boolean);
  expect(expected.length).toBeGreaterThan(0);
  const missing = () => {
    const ids = new Set(topicReader.received.map((message) => message.event.eventId));
    return expected.filter((id) => !ids.has(id));
  };
  await waitFor('every change consumed', () => missing().length === 0);
  expectInOrderPerProduct(topicReader.received);
}

describe('when two relays run on one database', () => {
  async function twoRelays(): Promise<{ first: TestRelay; second: TestRelay; topicReader: TopicReader; products: number[]; since: bigint }> {
    await markOutboxPublished(pool);
    const since = await lastOutboxId();
    const topic = newTopic();
    // The first relay is woken by NOTIFY while it leads; once it lost the lock it tries again only
    // after an hour, so the standby is the one that takes over.
    const first = startRelay(topic, { pollIntervalMs: 3_600_000 }, 'first');
    await waitFor('the first relay to lead', () => first.relay.leader);
    const second = startRelay(topic, {}, 'second');
    const topicReader = await reader(topic);
    await waitFor('the second relay to stand by', () => second.lines.some((line) => /standing by/.test(line.msg)));
    const products = await productsWithVariants(pool, 25, 200);
    for (let round = 0; round < 4; round += 1) await restock(pool, products);
    await waitFor('the first writes published', async () => (await unpublishedCount(pool)) === 0);
    expect(second.relay.leader).toBe(false);
    expect(await gauge(second.metrics, 'catalog_change_events_published_total')).toBe(0);
    expect(await gauge(second.metrics, 'catalog_outbox_relay_leader')).toBe(0);
    await waitFor('the leader to count 100 published', async () => (await gauge(first.metrics, 'catalog_change_events_published_total')) === 100);
    return { first, second, topicReader, products, since };
  }

  it('then one publishes and the other stands by; when the leader stops, the standby takes over and nothing is lost or reordered', async () => {
    const { first, second, topicReader, products, since } = await twoRelays();
    // Writes keep committing while the leader goes.
    const writing = (async () => {
      for (let round = 0; round < 8; round += 1) await restock(pool, products);
    })();
    await first.relay.stop();
    await writing;
    await waitFor('the standby to lead', () => second.relay.leader);
    await waitFor('everything published', async () => (await unpublishedCount(pool)) === 0);
    await expectAllReceivedSince(since, topicReader);
    await waitFor('the new leader to count what it published', async () => (await gauge(second.metrics, 'catalog_change_events_published_total')) > 0);
  });

  it("then killing the leader's connection stops it publishing, the standby takes over, and nothing is lost or reordered", async () => {
    const { first, second, topicReader, products, since } = await twoRelays();
    const writing = (async () => {
      for (let round = 0; round < 8; round += 1) await restock(pool, products);
    })();
    const { rows } = await pool.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`,
    );
    expect(rows).toHaveLength(1);
    await pool.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await writing;
    await waitFor('the standby to lead', () => second.relay.leader);
    expect(first.relay.leader).toBe(false);
    expect(first.lines.some((line) => /lost the outbox lock's connection/.test(line.msg))).toBe(true);
    await waitFor('everything published', async () => (await unpublishedCount(pool)) === 0);
    await expectAllReceivedSince(since, topicReader);
    // The old leader is now the standby: it publishes nothing more.
    const publishedByFirst = await gauge(first.metrics, 'catalog_change_events_published_total');
    await restock(pool, products);
    await waitFor('the last write published', async () => (await unpublishedCount(pool)) === 0);
    expect(await gauge(first.metrics, 'catalog_change_events_published_total')).toBe(publishedByFirst);
    expect(first.relay.leader).toBe(false);
  });
});

describe('when the broker goes down while writes keep coming', () => {
  it('then writes still commit, the backlog grows, the outage is logged once, and everything drains in order once it is back', async () => {
    await markOutboxPublished(pool);
    const since = await lastOutboxId();
    const topic = newTopic();
    const { relay, metrics, lines } = startRelay(topic);
    await waitFor('the relay to lead', () => relay.leader);
    const products = await productsWithVariants(pool, 20, 400);
    await restock(pool, products);
    await waitFor('the first write published', async () => (await unpublishedCount(pool)) === 0);

    await broker.stop();
    await restock(pool, products);
    await waitFor('a failed publish', async () => (await gauge(metrics, 'catalog_outbox_publish_failures_total')) >= 1);
    expect(await gauge(metrics, 'catalog_outbox_backlog')).toBe(20);
    for (let round = 0; round < 4; round += 1) await restock(pool, products);
    expect(await gauge(metrics, 'catalog_outbox_backlog')).toBe(100);
    expect(await gauge(metrics, 'catalog_outbox_oldest_age_seconds')).toBeGreaterThan(0);
    await waitFor('a second failed publish', async () => (await gauge(metrics, 'catalog_outbox_publish_failures_total')) >= 2, 30_000);
    expect(lines.filter((line) => /publishing outbox changes failed: retrying/.test(line.msg))).toHaveLength(1);
    expect(relay.leader).toBe(true);

    await broker.restart();
    await waitFor('the backlog drained', async () => (await unpublishedCount(pool)) === 0, 30_000);
    expect(await gauge(metrics, 'catalog_outbox_backlog')).toBe(0);
    expect(lines.some((line) => /publishing outbox changes again/.test(line.msg))).toBe(true);
    const topicReader = await reader(topic);
    await expectAllReceivedSince(since, topicReader);
  }, 90_000);
});
