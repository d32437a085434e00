// The search port: what the indexer writes through and (with the search issue) what
// /products/search reads through. Two engines implement it: PostgreSQL (the read model in
// search_documents, the embedded default and the fallback) and OpenSearch.
import type { SearchDocumentChange } from '../catalog/search-document.ts';

export interface SearchIndexWriteResult {
  /** Written or removed. */
  applied: number;
  /** Ignored: the index already held this product at this version or a newer one. */
  stale: number;
}

export interface SearchIndexWriter {
  /**
   * Applies each change only if its version is newer than the one the index holds for the product
   * (external versioning), so a replayed, duplicated or reordered change never overwrites a newer
   * document and a removed product stays removed. Idempotent; rejects as a whole on failure (the
   * caller retries).
   */
  write(changes: readonly SearchDocumentChange[]): Promise<SearchIndexWriteResult>;
}
