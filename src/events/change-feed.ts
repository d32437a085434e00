// The change feed's two sides, whatever carries it: the relay publishes outbox rows, the indexer
// receives them as messages. With KAFKA_BROKERS the carrier is Kafka (a producer, a consumer group);
// without, the api process hands the relay's batches straight to its own indexer (in process).
// Everything after the carrier is the same code.
import { CHANGE_EVENT_SCHEMA_VERSION, CHANGE_EVENT_TYPE } from '../catalog/product-change.ts';

/** The headers every change carries, whatever the carrier: a consumer can route or refuse one without parsing it. */
export const CHANGE_HEADERS: Readonly<Record<string, string>> = {
  'event-type': CHANGE_EVENT_TYPE,
  'schema-version': String(CHANGE_EVENT_SCHEMA_VERSION),
};

/** One outbox row as the relay publishes it: keyed by product id, so one product's changes share a partition. */
export interface OutboxMessage {
  /** The outbox row id (the event's eventId). */
  id: string;
  /** The product id, as a decimal string. */
  key: string;
  /** The change event as JSON (catalog/product-change.ts ProductChangeEvent). */
  value: string;
  /** When the write committed (ms since the epoch): for the commit-to-invalidation latency. */
  committedAt: number;
}

/** Where the relay sends a batch. Resolves once every message is acknowledged (Kafka, acks=all) or applied (in process). */
export interface ChangePublisher {
  publish(messages: readonly OutboxMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** A change as the indexer receives it: from a Kafka partition, or from the in-process feed. */
export interface ChangeMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
}
