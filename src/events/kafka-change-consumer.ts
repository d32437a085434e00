// The indexer's Kafka wiring: a consumer group on the change topic that hands each partition's batch
// to the change indexer and commits the batch's offsets only once processBatch resolved (documents
// written, caches invalidated, or dead-lettered). A crash before the commit redelivers the batch,
// which the version guard makes harmless. Partitions run concurrently up to INDEXER_CONCURRENCY;
// within one partition batches run in order, and the product id is the key, so one product's
// changes are applied in order.
import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KafkaConfig } from '../config.ts';
import type { ChangeMessage } from './change-feed.ts';
import type { ChangeIndexer } from './change-indexer.ts';
import { indexerMetrics } from './indexer-metrics.ts';

export interface KafkaChangeConsumerOptions {
  kafka: Kafka;
  settings: Pick<KafkaConfig, 'changeTopic' | 'indexerGroup' | 'sessionTimeoutMs'>;
  /** Partitions processed at once (INDEXER_CONCURRENCY). */
  concurrency: number;
  indexer: Pick<ChangeIndexer, 'processBatch'>;
  log: Logger;
  metrics: Registry;
  /** The consumer crashed and kafkajs will not restart it: the process should exit and be restarted. */
  onFatal?: (error: Error) => void;
}

export interface KafkaChangeConsumer {
  /** Joins the group and starts consuming; resolves once the consumer runs. */
  start(): Promise<void>;
  /** A member of the group, assigned its partitions (for readiness). */
  joined(): boolean;
  /**
   * Takes no new batch; a batch being applied finishes and commits, a batch waiting to retry gives up
   * uncommitted (it is redelivered); then leaves the group, so its partitions move at once.
   */
  stop(): Promise<void>;
}

export function createKafkaChangeConsumer(options: KafkaChangeConsumerOptions): KafkaChangeConsumer {
  const { kafka, settings, indexer, log } = options;
  const { lag } = indexerMetrics(options.metrics);
  const sessionTimeout = settings.sessionTimeoutMs;
  const consumer: Consumer = kafka.consumer({
    groupId: settings.indexerGroup,
    sessionTimeout,
    rebalanceTimeout: sessionTimeout * 2,
    heartbeatInterval: Math.max(50, Math.floor(sessionTimeout / 10)),
    // A long poll ends this soon on an idle topic, so a stop does not wait on it for long.
    maxWaitTimeInMs: 1000,
  });
  const stopping = new AbortController();
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    log.info({ group: payload.groupId, assignment: payload.memberAssignment }, 'indexer joined its consumer group');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    joined = false;
    log.error({ err: payload.error }, 'indexer consumer crashed and will not restart');
    options.onFatal?.(payload.error);
  });

  return {
    async start() {
      await consumer.connect();
      // From the beginning when the group has no offsets yet: a new indexer group re-applies the topic
      // (harmless: versions) rather than skip changes committed before it first joined.
      await consumer.subscribe({ topic: settings.changeTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrency,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
          if (batch.messages.length === 0 || !isRunning()) return;
          const messages = batch.messages.map((message) => toChangeMessage(batch.topic, batch.partition, message));
          await indexer.processBatch(messages, { heartbeat, signal: stopping.signal });
          const last = batch.lastOffset();
          resolveOffset(last);
          const next = (BigInt(last) + 1n).toString();
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
          lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(next))));
        },
      });
    },
    joined: () => joined,
    async stop() {
      stopping.abort(new Error('the indexer is shutting down'));
      // kafkajs waits for the batches in hand, then leaves the group.
      await consumer.disconnect();
      joined = false;
    },
  };
}

function toChangeMessage(topic: string, partition: number, message: KafkaMessage): ChangeMessage {
  return { topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value: message.value, headers: decodeHeaders(message.headers) };
}

/** Kafka headers as the strings the change feed carries (the first value of a repeated header). */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) decoded[name] = first.toString();
  }
  return decoded;
}
