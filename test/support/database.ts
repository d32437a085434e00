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
