// With OpenSearch configured, the indexer writes every change to two indexes: the PostgreSQL read
// model (the fallback engine's, which must take it) and OpenSearch. An OpenSearch outage must not
// stop the change pipeline: caches would stop being invalidated and every page would go stale with
// the search engine. So an OpenSearch write that fails marks its products in search_index_pending
// and the batch goes on to invalidation; a background loop re-drives the marked products from their
// current rows once OpenSearch answers, then invalidates the search answers. Meanwhile the breaker
// serves searches from PostgreSQL, which is current.
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { SEARCH_RESULTS } from '../catalog/cache-tags.ts';
import type { SearchDocumentChange } from '../catalog/search-document.ts';
import type { Queryable } from '../store/postgres-guard.ts';
import type { SearchIndexWriteOptions, SearchIndexWriter, SearchIndexWriteResult } from './search-port.ts';

export interface OpenSearchCopyOptions {
  /** The PostgreSQL read model: its failures are the batch's failures (the indexer retries them). */
  readModel: SearchIndexWriter;
  openSearch: SearchIndexWriter;
  /** The primary, holding search_index_pending. */
  pool: Queryable;
  log: Logger;
}

/** Writes the read model, then OpenSearch; an OpenSearch failure is recorded, not thrown. */
export function withOpenSearchCopy({ readModel, openSearch, pool, log }: OpenSearchCopyOptions): SearchIndexWriter {
  let failing = false;
  return {
    async write(changes: readonly SearchDocumentChange[], options?: SearchIndexWriteOptions): Promise<SearchIndexWriteResult> {
      const written = await readModel.write(changes, options);
      try {
        await openSearch.write(changes, options);
        if (failing) log.info('OpenSearch takes writes again');
        failing = false;
      } catch (error) {
        await markPending(pool, [...new Set(changes.map((change) => change.productId))], error);
        if (!failing) log.warn({ err: error }, 'OpenSearch write failed: the products are kept in search_index_pending and re-driven when it answers');
        failing = true;
      }
      return written;
    },
  };
}

async function markPending(pool: Queryable, productIds: readonly number[], error: unknown): Promise<void> {
  await pool.query(
    `INSERT INTO search_index_pending AS p (product_id, last_error)
     SELECT id, $2 FROM unnest($1::bigint[]) AS ids(id) ORDER BY id
     ON CONFLICT (product_id) DO UPDATE SET marked_at = now(), attempts = p.attempts + 1, last_error = excluded.last_error`,
    [productIds, String((error as Error)?.message ?? error).slice(0, 500)],
  );
}

export interface PendingRedriveOptions {
  pool: Queryable;
  openSearch: SearchIndexWriter;
  documents: (productIds: readonly number[]) => Promise<SearchDocumentChange[]>;
  invalidator: { invalidate(tags: readonly string[]): Promise<void> };
  intervalMs: number;
  batchSize?: number;
  log: Logger;
  metrics: Registry;
}

/** Re-drives search_index_pending to OpenSearch every intervalMs until stopped. */
export function startPendingRedrive(options: PendingRedriveOptions): { redrive(): Promise<number>; stop(): Promise<void> } {
  const { pool, openSearch, log } = options;
  const batchSize = options.batchSize ?? 500;
  const backlog =
    (options.metrics.getSingleMetric('catalog_search_index_pending') as Gauge | undefined) ??
    new Gauge({ name: 'catalog_search_index_pending', help: 'Products whose OpenSearch write failed and waits to be re-driven', registers: [options.metrics] });

  /** One pass: every pending product, in batches; resolves with how many were written. */
  async function redrive(): Promise<number> {
    let done = 0;
    for (;;) {
      // marked_at as text: a JavaScript Date would drop its microseconds, and the delete compares it exactly.
      const { rows } = await pool.query<{ product_id: string; marked_at: string }>(
        'SELECT product_id, marked_at::text FROM search_index_pending ORDER BY product_id LIMIT $1',
        [batchSize],
      );
      if (rows.length === 0) break;
      const ids = rows.map((row) => Number(row.product_id));
      await openSearch.write(await options.documents(ids));
      // Only rows not marked again since they were read: a newer failure keeps its row.
      await pool.query(
        `DELETE FROM search_index_pending p USING unnest($1::bigint[], $2::timestamptz[]) AS r(id, marked_at)
          WHERE p.product_id = r.id AND p.marked_at = r.marked_at`,
        [ids, rows.map((row) => row.marked_at)],
      );
      done += ids.length;
      if (rows.length < batchSize) break;
    }
    if (done > 0) {
      await options.invalidator.invalidate([SEARCH_RESULTS]);
      log.info({ products: done }, 'pending OpenSearch writes re-driven');
    }
    const { rows } = await pool.query<{ count: string }>('SELECT count(*) FROM search_index_pending');
    backlog.set(Number(rows[0]?.count ?? 0));
    return done;
  }

  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(redrive).catch((error: unknown) => log.debug({ err: error }, 'pending OpenSearch writes not re-driven yet'));
  }, options.intervalMs);
  timer.unref();
  return {
    redrive,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
