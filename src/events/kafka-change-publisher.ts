// The relay's Kafka carrier: one producer, every change keyed by product id (so one product's changes
// share a partition) and acknowledged by all in-sync replicas before the relay marks it published.
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.ts';
import { CHANGE_HEADERS, type ChangePublisher, type OutboxMessage } from './change-feed.ts';
import { createKafkaClient } from './kafka-client.ts';

export interface KafkaChangePublisherOptions {
  kafka: KafkaConfig;
  log: Logger;
  /** Defaults to createKafkaClient(kafka, log). */
  client?: Kafka;
}

export function createKafkaChangePublisher(options: KafkaChangePublisherOptions): ChangePublisher {
  const client = options.client ?? createKafkaClient(options.kafka, options.log);
  // One request in flight and one send at a time (the relay awaits each batch): a retried request
  // can only duplicate, never overtake the one before it. kafkajs's idempotent producer would remove
  // those duplicates too, but not every broker we test against supports it, and consumers de-duplicate
  // by version anyway.
  const producer: Producer = client.producer({ maxInFlightRequests: 1, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
  let connecting: Promise<void> | undefined;
  let closed = false;
  // After a broker outage kafkajs may drop the producer's connection for good: connect again on the next send.
  producer.on(producer.events.DISCONNECT, () => {
    if (!closed) connecting = undefined;
  });

  async function connected(): Promise<void> {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    await connecting;
  }

  return {
    async publish(messages: readonly OutboxMessage[]): Promise<void> {
      if (closed) throw new Error('the change publisher is closed');
      if (messages.length === 0) return;
      await connected();
      await producer.send({
        topic: options.kafka.changeTopic,
        acks: -1,
        messages: messages.map((message) => ({
          key: message.key,
          value: message.value,
          headers: { ...CHANGE_HEADERS },
          timestamp: String(message.committedAt),
        })),
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (connecting) await producer.disconnect();
    },
  };
}
