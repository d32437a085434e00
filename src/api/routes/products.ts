import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { CatalogCache } from '../../cache/catalog-cache.ts';
import { listingEntry, productPageEntry, relatedEntry, relatedScopeEntry } from '../../catalog/cache-tags.ts';
import { CatalogError } from '../../catalog/catalog-error.ts';
import { canonicalRef } from '../../catalog/entity-ref.ts';
import { checkListingQuery, listProducts } from '../../catalog/listing.ts';
import { ListedPage, ListedQuery, listingFacetNames, listingFacets } from '../../catalog/listing-facets.ts';
import { attributeFiltersOf, facetNamesOf, MAX_ATTRIBUTE_FILTERS } from '../../catalog/search.ts';
import {
  getProductPage,
  getRelatedProducts,
  getRelatedScope,
  ProductPage,
  RelatedProducts,
  sameRelatedScope,
  type ProductPageSource,
  type RelatedScope,
} from '../../catalog/product-page.ts';
import type { ProductRepository } from '../../store/product-repository.ts';
import { originOf, replyFromCache, type CachedReads } from '../cached-reply.ts';
import { notModified, problemResponse, serverProblems } from '../schemas/problem.ts';
import { ProductParams, RelatedQuery } from '../schemas/product.ts';

const badRequest = problemResponse('A parameter is invalid (the problem names it)');
const notFound = problemResponse('The product does not exist or is not active');

export interface ReadRouteOptions {
  repository: ProductRepository;
  reads: CachedReads;
}

export const productRoutes: FastifyPluginAsyncTypebox<ReadRouteOptions> = async (app, { repository, reads }) => {
  app.get(
    '/products',
    {
      schema: {
        summary: 'Browse products',
        description: [
          'Listed (active, priced) products, filtered and sorted, one keyset page at a time, with an estimated total (exact on a single page).',
          `Attribute filters: \`attr.<name>=<value>\`, e.g. \`attr.Color=Navy&attr.Color=Blue&attr.Ideal%20For=Women\`: values of one attribute are OR-ed, attributes AND-ed, values matched exactly; at most ${MAX_ATTRIBUTE_FILTERS} attributes.`,
          '`facets=brand,price,attributes` adds counts for narrowing the listing (none by default); each facet applies every filter but its own.',
        ].join(' '),
        tags: ['products'],
        querystring: ListedQuery,
        response: {
          200: ListedPage,
          304: notModified,
          400: badRequest,
          404: problemResponse('The category or brand filtered on does not exist'),
          ...serverProblems,
        },
      },
    },
    async (request, reply) => {
      const query = {
        ...request.query,
        category: request.query.category === undefined ? undefined : canonicalRef(request.query.category),
        brand: request.query.brand === undefined ? undefined : canonicalRef(request.query.brand),
      };
      // A malformed cursor, price range, facet or attribute filter costs no cache lookup and no fill lock.
      checkListingQuery(query);
      const facetNames = listingFacetNames(facetNamesOf(query.facets, []));
      const attributes = attributeFiltersOf(request.query);
      const entry = listingEntry(query, attributes, facetNames);
      const load = originOf(reply, () => listProducts(repository, { ...query, attributes }, listingFacets(repository, facetNames)), entry.surrogateKeys);
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );

  app.get(
    '/products/:idOrSlug',
    {
      schema: {
        summary: 'A product page',
        description: 'The full product with its variants, images, attributes and category path.',
        tags: ['products'],
        params: ProductParams,
        response: { 200: ProductPage, 304: notModified, 400: badRequest, 404: notFound, ...serverProblems },
      },
    },
    async (request, reply) => {
      const ref = canonicalRef(request.params.idOrSlug);
      const entry = productPageEntry(ref);
      const load = originOf(reply, () => getProductPage(repository, ref), entry.surrogateKeys);
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );

  app.get(
    '/products/:idOrSlug/related',
    {
      schema: {
        summary: 'Products like this one',
        description: 'Same category and brand first, then same category, then same brand, each nearest in price.',
        tags: ['products'],
        params: ProductParams,
        querystring: RelatedQuery,
        response: { 200: RelatedProducts, 304: notModified, 400: badRequest, 404: notFound, ...serverProblems },
      },
    },
    async (request, reply) => {
      const ref = canonicalRef(request.params.idOrSlug);
      const { limit } = request.query;
      // The list's tags name its scope, so they are known before it is loaded (cache-tags.ts).
      const scope = await relatedScopeOf(reads.cache, repository, ref);
      const entry = relatedEntry(ref, limit, scope);
      // A list drawn from another scope (the product moved since its scope was read) is answered but
      // not kept: its tags would miss the changes that alter it.
      const load = originOf(reply, () => getRelatedProducts(repository, ref, limit), entry.surrogateKeys, (list) => sameRelatedScope(list.scope, scope));
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );
};

/**
 * Where ref's related list draws from, cached as a small entry of its own tagged with the product, so
 * a change to the product (a move included) drops it with the product's pages, and a related list
 * answered from the cache costs no PostgreSQL round trip to name its tags. A cached 404 answers an
 * unknown product for the miss lifetime, as the list itself did.
 */
async function relatedScopeOf(cache: CatalogCache, source: ProductPageSource, ref: string): Promise<RelatedScope> {
  const entry = relatedScopeEntry(ref);
  const read = await cache.read(entry.key, entry.tags, async () => {
    try {
      return { status: 200, body: Buffer.from(JSON.stringify(await getRelatedScope(source, ref))) };
    } catch (error) {
      if (error instanceof CatalogError && error.status === 404) return { status: 404, body: Buffer.from('{}') };
      throw error;
    }
  });
  if (read.response.status === 404) throw new CatalogError('product-not-found', `no product ${ref}`);
  return JSON.parse(read.response.body.toString()) as RelatedScope;
}
