import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { CatalogError } from '../../catalog/catalog-error.ts';
import { problemResponse } from '../schemas/problem.ts';

export interface Readiness {
  /** Resolves when the service can serve reads; rejects with the reason otherwise. */
  check(): Promise<void>;
}

const Status = Type.Object({ status: Type.String() });

export const healthRoutes: FastifyPluginAsyncTypebox<{ readiness: Readiness }> = async (app, { readiness }) => {
  app.get(
    '/health/live',
    { schema: { summary: 'Liveness: the process answers', tags: ['operations'], response: { 200: Status } } },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { status: 'live' };
    },
  );

  app.get(
    '/health/ready',
    {
      schema: {
        summary: 'Readiness: PostgreSQL answers and the service is not shutting down',
        tags: ['operations'],
        response: { 200: Status, 503: problemResponse('Not ready; the detail says why') },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      try {
        await readiness.check();
      } catch (error) {
        throw new CatalogError('service-unavailable', `not ready: ${(error as Error).message}`, { cause: error, retryAfterSeconds: 1 });
      }
      reply.header('cache-control', 'no-store');
      return { status: 'ready' };
    },
  );
};
