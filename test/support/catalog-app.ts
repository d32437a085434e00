// The whole API built on the test database, exercised with inject (no sockets). Settings come from
// the same environment variables as in production (e.g. { REDIS_URL, CACHE_FRESH_TTL_MS }).
import type { Logger } from 'pino';
import { buildApp, type AppOptions, type CatalogApp } from '../../src/api/app.ts';
import { createReadPath, type ReadPath } from '../../src/roles/read-path.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { createProductAdminStore } from '../../src/store/product-admin-store.ts';
import { silentLog, testDatabaseConfig, testDatabaseUrl } from './database.ts';

export interface TestCatalog {
  app: CatalogApp;
  database: Database;
  readPath: ReadPath;
  close(): Promise<void>;
}

/**
 * The admin API is served as the api role serves it: with env ADMIN_TOKENS its tokens are accepted,
 * without it every admin request is a 401. `log` receives the app's lines (captured-log.ts).
 * `replicaUrl`: a database the read routes use instead of the primary, as a replica (a test makes it
 * lag by writing it later).
 */
export async function startTestCatalog(
  options: { databaseUrl?: string; replicaUrl?: string; env?: Record<string, string>; app?: AppOptions; log?: Logger } = {},
): Promise<TestCatalog> {
  // No load shedding unless a test asks for it: the tests share one event loop on a busy machine, and
  // a test's own synchronous work (rendering openapi.yaml) can hold it past the production bound.
  const config = loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '10000', CACHE_LOCK_TTL_MS: '30000', PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', ...options.env });
  const urls = { primary: options.databaseUrl ?? testDatabaseUrl(), replica: options.replicaUrl };
  const database = createDatabase(urls, { ...testDatabaseConfig, ...pick(config) }, silentLog);
  const readPath = await createReadPath(config, database, options.log ?? silentLog);
  const admin = { store: createProductAdminStore({ pool: database.primary, idempotencyTtlMs: config.admin.idempotencyTtlMs }), tokens: config.admin.tokens };
  const app = await buildApp({ ...readPath, admin }, options.app);
  await app.ready();
  return {
    app,
    database,
    readPath,
    async close() {
      await app.close();
      await readPath.close();
      await database.close();
    },
  };
}

function pick(config: ReturnType<typeof loadConfig>) {
  return { connectTimeoutMs: config.database.connectTimeoutMs, statementTimeoutMs: config.database.statementTimeoutMs };
}
