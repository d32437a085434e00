// Where the indexer puts a change it gave up on, so the messages after it go on and an operator can
// re-drive it once the cause is fixed (`replay-dead-letters`). With Kafka: the dead-letter topic,
// carrying the ORIGINAL key and value (a replay re-produces them untouched) and where it came from and
// why in headers. Without Kafka (the in-process feed): the change_dead_letters table.
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import { logError } from '../observability/logger.ts';
import type { ChangeMessage } from './change-feed.ts';

export interface DeadLetterSink {
  /** Resolves once the dead letter is stored (acks=all on Kafka); the indexer retries a rejection. */
  send(message: ChangeMessage, error: unknown, reason: string): Promise<void>;
}

/** The headers a dead letter carries beside the original message's own. */
export const DEAD_LETTER_HEADERS = {
  topic: 'dead-letter-topic',
  partition: 'dead-letter-partition',
  offset: 'dead-letter-offset',
  reason: 'dead-letter-reason',
  errorType: 'dead-letter-error-type',
  errorMessage: 'dead-letter-error-message',
  failedAt: 'dead-letter-failed-at',
} as const;

const OWN_HEADERS = new Set<string>(Object.values(DEAD_LETTER_HEADERS));

/** What an error says about itself, without anything a driver attached (connections, statements). */
function describe(error: unknown): { type: string; message: string } {
  const { type, message } = logError(error);
  return { type, message };
}

export function createKafkaDeadLetterSink({ producer, topic, now = Date.now }: { producer: Producer; topic: string; now?: () => number }): DeadLetterSink {
  return {
    async send(message, error, reason) {
      const { type, message: text } = describe(error);
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            // The original key keeps one product's dead letters on one partition, in order.
            key: message.key,
            value: message.value,
            headers: {
              ...withoutDeadLetterHeaders(message.headers),
              [DEAD_LETTER_HEADERS.topic]: message.topic,
              [DEAD_LETTER_HEADERS.partition]: String(message.partition),
              [DEAD_LETTER_HEADERS.offset]: message.offset,
              [DEAD_LETTER_HEADERS.reason]: reason,
              [DEAD_LETTER_HEADERS.errorType]: type,
              [DEAD_LETTER_HEADERS.errorMessage]: text,
              [DEAD_LETTER_HEADERS.failedAt]: new Date(now()).toISOString(),
            },
          },
        ],
      });
    },
  };
}

/** The message's own headers: a dead letter replayed and failing again carries only its latest failure. */
export function withoutDeadLetterHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !OWN_HEADERS.has(name)));
}

export function createPostgresDeadLetterSink({ pool }: { pool: Pick<pg.Pool, 'query'> }): DeadLetterSink {
  return {
    async send(message, error, reason) {
      await pool.query(`INSERT INTO change_dead_letters (topic, partition, "offset", key, value, error) VALUES ($1, $2, $3, $4, $5, $6)`, [
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        JSON.stringify({ reason, ...describe(error), headers: message.headers ?? {} }),
      ]);
    },
  };
}
