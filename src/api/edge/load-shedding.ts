// Load shedding by @fastify/under-pressure: past a configured bound (event-loop delay or utilization,
// heap, RSS) every request is answered 503 problem+json with Retry-After at once, so an overloaded pod
// stops taking work it would answer too late and the load balancer retries elsewhere. The hot path
// asks the plugin too and hands every request to Fastify while under pressure, so a hot listing is
// shed like any other. Probes and /metrics are never shed: a shed liveness probe restarts the pod,
// a shed readiness probe drains it, and both move its load onto pods that are just as busy (a
// cascade); Prometheus must still see the pressure. Sheds are counted, not logged: logging would add
// to the load. Shedding arms two samples after the app is ready: start-up work (compiling schemas,
// connecting) blocks the loop and is not load, and a sample in which the loop never turned reads
// as an infinite delay.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { CatalogError } from '../../catalog/catalog-error.ts';
import type { PressureConfig } from './edge-settings.ts';
import { hooksAddedBy, type HotPathContract } from '../hot-path-contract.ts';

// The plugin's default, explicit because arming waits for two samples.
const SAMPLE_INTERVAL_MS = 1000;

/** Routes that answer whatever the load (see above); also spared by the rate limits. */
export const NEVER_SHED: ReadonlySet<string> = new Set(['/health/live', '/health/ready', '/metrics']);

const REASONS = {
  [underPressure.TYPE_EVENT_LOOP_DELAY]: 'event_loop_delay',
  [underPressure.TYPE_EVENT_LOOP_UTILIZATION]: 'event_loop_utilization',
  [underPressure.TYPE_HEAP_USED_BYTES]: 'heap',
  [underPressure.TYPE_RSS_BYTES]: 'rss',
} as Record<string, string>;

export async function registerLoadShedding(app: FastifyInstance, hotPath: HotPathContract, settings: PressureConfig, metrics: Registry): Promise<void> {
  const shed = new Counter({
    name: 'http_requests_shed_total',
    help: 'Requests answered 503 because the pod was past a load bound (PRESSURE_*), by the bound passed',
    labelNames: ['reason'],
    registers: [metrics],
  });
  let armed = false;
  let arming: NodeJS.Timeout | undefined;
  app.addHook('onReady', (done) => {
    arming = setTimeout(() => (armed = true), 2 * SAMPLE_INTERVAL_MS).unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearTimeout(arming);
    done();
  });
  const hooks = await hooksAddedBy(app, () =>
    app.register(underPressure, {
      sampleInterval: SAMPLE_INTERVAL_MS,
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      maxEventLoopUtilization: settings.maxEventLoopUtilization,
      maxHeapUsedBytes: settings.maxHeapUsedBytes,
      maxRssBytes: settings.maxRssBytes,
      retryAfter: settings.retryAfterS,
      pressureHandler: (request: FastifyRequest, _reply, type: string) => {
        if (!armed || NEVER_SHED.has(request.routeOptions.url ?? '')) return undefined;
        shed.inc({ reason: REASONS[type] ?? type });
        // A rejection reaches the problem handler (problem+json, Retry-After).
        return Promise.reject(
          new CatalogError('overloaded', `the service is overloaded; retry after ${settings.retryAfterS} s`, { retryAfterSeconds: settings.retryAfterS }),
        );
      },
    }),
  );
  // With every bound off the plugin adds no hook, and nothing is ever shed.
  if (hooks.length === 0) return;
  hotPath.add({ name: 'load shedding', hooks, admits: () => !(armed && app.isUnderPressure()) });
}
