// What the service shows an orchestrator and a monitoring system, taken from the code itself rather
// than from a list: the metrics each role's registry exports and the routes each role answers on PORT.
// Built the way the roles build them (src/roles/api.ts, relay.ts, indexer.ts), on a PostgreSQL that
// is never reached (pools connect lazily) and with Kafka clients that never connect, so it needs
// neither: a unit test can use it.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { buildApp, type CatalogApp } from '../../src/api/app.ts';
import { createProductAdminStore } from '../../src/store/product-admin-store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createChangeIndexer } from '../../src/events/change-indexer.ts';
import { createKafkaChangeConsumer } from '../../src/events/kafka-change-consumer.ts';
import { createKafkaClient } from '../../src/events/kafka-client.ts';
import { createOutboxRelay } from '../../src/events/outbox-relay.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { startOperationsServer, type OperationsServer } from '../../src/roles/operations-server.ts';
import { createReadPath, type ReadPath } from '../../src/roles/read-path.ts';
import { openIndexerSearchIndex } from '../../src/roles/search-indexes.ts';
import { createDatabase, type Database } from '../../src/store/database.ts';

// Routes that log at 'warn' (readiness) override a silent logger's level: discard what they write.
const silentLog = pino({ level: 'silent' }, new Writable({ write: (_chunk, _encoding, done) => done() }));

export interface ServiceSurface {
  /** Every series name a role exports (histograms and summaries as their _bucket/_sum/_count series). */
  metricNames: ReadonlySet<string>;
  /** The metric families as registered (a histogram once, by its own name). */
  metricFamilies: ReadonlySet<string>;
  /** The HTTP status a role's server answers GET `path` with (404: no such route). */
  status(role: 'api' | 'relay' | 'indexer', path: string): Promise<number>;
  close(): Promise<void>;
}

// Nothing listens here: a query fails at once, which the readiness probe reports as a 503.
const UNREACHABLE = {
  DATABASE_URL: 'postgres://catalog@127.0.0.1:1/catalog',
  KAFKA_BROKERS: '127.0.0.1:1',
  OPENSEARCH_URL: 'http://127.0.0.1:1',
  DATABASE_CONNECT_TIMEOUT_MS: '500',
};

export async function buildServiceSurface(): Promise<ServiceSurface> {
  // OpenSearch configured, so the search breaker, fallbacks and the pending gauge are registered too.
  const config = loadConfig(UNREACHABLE);
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const database = createDatabase({ primary: config.database.url! }, config.database, silentLog);
    closers.push(() => database.close());
    const api = await buildApi(config, database, closers);
    const relay = await buildRelay(config, database, closers);
    const indexer = await buildIndexer(config, database, closers);
    const metricNames = new Set<string>();
    const metricFamilies = new Set<string>();
    for (const registry of [api.readPath.metrics, relay.metrics, indexer.metrics]) {
      for (const name of await seriesNames(registry)) metricNames.add(name);
      for (const metric of await registry.getMetricsAsJSON()) metricFamilies.add(metric.name);
    }
    return {
      metricNames,
      metricFamilies,
      async status(role, path) {
        if (role === 'api') return (await api.app.inject({ method: 'GET', url: path })).statusCode;
        const server = role === 'relay' ? relay.operations : indexer.operations;
        return (await fetch(new URL(path, server.origin))).status;
      },
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

async function buildApi(config: Config, database: Database, closers: (() => Promise<unknown>)[]): Promise<{ app: CatalogApp; readPath: ReadPath }> {
  const readPath = await createReadPath(config, database, silentLog);
  closers.unshift(() => readPath.close());
  // The admin API as the api role serves it (its rate limit and metric come with it); never written to.
  const admin = { store: createProductAdminStore({ pool: database.primary, idempotencyTtlMs: config.admin.idempotencyTtlMs }), tokens: config.admin.tokens };
  const app = await buildApp({ ...readPath, admin });
  closers.unshift(() => app.close());
  await app.ready();
  return { app, readPath };
}

async function buildRelay(config: Config, database: Database, closers: (() => Promise<unknown>)[]) {
  const metrics = createMetricsRegistry();
  // Never started: the relay's constructor registers its metrics; its publisher is never called.
  createOutboxRelay({
    pool: database.primary,
    publisher: { publish: () => Promise.reject(new Error('not for publishing')), close: () => Promise.resolve() },
    log: silentLog,
    metrics,
    settings: config.changeFeed.outbox,
  });
  const operations = await operationsServer(metrics, closers);
  return { metrics, operations };
}

async function buildIndexer(config: Config, database: Database, closers: (() => Promise<unknown>)[]) {
  const metrics = createMetricsRegistry();
  const invalidator = { invalidate: () => Promise.resolve() };
  const search = await openIndexerSearchIndex(config, database.primary, { log: silentLog, metrics, invalidator });
  closers.unshift(() => search.close());
  const indexer = createChangeIndexer({
    documents: () => Promise.resolve([]),
    searchIndex: search.searchIndex,
    invalidator,
    deadLetters: { send: () => Promise.resolve() },
    log: silentLog,
    metrics,
    settings: config.changeFeed.indexer,
  });
  // Never started: the consumer registers the lag gauge it sets.
  createKafkaChangeConsumer({ kafka: createKafkaClient(config.changeFeed.kafka!, silentLog), settings: config.changeFeed.kafka!, concurrency: 1, indexer, log: silentLog, metrics });
  const operations = await operationsServer(metrics, closers);
  return { metrics, operations };
}

async function operationsServer(metrics: Registry, closers: (() => Promise<unknown>)[]): Promise<OperationsServer> {
  const operations = await startOperationsServer({
    host: '127.0.0.1',
    port: 0,
    log: silentLog,
    metrics,
    readiness: { check: () => Promise.reject(new Error('not connected')) },
  });
  closers.unshift(() => operations.close());
  return operations;
}

async function seriesNames(registry: Registry): Promise<string[]> {
  const suffixes: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };
  const metrics = await registry.getMetricsAsJSON();
  return metrics.flatMap((metric) => (suffixes[String(metric.type)] ?? ['']).map((suffix) => metric.name + suffix));
}

async function closeAll(closers: (() => Promise<unknown>)[]): Promise<void> {
  for (const close of closers) await close().catch(() => undefined);
}
