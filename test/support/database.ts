// The real PostgreSQL the tests use: TEST_POSTGRES_URL names the server (any database on it with
// rights to create others); each test file gets databases of its own name.
import pg from 'pg';
import { pino } from 'pino';
import type { DatabaseConfig } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';

const serverUrl = new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

export const silentLog = pino({ level: 'silent' });

export const testDatabaseConfig: DatabaseConfig = loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '10000', CACHE_LOCK_TTL_MS: '15000' }).database;

export function testDatabaseUrl(name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function recreateDatabase(name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a database name: ${name}`);
  const admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return testDatabaseUrl(name);
}
