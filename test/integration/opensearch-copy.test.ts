// An OpenSearch outage does not stop the change pipeline: the read model and the caches follow each
// change at once, the products OpenSearch missed wait in search_index_pending, and are re-driven from
// their current rows once it answers (real PostgreSQL, a stand-in OpenSearch node, the real client).
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createInProcessIndexer } from '../../src/roles/embedded-change-feed.ts';
import { openIndexerSearchIndex } from '../../src/roles/search-indexes.ts';
import { changeMessages, setPrice } from '../support/change-events.ts';
import { cloneCatalogDatabase, dropDatabase, silentLog } from '../support/database.ts';
import { startFakeOpenSearch, type FakeOpenSearch } from '../support/fake-opensearch.ts';
import { bulkResponse } from '../support/opensearch-fixtures.ts';

let database: { name: string; url: string };
let pool: pg.Pool;
let node: FakeOpenSearch;
beforeAll(async () => {
  database = await cloneCatalogDatabase('opensearch_copy');
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  node = await startFakeOpenSearch();
});
afterAll(async () => {
  await node?.close();
  await pool?.end();
  if (database) await dropDatabase(database.name);
});

const bulkIds = (body: unknown) => (body as { index?: { _id: string } }[]).flatMap((line) => (line.index ? [Number(line.index._id)] : []));

describe('when OpenSearch fails while changes flow', () => {
  it('then the read model and the caches follow at once, and OpenSearch catches up from search_index_pending once it answers', async () => {
    const up = { now: false };
    node.answer((request) => {
      if (request.path.endsWith('/_bulk')) {
        if (!up.now) return { status: 503, body: { error: { type: 'cluster_block_exception', reason: 'unavailable' }, status: 503 } };
        return { status: 200, body: bulkResponse(bulkIds(request.body).map((id) => ({ id: String(id), status: 201 }))) };
      }
      // Index creation at start-up: the alias exists.
      return { status: 200, body: {} };
    });
    const config = loadConfig({ OPENSEARCH_URL: node.url, OPENSEARCH_TIMEOUT_MS: '500', SEARCH_PENDING_RETRY_MS: '100' });
    const invalidated: string[][] = [];
    const invalidator = { invalidate: async (tags: readonly string[]) => void invalidated.push([...tags]) };
    const search = await openIndexerSearchIndex(config, pool, { log: silentLog, metrics: new Registry(), invalidator });
    try {
      const indexer = createInProcessIndexer({ pool, searchIndex: search.searchIndex, invalidator, log: silentLog, metrics: new Registry(), settings: config.changeFeed.indexer });
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'active' AND price_min IS NOT NULL ORDER BY id LIMIT 2`);
      const ids = rows.map((row) => Number(row.id));
      const events = [];
      for (const id of ids) events.push(await setPrice(pool, id, 123_400));
      await indexer.processBatch(changeMessages(events));

      // The read model holds the new price, the caches were told, OpenSearch was asked and failed.
      const model = await pool.query<{ price: string }>(`SELECT document->>'priceMin' AS price FROM search_documents WHERE product_id = ANY($1)`, [ids]);
      expect(model.rows.map((row) => Number(row.price))).toEqual([123_400, 123_400]);
      expect(invalidated.flat()).toContain(`product:${ids[0]}`);
      const pending = async () => (await pool.query<{ id: string }>('SELECT product_id AS id FROM search_index_pending ORDER BY 1')).rows.map((row) => Number(row.id));
      expect(await pending()).toEqual(ids);

      up.now = true;
      for (const until = Date.now() + 5000; (await pending()).length > 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await pending()).toEqual([]);
      const written = node.requests.filter((request) => request.path.endsWith('/_bulk')).at(-1);
      expect(bulkIds(written?.body)).toEqual(ids);
      expect((written?.body as { priceMin?: number }[])[1]?.priceMin).toBe(123_400);
      expect(invalidated.at(-1)).toEqual(['search']);
    } finally {
      await search.close();
    }
  });
});
