// What a role that serves no catalog HTTP (relay, indexer) still answers, on PORT: the probes
// Kubernetes asks (/health/live, /health/ready) and /metrics for Prometheus. Same routes, same
// problem+json errors as the api's.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerProblemHandlers } from '../api/problem-handler.ts';
import { healthRoutes, type Readiness } from '../api/routes/health.ts';
import { metricsRoutes } from '../api/routes/metrics.ts';
import { Problem } from '../api/schemas/problem.ts';

export interface OperationsServerOptions {
  host: string;
  port: number;
  log: Logger;
  readiness: Readiness;
  metrics: Registry;
}

export async function startOperationsServer(options: OperationsServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.log as FastifyBaseLogger, disableRequestLogging: true, return503OnClosing: true });
  registerProblemHandlers(app);
  // The probes' error answers refer to the shared problem schema, as on the api.
  app.addSchema(Problem);
  await app.register(healthRoutes, { readiness: options.readiness });
  await app.register(metricsRoutes, { registry: options.metrics });
  await app.listen({ host: options.host, port: options.port });
  return app;
}
