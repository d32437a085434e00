// The embedded default (no KAFKA_BROKERS): the api process relays its outbox straight to its own
// indexer. The same relay publishes; only the carrier differs: a batch is handed over as the messages
// a Kafka partition would have delivered, and the rows are marked published only once the indexer
// applied them, so a crash in between replays them as Kafka would.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ChangeFeedConfig } from '../config.ts';
import { CHANGE_HEADERS, type ChangeMessage, type ChangePublisher, type OutboxMessage } from './change-feed.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.ts';

/** The topic in-process messages name (and dead letters of the in-process feed record). */
export const IN_PROCESS_TOPIC = 'in-process';

/** Receives a batch in outbox order; resolves once every message is applied. A rejection leaves the batch unpublished: it is delivered again. */
export type ChangeDelivery = (messages: ChangeMessage[]) => Promise<void>;

/** An outbox row as the indexer would receive it from Kafka: its offset is the outbox id, so it rises in order. */
export function toChangeMessage(message: OutboxMessage): ChangeMessage {
  return {
    topic: IN_PROCESS_TOPIC,
    partition: 0,
    offset: message.id,
    key: message.key,
    value: Buffer.from(message.value),
    headers: { ...CHANGE_HEADERS },
  };
}

export function createInProcessPublisher(deliver: ChangeDelivery): ChangePublisher {
  return {
    async publish(messages: readonly OutboxMessage[]): Promise<void> {
      if (messages.length === 0) return;
      await deliver(messages.map(toChangeMessage));
    },
    async close(): Promise<void> {},
  };
}

export interface InProcessChangeFeedOptions {
  /** The primary's pool. */
  pool: pg.Pool;
  deliver: ChangeDelivery;
  log: Logger;
  metrics: Registry;
  settings: ChangeFeedConfig['outbox'];
}

/**
 * The relay with the in-process publisher, started: what the api role runs without KAFKA_BROKERS.
 * Stop it before the indexer it delivers to and before the pool.
 */
export function startInProcessChangeFeed(options: InProcessChangeFeedOptions): Pick<OutboxRelay, 'stop' | 'leader'> {
  const relay = createOutboxRelay({ ...options, publisher: createInProcessPublisher(options.deliver) });
  relay.start();
  return relay;
}
