// Re-drives dead letters once their cause is fixed. Each goes back the way changes come, so the
// indexer applies it like any other: a dead letter that is older than what the index holds changes
// nothing but its (harmless) invalidation, thanks to versions.
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.ts';
import { decodeChangeMessage } from './change-indexer.ts';
import { withoutDeadLetterHeaders } from './dead-letters.ts';
import { decodeHeaders } from './kafka-change-consumer.ts';

/**
 * The dead-letter topic, from where this replay group last stopped (the start, the first time) up
 * to its end as it was when the replay began, re-produced to the change topic with the original key,
 * value and headers. Each partition's offset is committed only after its messages are acknowledged,
 * so an interrupted replay re-drives at most a batch twice (harmless) and never skips one.
 * Resolves with how many it re-produced.
 */
export async function replayKafkaDeadLetters(options: {
  kafka: Kafka;
  settings: Pick<KafkaConfig, 'changeTopic' | 'deadLetterTopic' | 'indexerGroup' | 'sessionTimeoutMs'>;
  log: Logger;
}): Promise<number> {
  const { kafka, settings, log } = options;
  const groupId = `${settings.indexerGroup}.replay`;
  const remaining = await deadLettersToReplay(kafka, settings.deadLetterTopic, groupId);
  if (remaining.size === 0) return 0;
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId, sessionTimeout: settings.sessionTimeoutMs, heartbeatInterval: Math.max(50, Math.floor(settings.sessionTimeoutMs / 10)), maxWaitTimeInMs: 500 });
  let replayed = 0;
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: settings.deadLetterTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          const due = batch.messages.filter((message) => BigInt(message.offset) < end);
          if (due.length > 0) {
            await producer.send({
              topic: settings.changeTopic,
              acks: -1,
              messages: due.map((message) => ({ key: message.key, value: message.value, headers: withoutDeadLetterHeaders(decodeHeaders(message.headers)) })),
            });
            replayed += due.length;
            const next = BigInt(due.at(-1)!.offset) + 1n;
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next.toString() }]);
            if (next < end) return;
          }
          remaining.delete(batch.partition);
          log.info({ partition: batch.partition }, 'dead letters of a partition replayed');
          if (remaining.size === 0) resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
  return replayed;
}

/** Per partition of the dead-letter topic, the end (exclusive) to replay to, where this group has not reached it. */
async function deadLettersToReplay(kafka: Kafka, topic: string, groupId: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return new Map();
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const from = new Map((committed?.partitions ?? []).map(({ partition, offset }) => [partition, BigInt(offset)]));
    const remaining = new Map<number, bigint>();
    for (const { partition, high, low } of ends) {
      const start = (from.get(partition) ?? -1n) < 0n ? BigInt(low) : (from.get(partition) as bigint);
      if (start < BigInt(high)) remaining.set(partition, BigInt(high));
    }
    return remaining;
  } finally {
    await admin.disconnect();
  }
}

export interface PostgresReplayReport {
  /** Put back in the outbox, to be relayed again. */
  replayed: number;
  /** Not a change event this release understands: left for an operator (replayed_at stays null). */
  unreadable: number;
}

/**
 * The in-process feed's dead letters (change_dead_letters rows not yet replayed): each goes back into
 * the outbox as the event it carried, in the same transaction that marks it replayed, so the relay
 * publishes it like any new change and nothing is replayed twice. Works with or without Kafka and
 * needs no Redis: the process that relays does the invalidating.
 */
export async function replayPostgresDeadLetters(pool: pg.Pool): Promise<PostgresReplayReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: number; topic: string; partition: number; offset: string; key: string | null; value: Buffer | null }>(
      `SELECT id, topic, partition, "offset", key, value FROM change_dead_letters WHERE replayed_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED`,
    );
    const readable: { id: number; productId: number; version: number; body: string }[] = [];
    for (const row of rows) {
      try {
        const { eventId: _eventId, committedAt: _committedAt, ...body } = decodeChangeMessage(row);
        readable.push({ id: row.id, productId: body.productId, version: body.version, body: JSON.stringify(body) });
      } catch {
        // Counted below; its row keeps replayed_at null.
      }
    }
    if (readable.length > 0) {
      await client.query(`INSERT INTO product_changes (product_id, version, event) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[])`, [
        readable.map((each) => each.productId),
        readable.map((each) => each.version),
        readable.map((each) => each.body),
      ]);
      await client.query(`UPDATE change_dead_letters SET replayed_at = now() WHERE id = ANY($1::bigint[])`, [readable.map((each) => each.id)]);
    }
    await client.query('COMMIT');
    return { replayed: readable.length, unreadable: rows.length - readable.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
