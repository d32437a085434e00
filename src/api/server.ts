// Runs the API: opens the database, listens, and on SIGTERM stops taking traffic (readiness
// fails first, so Kubernetes drains the pod), finishes in-flight requests and closes everything.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { bundledFeedFiles, importProducts } from '../catalog/product-import.ts';
import { openCatalogDatabase } from '../store/catalog-database.ts';
import { buildApp } from './app.ts';
import { createReadPath } from './read-path.ts';

export async function runApiServer(config: Config, log: Logger): Promise<void> {
  const database = await openCatalogDatabase(config.database, log, { migrate: config.database.migrateOnStart });
  if (database.embedded) await importBundledProductsIfEmpty(database.primary, log);

  let shuttingDown = false;
  const readPath = await createReadPath(config, database, log);
  const app = await buildApp({
    ...readPath,
    readiness: {
      async check() {
        if (shuttingDown) throw new Error('shutting down');
        return readPath.readiness.check();
      },
    },
  });

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal, delayMs: config.shutdown.delayMs }, 'shutting down: readiness now fails');
    const forced = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdown.delayMs + config.shutdown.timeoutMs);
    forced.unref();
    // Give the load balancer time to see the failing readiness before the listener closes.
    await new Promise((resolve) => setTimeout(resolve, config.shutdown.delayMs));
    // app.close() resolves once in-flight requests are answered; only then may the pools go.
    await app.close();
    await readPath.close();
    await database.close();
    log.info('shut down cleanly');
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));

  const address = await app.listen({ host: config.host, port: config.port });
  log.info(
    { address, database: database.embedded ? 'embedded' : 'DATABASE_URL', cache: readPath.redis ? 'near + Redis' : 'near only' },
    `catalog service listening on ${address}`,
  );
}

async function importBundledProductsIfEmpty(pool: pg.Pool, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM products) AS any');
  if (rows[0]?.any) return;
  log.info('first run on the embedded database: importing the bundled products');
  const report = await importProducts(pool, bundledFeedFiles);
  log.info({ products: report.products, skipped: report.skipped.length }, 'bundled products imported');
}
