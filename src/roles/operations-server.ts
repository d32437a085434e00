// What a role that serves no catalog HTTP (relay, indexer) still answers, on PORT: the probes
// Kubernetes asks (/health/live, /health/ready) and /metrics for Prometheus. Same routes, same
// problem+json errors as the api's.
import Fastify, { type FastifyBaseLogger } from 'fastify';
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

export interface OperationsServer {
  /** Where it listens (http://host:port). */
  readonly origin: string;
  /** From now on readiness fails (the role is shutting down); liveness and /metrics still answer. */
  drain(): void;
  close(): Promise<void>;
}

export async function startOperationsServer(options: OperationsServerOptions): Promise<OperationsServer> {
  // Probes and scrapes every few seconds: their request lines would drown the role's own; warnings stay.
  const level = options.log.levelVal > 40 ? options.log.level : 'warn';
  const app = Fastify({ loggerInstance: options.log.child({}, { level }) as FastifyBaseLogger, return503OnClosing: true });
  registerProblemHandlers(app);
  // The probes' error answers refer to the shared problem schema, as on the api.
  app.addSchema(Problem);
  let draining = false;
  const readiness: Readiness = {
    check() {
      return draining ? Promise.reject(new Error('shutting down')) : options.readiness.check();
    },
  };
  await app.register(healthRoutes, { readiness });
  await app.register(metricsRoutes, { registry: options.metrics });
  await app.listen({ host: options.host, port: options.port });
  return {
    origin: app.listeningOrigin,
    drain: () => (draining = true),
    close: () => app.close(),
  };
}
