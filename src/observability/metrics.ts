// Prometheus metrics: process and event-loop metrics, request durations by route, and the answers the
// hot path wrote. The cache and the breakers register theirs on the same registry.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** `registry`: a cluster worker passes its own kind, whose exposition is the whole cluster's (roles/api-workers.ts). */
export function createMetricsRegistry(registry: Registry = new Registry()): Registry {
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

/** The slots of a route's hot-path answer counts, in order: which method and status each counts. */
export const HOT_PATH_ANSWER_SLOTS = [
  { method: 'GET', status_code: '200' },
  { method: 'GET', status_code: '304' },
  { method: 'HEAD', status_code: '200' },
  { method: 'HEAD', status_code: '304' },
] as const;

/** Index into a route's counts: `answers[hotPathAnswerSlot(head, notModified)] += 1`. */
export function hotPathAnswerSlot(head: boolean, notModified: boolean): number {
  return (head ? 2 : 0) + (notModified ? 1 : 0);
}

/**
 * http_hot_path_answers_total{method,route,status_code}: requests answered before Fastify saw them.
 * The hot path adds to plain per-route arrays and the counter reads them when scraped, so a request
 * hashes no label set for it.
 */
export function registerHotPathAnswers(registry: Registry, routes: () => Iterable<readonly [route: string, counts: { answers: ArrayLike<number> }]>): void {
  new Counter({
    name: 'http_hot_path_answers_total',
    help: 'Requests answered from the cache by the hot path, before Fastify (each also counted in http_request_duration_seconds)',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [route, { answers }] of routes()) {
        HOT_PATH_ANSWER_SLOTS.forEach((slot, index) => {
          const count = answers[index] ?? 0;
          if (count > 0) this.inc({ ...slot, route }, count);
        });
      }
    },
  });
}
