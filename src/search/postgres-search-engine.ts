// The search port's PostgreSQL engine, read side (docs/search.md): full-text search over the
// search_documents read model (migrations/0003_search.sql), the embedded default and the fallback.
// A search is two statements: the query's words against the vocabulary (postgres-query-plan.ts),
// then one statement for the page, the total and the facets (postgres-search-statement.ts).
import type { EngineSearchResult, SearchRequest, Suggestion } from '../catalog/search.ts';
import type { Queryable } from '../store/postgres-guard.ts';
import { analyseQuery, droppingOrder, planQuery, type QueryPlan } from './postgres-query-plan.ts';
import { emptySearchResult, searchResultOf, searchStatement, type SearchRow } from './postgres-search-statement.ts';
import { suggestStatement, suggestionsOf, type SuggestionRow } from './postgres-suggest.ts';
import type { WordGroup } from './search-text.ts';
import type { IndexedVersions, SearchEngine } from './search-port.ts';
import type { Synonyms } from './solr-synonyms.ts';
import { queryWords } from './search-text.ts';

/** Relaxed retries when nothing matches every word, at most (each one more word dropped). */
export const MAX_RELAXED_ATTEMPTS = 3;

export interface PostgresSearchEngine extends SearchEngine, IndexedVersions {}

export function createPostgresSearchEngine({ pool, synonyms = new Map() }: { pool: Queryable; synonyms?: Synonyms }): PostgresSearchEngine {
  // A caller that gave up (the route's timeout, the breaker) stops the work between statements; a
  // statement already running finishes under the pool's statement_timeout.
  async function page(request: SearchRequest, groups: readonly WordGroup[], signal: AbortSignal | undefined): Promise<EngineSearchResult> {
    signal?.throwIfAborted();
    const statement = searchStatement(request, groups);
    const { rows } = await pool.query<SearchRow>(statement.text, statement.values);
    return searchResultOf(rows[0]!, request);
  }

  /** Nothing matched every word: the same page for fewer words, dropping the least important first. */
  async function relaxedPage(request: SearchRequest, plan: QueryPlan, signal: AbortSignal | undefined): Promise<EngineSearchResult | undefined> {
    const order = droppingOrder(plan.analyses);
    for (let count = 1; count <= Math.min(MAX_RELAXED_ATTEMPTS, plan.groups.length - 1); count += 1) {
      const dropped = new Set(order.slice(0, count));
      const kept = plan.groups.filter((_, index) => !dropped.has(index));
      const result = await page(request, kept, signal);
      if (result.total.value > 0) {
        const droppedWords = plan.groups.filter((_, index) => dropped.has(index)).map((group) => group.word);
        return { ...result, relaxed: { query: kept.map((group) => group.word).join(' '), dropped: droppedWords } };
      }
    }
    return undefined;
  }

  return {
    name: 'postgres',

    async search(request, signal) {
      signal?.throwIfAborted();
      const plan = planQuery(await analyseQuery(pool, request.q), synonyms);
      if (plan.groups.length === 0) return emptySearchResult(request);
      const result = await page(request, plan.groups, signal);
      // The total counts every match, not the page: a later page of a relaxed search relaxes alike.
      const relaxed = result.total.value === 0 ? await relaxedPage(request, plan, signal) : undefined;
      return { ...(relaxed ?? result), didYouMean: plan.didYouMean };
    },

    async suggest(q, limit, signal): Promise<Suggestion[]> {
      signal?.throwIfAborted();
      const words = queryWords(q);
      if (words.length === 0) return [];
      const statement = suggestStatement(words, limit);
      const { rows } = await pool.query<SuggestionRow>(statement.text, statement.values);
      return suggestionsOf(rows, words, limit);
    },

    async versions(fromId, toId) {
      const { rows } = await pool.query<{ product_id: string; version: string; removed: boolean }>(
        'SELECT product_id, version, removed FROM search_documents WHERE product_id BETWEEN $1 AND $2',
        [fromId, toId],
      );
      return new Map(rows.map((row) => [Number(row.product_id), { version: Number(row.version), removed: row.removed }]));
    },
  };
}
