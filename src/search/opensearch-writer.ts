// The search port's OpenSearch engine, write side: one _bulk per batch, each product indexed with
// its version as an external version. OpenSearch keeps a document only when the version is greater
// than the one it holds, so a replayed, duplicated or reordered change never overwrites a newer one;
// a removed product is indexed as a tombstone (removed: true) that keeps its version for the same
// reason. Writes go to the alias, so they follow it when reindex swaps the index behind it.
import type { Client } from '@opensearch-project/opensearch';
import type { SearchDocumentChange } from '../catalog/search-document.ts';
import { CatalogError } from '../catalog/catalog-error.ts';
import { callOpenSearch, UNAVAILABLE_STATUSES } from './opensearch-client.ts';
import { indexedSource } from './opensearch-index.ts';
import type { SearchIndexWriteOptions, SearchIndexWriter, SearchIndexWriteResult } from './search-port.ts';

export interface OpenSearchWriterOptions {
  client: Client;
  /** The alias (or, while reindex builds one, a concrete index). */
  index: string;
  /** `wait_for` in tests that search right after writing; the refresh interval otherwise. */
  refresh?: 'wait_for' | false;
}

/** The NDJSON lines of one _bulk: an index action with the external version, then the source. */
export function bulkLines(index: string, changes: readonly SearchDocumentChange[], options?: SearchIndexWriteOptions): object[] {
  // external_gte also rewrites a document held at the same version (a repair), never a newer one.
  const versionType = options?.replaceSameVersion ? 'external_gte' : 'external';
  return changes.flatMap((change): object[] => [
    { index: { _index: index, _id: String(change.productId), version: change.version, version_type: versionType } },
    indexedSource(change),
  ]);
}

interface BulkItemResult {
  status: number;
  _id?: string;
  error?: { type?: string; reason?: string };
}

/**
 * Counts a _bulk answer: a success is applied, a version conflict (409) is stale (the index holds
 * this version or a newer one). Any other failed item rejects the whole write, as the port asks: the
 * caller retries the batch, and the version guard makes the items that did land harmless to replay.
 */
export function countBulkResponse(body: { errors?: boolean; items?: Record<string, BulkItemResult>[] }, expected: number): SearchIndexWriteResult {
  const items = (body.items ?? []).map((item) => Object.values(item)[0]);
  if (items.length !== expected) throw new Error(`OpenSearch _bulk answered ${items.length} items for ${expected} actions`);
  let applied = 0;
  let stale = 0;
  const failures: BulkItemResult[] = [];
  for (const item of items) {
    if (item === undefined) continue;
    if (item.status >= 200 && item.status < 300) applied++;
    else if (item.status === 409) stale++;
    else failures.push(item);
  }
  if (failures.length > 0) {
    const first = failures[0]!;
    const message = `${failures.length} of ${expected} search documents were refused; product ${first._id ?? '?'}: ${first.status} ${first.error?.type ?? ''} ${first.error?.reason ?? ''}`.trim();
    // Rejected for load (429) or an unavailable shard: the cluster's trouble, waited out by the indexer.
    if (failures.every((failure) => UNAVAILABLE_STATUSES.has(failure.status))) throw new CatalogError('service-unavailable', `OpenSearch is unavailable: ${message}`);
    throw new Error(message);
  }
  return { applied, stale };
}

export function createOpenSearchIndexWriter({ client, index, refresh = false }: OpenSearchWriterOptions): SearchIndexWriter {
  return {
    async write(changes: readonly SearchDocumentChange[], options?: SearchIndexWriteOptions): Promise<SearchIndexWriteResult> {
      if (changes.length === 0) return { applied: 0, stale: 0 };
      const response = await callOpenSearch(client.bulk({ body: bulkLines(index, changes, options), refresh }));
      return countBulkResponse(response.body as Parameters<typeof countBulkResponse>[0], changes.length);
    },
  };
}
