// What the change-pipeline tests share: real writes through the write path (so the outbox rows are
// the ones production commits), a reader of what reached a Kafka topic, and a bounded wait.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type pg from 'pg';
import { recordProductChanges, snapshotProducts } from '../../src/store/product-changes.ts';

/** Waits for `condition`, checking every 20 ms; fails naming `what` after `timeoutMs` (a bound on a hang, not a latency target). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Ids of products that have variants (so a stock change bumps their version), lowest first. */
export async function productsWithVariants(pool: pg.Pool, count: number, offset = 0): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    'SELECT id FROM products p WHERE EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id) ORDER BY id LIMIT $1 OFFSET $2',
    [count, offset],
  );
  return rows.map((row) => Number(row.id));
}

/** One write through the write path: +1 stock on every variant of `productIds`, one change event per product, one transaction. */
export async function restock(pool: pg.Pool, productIds: readonly number[], actor = 'test'): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const before = await snapshotProducts(client, { ids: productIds }, { lock: true });
    await client.query('UPDATE variants SET stock = stock + 1 WHERE product_id = ANY($1::bigint[])', [productIds]);
    await recordProductChanges(client, before, productIds, actor);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Marks every outbox row published: a test that does not want the bundled import's 20,000 events. */
export async function markOutboxPublished(pool: pg.Pool): Promise<void> {
  await pool.query('UPDATE product_changes SET published_at = now() WHERE published_at IS NULL');
}

export async function unpublishedCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ count: string }>('SELECT count(*) AS count FROM product_changes WHERE published_at IS NULL');
  return Number(rows[0]?.count);
}

export interface ReceivedChange {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  event: { eventId: string; productId: number; version: number } & Record<string, unknown>;
}

export interface TopicReader {
  received: ReceivedChange[];
  stop(): Promise<void>;
}

/** A kafkajs consumer reading `topic` from the beginning, keeping everything in arrival order. */
export async function readTopic(brokers: string[], topic: string): Promise<TopicReader> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } });
  const consumer: Consumer = kafka.consumer({ groupId: `test-reader-${topic}`, sessionTimeout: 3_000, rebalanceTimeout: 4_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  const received: ReceivedChange[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const value = message.value?.toString() ?? '';
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, header]) => [name, String(header)]));
      received.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value, headers, event: JSON.parse(value) });
    },
  });
  return { received, stop: () => consumer.disconnect() };
}
