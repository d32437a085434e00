// The program's entry: `node dist/main.js <role> [args...]` in the container. One binary, one role
// per process, picked from this table. Here a missing DATABASE_URL is an error: only `npm start`'s
// entry (local-main.ts) may start an embedded PostgreSQL.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import type { EmbeddedDatabaseStarter } from './roles/dependencies.ts';
import type { Role } from './roles/role.ts';

/**
 * Each role's module is loaded only when that role runs: an api pod does not carry the Kafka client
 * the relay and the indexer need (kafkajs alone is about 12 MiB of resident memory).
 */
export const ROLES: Readonly<Record<string, () => Promise<Role>>> = {
  api: async () => (await import('./roles/api.ts')).runApi,
  migrate: async () => (await import('./roles/migrate.ts')).runMigrate,
  import: async () => (await import('./roles/import.ts')).runImport,
  relay: async () => (await import('./roles/relay.ts')).runRelay,
  indexer: async () => (await import('./roles/indexer.ts')).runIndexer,
  'replay-dead-letters': async () => (await import('./roles/replay-dead-letters.ts')).runReplayDeadLetters,
  reindex: async () => (await import('./roles/reindex.ts')).runReindex,
  reconcile: async () => (await import('./roles/reconcile.ts')).runReconcile,
};

/** Runs the role named first in argv; sets the exit code of a role that ends by itself. */
export async function runMain(argv: string[], options: { startEmbedded?: EmbeddedDatabaseStarter } = {}): Promise<void> {
  const [name = 'api', ...args] = argv;
  const loadRole = Object.hasOwn(ROLES, name) ? ROLES[name] : undefined;
  if (!loadRole) {
    console.error(`unknown role "${name}"; expected one of: ${Object.keys(ROLES).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const role = await loadRole();
  try {
    const config = loadConfig();
    const outcome = await role({ config, log: createLogger(config.logLevel), args, startEmbedded: options.startEmbedded });
    if (outcome !== 'running') process.exitCode = outcome;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A configuration problem is the operator's to fix: one line naming it, no stack.
    console.error(error.message);
    process.exit(2);
  }
}

export function exitOnFailure(error: unknown): never {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  runMain(process.argv.slice(2)).catch(exitOnFailure);
}
