import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { categoryTreeEntry } from '../../catalog/cache-tags.ts';
import { buildCategoryTree, CategoryTree } from '../../catalog/category-tree.ts';
import { originOf, replyFromCache } from '../cached-reply.ts';
import { notModified, serverProblems } from '../schemas/problem.ts';
import type { ReadRouteOptions } from './products.ts';

export const categoryRoutes: FastifyPluginAsyncTypebox<ReadRouteOptions> = async (app, { repository, reads }) => {
  app.get(
    '/categories',
    {
      schema: {
        summary: 'The category tree',
        description: 'Every category holding a listed product, nested, with how many listed products each holds including its descendants. A category without one is left out of the tree; its listing still answers, empty.',
        tags: ['categories'],
        response: { 200: CategoryTree, 304: notModified, ...serverProblems },
      },
    },
    async (request, reply) => {
      const entry = categoryTreeEntry();
      const load = originOf(reply, async () => ({ categories: buildCategoryTree(await repository.listCategories()) }), entry.surrogateKeys);
      return replyFromCache(request, reply, reads, { key: entry.key, tags: entry.tags, load });
    },
  );
};
