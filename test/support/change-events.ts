// Change events in tests: real ones written through the write path (snapshot, change,
// recordProductChanges, one transaction) and read back as the relay publishes them (eventId and
// committedAt from the outbox row), and a validator built from the committed asyncapi.yaml (the
// contract consumers read, not the TypeBox source).
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type pg from 'pg';
import { parse } from 'yaml';
import type { ProductChangeEvent } from '../../src/catalog/product-change.ts';
import type { ChangeMessage } from '../../src/events/change-feed.ts';
import { recordProductChanges, snapshotProducts } from '../../src/store/product-changes.ts';

export const CHANGE_TOPIC = 'catalog.product-changes';

/** Runs `write` on these products as one transaction of the write path; resolves with the events it committed, in commit order. */
export async function writeProducts(pool: pg.Pool, productIds: readonly number[], write: (client: pg.PoolClient) => Promise<unknown>): Promise<ProductChangeEvent[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: last } = await client.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM product_changes');
    const before = await snapshotProducts(client, { ids: productIds }, { lock: true });
    await write(client);
    await recordProductChanges(client, before, productIds, 'test');
    const { rows } = await client.query<{ id: string; event: Omit<ProductChangeEvent, 'eventId' | 'committedAt'>; committed_at: Date }>(
      'SELECT id::text, event, committed_at FROM product_changes WHERE id > $1::bigint ORDER BY id',
      [last[0]?.id],
    );
    await client.query('COMMIT');
    return rows.map((row) => ({ ...row.event, eventId: row.id, committedAt: row.committed_at.toISOString() }));
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** Sets the price of every variant of one product: one change event. */
export async function setPrice(pool: pg.Pool, productId: number, priceMinor: number): Promise<ProductChangeEvent> {
  const [event] = await writeProducts(pool, [productId], (client) => client.query('UPDATE variants SET price_minor = $2 WHERE product_id = $1', [productId, priceMinor]));
  if (!event) throw new Error(`setting the price of ${productId} changed nothing`);
  return event;
}

/** Messages as the indexer receives them: keyed by product id, offsets in the order given. */
export function changeMessages(events: readonly (ProductChangeEvent | string)[], options: { topic?: string; partition?: number; firstOffset?: number } = {}): ChangeMessage[] {
  const first = options.firstOffset ?? 0;
  return events.map((event, index) => ({
    topic: options.topic ?? CHANGE_TOPIC,
    partition: options.partition ?? 0,
    offset: String(first + index),
    key: typeof event === 'string' ? 'poison' : String(event.productId),
    value: Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)),
  }));
}

/** Listed products with a brand, two category levels deep or more, past `offset` in id order. */
export async function listedProducts(pool: pg.Pool, count: number, offset: number): Promise<{ id: number; slug: string; version: number }[]> {
  const { rows } = await pool.query<{ id: number; slug: string; version: number }>(
    `SELECT id, slug, version FROM products p
      WHERE p.status = 'active' AND p.price_min IS NOT NULL AND p.brand_id IS NOT NULL AND nlevel(p.category_path) >= 2
      ORDER BY id LIMIT $1 OFFSET $2`,
    [count, offset],
  );
  return rows.map((row) => ({ ...row, id: Number(row.id), version: Number(row.version) }));
}

export async function committedChanges(pool: pg.Pool, afterId = 0): Promise<ProductChangeEvent[]> {
  const { rows } = await pool.query<{ id: string; event: Omit<ProductChangeEvent, 'eventId' | 'committedAt'>; committed_at: Date }>(
    'SELECT id::text, event, committed_at FROM product_changes WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows.map((row) => ({ eventId: row.id, ...row.event, committedAt: row.committed_at.toISOString() }));
}

export async function changeEventValidator() {
  const document = parse(await readFile(new URL('../../asyncapi.yaml', import.meta.url), 'utf8')) as { components: { schemas: { ProductChangeEvent: object } } };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(document.components.schemas.ProductChangeEvent);
}
