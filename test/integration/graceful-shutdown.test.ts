// SIGTERM to an api process under steady load fails no request.
//
// The model is what Kubernetes does: a process alone cannot take connections after it exits, so two api
// processes stand behind the test's own balancer, which routes only to the backends whose /health/ready
// answered 200 at its last poll (every 100 ms: the endpoints controller with a readiness probe, in
// small). On SIGTERM the draining process fails readiness at once and keeps serving for
// SHUTDOWN_DELAY_MS (1.5 s here, well past one poll), answering with `Connection: close`; then it closes
// idle keep-alive connections, finishes what is in flight and closes its pools. The load keeps going to
// the other process. Every answer that is not 2xx/3xx and every network error counts as a failure.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markOutboxPublished, waitFor } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { freePort } from '../support/free-port.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { loadPaths } from '../support/load-paths.ts';
import { readinessBalancer, startSteadyLoad, totalAnswered } from '../support/steady-load.ts';

let database: { name: string; url: string };
const services: ServiceProcess[] = [];

beforeAll(async () => {
  database = await cloneCatalogDatabase('graceful_shutdown');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await markOutboxPublished(pool);
  await pool.end();
  const env = async () => ({
    DATABASE_URL: database.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `catalog-test:${randomUUID()}:`,
    SHUTDOWN_DELAY_MS: '1500',
    PORT: String(await freePort()),
    LOG_LEVEL: 'info',
  });
  const [first, second] = await Promise.all([startServiceProcess(await env()), startServiceProcess(await env())]);
  services.push(first, second);
}, 120_000);

afterAll(async () => {
  for (const service of services) if (service.child.exitCode === null) service.child.kill('SIGKILL');
  if (database) await dropDatabase(database.name);
});

describe('when an api process behind a readiness-checking balancer gets SIGTERM under steady load', () => {
  it('then it fails readiness, drains and exits 0, and no request fails', { timeout: 60_000 }, async () => {
    const [draining, staying] = services as [ServiceProcess, ServiceProcess];
    const balancer = readinessBalancer([draining.address, staying.address]);
    const load = startSteadyLoad({ backend: () => balancer.backend(), paths: await loadPaths(database.url), concurrency: 4 });
    try {
      // Warm: both answer steadily before the signal.
      await waitFor('both processes answering', () => (load.answered.get(draining.address) ?? 0) >= 50 && (load.answered.get(staying.address) ?? 0) >= 50, 30_000);
      const beforeSignal = load.answered.get(draining.address) ?? 0;
      const exit = draining.stop();
      // Load while it drains and exits, then a second more on the other one alone.
      const code = await exit;
      const afterExit = load.answered.get(staying.address) ?? 0;
      await sleep(1000);
      await load.stop();
      expect(load.failures).toEqual([]);
      expect(code).toBe(0);
      // Both served: the load really did reach the one that stopped, and moved to the other.
      expect(beforeSignal).toBeGreaterThanOrEqual(50);
      expect(load.answered.get(staying.address) ?? 0).toBeGreaterThan(afterExit);
      expect(draining.output()).toMatch(/shutting down: no new work is taken/);
      expect(draining.output()).toMatch(/shut down cleanly/);
      process.stdout.write(`graceful shutdown: ${totalAnswered(load)} answers, ${load.failures.length} failures ${JSON.stringify(Object.fromEntries(load.answered))}\n`);
    } finally {
      await load.stop();
      await balancer.stop();
    }
  });
});
