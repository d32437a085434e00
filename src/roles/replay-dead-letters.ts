// `replay-dead-letters`: once the cause of a dead letter is fixed, sends the dead letters back the way
// changes come and exits, printing how many. The change_dead_letters table (the in-process feed's)
// goes back into the outbox; with KAFKA_BROKERS, the dead-letter topic is re-produced to the change
// topic. Re-driving a change already applied, or older than the index, is harmless (versions). No signal
// handler: a SIGTERM ends it at once, which is safe for the same reason: each batch is produced before
// its offsets are committed (or its rows marked in the same transaction), so the next run re-drives at
// most that batch again.
import { replayKafkaDeadLetters, replayPostgresDeadLetters } from '../events/dead-letter-replay.ts';
import { createKafkaClient } from '../events/kafka-client.ts';
import { openDatabase } from './dependencies.ts';
import type { Role } from './role.ts';

export const runReplayDeadLetters: Role = async ({ config, log, startEmbedded }) => {
  const database = await openDatabase(config, log, { migrate: false, startEmbedded });
  try {
    const table = await replayPostgresDeadLetters(database.primary);
    const lines = [`replayed ${table.replayed} dead letter(s) from change_dead_letters into the outbox`];
    if (table.unreadable > 0) lines.push(`left ${table.unreadable} dead letter(s) in change_dead_letters that are not change events of this release`);
    const kafkaSettings = config.changeFeed.kafka;
    if (kafkaSettings) {
      const replayed = await replayKafkaDeadLetters({ kafka: createKafkaClient(kafkaSettings, log), settings: kafkaSettings, log });
      lines.push(`replayed ${replayed} dead letter(s) from ${kafkaSettings.deadLetterTopic} to ${kafkaSettings.changeTopic}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await database.close();
  }
};
