// tsx bench/search-write-cost.ts: what the search read model costs the indexer's write
// (postgres-search-index.ts): 20,000 documents in batches of 500, inserted, then updated with a new
// price (no word changes: the vocabulary trigger writes nothing), then with a new name. Its own
// database, since it rewrites every document. docs/search.md, "Cost".
import pg from 'pg';
import { createPostgresSearchIndex } from '../src/search/postgres-search-index.ts';
import type { SearchDocumentChange } from '../src/catalog/search-document.ts';
import { loadSearchDocumentChanges } from '../src/store/search-documents.ts';
import { prepareBenchDatabase } from './bench-database.ts';

const BATCH = 500;
const url = await prepareBenchDatabase('catalog_bench_search_writes');
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  const writer = createPostgresSearchIndex({ pool });
  await pool.query('TRUNCATE search_documents, search_words, search_names');
  const ids = (await pool.query<{ id: string }>('SELECT id FROM products ORDER BY id')).rows.map((row) => Number(row.id));
  const changes: SearchDocumentChange[] = [];
  for (let start = 0; start < ids.length; start += 1000) changes.push(...(await loadSearchDocumentChanges(pool, ids.slice(start, start + 1000))));
  const run = async (label: string, list: SearchDocumentChange[]) => {
    const started = performance.now();
    for (let start = 0; start < list.length; start += BATCH) await writer.write(list.slice(start, start + BATCH));
    const ms = performance.now() - started;
    console.log(`${label}: ${list.length} documents in batches of ${BATCH}: ${ms.toFixed(0)} ms, ${((list.length / ms) * 1000).toFixed(0)} documents/s`);
  };
  const bumped = (by: number, change: (document: NonNullable<SearchDocumentChange['document']>) => object) =>
    changes.map((each) => ({ ...each, version: each.version + by, document: each.document && { ...each.document, ...change(each.document), version: each.version + by } }));
  await run('insert', changes);
  await run('update (price)', bumped(1, (document) => ({ priceMin: document.priceMin + 1 })));
  await run('update (name)', bumped(2, (document) => ({ name: `${document.name} renamed` })));
} finally {
  await pool.end();
}
