// The whole API built on the test database, exercised with inject (no sockets). Settings come from
// the same environment variables as in production (e.g. { REDIS_URL, CACHE_FRESH_TTL_MS }).
import { buildApp, type AppOptions, type CatalogApp } from '../../src/api/app.ts';
import { createReadPath, type ReadPath } from '../../src/roles/read-path.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { silentLog, testDatabaseConfig, testDatabaseUrl } from './database.ts';

export interface TestCatalog {
  app: CatalogApp;
  database: Database;
  readPath: ReadPath;
  close(): Promise<void>;
}

/** `replicaUrl`: a database the read routes use instead of the primary, as a replica (a test makes it lag by writing it later). */
export async function startTestCatalog(
  options: { databaseUrl?: string; replicaUrl?: string; env?: Record<string, string>; app?: AppOptions } = {},
): Promise<TestCatalog> {
  const config = loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '10000', CACHE_LOCK_TTL_MS: '30000', ...options.env });
  const urls = { primary: options.databaseUrl ?? testDatabaseUrl(), replica: options.replicaUrl };
  const database = createDatabase(urls, { ...testDatabaseConfig, ...pick(config) }, silentLog);
  const readPath = await createReadPath(config, database, silentLog);
  const app = await buildApp(readPath, options.app);
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
