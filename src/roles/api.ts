// `api`: the HTTP API. Opens the database (and, on a developer's machine, imports the bundled
// products into a new embedded one), builds the read path and the app, listens, and on SIGTERM
// fails readiness first so Kubernetes drains the pod, then answers what is in flight and closes.
import cluster from 'node:cluster';
import type pg from 'pg';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import { createProductAdminStore } from '../store/product-admin-store.ts';
import { joinApiWorkers, WORKER_DRAIN_MS } from './api-worker-link.ts';
import { closeConnectionsWhileDraining, stopAccepting } from './draining-connections.ts';
import { openDatabase } from './dependencies.ts';
import { startEmbeddedChangeFeed } from './embedded-change-feed.ts';
import { bundledFeedFiles, importProducts } from './import.ts';
import { reportMemoryBudget } from './memory-budget.ts';
import { createReadPath } from './read-path.ts';
import type { Role } from './role.ts';
import { handleShutdown } from './shutdown.ts';

export const runApi: Role = async (context) => {
  const { config, log, startEmbedded } = context;
  // Cluster mode: this process forks the workers that run the rest of this function.
  if (config.apiWorkers > 0 && cluster.isPrimary) return (await import('./api-workers.ts')).runApiWorkers(context);
  const worker = joinApiWorkers(log);
  reportMemoryBudget(config.cache, log);
  const database = await openDatabase(config, log, { migrate: config.database.migrateOnStart, startEmbedded });
  if (database.embedded) await importBundledProductsIfEmpty(database.primary, log);
  const readPath = await createReadPath(config, database, log, worker?.metrics);
  const changeFeed = await startEmbeddedChangeFeed(config, database, readPath, log, worker?.changeInvalidator(readPath.cache, readPath.redis !== undefined));

  let draining = false;
  const app = await buildApp({
    ...readPath,
    // Writes go to the primary; with no ADMIN_TOKENS every admin request is refused (401).
    admin: { store: createProductAdminStore({ pool: database.primary, idempotencyTtlMs: config.admin.idempotencyTtlMs }), tokens: config.admin.tokens },
    readiness: {
      async check() {
        if (draining) throw new Error('shutting down');
        return readPath.readiness.check();
      },
    },
  });
  closeConnectionsWhileDraining(app.server, () => draining);
  const shutdown = handleShutdown({
    log,
    ...config.shutdown,
    // A worker has no load balancer to wait for, but its keep-alive clients must hear `Connection: close`.
    delayMs: worker ? Math.max(config.shutdown.delayMs, WORKER_DRAIN_MS) : config.shutdown.delayMs,
    // Ctrl-C reaches a worker too; its primary tells it when to stop.
    signals: worker ? ['SIGTERM'] : undefined,
    stopTakingWork: () => {
      draining = true;
      // A worker's peers take its new connections at once; a pod must keep accepting until its endpoints go.
      if (worker) stopAccepting(app.server);
    },
    // app.close() resolves once in-flight requests are answered; only then may the pools go.
    steps: [
      { name: 'http', close: () => app.close() },
      { name: 'in-process change feed', close: () => changeFeed?.stop() },
      { name: 'read path', close: () => readPath.close() },
      { name: 'database', close: () => database.close() },
      { name: 'cluster channel', close: () => worker?.leave() },
    ],
  });

  worker?.attach({ cache: readPath.cache, stop: (reason) => void shutdown.run(reason) });

  const address = await app.listen({ host: config.host, port: config.port });
  log.info(
    { address, database: database.embedded ? 'embedded' : 'DATABASE_URL', cache: readPath.redis ? 'near + Redis' : 'near only', changeFeed: changeFeed ? 'in process' : 'Kafka' },
    `catalog service listening on ${address}`,
  );
  return 'running';
};

export async function importBundledProductsIfEmpty(pool: pg.Pool, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM products) AS any');
  if (rows[0]?.any) return;
  log.info('first run on the embedded database: importing the bundled products');
  const report = await importProducts(pool, bundledFeedFiles);
  log.info({ products: report.products, skipped: report.skipped.length }, 'bundled products imported');
}
