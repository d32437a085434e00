// The search port's PostgreSQL engine, write side: the search_documents read model. A plain table
// for now (the search issue adds its text search columns here); what matters today is the version
// guard, which makes every write idempotent and order-proof.
import type { SearchDocumentChange } from '../catalog/search-document.ts';
import type { Queryable } from '../store/postgres-guard.ts';
import type { SearchIndexWriteOptions, SearchIndexWriter, SearchIndexWriteResult } from './search-port.ts';

export function createPostgresSearchIndex({ pool }: { pool: Queryable }): SearchIndexWriter {
  return {
    async write(changes: readonly SearchDocumentChange[], options?: SearchIndexWriteOptions): Promise<SearchIndexWriteResult> {
      if (changes.length === 0) return { applied: 0, stale: 0 };
      const newest = newestPerProduct(changes);
      // One statement for the batch. The WHERE on the conflict makes a change land only when its
      // version is newer than the stored one (a removal keeps its row and version: the tombstone that
      // stops a late older event from bringing the product back). Rows are taken in product id order,
      // so two indexers writing overlapping batches never deadlock. A repair or rebuild also rewrites a
      // row at the same version (replaceSameVersion), never one at a newer version.
      const { rowCount } = await pool.query(
        `INSERT INTO search_documents AS d (product_id, version, removed, document, indexed_at)
         SELECT c.product_id, c.version, c.document IS NULL, c.document, now()
           FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[]) AS c(product_id, version, document)
          ORDER BY c.product_id
         ON CONFLICT (product_id) DO UPDATE
            SET version = excluded.version, removed = excluded.removed, document = excluded.document, indexed_at = excluded.indexed_at
          WHERE d.version < excluded.version OR ($4 AND d.version = excluded.version)`,
        [newest.map((change) => change.productId), newest.map((change) => change.version), newest.map((change) => (change.document ? JSON.stringify(change.document) : null)), options?.replaceSameVersion === true],
      );
      const applied = rowCount ?? 0;
      return { applied, stale: changes.length - applied };
    },
  };
}

/** One statement may not touch a row twice: of several changes to one product, only the newest can land. */
function newestPerProduct(changes: readonly SearchDocumentChange[]): SearchDocumentChange[] {
  const newest = new Map<number, SearchDocumentChange>();
  for (const change of changes) {
    const held = newest.get(change.productId);
    if (!held || held.version < change.version) newest.set(change.productId, change);
  }
  return [...newest.values()];
}
