import CircuitBreaker from 'opossum';
import type { Redis } from 'ioredis';

export interface RedisBreakerOptions {
  /** How long the breaker stays open before letting one trial call through. Default 2000. */
  resetTimeoutMs?: number;
  /** Failure percentage over the rolling window that opens the breaker. Default 50. */
  errorThresholdPercentage?: number;
  /** Calls in the window before the percentage counts (one blip does not open it). Default 10. */
  volumeThreshold?: number;
  /** Rolling statistics window. Default 10_000. */
  rollingWindowMs?: number;
}

/** Every Redis call goes through run(): a timeout plus an opossum breaker. */
export interface RedisGuard {
  run<T>(operation: () => Promise<T>): Promise<T>;
  /** Connected and the breaker is not open: worth trying Redis at all. */
  usable(): boolean;
  readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  shutdown(): void;
}

export function createRedisGuard(redis: Redis, timeoutMs: number, options: RedisBreakerOptions = {}): RedisGuard {
  const breaker = new CircuitBreaker<[() => Promise<unknown>], unknown>((operation) => operation(), {
    name: 'redis',
    // A client with its own commandTimeout (createRedisClient sets one) fails slow commands by
    // itself; a second timer per call here would cost a setTimeout on every cache read. Clients
    // built elsewhere get the breaker's timeout.
    timeout: redis.options.commandTimeout ? false : timeoutMs,
    resetTimeout: options.resetTimeoutMs ?? 2_000,
    errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
    volumeThreshold: options.volumeThreshold ?? 10,
    rollingCountTimeout: options.rollingWindowMs ?? 10_000,
  });
  return {
    run: <T>(operation: () => Promise<T>) => breaker.fire(operation) as Promise<T>,
    usable: () => redis.status === 'ready' && !breaker.opened,
    breaker,
    shutdown: () => breaker.shutdown(),
  };
}
