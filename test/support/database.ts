// The real PostgreSQL the tests use: TEST_POSTGRES_URL names the server (any database on it with
// rights to create others); each test file gets databases of its own name.
import pg from 'pg';
import { pino } from 'pino';
import type { DatabaseConfig } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';

const serverUrl = new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

export const silentLog = pino({ level: 'silent' });

export const testDatabaseConfig: DatabaseConfig = loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '10000', CACHE_LOCK_TTL_MS: '30000' }).database;

/**
 * Databases are named per test run (the global setup picks the run id), so two runs at once on one
 * machine never drop each other's data.
 */
export function testDatabaseName(base: string): string {
  return `${base}_${process.env.CATALOG_TEST_RUN ?? 'local'}`;
}

export function testDatabaseUrl(name = testDatabaseName('catalog_test')): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function recreateDatabase(name: string): Promise<string> {
  await dropDatabase(name);
  await adminQuery(`CREATE DATABASE ${name}`);
  return testDatabaseUrl(name);
}

/** The bundled catalogue as imported, never connected to: what cloneCatalogDatabase copies. */
export const CATALOG_TEMPLATE = 'catalog_template';

export async function copyDatabase(from: string, to: string): Promise<void> {
  await dropDatabase(to);
  await adminQuery(`CREATE DATABASE ${to} TEMPLATE ${from}`);
}

/**
 * A database of the test's own holding the bundled catalogue, for tests that change products: the
 * shared catalog_test stays as imported for every other file. Drop it with dropDatabase(name).
 */
export async function cloneCatalogDatabase(base: string): Promise<{ name: string; url: string }> {
  const name = testDatabaseName(base);
  await copyDatabase(testDatabaseName(CATALOG_TEMPLATE), name);
  return { name, url: testDatabaseUrl(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl.toString() });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
