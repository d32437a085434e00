// How the roles stop, as processes of the container's entry point: the relay under SIGTERM with a
// batch in flight, the import under SIGTERM mid-way, and a second SIGTERM when a shutdown is stuck.
// (The indexer committing its batch on SIGTERM is indexer-kafka.test.ts's; leaving its group is here.)
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import { listedProducts, setPrice } from '../support/change-events.ts';
import { readTopic, waitFor, type TopicReader } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase, recreateDatabase, testDatabaseName, testDatabaseUrl } from '../support/database.ts';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';
import { startRoleProcess, type RoleProcess } from '../support/role-process.ts';

const PROCESS_TEST_TIMEOUT_MS = 180_000;
const databases: string[] = [];
const pools: pg.Pool[] = [];
const processes: RoleProcess[] = [];
let broker: KafkaTestBroker | undefined;
let reader: TopicReader | undefined;

afterEach(async () => {
  for (const role of processes.splice(0)) {
    if (role.child.exitCode === null && role.child.signalCode === null) role.child.kill('SIGKILL');
    await role.exited;
  }
  await reader?.stop();
  reader = undefined;
  for (const pool of pools.splice(0)) await pool.end();
});

afterAll(async () => {
  await broker?.stop();
  for (const name of databases) await dropDatabase(name);
});

function start(args: string[], env: Record<string, string>): RoleProcess {
  const role = startRoleProcess(args, { LOG_LEVEL: 'info', ...env });
  processes.push(role);
  return role;
}

function open(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

/** An empty database of this file's own: the import role migrates it. */
async function emptyDatabase(base: string): Promise<{ url: string; pool: pg.Pool }> {
  const name = testDatabaseName(base);
  databases.push(name);
  const url = await recreateDatabase(name);
  return { url, pool: open(url) };
}

async function count(pool: pg.Pool, sql: string): Promise<number> {
  try {
    return Number((await pool.query<{ count: string }>(sql)).rows[0]!.count);
  } catch {
    return 0; // the table is not there yet: the role is still migrating
  }
}

describe('when the relay is sent SIGTERM while it publishes a backlog', () => {
  it('then it finishes the batch in flight (everything on the topic is marked, nothing marked is missing), releases the lock and exits 0', async () => {
    const clone = await cloneCatalogDatabase('catalog_test_relay_shutdown');
    databases.push(clone.name);
    const pool = open(clone.url);
    const backlog = await count(pool, 'SELECT count(*) FROM product_changes WHERE published_at IS NULL');
    expect(backlog).toBeGreaterThan(5_000);
    broker ??= await startKafkaBroker();
    const topic = 'role-shutdown-changes';
    const relay = start(['relay'], { DATABASE_URL: clone.url, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_CHANGE_TOPIC: topic, OUTBOX_BATCH_SIZE: '200', SHUTDOWN_TIMEOUT_MS: '60000' });
    await waitFor('a few batches published', async () => (await count(pool, 'SELECT count(*) FROM product_changes WHERE published_at IS NOT NULL')) >= 400, 90_000);
    // The broker appends what it is sent at once but acknowledges it seconds later: the SIGTERM lands
    // while a batch is on the topic, not yet acknowledged, not yet marked.
    const held = broker.activity.delayedResponses;
    broker.delayResponses(3000);
    await waitFor('a publish in flight', () => broker!.activity.delayedResponses > held, 30_000);
    relay.child.kill('SIGTERM');
    const { code } = await relay.exited;
    broker.delayResponses(0);
    expect(relay.output()).toMatch(/shut down cleanly/);
    expect(code).toBe(0);
    const marked = new Set(
      (await pool.query<{ id: string }>('SELECT id::text FROM product_changes WHERE published_at IS NOT NULL')).rows.map((row) => row.id),
    );
    expect(marked.size).toBeLessThan(backlog);
    expect(await count(pool, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toBe(0);

    // What reached the topic is exactly what was marked: a batch published but not marked would be
    // re-sent by the next relay (a duplicate); one marked but not published would be lost.
    reader = await readTopic(broker.brokers, topic);
    await waitFor('every marked change read back', () => reader!.received.length >= marked.size, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const published = reader.received.map((message) => message.event.eventId);
    expect(published.length).toBe(marked.size);
    expect(new Set(published)).toEqual(marked);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('when the import is sent SIGTERM mid-way', () => {
  it('then it stops between two batches and exits 143, every product written is whole, and a second run finishes the import', async () => {
    const { url, pool } = await emptyDatabase('catalog_test_import_signal');
    const importer = start(['import'], { DATABASE_URL: url, SHUTDOWN_TIMEOUT_MS: '60000' });
    await waitFor('the first batch of products committed', async () => (await count(pool, 'SELECT count(*) FROM products')) > 0, 90_000);
    importer.child.kill('SIGTERM');
    const { code } = await importer.exited;
    expect(importer.output()).toMatch(/import stopped by SIGTERM between two batches/);
    expect(code).toBe(143);

    const reference = open(testDatabaseUrl());
    const expected = await count(reference, 'SELECT count(*) FROM products');
    const written = await count(pool, 'SELECT count(*) FROM products');
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(expected);
    // Whole: each product came with its change event and all its variants (as the full import has
    // them), in its batch's one transaction.
    expect(await count(pool, "SELECT count(*) FROM product_changes WHERE event->>'kind' = 'created'")).toBe(written);
    const slugs = (await pool.query<{ slug: string }>('SELECT slug FROM products')).rows.map((row) => row.slug);
    const variants = await reference.query<{ count: string }>('SELECT count(*) FROM variants v JOIN products p ON p.id = v.product_id WHERE p.slug = ANY($1)', [slugs]);
    expect(await count(pool, 'SELECT count(*) FROM variants')).toBe(Number(variants.rows[0]!.count));

    const again = start(['import'], { DATABASE_URL: url });
    expect((await again.exited).code).toBe(0);
    expect(await count(pool, 'SELECT count(*) FROM products')).toBe(expected);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('when a role is sent a second SIGTERM while its shutdown is stuck', () => {
  it('then it exits 1 at once instead of waiting for the work in hand', async () => {
    const { url, pool } = await emptyDatabase('catalog_test_second_signal');
    // The schema first, then a lock that holds the import's first batch of products where it is.
    const migrate = start(['migrate'], { DATABASE_URL: url });
    expect((await migrate.exited).code).toBe(0);
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE products IN SHARE MODE');
      const importer = start(['import'], { DATABASE_URL: url, SHUTDOWN_TIMEOUT_MS: '120000' });
      await waitFor('the import waiting on the lock', async () => (await count(pool, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'products'::regclass")) > 0, 90_000);
      importer.child.kill('SIGTERM');
      await importer.waitForOutput(/shutting down: no new work is taken/);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(importer.child.exitCode).toBeNull();

      const sent = performance.now();
      importer.child.kill('SIGTERM');
      const { code } = await importer.exited;
      expect(code).toBe(1);
      expect(importer.output()).toMatch(/second signal during shutdown; exiting at once/);
      expect(performance.now() - sent).toBeLessThan(10_000);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The batch it was in rolled back with its connection.
    expect(await count(pool, 'SELECT count(*) FROM products')).toBe(0);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('when one of two indexers is sent SIGTERM', () => {
  it('then it leaves its group: the other takes over its partitions long before the session timeout would hand them over', async () => {
    const clone = await cloneCatalogDatabase('catalog_test_indexer_leave');
    databases.push(clone.name);
    const pool = open(clone.url);
    broker ??= await startKafkaBroker();
    const kafka = new Kafka({ clientId: 'role-shutdown-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'leave-changes', numPartitions: 4 }, { topic: 'leave-changes.dead-letter', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const prefix = `catalog-test:${randomUUID()}:`;
    const redis = createRedisClient('redis://127.0.0.1:6379', { commandTimeoutMs: 2000 });
    await waitForRedisReady(redis, 5000);
    // A member that vanished without leaving keeps its partitions this long: far beyond the waits below.
    const sessionTimeoutMs = 120_000;
    const env = {
      DATABASE_URL: clone.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: prefix,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_CHANGE_TOPIC: 'leave-changes',
      KAFKA_DEAD_LETTER_TOPIC: 'leave-changes.dead-letter',
      KAFKA_INDEXER_GROUP: 'leave-indexer',
      KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      SHUTDOWN_TIMEOUT_MS: '30000',
    };
    const products = (await listedProducts(pool, 24, 0)).map((product) => product.id);
    const behind = async () =>
      count(pool, `SELECT count(*) FROM products p JOIN search_documents d ON d.product_id = p.id WHERE p.id IN (${products.join(',')}) AND d.version <> p.version`);
    const round = async (price: number) => {
      const events = [];
      for (const id of products) events.push(await setPrice(pool, id, price));
      await producer.send({ topic: 'leave-changes', acks: -1, messages: events.map((event) => ({ key: String(event.productId), value: JSON.stringify(event) })) });
    };
    const consumed = async (address: string) => {
      const text = await (await fetch(`${address}/metrics`)).text();
      return Number(/^catalog_change_events_consumed_total (\d+)/m.exec(text)?.[1] ?? 0);
    };
    try {
      const first = start(['indexer'], env);
      const [, firstAddress] = await first.waitForOutput(/health and metrics on (http:\/\/[^"\s]+)/, 90_000);
      const second = start(['indexer'], env);
      const [, secondAddress] = await second.waitForOutput(/health and metrics on (http:\/\/[^"\s]+)/, 90_000);
      // Both hold partitions: each applies some of a round of changes spread over the four.
      await waitFor('both indexers ready', async () => (await fetch(`${firstAddress}/health/ready`)).ok && (await fetch(`${secondAddress}/health/ready`)).ok, 90_000);
      await round(1_100);
      await waitFor('the first round indexed', async () => (await behind()) === 0, 90_000);
      expect(await consumed(firstAddress!)).toBeGreaterThan(0);
      expect(await consumed(secondAddress!)).toBeGreaterThan(0);

      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
      const stopped = performance.now();
      await round(2_200);
      await waitFor('every change of the second round indexed by the one left', async () => (await behind()) === 0, 60_000);
      expect(performance.now() - stopped).toBeLessThan(sessionTimeoutMs / 2);
      expect(await consumed(secondAddress!)).toBeGreaterThanOrEqual(products.length);
    } finally {
      await producer.disconnect();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});
