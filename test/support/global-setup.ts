// Once per test run: a fresh catalog database on the real PostgreSQL, migrated and loaded with the
// bundled products, so every integration test reads real data.
import { importProducts, bundledFeedFiles } from '../../src/catalog/product-import.ts';
import { createDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrator.ts';
import { recreateDatabase, testDatabaseConfig, testDatabaseUrl, silentLog } from './database.ts';

export async function setup(): Promise<void> {
  await recreateDatabase('catalog_test');
  const database = createDatabase({ primary: testDatabaseUrl('catalog_test') }, testDatabaseConfig, silentLog);
  try {
    await migrate(database.primary, silentLog);
    await importProducts(database.primary, bundledFeedFiles);
  } finally {
    await database.close();
  }
}

