// npm run bench:relevance: NDCG@10, recall@10 and the zero-result rate of each search engine over a
// query set judged from the catalogue's own data (bench/relevance-judgements.ts; the method and its
// weaknesses: docs/search.md, "Relevance"), beside a BM25 baseline computed in the same run over the
// same documents, and how much of a correct spelling's top 10 its typo'd queries keep.
import MiniSearch from 'minisearch';
import pg from 'pg';
import type { SearchDocument } from '../src/catalog/search-document.ts';
import { normaliseQuery } from '../src/catalog/search.ts';
import { createPostgresSearchEngine } from '../src/search/postgres-search-engine.ts';
import type { SearchEngine } from '../src/search/search-port.ts';
import { foldText } from '../src/search/search-text.ts';
import { listedSearchDocuments, prepareBenchDatabase } from './bench-database.ts';
import {
  brandTypeQueries,
  nameFragmentQueries,
  ndcgAt,
  overlapAt,
  recallAt,
  seededRandom,
  typoQuery,
  type JudgedQuery,
  type QueryKind,
} from './relevance-judgements.ts';
import { readSynonymsFile } from '../src/search/solr-synonyms.ts';

const K = 10;
const QUERIES_PER_KIND = Number(process.env.RELEVANCE_QUERIES ?? 150);
const SEED = 20_240_601;

/** What the bench asks an engine: the ids of its top K for a query. */
export interface RankedSearch {
  name: string;
  top(q: string): Promise<number[]>;
}

function engineRanking(engine: SearchEngine, name = engine.name): RankedSearch {
  return {
    name,
    async top(q) {
      const result = await engine.search({ q: normaliseQuery(q), filters: { attributes: [] }, sort: 'relevance', limit: K, cursor: undefined, facets: [] });
      return result.items.map((item) => item.id);
    },
  };
}

// The same relative field weights as the PostgreSQL engine's ts_rank_cd weights (name 1.0, brand 0.4,
// categories 0.2, description 0.1).
const FIELD_BOOSTS = { name: 10, brand: 4, categories: 2, description: 1 };

/**
 * Plain BM25 (MiniSearch with k1 1.2, b 0.75 and BM25+'s delta at 0), the field boosts above, terms
 * lower-cased and accent-folded, no stemming, OR of the words as OpenSearch's match query does by
 * default; `fuzzy`: each word also matches terms within OpenSearch's AUTO edit distance (1 edit for
 * 3-5 letters, 2 above), at MiniSearch's default weight for fuzzy matches.
 */
function bm25Baseline(documents: readonly SearchDocument[], fuzzy: boolean): RankedSearch {
  const index = new MiniSearch<{ id: number; name: string; brand: string; categories: string; description: string }>({
    fields: ['name', 'brand', 'categories', 'description'],
    processTerm: (term) => foldText(term),
    searchOptions: {
      boost: FIELD_BOOSTS,
      bm25: { k: 1.2, b: 0.75, d: 0 },
      combineWith: 'OR',
      fuzzy: fuzzy ? (term) => (term.length < 3 ? false : term.length <= 5 ? 1 : 2) : false,
      prefix: false,
    },
  });
  index.addAll(
    documents.map((document) => ({
      id: document.id,
      name: document.name,
      brand: document.brand?.name ?? '',
      categories: document.categories.map((category) => category.name).join(' '),
      description: document.description ?? '',
    })),
  );
  return {
    name: fuzzy ? 'BM25 fuzzy (baseline)' : 'BM25 (baseline)',
    top: async (q) => index.search(q).slice(0, K).map((hit) => Number(hit.id)),
  };
}

interface Scores {
  ndcg: number;
  recall: number;
  zero: number;
  queries: number;
}

async function evaluate(engine: RankedSearch, queries: readonly JudgedQuery[]): Promise<{ byKind: Map<QueryKind | 'all', Scores>; overlap: number; rankings: Map<string, number[]> }> {
  const rankings = new Map<string, number[]>();
  const sums = new Map<QueryKind | 'all', Scores>();
  for (const query of queries) {
    const ranked = await engine.top(query.q);
    rankings.set(query.q, ranked);
    for (const kind of [query.kind, 'all'] as const) {
      const sum = sums.get(kind) ?? { ndcg: 0, recall: 0, zero: 0, queries: 0 };
      sum.ndcg += ndcgAt(K, ranked, query.relevant);
      sum.recall += recallAt(K, ranked, query.relevant);
      sum.zero += ranked.length === 0 ? 1 : 0;
      sum.queries += 1;
      sums.set(kind, sum);
    }
  }
  const byKind = new Map([...sums].map(([kind, sum]) => [kind, { ndcg: sum.ndcg / sum.queries, recall: sum.recall / sum.queries, zero: sum.zero / sum.queries, queries: sum.queries }]));
  const typos = queries.filter((query) => query.correct !== undefined);
  const overlap = typos.reduce((total, query) => total + overlapAt(K, rankings.get(query.q) ?? [], rankings.get(query.correct!) ?? []), 0) / Math.max(1, typos.length);
  return { byKind, overlap, rankings };
}

function judgedQueries(documents: readonly SearchDocument[]): JudgedQuery[] {
  const random = seededRandom(SEED);
  const correct = [...brandTypeQueries(documents, QUERIES_PER_KIND, random), ...nameFragmentQueries(documents, QUERIES_PER_KIND, random)];
  const typos = correct.flatMap((query, index) => typoQuery(query, index % 2 === 0 ? 1 : 2, random) ?? []);
  return [...correct, ...typos];
}

async function main(): Promise<void> {
  const url = await prepareBenchDatabase('catalog_bench_relevance');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const documents = await listedSearchDocuments(pool);
    const queries = judgedQueries(documents);
    const engines: RankedSearch[] = [engineRanking(createPostgresSearchEngine({ pool, synonyms: await readSynonymsFile() }))];
    // The OpenSearch engine joins here when OPENSEARCH_URL is set (same queries, same judgements):
    // engines.push(engineRanking(createOpenSearchEngine({ url: process.env.OPENSEARCH_URL, ... })));
    if (process.env.OPENSEARCH_URL) console.log('OPENSEARCH_URL is set, but this bench has no OpenSearch engine connected yet (bench/relevance.ts, engines)');
    engines.push(bm25Baseline(documents, false), bm25Baseline(documents, true));

    const counts = new Map<string, number>();
    for (const query of queries) counts.set(query.kind, (counts.get(query.kind) ?? 0) + 1);
    console.log(`${documents.length} documents; ${queries.length} judged queries (${[...counts].map(([kind, count]) => `${count} ${kind}`).join(', ')}); top ${K}`);
    console.log('');
    console.log(`${'engine'.padEnd(24)} ${'kind'.padEnd(14)} ${'NDCG@10'.padStart(8)} ${'recall@10'.padStart(10)} ${'zero-result'.padStart(12)} ${'typo overlap'.padStart(13)}`);
    for (const engine of engines) {
      const { byKind, overlap } = await evaluate(engine, queries);
      for (const [kind, scores] of [...byKind].sort(([a], [b]) => (a === 'all' ? 1 : b === 'all' ? -1 : a < b ? -1 : 1))) {
        const overlapText = kind === 'all' ? `${(overlap * 100).toFixed(1)} %` : '';
        console.log(
          `${engine.name.padEnd(24)} ${kind.padEnd(14)} ${scores.ndcg.toFixed(3).padStart(8)} ${scores.recall.toFixed(3).padStart(10)} ${`${(scores.zero * 100).toFixed(1)} %`.padStart(12)} ${overlapText.padStart(13)}`,
        );
      }
    }
    console.log('');
    console.log('Targets (PostgreSQL engine, all queries): NDCG@10 >= 0.90 and >= the fuzzy BM25 baseline; typo overlap >= 85 %; zero-result rate < 1 %.');
  } finally {
    await pool.end();
  }
}

await main();
