// The read half of the transactional outbox (store/product-changes.ts writes it): the relay reads
// the oldest unpublished rows, publishes them, marks them published, and prunes them once they are
// older than the retention. Rows are marked one by one, never by a high-water mark: a write that
// took a lower id but committed later is still picked up (docs/change-pipeline.md, "Relay").
import type pg from 'pg';
import type { ProductChangeBody, ProductChangeEvent } from '../catalog/product-change.ts';
import type { OutboxMessage } from '../events/change-feed.ts';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** One unpublished outbox row. */
export interface OutboxRow {
  /** bigint as a decimal string: the event's eventId. */
  id: string;
  productId: number;
  event: ProductChangeBody;
  committedAt: Date;
}

export interface OutboxBacklog {
  unpublished: number;
  /** When the oldest unpublished row committed; null when nothing waits. */
  oldestCommittedAt: Date | null;
}

/** The oldest unpublished rows, in id order: the order one product's changes committed in (by the bigint, not its text). */
export async function readUnpublished(client: Queryable, limit: number): Promise<OutboxRow[]> {
  const { rows } = await client.query<{ id: string; product_id: string | number; event: ProductChangeBody; committed_at: Date }>(
    `SELECT id::text AS id, product_id, event, committed_at
       FROM product_changes
      WHERE published_at IS NULL
      ORDER BY product_changes.id
      LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({ id: row.id, productId: Number(row.product_id), event: row.event, committedAt: row.committed_at }));
}

/** Marks rows published: call only once the publisher has resolved for every one of them. */
export async function markPublished(client: Queryable, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await client.query('UPDATE product_changes SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL', [ids]);
  return result.rowCount ?? 0;
}

// Small enough that one chunk stays far inside the statement timeout on a big backlog of published rows.
const PRUNE_CHUNK = 5000;

/** Deletes published rows published more than `retentionMs` ago, in chunks; unpublished rows are never touched. Returns how many went. */
export async function prunePublished(client: Queryable, retentionMs: number): Promise<number> {
  let pruned = 0;
  for (;;) {
    const result = await client.query(
      `DELETE FROM product_changes WHERE id IN (
         SELECT id FROM product_changes
          WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1::double precision / 1000)
          LIMIT $2)`,
      [retentionMs, PRUNE_CHUNK],
    );
    pruned += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < PRUNE_CHUNK) return pruned;
  }
}

/** What waits to be published: one query on the unpublished rows' partial index. */
export async function readBacklog(client: Queryable): Promise<OutboxBacklog> {
  const { rows } = await client.query<{ unpublished: string | number; oldest: Date | null }>(
    'SELECT count(*) AS unpublished, min(committed_at) AS oldest FROM product_changes WHERE published_at IS NULL',
  );
  const row = rows[0];
  return { unpublished: Number(row?.unpublished ?? 0), oldestCommittedAt: row?.oldest ?? null };
}

/** The published event: the stored event plus its row's id and commit time (a ProductChangeEvent). */
export function toChangeEvent(row: OutboxRow): ProductChangeEvent {
  return { ...row.event, eventId: row.id, committedAt: row.committedAt.toISOString() };
}

/** A row as the relay hands it to a publisher: keyed by product id. */
export function toOutboxMessage(row: OutboxRow): OutboxMessage {
  return { id: row.id, key: String(row.productId), value: JSON.stringify(toChangeEvent(row)), committedAt: row.committedAt.getTime() };
}
