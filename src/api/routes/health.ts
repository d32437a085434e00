import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static } from 'typebox';
import { CatalogError } from '../../catalog/catalog-error.ts';
import { problemResponse } from '../schemas/problem.ts';

const DependencyStates = Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('not configured')]);
export type DependencyState = Static<typeof DependencyStates>;

export interface DependencyReport {
  postgres: DependencyState;
  redis: DependencyState;
}

export interface Readiness {
  /** Resolves with the state of each dependency while the pod can serve reads; rejects with the reason otherwise. */
  check(): Promise<DependencyReport>;
}

const Status = Type.Object({ status: Type.String() });
const dependency = (description: string) => Type.Union(DependencyStates.anyOf, { description });
const ReadyStatus = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')], {
    description: 'degraded: a dependency is down and the pod serves what it can (cached pages while PostgreSQL is down, PostgreSQL while Redis is down)',
  }),
  postgres: dependency('PostgreSQL answered SELECT 1'),
  redis: dependency('Redis answered PING'),
});

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
        summary: 'Readiness: the pod can serve reads and is not shutting down',
        description:
          'Ready while PostgreSQL or Redis answers: with PostgreSQL down, pages cached in Redis are still served, so the pod stays in the Service. ' +
          'A 503 when neither answers, or on shutdown.',
        tags: ['operations'],
        response: { 200: ReadyStatus, 503: problemResponse('Not ready; the detail says why') },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      let report: DependencyReport;
      try {
        report = await readiness.check();
      } catch (error) {
        throw new CatalogError('service-unavailable', `not ready: ${(error as Error).message}`, { cause: error, retryAfterSeconds: 1 });
      }
      reply.header('cache-control', 'no-store');
      const allUp = report.postgres === 'up' && report.redis !== 'down';
      return { status: allUp ? ('ready' as const) : ('degraded' as const), ...report };
    },
  );
};
