// The one way a role builds its kafkajs client: from config.changeFeed.kafka, logging through pino.
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafkaClient(settings: Pick<KafkaConfig, 'brokers' | 'clientId'>, log: Logger): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    // kafkajs logs a broker's every reconnect at ERROR; pino's level still filters what it passes on.
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
        kafkaLog[LEVELS[level] ?? 'info']({ namespace, ...fields }, message);
      },
    // Reconnects keep trying (a broker restart must not end the process); the callers retry sends.
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
  });
}
