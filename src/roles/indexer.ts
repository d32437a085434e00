// `indexer`: consumes the change topic, writes each changed product's search document and
// invalidates every cached page the change touched, on every pod (docs/change-pipeline.md). Serves
// /health and /metrics on PORT. On SIGTERM the consumer finishes and commits the batch in hand and
// leaves its group before the producer, Redis and the database close: nothing is lost or applied twice.
import { ConfigError } from '../config.ts';
import { createChangeIndexer } from '../events/change-indexer.ts';
import { createKafkaDeadLetterSink } from '../events/dead-letters.ts';
import { createKafkaChangeConsumer } from '../events/kafka-change-consumer.ts';
import { createKafkaClient } from '../events/kafka-client.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';
import { loadSearchDocumentChanges } from '../store/search-documents.ts';
import { buildChangeInvalidation, buildInvalidator, closeRedis, openDatabase, openRedis } from './dependencies.ts';
import { startOperationsServer } from './operations-server.ts';
import { openIndexerSearchIndex } from './search-indexes.ts';
import type { Role } from './role.ts';
import { handleShutdown } from './shutdown.ts';

const INDEXER_REDIS_COMMAND_TIMEOUT_MS = 2_000;

export const runIndexer: Role = async ({ config, log }) => {
  const kafkaSettings = config.changeFeed.kafka;
  if (!kafkaSettings) throw new ConfigError('KAFKA_BROKERS is not set: without Kafka the api process runs the indexer in process');
  // Without Redis an indexer could invalidate no pod's cache, which is half of what it is for.
  if (!config.cache.redis) throw new ConfigError("neither REDIS_URL nor REDIS_SENTINELS is set: the indexer invalidates the fleet's caches in Redis");
  const database = await openDatabase(config, log, { migrate: false });
  // Invalidations are bulk work, not a shopper's wait: a read's command timeout would fail them, and
  // open the breaker, whenever a large batch meets a busy Redis.
  const redisSettings = { ...config.cache, redisCommandTimeoutMs: Math.max(config.cache.redisCommandTimeoutMs, INDEXER_REDIS_COMMAND_TIMEOUT_MS) };
  const redis = (await openRedis(redisSettings, log, 'catalog-indexer'))!;
  const fleet = buildInvalidator(redisSettings, redis);
  // With a replica, each change is invalidated again past its lag bound (docs/caching.md).
  const invalidator = buildChangeInvalidation(config.database, fleet, log);
  const metrics = createMetricsRegistry();
  // A consumer's reconnects keep trying through a broker restart; the group's own retries end the pod only after that.
  const kafka = createKafkaClient(kafkaSettings, log, { retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 } });
  const producer = kafka.producer();
  const search = await openIndexerSearchIndex(config, database.primary, { log, metrics, invalidator });
  const indexer = createChangeIndexer({
    documents: (ids) => loadSearchDocumentChanges(database.primary, ids),
    searchIndex: search.searchIndex,
    invalidator,
    deadLetters: createKafkaDeadLetterSink({ producer, topic: kafkaSettings.deadLetterTopic }),
    log,
    metrics,
    settings: config.changeFeed.indexer,
  });
  const consumer = createKafkaChangeConsumer({
    kafka,
    settings: kafkaSettings,
    concurrency: config.changeFeed.indexer.concurrency,
    indexer,
    log,
    metrics,
    // kafkajs gave up: exit non-zero so the orchestrator restarts the pod (uncommitted work is redelivered).
    onFatal: () => void shutdown.run('consumer crashed').then(() => process.exit(1)),
  });

  const operations = await startOperationsServer({
    host: config.host,
    port: config.port,
    log,
    metrics,
    readiness: {
      async check() {
        if (!consumer.joined()) throw new Error('not yet a member of the consumer group');
        const [postgres, shared] = await Promise.allSettled([database.primary.query('SELECT 1'), redis.ping()]);
        // Ready all the same: an outage only makes the indexer wait and retry.
        return { postgres: postgres.status === 'fulfilled' ? 'up' : 'down', redis: shared.status === 'fulfilled' ? 'up' : 'down' };
      },
    },
  });
  const shutdown = handleShutdown({
    log,
    ...config.shutdown,
    stopTakingWork: () => operations.drain(),
    // The consumer first: its last batch may still dead-letter through the producer and needs Redis
    // and the database to finish.
    steps: [
      { name: 'consumer', close: () => consumer.stop() },
      { name: 'dead-letter producer', close: () => producer.disconnect() },
      { name: 'operations server', close: () => operations.close() },
      { name: 'search indexes', close: () => search.close() },
      { name: 'invalidator', close: () => invalidator.close().finally(() => fleet.close()) },
      { name: 'redis', close: () => closeRedis(redis) },
      { name: 'database', close: () => database.close() },
    ],
  });

  await producer.connect();
  await consumer.start();
  const address = operations.origin;
  log.info(
    { topic: kafkaSettings.changeTopic, group: kafkaSettings.indexerGroup, deadLetterTopic: kafkaSettings.deadLetterTopic, address },
    `catalog indexer consuming ${kafkaSettings.changeTopic}; health and metrics on ${address}`,
  );
  return 'running';
};
