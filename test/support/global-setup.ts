// Once per test run: a fresh catalog database on the real PostgreSQL, migrated and loaded with the
// bundled products, so every integration test reads real data.
import { importProducts, bundledFeedFiles } from '../../src/roles/import.ts';
import { createPostgresSearchIndex } from '../../src/search/postgres-search-index.ts';
import { rebuildSearchIndex } from '../../src/search/search-rebuild.ts';
import { createDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrator.ts';
import { CATALOG_TEMPLATE, copyDatabase, dropDatabase, recreateDatabase, silentLog, testDatabaseConfig, testDatabaseName } from './database.ts';

export async function setup(): Promise<void> {
  // Inherited by the test workers: every database of this run carries the id.
  process.env.CATALOG_TEST_RUN ??= `r${process.pid}`;
  const database = createDatabase({ primary: await recreateDatabase(testDatabaseName('catalog_test')) }, testDatabaseConfig, silentLog);
  try {
    await migrate(database.primary, silentLog);
    await importProducts(database.primary, bundledFeedFiles);
    // The search read model as the indexer would leave it once the import's events are applied.
    await rebuildSearchIndex({ pool: database.primary, writer: createPostgresSearchIndex({ pool: database.primary }) });
    await database.primary.query('VACUUM ANALYZE search_documents, search_words, search_names');
  } finally {
    await database.close();
  }
  // Tests that write get a copy of this one (cloneCatalogDatabase): nobody connects to it, so
  // PostgreSQL can copy it at any time.
  await copyDatabase(testDatabaseName('catalog_test'), testDatabaseName(CATALOG_TEMPLATE));
}

export async function teardown(): Promise<void> {
  await dropDatabase(testDatabaseName('catalog_test'));
  await dropDatabase(testDatabaseName('catalog_test_import'));
  await dropDatabase(testDatabaseName(CATALOG_TEMPLATE));
}

