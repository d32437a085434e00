// Prometheus metrics: process and event-loop metrics, and request durations by route. The cache and
// the breakers register theirs on the same registry.
import type { FastifyInstance } from 'fastify';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  // Includes nodejs_eventloop_lag_seconds and its p50/p90/p99 from monitorEventLoopDelay.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return registry;
}

export type RequestDurations = Histogram<'method' | 'route' | 'status_code'>;

export function createRequestDurations(registry: Registry): RequestDurations {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status (near-cache hits included)',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
}

export function observeRequestDurations(app: FastifyInstance, durations: RequestDurations): void {
  app.addHook('onResponse', (request, reply, done) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    durations.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
