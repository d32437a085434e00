import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listProducts } from '../../catalog/listing.ts';
import { getProductPage, getRelatedProducts } from '../../catalog/product-page.ts';
import type { ProductRepository } from '../../store/product-repository.ts';
import { problemResponse, serverProblems } from '../schemas/problem.ts';
import { ListingPage, ListingQuery, ProductPage, ProductParams, RelatedProducts, RelatedQuery } from '../schemas/product.ts';

const badRequest = problemResponse('A parameter is invalid (the problem names it)');
const notFound = problemResponse('The product does not exist or is not active');

export const productRoutes: FastifyPluginAsyncTypebox<{ repository: ProductRepository }> = async (app, { repository }) => {
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
          400: badRequest,
          404: problemResponse('The category or brand filtered on does not exist'),
          ...serverProblems,
        },
      },
    },
    async (request) => listProducts(repository, request.query),
  );

  app.get(
    '/products/:idOrSlug',
    {
      schema: {
        summary: 'A product page',
        description: 'The full product with its variants, images, attributes and category path.',
        tags: ['products'],
        params: ProductParams,
        response: { 200: ProductPage, 400: badRequest, 404: notFound, ...serverProblems },
      },
    },
    async (request) => getProductPage(repository, request.params.idOrSlug),
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
        response: { 200: RelatedProducts, 400: badRequest, 404: notFound, ...serverProblems },
      },
    },
    async (request) => ({ items: await getRelatedProducts(repository, request.params.idOrSlug, request.query.limit) }),
  );
};
