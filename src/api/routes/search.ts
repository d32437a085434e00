import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onSendHookHandler } from 'fastify';
import { searchEntry, suggestEntry } from '../../catalog/cache-tags.ts';
import { CatalogError } from '../../catalog/catalog-error.ts';
import { canonicalRef } from '../../catalog/entity-ref.ts';
import type { ListingSource } from '../../catalog/listing.ts';
import {
  attributeFiltersKey,
  attributeFiltersOf,
  decodeSearchCursor,
  encodeSearchCursor,
  facetNamesOf,
  FACETS,
  normaliseQuery,
  SearchQuery,
  SearchResult,
  SuggestQuery,
  SuggestResult,
} from '../../catalog/search.ts';
import type { ProductSearch } from '../../search/product-search.ts';
import { originOf, replyFromCache, type CachedReads } from '../cached-reply.ts';
import { notModified, problemResponse, serverProblems } from '../schemas/problem.ts';

export interface SearchRouteOptions {
  /** Resolves the category and brand filtered on, as listings do. */
  listings: Pick<ListingSource, 'resolveFilters'>;
  search: ProductSearch;
  reads: CachedReads;
}

/** Set on an answer the fallback engine gave; the body says so too ("degraded": true). */
export const DEGRADED_HEADER = 'search-degraded';
// SearchResult and SuggestResult serialize `degraded` first, so its value is in the first bytes.
const DEGRADED_START = Buffer.from('{"degraded":true');

const badRequest = problemResponse('A parameter is invalid (the problem names it)');

// Search URLs are many and short-lived (every keystroke is one): they stay off the hot path's table
// of URLs, which would otherwise evict the listings and product pages it exists for. The route still
// answers from the cache (near cache, Redis, one load for the fleet).
const offHotPath = { config: { hotPath: false } };

export const searchRoutes: FastifyPluginAsyncTypebox<SearchRouteOptions> = async (app, { listings, search, reads }) => {
  app.get(
    '/products/search',
    {
      ...offHotPath,
      onSend: markDegraded,
      schema: {
        summary: 'Search products',
        description:
          'Relevance-ranked, typo-tolerant full-text search over name, brand, category and description, with the listing filters, ' +
          'attribute filters (attr.<name>=<value>, repeatable), facet counts, highlights, a spelling suggestion and a relaxed retry ' +
          'when nothing matches. Answered by OpenSearch when configured, else (and whenever OpenSearch fails) by PostgreSQL, flagged degraded.',
        tags: ['products'],
        querystring: SearchQuery,
        response: {
          200: SearchResult,
          304: notModified,
          400: badRequest,
          404: problemResponse('The category or brand filtered on does not exist'),
          ...serverProblems,
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const q = normaliseQuery(query.q);
      if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
        throw new CatalogError('invalid-parameter', 'minPrice must not be greater than maxPrice');
      }
      const facets = facetNamesOf(query.facets, FACETS);
      const attributes = attributeFiltersOf(query);
      const cursor = query.cursor === undefined ? undefined : decodeSearchCursor(query.cursor, query.sort);
      const category = query.category === undefined ? undefined : canonicalRef(query.category);
      const brand = query.brand === undefined ? undefined : canonicalRef(query.brand);
      const entry = searchEntry({ ...query, q, category, brand, attributes: attributeFiltersKey(attributes), facets });
      const load = originOf(
        reply,
        async (): Promise<SearchResult> => {
          const resolved = await listings.resolveFilters({ category, brand, minPrice: query.minPrice, maxPrice: query.maxPrice, inStock: query.inStock });
          const answered = await search.search({ q, filters: { ...resolved, attributes }, sort: query.sort, limit: query.limit, cursor, facets });
          const { next, ...result } = answered.value;
          return {
            degraded: answered.degraded,
            engine: answered.engine,
            query: q,
            ...result,
            nextCursor: next ? encodeSearchCursor(query.sort, { engine: answered.engine, ...next }) : null,
          };
        },
        entry.surrogateKeys,
      );
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );

  app.get(
    '/products/suggest',
    {
      ...offHotPath,
      onSend: markDegraded,
      schema: {
        summary: 'Completions for a search box',
        description: 'Up to limit products, brands and categories whose names start with what has been typed (each word a prefix, typos tolerated).',
        tags: ['products'],
        querystring: SuggestQuery,
        response: { 200: SuggestResult, 304: notModified, 400: badRequest, ...serverProblems },
      },
    },
    async (request, reply) => {
      const q = normaliseQuery(request.query.q);
      const { limit } = request.query;
      const entry = suggestEntry(q, limit);
      const load = originOf(
        reply,
        async (): Promise<SuggestResult> => {
          const answered = await search.suggest(q, limit);
          return { degraded: answered.degraded, engine: answered.engine, query: q, suggestions: answered.value };
        },
        entry.surrogateKeys,
      );
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );
};

/** The degraded header, from the answer's own bytes: a cached degraded answer carries it as the first one did. */
const markDegraded: onSendHookHandler = (_request, reply, payload, done) => {
  if (Buffer.isBuffer(payload) && payload.subarray(0, DEGRADED_START.length).equals(DEGRADED_START)) reply.header(DEGRADED_HEADER, 'true');
  done(null, payload);
};
