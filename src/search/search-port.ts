// The search port: what the indexer writes through and (with the search issue) what
// /products/search reads through. Two engines implement it: PostgreSQL (the read model in
// search_documents, the embedded default and the fallback) and OpenSearch.
import type { EngineSearchResult, SearchRequest, Suggestion } from '../catalog/search.ts';
import type { SearchDocumentChange } from '../catalog/search-document.ts';

export interface SearchIndexWriteResult {
  /** Written or removed. */
  applied: number;
  /** Ignored: the index already held this product at this version or a newer one. */
  stale: number;
}

export interface SearchIndexWriteOptions {
  /**
   * Also rewrite a document held at the same version (never an older one over a newer): for repairs
   * (reconcile) and rebuilds (reindex), where the document at that version is wrong or built by an
   * older analyzer.
   */
  replaceSameVersion?: boolean;
}

export interface SearchIndexWriter {
  /**
   * Applies each change only if its version is newer than the one the index holds for the product
   * (external versioning), so a replayed, duplicated or reordered change never overwrites a newer
   * document and a removed product stays removed. Idempotent; rejects as a whole on failure (the
   * caller retries).
   */
  write(changes: readonly SearchDocumentChange[], options?: SearchIndexWriteOptions): Promise<SearchIndexWriteResult>;
}

/** The read side: what /products/search and /products/suggest ask an engine. */
export interface SearchEngine {
  readonly name: 'opensearch' | 'postgres';
  /**
   * One page of products matching every word of the query (typo-tolerant), with facets, highlights and
   * a total. When nothing matches, the engine itself tries the relaxed query (dropping the least
   * important words) and a spelling (didYouMean), and says so in the result.
   */
  search(request: SearchRequest, signal?: AbortSignal): Promise<EngineSearchResult>;
  /** Up to `limit` completions for what has been typed so far: products, brands and categories. */
  suggest(q: string, limit: number, signal?: AbortSignal): Promise<Suggestion[]>;
}

/** What reconcile compares: each product's indexed version (removed documents included, as tombstones). */
export interface IndexedVersions {
  /** Product id -> version held, for ids in [fromId, toId]. */
  versions(fromId: number, toId: number): Promise<Map<number, { version: number; removed: boolean }>>;
}
