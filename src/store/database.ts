// PostgreSQL connections: a bounded primary pool for writes and a read pool (the replica when one is
// configured), each with a statement timeout so a slow query cannot hold a connection forever.
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config.ts';

// bigint (int8) columns are ids, prices in minor units and versions: all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

export interface Database {
  /** Writes, migrations and imports. */
  primary: pg.Pool;
  /** Read routes: the replica when configured, else the primary. */
  read: pg.Pool;
  close(): Promise<void>;
}

function createPool(url: string, config: DatabaseConfig, log: Logger, name: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.statementTimeoutMs * 5,
    idleTimeoutMillis: 30_000,
    application_name: `catalog-service:${name}`,
    // Listing cursors carry timestamps as the server prints them; ISO is what they are checked against.
    options: '-c DateStyle=ISO',
  });
  // An idle client losing its server must not crash the process; the next checkout reconnects.
  pool.on('error', (error) => log.warn({ err: error, pool: name }, 'idle PostgreSQL connection failed'));
  return pool;
}

export function createDatabase(urls: { primary: string; replica?: string | undefined }, config: DatabaseConfig, log: Logger): Database {
  const primary = createPool(urls.primary, config, log, 'primary');
  const read = urls.replica ? createPool(urls.replica, config, log, 'replica') : primary;
  return {
    primary,
    read,
    async close() {
      await Promise.all([primary.end(), read === primary ? undefined : read.end()]);
    },
  };
}

/** Creates database `name` on the server at `serverUrl` (any database there) unless it exists. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a database name: ${name}`);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}
