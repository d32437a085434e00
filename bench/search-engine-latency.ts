// tsx bench/search-engine-latency.ts [search|suggest]: the PostgreSQL engine's own latency, sequential on
// one connection (no HTTP, no cache), over a mixed query set: brand + type queries, name fragments,
// typo'd queries (bench/relevance-judgements.ts) and broad words; suggest over their prefixes.
// docs/search.md, "Cost". The HTTP figures at 20 connections are bench:search's.
import pg from 'pg';
import { createPostgresSearchEngine } from '../src/search/postgres-search-engine.ts';
import { readSynonymsFile } from '../src/search/solr-synonyms.ts';
import { listedSearchDocuments, prepareBenchDatabase } from './bench-database.ts';
import { brandTypeQueries, nameFragmentQueries, seededRandom, typoQuery } from './relevance-judgements.ts';

const BROAD = ['shirt', 'women', 'men', 'black', 'cotton', 'watch', 'ring', 'mobile cover', 'printed', 'set', 'for', 'samsung', 'shoes', 'kurta', 'gold'];

const percentile = (values: readonly number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!.toFixed(1);

const url = await prepareBenchDatabase('catalog_bench_relevance');
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  const documents = await listedSearchDocuments(pool);
  const random = seededRandom(7);
  const correct = [...brandTypeQueries(documents, 40, random), ...nameFragmentQueries(documents, 40, random)];
  const typos = correct.flatMap((query, index) => typoQuery(query, index % 2 === 0 ? 1 : 2, random) ?? []).slice(0, 40);
  const queries = [...correct.map((query) => query.q), ...typos.map((query) => query.q), ...BROAD];
  const engine = createPostgresSearchEngine({ pool, synonyms: await readSynonymsFile() });
  const only = process.argv[2];
  if (only !== 'suggest') {
    for (const facets of [['category', 'brand', 'price', 'attributes'], []] as const) {
      const times: number[] = [];
      for (const q of [...queries, ...queries]) {
        const started = performance.now();
        await engine.search({ q, filters: { attributes: [] }, sort: 'relevance', limit: 24, cursor: undefined, facets: [...facets] });
        times.push(performance.now() - started);
      }
      console.log(`search (${facets.length === 0 ? 'no' : 'all'} facets, 24 items): ${times.length} queries, p50 ${percentile(times, 0.5)} ms, p95 ${percentile(times, 0.95)} ms, p99 ${percentile(times, 0.99)} ms`);
    }
  }
  if (only !== 'search') {
    const prefixes = queries.flatMap((q) => [1, 2, 3, 5, 8].map((length) => q.slice(0, length)).filter((prefix) => prefix.trim() !== ''));
    const times: number[] = [];
    for (const prefix of prefixes) {
      const started = performance.now();
      await engine.suggest(prefix, 8);
      times.push(performance.now() - started);
    }
    console.log(`suggest (8): ${times.length} prefixes, p50 ${percentile(times, 0.5)} ms, p95 ${percentile(times, 0.95)} ms, p99 ${percentile(times, 0.99)} ms`);
  }
} finally {
  await pool.end();
}
