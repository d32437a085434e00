// `api`: the HTTP API. Opens the database (and, on a developer's machine, imports the bundled
// products into a new embedded one), builds the read path and the app, listens, and on SIGTERM
// fails readiness first so Kubernetes drains the pod, then answers what is in flight and closes.
import type pg from 'pg';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import { createProductAdminStore } from '../store/product-admin-store.ts';
import { openDatabase } from './dependencies.ts';
import { startEmbeddedChangeFeed } from './embedded-change-feed.ts';
import { bundledFeedFiles, importProducts } from './import.ts';
import { reportMemoryBudget } from './memory-budget.ts';
import { createReadPath } from './read-path.ts';
import type { Role } from './role.ts';
import { handleShutdown } from './shutdown.ts';

export const runApi: Role = async ({ config, log, startEmbedded }) => {
  reportMemoryBudget(config.cache, log);
  const database = await openDatabase(config, log, { migrate: config.database.migrateOnStart, startEmbedded });
  if (database.embedded) await importBundledProductsIfEmpty(database.primary, log);
  const readPath = await createReadPath(config, database, log);
  const changeFeed = await startEmbeddedChangeFeed(config, database, readPath, log);

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
  handleShutdown({
    log,
    ...config.shutdown,
    stopTakingWork: () => (draining = true),
    // app.close() resolves once in-flight requests are answered; only then may the pools go.
    steps: [
      { name: 'http', close: () => app.close() },
      { name: 'in-process change feed', close: () => changeFeed?.stop() },
      { name: 'read path', close: () => readPath.close() },
      { name: 'database', close: () => database.close() },
    ],
  });

  const address = await app.listen({ host: config.host, port: config.port });
  log.info(
    { address, database: database.embedded ? 'embedded' : 'DATABASE_URL', cache: readPath.redis ? 'near + Redis' : 'near only', changeFeed: changeFeed ? 'in process' : 'Kafka' },
    `catalog service listening on ${address}`,
  );
  return 'running';
};

async function importBundledProductsIfEmpty(pool: pg.Pool, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM products) AS any');
  if (rows[0]?.any) return;
  log.info('first run on the embedded database: importing the bundled products');
  const report = await importProducts(pool, bundledFeedFiles);
  log.info({ products: report.products, skipped: report.skipped.length }, 'bundled products imported');
}
