import { Redis } from 'ioredis';
import type { Logger } from 'pino';

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
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const client = new Redis(url, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs ?? 100,
    connectTimeout: options.connectTimeoutMs ?? 1_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
    connectionName: options.connectionName ?? 'catalog-cache',
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
