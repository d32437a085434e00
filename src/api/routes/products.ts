import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listingEntry, productPageEntry, relatedEntry } from '../../catalog/cache-tags.ts';
import { canonicalRef } from '../../catalog/entity-ref.ts';
import { checkListingQuery, ListingPage, ListingQuery, listProducts } from '../../catalog/listing.ts';
import { getProductPage, getRelatedProducts, ProductPage, RelatedProducts } from '../../catalog/product-page.ts';
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
        description: 'Listed (active, priced) products, filtered and sorted, one keyset page at a time.',
        tags: ['products'],
        querystring: ListingQuery,
        response: {
          200: ListingPage,
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
      // A malformed cursor or price range costs no cache lookup and no fill lock.
      checkListingQuery(query);
      const entry = listingEntry(query);
      const load = originOf(reply, () => listProducts(repository, query), entry.surrogateKeys);
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
      const entry = relatedEntry(ref, limit);
      const load = originOf(reply, async () => ({ items: await getRelatedProducts(repository, ref, limit) }), entry.surrogateKeys);
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );
};
