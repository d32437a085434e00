// The search port's OpenSearch engine, read side. One _search answers a page with its facets,
// highlights, total and spelling suggestion. When nothing matches every word, the engine relaxes the
// query: it counts, in one _msearch, what each query with one word left out would find, and searches
// again with the best of them; when no single word's absence helps and the query is short, it tries
// every pair the same way. The word whose absence finds the most products is the least important one
// (it is the word the catalogue does not hold together with the others); ties drop the earlier word,
// since a shopper's query tends to end with what they are looking for ("red cotton kurta").
import type { Client } from '@opensearch-project/opensearch';
import type { EngineSearchResult, SearchRequest, Suggestion } from '../catalog/search.ts';
import { callOpenSearch } from './opensearch-client.ts';
import { countBody, searchBody, type SearchBodySettings } from './opensearch-query.ts';
import { parseSearchResponse, type SearchResponseBody } from './opensearch-results.ts';
import { parseSuggestResponse, suggestBody } from './opensearch-suggest.ts';
import type { SearchEngine } from './search-port.ts';

export interface OpenSearchEngineOptions {
  client: Client;
  /** The alias shoppers search through. */
  index: string;
  /** Totals are exact up to this many products, a lower bound (estimate) past it. */
  trackTotalHitsUpTo?: number;
}

export const DEFAULT_TRACK_TOTAL_HITS_UP_TO = 10_000;
/** Longer queries are not relaxed: n counts per try, and a shopper typing this much wants those words. */
export const MAX_WORDS_TO_RELAX = 10;
/** Pairs of words are tried only for queries this short: n(n-1)/2 counts in one _msearch. */
export const MAX_WORDS_FOR_PAIRS = 8;

export function createOpenSearchEngine({ client, index, trackTotalHitsUpTo = DEFAULT_TRACK_TOTAL_HITS_UP_TO }: OpenSearchEngineOptions): SearchEngine {
  const settings: SearchBodySettings = { trackTotalHitsUpTo };

  async function searchOnce(request: SearchRequest, signal?: AbortSignal): Promise<EngineSearchResult> {
    const response = await callOpenSearch(client.search({ index, body: searchBody(request, settings) }), signal);
    return parseSearchResponse(response.body as SearchResponseBody, request);
  }

  async function counts(queries: string[], request: SearchRequest, signal?: AbortSignal): Promise<number[]> {
    const body = queries.flatMap((q) => [{ index }, countBody(q, request.filters, settings)]);
    const response = await callOpenSearch(client.msearch({ body }), signal);
    const answers = (response.body as { responses?: (SearchResponseBody & { error?: unknown })[] }).responses ?? [];
    return queries.map((_, position) => {
      const answer = answers[position];
      if (answer === undefined || answer.error !== undefined) throw new Error(`OpenSearch _msearch failed for a relaxed query: ${JSON.stringify(answer?.error ?? 'no answer')}`);
      const total = answer.hits?.total;
      return typeof total === 'number' ? total : (total?.value ?? 0);
    });
  }

  /** The relaxed query (its words, and the words dropped), or null when no shorter query finds anything. */
  async function relax(words: string[], request: SearchRequest, signal?: AbortSignal): Promise<{ kept: string[]; dropped: string[] } | null> {
    for (const candidates of [leaveOneOut(words), words.length > 2 && words.length <= MAX_WORDS_FOR_PAIRS ? leaveTwoOut(words) : []]) {
      if (candidates.length === 0) continue;
      const found = await counts(
        candidates.map((candidate) => candidate.kept.join(' ')),
        request,
        signal,
      );
      const best = bestCandidate(candidates, found);
      if (best !== undefined) return best;
    }
    return null;
  }

  return {
    name: 'opensearch',

    async search(request: SearchRequest, signal?: AbortSignal): Promise<EngineSearchResult> {
      const result = await searchOnce(request, signal);
      const words = request.q.split(' ');
      if (result.total.value > 0 || words.length < 2 || words.length > MAX_WORDS_TO_RELAX) return result;
      const relaxed = await relax(words, request, signal);
      if (relaxed === null) return result;
      const query = relaxed.kept.join(' ');
      const retried = await searchOnce({ ...request, q: query }, signal);
      return { ...retried, didYouMean: result.didYouMean, relaxed: { query, dropped: relaxed.dropped } };
    },

    async suggest(q: string, limit: number, signal?: AbortSignal): Promise<Suggestion[]> {
      const response = await callOpenSearch(client.search({ index, body: suggestBody(q, limit) }), signal);
      return parseSuggestResponse(response.body as Parameters<typeof parseSuggestResponse>[0], q, limit);
    },
  };
}

export interface RelaxCandidate {
  kept: string[];
  dropped: string[];
}

/** Each query with one word left out, in the order of the word left out. */
export function leaveOneOut(words: string[]): RelaxCandidate[] {
  return words.map((word, position) => ({ kept: words.filter((_, other) => other !== position), dropped: [word] }));
}

/** Each query with two words left out, ordered by the first word left out, then the second. */
export function leaveTwoOut(words: string[]): RelaxCandidate[] {
  const candidates: RelaxCandidate[] = [];
  for (let first = 0; first < words.length; first++) {
    for (let second = first + 1; second < words.length; second++) {
      candidates.push({ kept: words.filter((_, other) => other !== first && other !== second), dropped: [words[first]!, words[second]!] });
    }
  }
  return candidates;
}

/** The candidate finding the most products (the earliest on a tie), or undefined when none finds any. */
export function bestCandidate(candidates: RelaxCandidate[], found: number[]): RelaxCandidate | undefined {
  let best: number | undefined;
  found.forEach((count, position) => {
    if (count > 0 && (best === undefined || count > found[best]!)) best = position;
  });
  return best === undefined ? undefined : candidates[best];
}
