// The one way a role builds its kafkajs client: brokers and client id from the config, kafkajs's
// log lines on the role's pino logger, and retries short enough that a call to a broker that is
// down fails within seconds and the caller's own backoff (relay, indexer) takes over.
import { Kafka, logLevel, type LogEntry, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.ts';

export const DEFAULT_KAFKA_RETRY: RetryOptions = { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 };

export interface KafkaClientOptions {
  retry?: RetryOptions;
  /** How long an identical kafkajs warning or error is not logged again (default 60 s). */
  repeatWindowMs?: number;
}

export function createKafkaClient(settings: KafkaConfig, log: Logger, options: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    retry: options.retry ?? DEFAULT_KAFKA_RETRY,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(log.child({ component: 'kafkajs' }), options.repeatWindowMs ?? 60_000),
  });
}

const LEVELS: Partial<Record<logLevel, 'error' | 'warn' | 'info' | 'debug'>> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs every failed connection and every retry: with a broker down that is a line per
 * attempt per connection. The caller reports the outage once, so an identical warning or error is
 * logged once per window; the next one says how many were left out.
 */
export function kafkaLogCreator(log: Logger, repeatWindowMs: number): () => (entry: LogEntry) => void {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return () =>
    ({ namespace, level, log: content }) => {
      const method = LEVELS[level] ?? 'info';
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = content as typeof content & { logger?: string };
      let suppressedBefore = 0;
      if (method === 'error' || method === 'warn') {
        const key = `${namespace}\u0000${message}`;
        const now = Date.now();
        const seen = lastLogged.get(key);
        if (seen && now - seen.at < repeatWindowMs) {
          seen.suppressed += 1;
          return;
        }
        suppressedBefore = seen?.suppressed ?? 0;
        if (lastLogged.size >= 1000) lastLogged.clear();
        lastLogged.set(key, { at: now, suppressed: 0 });
      }
      log[method]({ namespace, ...extra, ...(suppressedBefore > 0 ? { suppressedBefore } : {}) }, message);
    };
}
