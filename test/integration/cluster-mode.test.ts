// Cluster mode (API_WORKERS=2, no Redis): one primary, two api workers sharing the port. The load is a
// few keep-alive fetch loops straight at the shared port, over cached and uncached URLs; every answer
// that is not 2xx/3xx and every network error counts as a failure.
//
// A SIGUSR2 reload must fail nothing: the new worker listens before an old one is told to stop, and
// the old one stops taking connections, answers what it still gets with `Connection: close` for
// WORKER_DRAIN_MS, then closes.
//
// A worker killed with SIGKILL is another matter: the connections it held are reset by the kernel, and
// a request in flight on one of them gets no answer from anybody. What a client can expect is what a
// proxy or browser does for an idempotent GET whose connection broke: send it once more, on a new
// connection. So the crash test's load retries a network error once that way, counts the retries
// (reported) and fails on anything that still fails after that, or on any error answer.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../support/admin-api.ts';
import { markOutboxPublished, waitFor } from '../support/change-feed.ts';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { freePort } from '../support/free-port.ts';
import { loadPaths } from '../support/load-paths.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';
import { startSteadyLoad, totalAnswered } from '../support/steady-load.ts';

const admin = mintToken('cluster-mode', 'read+write');
let database: { name: string; url: string };
let service: ServiceProcess;
let paths: string[];

interface LogLine {
  msg: string;
  pid?: number;
  pids?: number[];
  reason?: string;
}

function logLines(msg: string): LogLine[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.msg === msg);
}

/** The pids of the workers that listen now, from the primary's log. */
function listeningPids(): Set<number> {
  const exited = new Set(logLines('api worker exited').map((line) => line.pid));
  for (const line of logLines('api worker exited unexpectedly; replacing it')) exited.add(line.pid);
  return new Set(logLines('api worker listening').map((line) => line.pid as number).filter((pid) => !exited.has(pid)));
}

/** A GET on a connection of its own: the primary hands each new connection to the next worker. */
function getOnNewConnection(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${service.address}${path}`, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  database = await cloneCatalogDatabase('cluster_mode');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await markOutboxPublished(pool);
  await pool.end();
  paths = await loadPaths(database.url);
  service = await startServiceProcess({
    DATABASE_URL: database.url,
    API_WORKERS: '2',
    PORT: String(await freePort()),
    ADMIN_TOKENS: admin.entry,
    // Cached pages stay 60 s in each worker's near cache: a fresher answer comes from invalidation.
    CACHE_NEAR_TTL_MS: '60000',
    CACHE_FRESH_TTL_MS: '60000',
    CACHE_MAX_STALE_MS: '60000',
    CACHE_STALE_IF_ERROR_MS: '60000',
    LOG_LEVEL: 'info',
    REDIS_KEY_PREFIX: `catalog-test:${randomUUID()}:`,
  });
  await waitFor('both workers listening', () => logLines('api workers ready').length === 1, 60_000);
}, 120_000);

afterAll(async () => {
  if (service?.child.exitCode === null) {
    const code = await Promise.race([service.stop(), sleep(20_000).then(() => 'hung')]);
    if (code === 'hung') service.child.kill('SIGKILL');
  }
  // A worker left behind by a failed test: the primary's pids are in the log.
  for (const pid of service ? listeningPids() : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (database) await dropDatabase(database.name);
}, 60_000);

describe('when the api runs with API_WORKERS=2', () => {
  it('then two workers listen on the one port, and /metrics on either answers for the whole cluster', { timeout: 30_000 }, async () => {
    expect(listeningPids().size).toBe(2);
    const { status, body } = await getOnNewConnection('/metrics');
    expect(status).toBe(200);
    expect(body).toMatch(/^catalog_api_workers 2$/m);
    expect(body).toMatch(/^catalog_api_workers_listening 2$/m);
    // Summed over both workers, whichever answers: one relay leads (once it has the lock), the other stands by.
    await waitFor('one relay leading', async () => /^catalog_outbox_relay_leader 1$/m.test((await getOnNewConnection('/metrics')).body), 20_000);
    for (let i = 0; i < 4; i++) expect((await getOnNewConnection('/metrics')).body).toMatch(/^catalog_outbox_relay_leader 1$/m);
  });

  it('then a product changed through one worker is served changed by every worker, though without Redis each has its own cache', { timeout: 30_000 }, async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM products WHERE status = 'active' ORDER BY id LIMIT 1 OFFSET 7`);
    await pool.end();
    const id = Number(rows[0]?.id);
    // Each worker caches the page (new connections alternate between them).
    for (let i = 0; i < 6; i++) expect((await getOnNewConnection(`/products/${id}`)).status).toBe(200);

    const newName = `Cluster Lamp ${randomUUID().slice(0, 8)}`;
    const renamed = await fetch(`${service.address}/admin/products/${id}`, {
      method: 'PATCH',
      headers: { authorization: admin.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: newName }),
    });
    expect(renamed.status).toBe(200);
    await waitFor(
      'every worker to serve the new name',
      async () => {
        const answers = await Promise.all(Array.from({ length: 6 }, () => getOnNewConnection(`/products/${id}`)));
        return answers.every((answer) => answer.body.includes(newName));
      },
      10_000,
    );
  });

  it('then a SIGUSR2 under steady load replaces every worker, one at a time, and no request fails', { timeout: 90_000 }, async () => {
    const before = listeningPids();
    const load = startSteadyLoad({ backend: () => service.address, paths, concurrency: 4 });
    try {
      await waitFor('the load to be answered', () => totalAnswered(load) >= 100, 30_000);
      const answeredBefore = totalAnswered(load);
      service.child.kill('SIGUSR2');
      await waitFor('the reload to finish', () => logLines('api workers reloaded').length === 1, 75_000);
      await sleep(500);
      await load.stop();
      expect(load.failures).toEqual([]);
      expect(totalAnswered(load)).toBeGreaterThan(answeredBefore);
      const after = listeningPids();
      expect(after.size).toBe(2);
      for (const pid of after) expect(before.has(pid)).toBe(false);
      process.stdout.write(`reload: ${totalAnswered(load)} answers, ${load.failures.length} failures; workers ${[...before].join(',')} -> ${[...after].join(',')}\n`);
    } finally {
      await load.stop();
    }
  });

  it('then a worker killed under steady load is replaced, and no request fails once a broken connection is retried', { timeout: 60_000 }, async () => {
    const before = listeningPids();
    const load = startSteadyLoad({ backend: () => service.address, paths, concurrency: 4, retryConnectionErrorOnce: true });
    try {
      await waitFor('the load to be answered', () => totalAnswered(load) >= 100, 30_000);
      const [victim] = before;
      process.kill(victim as number, 'SIGKILL');
      await waitFor('a replacement worker', () => listeningPids().size === 2 && !listeningPids().has(victim as number), 45_000);
      const answeredAfterRestart = totalAnswered(load);
      await waitFor('load on the new worker set', () => totalAnswered(load) >= answeredAfterRestart + 50, 10_000);
      await load.stop();
      expect(load.failures).toEqual([]);
      expect(logLines('api worker exited unexpectedly; replacing it')).toHaveLength(1);
      process.stdout.write(`crash: ${totalAnswered(load)} answers, ${load.retried.length} retried once after a broken connection, ${load.failures.length} failures ${JSON.stringify(load.retried)}\n`);
    } finally {
      await load.stop();
    }
  });

  it('then SIGTERM stops every worker gracefully and the primary exits 0', { timeout: 40_000 }, async () => {
    const code = await service.stop();
    expect(code).toBe(0);
    expect(logLines('shut down cleanly')).not.toHaveLength(0);
    expect(logLines('api workers stopped')).toHaveLength(1);
  });
});

describe('when the primary gets a second signal while its workers drain', () => {
  it('then it kills the workers and exits 1 at once instead of waiting for the drain', { timeout: 90_000 }, async () => {
    // A drain of 30 s: only the second signal can end this quickly.
    const slow = await startServiceProcess({ DATABASE_URL: database.url, API_WORKERS: '1', PORT: String(await freePort()), SHUTDOWN_DELAY_MS: '30000', LOG_LEVEL: 'info' });
    try {
      await waitFor('the worker listening', () => slow.output().includes('"msg":"api workers ready"'), 60_000);
      const workerPid = (JSON.parse(slow.output().split('\n').find((line) => line.includes('"msg":"api workers ready"')) as string) as LogLine).pids?.[0] as number;
      const exit = new Promise<number | null>((resolve) => slow.child.once('exit', resolve));
      slow.child.kill('SIGTERM');
      await waitFor('the worker draining', () => slow.output().includes('shutting down: no new work is taken'), 10_000);
      const started = Date.now();
      slow.child.kill('SIGTERM');
      expect(await exit).toBe(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      await waitFor('the worker gone', () => {
        try {
          process.kill(workerPid, 0);
          return false;
        } catch {
          return true;
        }
      }, 5000);
    } finally {
      slow.child.kill('SIGKILL');
    }
  });
});
