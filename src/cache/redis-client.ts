import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTarget } from './redis-target.ts';

export interface RedisClientOptions {
  /** Per-command timeout: a slow Redis must not hold a request. Default 100. */
  commandTimeoutMs?: number;
  /** TCP connect timeout. Default 1_000. */
  connectTimeoutMs?: number;
  /** Ceiling of the exponential reconnect delay. Default 2_000. */
  maxReconnectDelayMs?: number;
  connectionName?: string;
  log?: Logger;
}

/**
 * A client for the cache: it never queues commands while disconnected (they fail at once and the
 * cache falls back to the origin), never replays in-flight commands after a reconnect, keeps
 * reconnecting forever with capped backoff, and logs connection errors instead of crashing.
 *
 * With Sentinel, each (re)connect asks the Sentinels for the current primary and checks the node's
 * role, so after a failover the same client (and its duplicates: the subscriber) lands on the
 * promoted replica; the failover detector also drops a connection to a primary Sentinel demoted
 * while it still answers (a partition), instead of writing to it until it goes away.
 */
export function createRedisClient(target: string | RedisTarget, options: RedisClientOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const backoff = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay);
  const common: RedisOptions = {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 100,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    retryStrategy: backoff,
    connectionName: options.connectionName ?? 'catalog-cache',
  };
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'url', url: target } : target;
  const client =
    resolved.kind === 'url'
      ? new Redis(resolved.url, common)
      : new Redis({
          ...common,
          sentinels: resolved.sentinels,
          name: resolved.masterName,
          role: 'master',
          password: resolved.password,
          sentinelPassword: resolved.sentinelPassword,
          // All Sentinels unreachable: keep asking, with the same capped backoff (null would give up for good).
          sentinelRetryStrategy: backoff,
          sentinelCommandTimeout: options.connectTimeoutMs ?? 1_000,
          failoverDetector: true,
        });
  // Without an 'error' listener ioredis errors would be unhandled; log each distinct one once
  // per outage rather than on every reconnect attempt.
  let lastError = '';
  client.on('error', (error: Error) => {
    if (error.message !== lastError) options.log?.warn({ err: error }, 'redis connection error');
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) options.log?.info('redis connection ready again');
    lastError = '';
  });
  return client;
}

/** Resolves true once the client is ready, false after timeoutMs (startup may proceed without Redis). */
export function waitForRedisReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    client.once('ready', onReady);
  });
}
