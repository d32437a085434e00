import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildCategoryTree } from '../../catalog/category-tree.ts';
import type { ProductRepository } from '../../store/product-repository.ts';
import { CategoryTree } from '../schemas/category.ts';
import { serverProblems } from '../schemas/problem.ts';

export const categoryRoutes: FastifyPluginAsyncTypebox<{ repository: ProductRepository }> = async (app, { repository }) => {
  app.get(
    '/categories',
    {
      schema: {
        summary: 'The category tree',
        description: 'Every category, nested, with how many listed products each holds including its descendants.',
        tags: ['categories'],
        response: { 200: CategoryTree, ...serverProblems },
      },
    },
    async () => ({ categories: buildCategoryTree(await repository.listCategories()) }),
  );
};
