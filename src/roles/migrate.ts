// `migrate`: applies migrations/ in order, each once, under an advisory lock (a Kubernetes Job
// before a rollout, or `npm run migrate`). No signal handler: a SIGTERM ends it at once, which is safe,
// since each migration commits with its schema_migrations row in one transaction (PostgreSQL rolls back
// the one in flight) and the advisory lock goes with the connection; the next run applies the rest.
import type { Role } from './role.ts';
import { openDatabase } from './dependencies.ts';

export const runMigrate: Role = async ({ config, log, startEmbedded }) => {
  const database = await openDatabase(config, log, { migrate: true, startEmbedded });
  await database.close();
  return 0;
};
