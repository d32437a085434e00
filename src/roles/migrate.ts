// `migrate`: applies migrations/ in order, each once, under an advisory lock (a Kubernetes Job
// before a rollout, or `npm run migrate`).
import type { Role } from './role.ts';
import { openDatabase } from './dependencies.ts';

export const runMigrate: Role = async ({ config, log, startEmbedded }) => {
  const database = await openDatabase(config, log, { migrate: true, startEmbedded });
  await database.close();
  return 0;
};
