// What reconcile compares with PostgreSQL on the OpenSearch side: the version each product's document
// holds, tombstones included. Read by id order with search_after (no scroll context to clean up),
// only the version and the removed flag fetched.
import type { API, Client } from '@opensearch-project/opensearch';
import { callOpenSearch } from './opensearch-client.ts';
import type { IndexedVersions } from './search-port.ts';

export const VERSIONS_PAGE_SIZE = 1_000;

export function versionsPageBody(fromId: number, toId: number, after: number | undefined, size = VERSIONS_PAGE_SIZE): API.Search_RequestBody {
  return {
    size,
    // _version is the external version the document was written with: the authority, whatever _source says.
    version: true,
    _source: ['removed'],
    query: { range: { id: { gte: fromId, lte: toId } } },
    sort: [{ id: { order: 'asc' } }],
    ...(after === undefined ? {} : { search_after: [after] }),
  };
}

interface VersionHit {
  _id: string;
  _version?: number;
  _source?: { removed?: boolean };
  sort?: number[];
}

export function createOpenSearchIndexedVersions({ client, index, pageSize = VERSIONS_PAGE_SIZE }: { client: Client; index: string; pageSize?: number }): IndexedVersions {
  return {
    async versions(fromId: number, toId: number) {
      const held = new Map<number, { version: number; removed: boolean }>();
      for (let after: number | undefined; ; ) {
        const response = await callOpenSearch(client.search({ index, body: versionsPageBody(fromId, toId, after, pageSize) }));
        const hits = ((response.body as { hits?: { hits?: VersionHit[] } }).hits?.hits ?? []);
        for (const hit of hits) held.set(Number(hit._id), { version: Number(hit._version), removed: hit._source?.removed === true });
        if (hits.length < pageSize) return held;
        after = Number(hits.at(-1)!.sort?.[0] ?? hits.at(-1)!._id);
      }
    },
  };
}
