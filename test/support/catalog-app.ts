// The whole API built on the test database, exercised with inject (no sockets).
import { buildApp, type CatalogApp } from '../../src/api/app.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';
import { createProductRepository } from '../../src/store/product-repository.ts';
import { silentLog, testDatabaseConfig, testDatabaseUrl } from './database.ts';

export interface TestCatalog {
  app: CatalogApp;
  database: Database;
  close(): Promise<void>;
}

export async function startTestCatalog(databaseUrl = testDatabaseUrl('catalog_test')): Promise<TestCatalog> {
  const database = createDatabase({ primary: databaseUrl }, testDatabaseConfig, silentLog);
  const app = await buildApp({
    log: silentLog,
    repository: createProductRepository({ pool: database.read }),
    readiness: { check: async () => void (await database.read.query('SELECT 1')) },
  });
  await app.ready();
  return {
    app,
    database,
    async close() {
      await app.close();
      await database.close();
    },
  };
}
