// Opens the catalog's database for any role: DATABASE_URL when given, else the embedded PostgreSQL.
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config.ts';
import { createDatabase, type Database } from './database.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { migrate } from './migrator.ts';

export interface CatalogDatabase extends Database {
  embedded: boolean;
}

export async function openCatalogDatabase(config: DatabaseConfig, log: Logger, options: { migrate: boolean }): Promise<CatalogDatabase> {
  const embedded = config.url ? undefined : await startEmbeddedPostgres({ ...config.embedded, log });
  const database = createDatabase({ primary: config.url ?? (embedded?.url as string), replica: config.replicaUrl }, config, log);
  try {
    // The embedded database is the service's own, so it is always brought up to date.
    if (options.migrate || embedded) {
      const result = await migrate(database.primary, log);
      log.info({ applied: result.applied.length, alreadyApplied: result.alreadyApplied }, 'database schema is up to date');
    }
  } catch (error) {
    await database.close();
    await embedded?.stop();
    throw error;
  }
  return {
    ...database,
    embedded: embedded !== undefined,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
