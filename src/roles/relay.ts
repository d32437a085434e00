// `relay`: publishes the outbox to Kafka (events/outbox-relay.ts). Run two or more for availability:
// one publishes, the others stand by. Serves the probes and /metrics on PORT. On SIGTERM it finishes
// the batch in flight, releases the lock (a standby takes over), then closes the producer and the pool.
import { ConfigError } from '../config.ts';
import { createKafkaChangePublisher } from '../events/kafka-change-publisher.ts';
import { createOutboxRelay } from '../events/outbox-relay.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';
import { openDatabase } from './dependencies.ts';
import { startOperationsServer } from './operations-server.ts';
import type { Role } from './role.ts';
import { handleShutdown } from './shutdown.ts';

export const runRelay: Role = async ({ config, log, startEmbedded }) => {
  const kafka = config.changeFeed.kafka;
  if (!kafka) {
    throw new ConfigError('KAFKA_BROKERS is not set: the relay role publishes to Kafka (without Kafka, the api process relays the outbox in process)');
  }
  const database = await openDatabase(config, log, { migrate: config.database.migrateOnStart, startEmbedded });
  const metrics = createMetricsRegistry();
  const publisher = createKafkaChangePublisher({ kafka, log });
  const relay = createOutboxRelay({ pool: database.primary, publisher, log, metrics, settings: config.changeFeed.outbox });

  const operations = await startOperationsServer({
    host: config.host,
    port: config.port,
    log,
    metrics,
    readiness: {
      async check() {
        try {
          await database.primary.query('SELECT 1');
        } catch (error) {
          throw new Error(`PostgreSQL: ${(error as Error).message}`, { cause: error });
        }
        return { postgres: 'up', redis: 'not configured' };
      },
    },
  });
  handleShutdown({
    log,
    ...config.shutdown,
    stopTakingWork: () => operations.drain(),
    // The batch in flight is published and marked before the producer and the pool it needs go.
    steps: [
      { name: 'outbox relay', close: () => relay.stop() },
      { name: 'kafka producer', close: () => publisher.close() },
      { name: 'operations http', close: () => operations.close() },
      { name: 'database', close: () => database.close() },
    ],
  });
  relay.start();

  const address = operations.origin;
  log.info({ address, role: 'relay', topic: kafka.changeTopic }, `catalog service listening on ${address}`);
  return 'running';
};
