// Fills a search engine from PostgreSQL without the change feed: every product, in id batches, as it is
// now (loadSearchDocumentChanges), written through the engine's writer with its version, so a rebuild
// racing the indexer never overwrites a newer document. The test setup, the reconcile command and a
// fresh engine use it.
import type { Queryable } from '../store/postgres-guard.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';
import type { SearchIndexWriter, SearchIndexWriteResult } from './search-port.ts';

export const DEFAULT_REBUILD_BATCH = 1000;

export async function rebuildSearchIndex({
  pool,
  writer,
  batchSize = DEFAULT_REBUILD_BATCH,
  replaceSameVersion = false,
  signal,
}: {
  pool: Queryable;
  writer: SearchIndexWriter;
  batchSize?: number;
  /** Rewrite documents the index holds at the same version too (reindex: built anew by the current code). */
  replaceSameVersion?: boolean;
  /** Aborted: stops before the next batch, throwing its reason (each document written is whole). */
  signal?: AbortSignal;
}): Promise<SearchIndexWriteResult> {
  const total = { applied: 0, stale: 0 };
  let afterId = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2', [afterId, batchSize]);
    if (rows.length === 0) return total;
    const ids = rows.map((row) => Number(row.id));
    const written = await writer.write(await loadSearchDocumentChanges(pool, ids), { replaceSameVersion });
    total.applied += written.applied;
    total.stale += written.stale;
    afterId = ids.at(-1)!;
  }
}
