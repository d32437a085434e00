// Cluster mode (API_WORKERS > 0), for hosts without an orchestrator: this process becomes the primary,
// prepares the database once, forks one api worker per slot (each runs the api role as a pod would),
// replaces a worker that dies, replaces them one at a time on SIGUSR2, and on SIGTERM/SIGINT lets every
// worker shut down gracefully before it exits. The workers share the listening port through
// node:cluster (the primary accepts and hands connections out round-robin), so a retiring worker
// never loses a connection that was not yet handed to it. docs/operations.md, "Cluster mode".
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { createDatabase } from '../store/database.ts';
import type { EmbeddedDatabase } from '../store/embedded-postgres.ts';
import { isCatalogMessage, WORKER_DRAIN_MS, type PrimaryMessage, type WorkerMessage } from './api-worker-link.ts';
import { importBundledProductsIfEmpty } from './api.ts';
import { migrateToLatest, startDatabaseServer } from './dependencies.ts';
import type { RoleContext } from './role.ts';

/** Restart backoff after a crash: doubled per crash in the window, from this, up to MAX. */
const RESTART_BACKOFF_MS = 100;
const RESTART_BACKOFF_MAX_MS = 10_000;
const CRASH_WINDOW_MS = 60_000;

/** How long after the workers' own shutdown bound the primary stops waiting for them. */
const WORKER_EXIT_GRACE_MS = 5000;

/**
 * Crash-loop bound: a worker that keeps dying (a broken release, a database that refuses every
 * connection) must end the primary with a non-zero code so systemd or the operator notices, instead of
 * being forked forever. More than `limit` crashes within a minute gives up.
 */
export function createCrashPolicy(limit: number, now: () => number = Date.now) {
  const crashes: number[] = [];
  return {
    /** A worker crashed: how long to wait before replacing it, or 'give up'. */
    crashed(): number | 'give up' {
      const at = now();
      while (crashes.length > 0 && (crashes[0] as number) <= at - CRASH_WINDOW_MS) crashes.shift();
      crashes.push(at);
      if (crashes.length > limit) return 'give up';
      return Math.min(RESTART_BACKOFF_MS * 2 ** (crashes.length - 1), RESTART_BACKOFF_MAX_MS);
    },
  };
}

export function crashLimit(workers: number): number {
  return Math.max(5, 2 * workers);
}

/**
 * The embedded database (npm start without DATABASE_URL) is started here once, migrated and given the
 * bundled products, and its URL handed to the workers: each starting its own would fight over one data
 * directory. With DATABASE_URL and MIGRATE_ON_START the primary migrates once, not every worker at once.
 */
async function prepareDatabase(context: RoleContext): Promise<{ env: Record<string, string>; embedded?: EmbeddedDatabase }> {
  const { config, log, startEmbedded } = context;
  const settings = config.database;
  if (settings.url && !settings.migrateOnStart) return { env: {} };
  const { url, embedded } = await startDatabaseServer(config, log, startEmbedded);
  const database = createDatabase({ primary: url }, settings, log);
  try {
    await migrateToLatest(database.primary, log);
    if (embedded) await importBundledProductsIfEmpty(database.primary, log);
  } catch (error) {
    await embedded?.stop();
    throw error;
  } finally {
    await database.close();
  }
  return { env: { MIGRATE_ON_START: 'false', ...(embedded ? { DATABASE_URL: embedded.url } : {}) }, embedded };
}

export async function runApiWorkers(context: RoleContext): Promise<'running'> {
  const { env, embedded } = await prepareDatabase(context);
  const pool = new ApiWorkerPool(context, env, embedded);
  process.on('SIGTERM', (signal) => pool.onStopSignal(signal));
  process.on('SIGINT', (signal) => pool.onStopSignal(signal));
  process.on('SIGUSR2', () => void pool.reload());
  await pool.start();
  return 'running';
}

class ApiWorkerPool {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #env: Record<string, string>;
  readonly #embedded: EmbeddedDatabase | undefined;
  readonly #count: number;
  readonly #crashes: ReturnType<typeof createCrashPolicy>;
  readonly #metrics = createPrimaryMetrics();
  readonly #aggregator = new AggregatorRegistry();
  /** Told to stop by the primary: their exit is expected. */
  readonly #retiring = new Set<Worker>();
  readonly #listening = new Set<Worker>();
  #stopping = false;
  #reloading = false;
  #exitCode = 0;

  constructor(context: RoleContext, env: Record<string, string>, embedded: EmbeddedDatabase | undefined) {
    this.#config = context.config;
    this.#log = context.log;
    this.#env = env;
    this.#embedded = embedded;
    this.#count = context.config.apiWorkers;
    this.#crashes = createCrashPolicy(crashLimit(this.#count));
    this.#metrics.workers.set(this.#count);
    cluster.on('listening', (worker, address) => {
      this.#listening.add(worker);
      this.#metrics.listening.set(this.#listening.size);
      this.#log.info({ worker: worker.id, pid: worker.process.pid, port: address.port }, 'api worker listening');
    });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
  }

  async start(): Promise<void> {
    const started = Array.from({ length: this.#count }, () => this.#fork('start'));
    const ready = await Promise.all(started.map(listening));
    this.#log.info({ workers: this.#count, listening: ready.filter(Boolean).length, pids: started.map((worker) => worker.process.pid) }, 'api workers ready');
  }

  /** SIGUSR2: one worker at a time, the new one listening before the old one is told to stop. */
  async reload(): Promise<void> {
    if (this.#reloading || this.#stopping) {
      this.#log.warn({ reloading: this.#reloading, stopping: this.#stopping }, 'reload ignored: one is already running or the api is stopping');
      return;
    }
    this.#reloading = true;
    const old = this.#workers().filter((worker) => !this.#retiring.has(worker));
    this.#log.info({ workers: old.length }, 'reloading api workers one at a time');
    try {
      for (const previous of old) {
        if (this.#stopping) return;
        const next = this.#fork('reload');
        if (!(await listening(next))) {
          this.#log.error({ worker: next.id }, 'a new api worker exited before listening; reload stopped, the old workers left keep serving');
          return;
        }
        if (this.#stopping) return;
        this.#stop(previous);
        await exited(previous);
      }
      this.#log.info({ workers: this.#count, pids: this.#workers().map((worker) => worker.process.pid) }, 'api workers reloaded');
    } finally {
      this.#reloading = false;
    }
  }

  onStopSignal(signal: NodeJS.Signals): void {
    if (!this.#stopping) {
      void this.#stopAll(signal);
      return;
    }
    this.#log.warn({ signal }, 'second signal during shutdown; killing the api workers and exiting at once');
    this.#forceExit();
  }

  #workers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
  }

  #fork(reason: string): Worker {
    const worker = cluster.fork(this.#env);
    this.#log.info({ worker: worker.id, pid: worker.process.pid, reason }, 'api worker started');
    worker.on('message', (message: unknown) => this.#onMessage(worker, message));
    return worker;
  }

  /** A worker that listens shuts down through its own graceful path; one still starting is just ended. */
  #stop(worker: Worker): void {
    this.#retiring.add(worker);
    if (this.#listening.has(worker) && worker.isConnected()) worker.send({ catalog: 'stop' } satisfies PrimaryMessage);
    else worker.process.kill('SIGTERM');
  }

  #onExit(worker: Worker, code: number, signal: string | null): void {
    this.#listening.delete(worker);
    this.#metrics.listening.set(this.#listening.size);
    const context = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (this.#retiring.delete(worker) || this.#stopping) {
      if (code !== 0) this.#exitCode = 1;
      this.#log.info(context, 'api worker exited');
      return;
    }
    const crashed = code !== 0 || signal !== null;
    const wait = crashed ? this.#crashes.crashed() : 0;
    if (wait === 'give up') {
      this.#log.fatal({ ...context, limit: crashLimit(this.#count), windowMs: CRASH_WINDOW_MS }, 'api workers keep crashing; stopping');
      this.#exitCode = 1;
      void this.#stopAll('crash loop');
      return;
    }
    this.#metrics.restarts.inc({ reason: crashed ? 'crash' : 'exit' });
    this.#log.error({ ...context, restartInMs: wait }, 'api worker exited unexpectedly; replacing it');
    setTimeout(() => {
      if (!this.#stopping) this.#fork(crashed ? 'crash' : 'exit');
    }, wait);
  }

  #onMessage(from: Worker, message: unknown): void {
    if (!isCatalogMessage<WorkerMessage>(message)) return;
    if (message.catalog === 'invalidate') {
      // Without Redis a change reaches only the near cache of the worker that indexed it: tell the others.
      for (const worker of this.#workers()) {
        if (worker !== from && worker.isConnected()) worker.send({ catalog: 'invalidate', tags: message.tags } satisfies PrimaryMessage);
      }
    } else if (message.catalog === 'metrics-request') {
      const answer = (reply: PrimaryMessage) => from.isConnected() && from.send(reply);
      void this.#clusterMetrics().then(
        (text) => answer({ catalog: 'metrics', id: message.id, text }),
        (error: unknown) => answer({ catalog: 'metrics', id: message.id, error: (error as Error).message }),
      );
    }
  }

  async #clusterMetrics(): Promise<string> {
    const [workers, own] = await Promise.all([this.#aggregator.clusterMetrics(), this.#metrics.registry.metrics()]);
    return `${workers}\n${own}`;
  }

  async #stopAll(reason: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const workers = this.#workers();
    this.#log.info({ reason, workers: workers.length }, 'stopping api workers');
    // A backstop: each worker bounds its own shutdown (SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS).
    const shutdown = this.#config.shutdown;
    const bound = Math.max(shutdown.delayMs, WORKER_DRAIN_MS) + shutdown.timeoutMs + WORKER_EXIT_GRACE_MS;
    const forced = setTimeout(() => {
      this.#log.error({ timeoutMs: bound }, 'api workers did not exit in time; killing them');
      this.#forceExit();
    }, bound);
    for (const worker of workers) this.#stop(worker);
    await Promise.all(workers.map(exited));
    clearTimeout(forced);
    try {
      await this.#embedded?.stop();
    } catch (error) {
      this.#exitCode = 1;
      this.#log.error({ err: error }, 'embedded PostgreSQL did not stop cleanly');
    }
    this.#log.info({ exitCode: this.#exitCode }, 'api workers stopped');
    process.exit(this.#exitCode);
  }

  #forceExit(): never {
    for (const worker of this.#workers()) worker.process.kill('SIGKILL');
    process.exit(1);
  }
}

/** Resolves true once the worker listens, false if it exits first. */
function listening(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const onListening = () => {
      worker.off('exit', onExit);
      resolve(true);
    };
    const onExit = () => {
      worker.off('listening', onListening);
      resolve(false);
    };
    worker.once('listening', onListening);
    worker.once('exit', onExit);
  });
}

function exited(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

function createPrimaryMetrics() {
  const registry = new Registry();
  const workers = new Gauge({ name: 'catalog_api_workers', help: 'API_WORKERS: the workers cluster mode keeps running', registers: [registry] });
  const listening = new Gauge({ name: 'catalog_api_workers_listening', help: 'Workers listening now (lower during a reload or after a crash)', registers: [registry] });
  const restarts = new Counter({ name: 'catalog_api_worker_restarts_total', help: 'Workers replaced after they exited unasked, by reason (crash: a non-zero code or a signal)', labelNames: ['reason'], registers: [registry] });
  return { registry, workers, listening, restarts };
}
