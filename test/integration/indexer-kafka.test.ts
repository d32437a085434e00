// The indexer through Kafka: the project's test broker, real kafkajs, and the indexer and the replay
// as separate processes of the container's entry point where it matters (SIGKILL, SIGTERM, replay).
// Real PostgreSQL (a copy of the bundled catalogue) and Redis (a key prefix of this file's own).
import type { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { productTag } from '../../src/catalog/cache-tags.ts';
import type { ProductChangeEvent } from '../../src/catalog/product-change.ts';
import { createTagKeys } from '../../src/cache/key-space.ts';
import { createRedisClient, waitForRedisReady } from '../../src/cache/redis-client.ts';
import type { ChangeMessage } from '../../src/events/change-feed.ts';
import { DEAD_LETTER_HEADERS } from '../../src/events/dead-letters.ts';
import { createKafkaChangeConsumer } from '../../src/events/kafka-change-consumer.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { listedProducts, setPrice } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog, testDatabaseConfig } from '../support/database.ts';
import { startKafkaBroker, type KafkaTestBroker } from '../support/kafka-broker/index.ts';
import { deleteKeysWithPrefix } from '../support/redis-server.ts';
import { runRoleProcess, startRoleProcess, type RoleProcess } from '../support/role-process.ts';

const PREFIX = `catalog-test:indexer-kafka:${process.pid}:`;
// Each indexer process takes a few seconds to start (tsx, then joining the group); a test starts up to three.
const PROCESS_TEST_TIMEOUT_MS = 180_000;

let broker: KafkaTestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let database: Database;
let databaseName: string;
let databaseUrl: string;
let pool: pg.Pool;
let redis: Redis;
let nextProduct = 0;
let testNumber = 0;
const processes: RoleProcess[] = [];

beforeAll(async () => {
  broker = await startKafkaBroker({ defaultPartitions: 3 });
  kafka = new Kafka({ clientId: 'indexer-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, maxRetryTime: 1000, retries: 10 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
  const clone = await cloneCatalogDatabase('catalog_indexer_kafka');
  databaseName = clone.name;
  databaseUrl = clone.url;
  database = createDatabase({ primary: clone.url }, testDatabaseConfig, silentLog);
  pool = database.primary;
  redis = createRedisClient('redis://127.0.0.1:6379', { commandTimeoutMs: 2000 });
  await waitForRedisReady(redis, 5000);
});

afterEach(async () => {
  for (const role of processes.splice(0)) {
    role.child.kill('SIGKILL');
    await role.exited;
  }
});

afterAll(async () => {
  await deleteKeysWithPrefix(redis, PREFIX);
  redis.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  await broker.stop();
  await database.close();
  await dropDatabase(databaseName);
});

interface Feed {
  topic: string;
  deadLetterTopic: string;
  group: string;
  keyPrefix: string;
  env: Record<string, string>;
}

/** Topics, group and key prefix of the test's own, and the indexer's environment for them. */
async function feed(partitions: number, env: Record<string, string> = {}): Promise<Feed> {
  const n = ++testNumber;
  const topic = `changes-${n}`;
  const deadLetterTopic = `changes-${n}.dead-letter`;
  const group = `indexer-${n}`;
  const keyPrefix = `${PREFIX}${n}:`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }, { topic: deadLetterTopic, numPartitions: 1 }] });
  return {
    topic,
    deadLetterTopic,
    group,
    keyPrefix,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: keyPrefix,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_CHANGE_TOPIC: topic,
      KAFKA_DEAD_LETTER_TOPIC: deadLetterTopic,
      KAFKA_INDEXER_GROUP: group,
      KAFKA_SESSION_TIMEOUT_MS: '3000',
      INDEXER_MAX_ATTEMPTS: '2',
      INDEXER_RETRY_BASE_MS: '10',
      INDEXER_RETRY_MAX_MS: '100',
      SHUTDOWN_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'info',
      ...env,
    },
  };
}

async function startIndexer(target: Feed): Promise<{ role: RoleProcess; address: string }> {
  const role = startRoleProcess(['indexer'], target.env);
  processes.push(role);
  const [, address] = await role.waitForOutput(/health and metrics on (http:\/\/[^"\s]+)/);
  return { role, address: address! };
}

async function stopIndexer(role: RoleProcess): Promise<number | null> {
  role.child.kill('SIGTERM');
  const { code } = await role.exited;
  processes.splice(processes.indexOf(role), 1);
  return code;
}

async function produce(topic: string, events: readonly (ProductChangeEvent | { key: string; value: string })[]): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: events.map((event) => ('productId' in event ? { key: String(event.productId), value: JSON.stringify(event) } : event)),
  });
}

async function freshProducts(count: number): Promise<number[]> {
  const products = await listedProducts(pool, count, nextProduct);
  nextProduct += count;
  return products.map((product) => product.id);
}

/** Committed offset per partition (-1: none), and the topic's end per partition. */
async function offsets(target: Feed): Promise<{ committed: Map<number, number>; ends: Map<number, number> }> {
  const [committed] = await admin.fetchOffsets({ groupId: target.group, topics: [target.topic] });
  const ends = await admin.fetchTopicOffsets(target.topic);
  return {
    committed: new Map((committed?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)])),
    ends: new Map(ends.map(({ partition, high }) => [partition, Number(high)])),
  };
}

async function allCommitted(target: Feed): Promise<boolean> {
  const { committed, ends } = await offsets(target);
  return [...ends].every(([partition, end]) => end === 0 || committed.get(partition) === end);
}

/** Products whose search document is not yet at their current version. */
async function behind(productIds: readonly number[]): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `SELECT p.id FROM products p LEFT JOIN search_documents d ON d.product_id = p.id
      WHERE p.id = ANY($1::bigint[]) AND (d.version IS NULL OR d.version <> p.version)`,
    [productIds],
  );
  return rows.map((row) => Number(row.id));
}

async function metric(address: string, name: string): Promise<number> {
  const text = await (await fetch(`${address}/metrics`)).text();
  const line = text.split('\n').find((each) => each.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}

async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('when the consumer group hands the indexer a batch', () => {
  it('then offsets are committed only once processBatch resolved, and a batch that failed is redelivered', async () => {
    const target = await feed(1);
    const calls: ChangeMessage[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const registry = new Registry();
    const consumer = createKafkaChangeConsumer({
      kafka,
      settings: { changeTopic: target.topic, indexerGroup: target.group, sessionTimeoutMs: 3000 },
      concurrency: 2,
      indexer: {
        async processBatch(messages) {
          calls.push([...messages]);
          if (calls.length === 1) throw new Error('the first delivery fails');
          await gate;
          return { events: messages.length, applied: messages.length, stale: 0, deadLettered: 0 };
        },
      },
      log: silentLog,
      metrics: registry,
    });
    await consumer.start();
    try {
      await produce(target.topic, [1, 2, 3].map((n) => ({ key: String(n), value: `{"n":${n}}` })));

      await waitUntil('a second delivery', () => calls.length >= 2);
      expect(calls[1]?.[0]?.offset).toBe('0');
      expect((await offsets(target)).committed.get(0)).toBe(-1);
      // Still waiting on processBatch: nothing is committed however long it takes.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await offsets(target)).committed.get(0)).toBe(-1);

      release();
      await waitUntil('the commit', async () => (await offsets(target)).committed.get(0) === 3);
      const lag = await registry.getSingleMetric('catalog_indexer_consumer_lag')?.get();
      expect(lag?.values).toEqual([{ labels: { topic: target.topic, partition: '0' }, value: 0 }]);
    } finally {
      await consumer.stop();
    }
  });
});

describe('when the indexer process is killed mid-batch and restarted', () => {
  it('then no change is lost, none is applied out of order, and a SIGTERM commits what it applied and nothing is redone', async () => {
    const target = await feed(3, { INDEXER_CONCURRENCY: '1' });
    const products = await freshProducts(24);
    const events: ProductChangeEvent[] = [];
    for (const price of [1_100, 2_200, 3_300]) for (const id of products) events.push(await setPrice(pool, id, price));
    // Every write the index takes, in order, and each one slow enough for the kill to land mid-way.
    await pool.query(`CREATE TABLE index_writes (id bigint GENERATED ALWAYS AS IDENTITY, product_id bigint, version bigint);
      CREATE FUNCTION slow_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END $$;
      CREATE FUNCTION log_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO index_writes (product_id, version) VALUES (NEW.product_id, NEW.version); RETURN NULL; END $$;
      CREATE TRIGGER slow_index BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION slow_index();
      CREATE TRIGGER log_index AFTER INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION log_index();`);
    try {
      await produce(target.topic, events);

      const first = await startIndexer(target);
      await waitUntil('the first batch written', async () => Number((await pool.query('SELECT count(*) FROM index_writes')).rows[0].count) > 0);
      first.role.child.kill('SIGKILL');
      await first.role.exited;
      processes.splice(processes.indexOf(first.role), 1);
      expect(await allCommitted(target)).toBe(false);

      const second = await startIndexer(target);
      await waitUntil('every product indexed at its current version', async () => (await behind(products)).length === 0);
      await waitUntil('every offset committed', () => allCommitted(target));
      const { rows } = await pool.query<{ id: number; price: number }>(
        `SELECT product_id AS id, (document->>'priceMin')::bigint AS price FROM search_documents WHERE product_id = ANY($1::bigint[])`,
        [products],
      );
      expect(rows.map((row) => Number(row.price))).toEqual(products.map(() => 3_300));
      for (const id of products) expect(Number(await redis.get(createTagKeys(target.keyPrefix).tag(productTag(id))))).toBeGreaterThanOrEqual(1);
      // Out of order would show as a version going down in the index's own write log.
      const { rows: regressions } = await pool.query(
        `SELECT product_id FROM (SELECT product_id, version, lag(version) OVER (PARTITION BY product_id ORDER BY id) AS previous FROM index_writes) w
          WHERE previous IS NOT NULL AND version <= previous`,
      );
      expect(regressions).toEqual([]);

      // A SIGTERM while more changes arrive: the batch in hand finishes and is committed.
      const more: ProductChangeEvent[] = [];
      for (const id of products) more.push(await setPrice(pool, id, 4_400));
      await produce(target.topic, more);
      await waitUntil('a change of the new round indexed', async () => (await behind(products)).length < products.length);
      expect(await stopIndexer(second.role)).toBe(0);
      expect(second.role.output()).toMatch(/shut down cleanly/);
      const atStop = await offsets(target);
      const all = [...events, ...more];
      const committedEvents = await committedMessages(target, atStop.committed);
      for (const event of committedEvents) {
        const { rows: held } = await pool.query<{ version: number }>('SELECT version FROM search_documents WHERE product_id = $1', [event.productId]);
        expect(Number(held[0]?.version)).toBeGreaterThanOrEqual(event.version);
      }

      // The next indexer redoes nothing that was committed and does everything that was not.
      const third = await startIndexer(target);
      await waitUntil('every product indexed at its current version', async () => (await behind(products)).length === 0);
      await waitUntil('every offset committed', () => allCommitted(target));
      expect(await metric(third.address, 'catalog_change_events_consumed_total')).toBe(all.length - committedEvents.length);
      expect(await stopIndexer(third.role)).toBe(0);
    } finally {
      await pool.query(`DROP TRIGGER slow_index ON search_documents; DROP TRIGGER log_index ON search_documents;
        DROP FUNCTION slow_index(); DROP FUNCTION log_index(); DROP TABLE index_writes;`);
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});

/** The change events at offsets below the committed ones, read back from the topic. */
async function committedMessages(target: Feed, committed: Map<number, number>): Promise<ProductChangeEvent[]> {
  const wanted = [...committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
  const read: ProductChangeEvent[] = [];
  if (wanted === 0) return read;
  const reader = kafka.consumer({ groupId: `${target.group}-reader`, sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topic: target.topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ partition, message }) => {
      if (Number(message.offset) < (committed.get(partition) ?? 0)) read.push(JSON.parse(message.value!.toString()) as ProductChangeEvent);
    },
  });
  await waitUntil('the committed messages read back', () => read.length === wanted);
  await reader.disconnect();
  return read;
}

describe('when a change cannot be applied', () => {
  it('then it goes to the dead-letter topic with where it came from and why, the next ones are processed, and replay-dead-letters re-drives it once fixed', async () => {
    const target = await feed(1);
    const [poison, next] = (await freshProducts(2)) as [number, number];
    const poisonEvent = await setPrice(pool, poison, 9_100);
    const nextEvent = await setPrice(pool, next, 9_200);
    await pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.product_id = ${poison} THEN RAISE EXCEPTION 'the engine refuses product %', NEW.product_id; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);
    let fixed = false;
    try {
      const { role } = await startIndexer(target);
      await produce(target.topic, [{ key: 'not-json', value: '{"type":' }, poisonEvent, nextEvent]);

      await waitUntil('the next change indexed', async () => (await behind([next])).length === 0);
      const letters = await readTopic(target.deadLetterTopic, 2);
      expect(letters[0]).toMatchObject({ key: 'not-json', value: '{"type":' });
      expect(letters[0]?.headers).toMatchObject({
        [DEAD_LETTER_HEADERS.topic]: target.topic,
        [DEAD_LETTER_HEADERS.partition]: '0',
        [DEAD_LETTER_HEADERS.offset]: '0',
        [DEAD_LETTER_HEADERS.reason]: 'invalid-event',
        [DEAD_LETTER_HEADERS.errorType]: 'InvalidChangeEvent',
      });
      expect(letters[1]).toMatchObject({ key: String(poison), value: JSON.stringify(poisonEvent) });
      expect(letters[1]?.headers).toMatchObject({ [DEAD_LETTER_HEADERS.offset]: '1', [DEAD_LETTER_HEADERS.reason]: 'search-write-failed' });
      expect(letters[1]?.headers[DEAD_LETTER_HEADERS.errorMessage]).toMatch(/refuses product/);
      expect(new Date(letters[1]!.headers[DEAD_LETTER_HEADERS.failedAt]!).getTime()).not.toBeNaN();
      expect(await behind([poison])).toEqual([poison]);
      await waitUntil('every offset committed', () => allCommitted(target));

      await pool.query('DROP TRIGGER refuse_poison ON search_documents; DROP FUNCTION refuse_poison()');
      fixed = true;
      const replay = await runRoleProcess(['replay-dead-letters'], target.env);
      expect(replay.output).toMatch(new RegExp(`replayed 2 dead letter\\(s\\) from ${target.deadLetterTopic.replace(/\./g, '\\.')} to ${target.topic}`));
      expect(replay.code).toBe(0);
      await waitUntil('the dead-lettered change indexed', async () => (await behind([poison])).length === 0);

      // The message that is no change event goes back to the dead-letter topic; a second replay
      // re-drives only that one.
      await waitUntil('the bad message dead-lettered again', async () => (await admin.fetchTopicOffsets(target.deadLetterTopic))[0]?.high === '3');
      const again = await runRoleProcess(['replay-dead-letters'], target.env);
      expect(again.output).toMatch(/replayed 1 dead letter\(s\) from/);
      expect(await stopIndexer(role)).toBe(0);
    } finally {
      if (!fixed) await pool.query('DROP TRIGGER refuse_poison ON search_documents; DROP FUNCTION refuse_poison()');
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('when the indexer is stopped while a batch waits out an outage', () => {
  it('then it exits cleanly at once with the batch uncommitted, and the next indexer applies it', async () => {
    const target = await feed(1);
    const [product] = (await freshProducts(1)) as [number];
    const event = await setPrice(pool, product, 5_500);
    // An error class PostgreSQL uses for "cannot connect now": an outage, retried without limit.
    await pool.query(`CREATE FUNCTION unavailable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'not now' USING ERRCODE = '57P03'; END $$;
      CREATE TRIGGER unavailable BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION unavailable()`);
    let fixed = false;
    try {
      const first = await startIndexer(target);
      await produce(target.topic, [event]);
      await waitUntil('a few retries', async () => (first.role.output().match(/applying changes failed; retrying/g) ?? []).length >= 3);

      expect(await stopIndexer(first.role)).toBe(0);
      expect(first.role.output()).toMatch(/shut down cleanly/);
      expect((await offsets(target)).committed.get(0)).toBe(-1);
      expect(Number((await admin.fetchTopicOffsets(target.deadLetterTopic))[0]?.high)).toBe(0);

      await pool.query('DROP TRIGGER unavailable ON search_documents; DROP FUNCTION unavailable()');
      fixed = true;
      const second = await startIndexer(target);
      await waitUntil('the change indexed', async () => (await behind([product])).length === 0);
      await waitUntil('its offset committed', () => allCommitted(target));
      expect(await stopIndexer(second.role)).toBe(0);
    } finally {
      if (!fixed) await pool.query('DROP TRIGGER unavailable ON search_documents; DROP FUNCTION unavailable()');
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});

async function readTopic(topic: string, count: number): Promise<{ key: string | null; value: string; headers: Record<string, string> }[]> {
  const read: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  const reader = kafka.consumer({ groupId: `${topic}-reader-${++testNumber}`, sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
      read.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
  await waitUntil(`${count} messages on ${topic}`, () => read.length >= count);
  await reader.disconnect();
  return read;
}
