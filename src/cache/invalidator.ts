import type { Redis } from 'ioredis';
import type { CacheConfig } from '../config.ts';
import { createTagKeys } from './key-space.ts';
import type { TagKeys } from './key-space.ts';
import { createRedisGuard } from './redis-guard.ts';
import type { RedisBreakerOptions, RedisGuard } from './redis-guard.ts';

/**
 * Invalidation by tag generations: each tag has a counter; an entry records the generations it
 * was built with and is valid only while they are still current. Invalidating is one INCR per
 * tag (no SCAN, no key list per tag), plus a pub/sub message so every pod drops its near copies.
 * It needs no near cache and no subscriber, so a process that serves no reads (a change-feed
 * consumer) invalidates the same way the API does.
 */
export interface Invalidator {
  /** Rejects when Redis is unavailable: the caller (change feed) must retry, or pods keep serving the old entries until they expire. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** Stops its breaker (not the Redis client, which the caller owns). */
  close(): void;
}

export type InvalidatorSettings = Pick<CacheConfig, 'keyPrefix' | 'redisCommandTimeoutMs' | 'staleIfErrorMs' | 'lockTtlMs'>;

export interface InvalidatorOptions {
  redis: Redis;
  /** The config's cache settings (config.cache). */
  settings: InvalidatorSettings;
  /** A guard to share (the catalog cache's), so one breaker judges this Redis; absent: its own. */
  guard?: RedisGuard;
  redisBreaker?: RedisBreakerOptions;
  /**
   * With replicas a failover may promote (Sentinel): how long each bump waits for a replica to have
   * it (WAIT 1) before it counts as done. Replication is asynchronous: a bump only the old primary
   * held is lost when a replica is promoted, and every entry built before it is current again.
   * Absent or 0: no wait (a lone Redis has no replica to lose a bump to).
   */
  awaitReplicaMs?: number;
}

/**
 * How long a tag's counter lives after its last bump. It must outlive every entry that could carry
 * an older generation, or a counter gone back to 0 would match an entry built at 0 again: an entry
 * lives at most staleIfErrorMs, stored up to lockTtlMs after the load that read the generations.
 */
export function tagGenerationTtlMs(settings: Pick<CacheConfig, 'staleIfErrorMs' | 'lockTtlMs'>): number {
  return 2 * settings.staleIfErrorMs + settings.lockTtlMs;
}

/** How long a bump waits for a replica: inside the command timeout WAIT itself runs under. */
export function replicaWaitMs(commandTimeoutMs: number): number {
  return Math.max(1, Math.floor(commandTimeoutMs / 2));
}

export function createInvalidator(options: InvalidatorOptions): Invalidator {
  const { redis, settings } = options;
  const keys = createTagKeys(settings.keyPrefix);
  const ownsGuard = options.guard === undefined;
  const guard = options.guard ?? createRedisGuard(redis, settings.redisCommandTimeoutMs, options.redisBreaker);
  const tagTtlMs = tagGenerationTtlMs(settings);
  return {
    async invalidate(tags) {
      if (tags.length === 0) return;
      await guard.run(() => bumpTagGenerations(redis, keys, tags, tagTtlMs, options.awaitReplicaMs ?? 0));
    },
    close() {
      if (ownsGuard) guard.shutdown();
    },
  };
}

/**
 * Tags bumped per Redis transaction. A batch of changes can name thousands of tags (every category,
 * brand and related scope of 500 products); one transaction of them all outlasts a command timeout
 * meant for reads. Each tag's bump stands alone, so splitting loses nothing.
 */
export const TAGS_PER_TRANSACTION = 256;

async function bumpTagGenerations(redis: Redis, keys: TagKeys, tags: readonly string[], tagTtlMs: number, awaitReplicaMs: number): Promise<void> {
  const unique = [...new Set(tags)];
  for (let start = 0; start < unique.length; start += TAGS_PER_TRANSACTION) {
    const chunk = unique.slice(start, start + TAGS_PER_TRANSACTION);
    const multi = redis.multi();
    for (const tag of chunk) {
      multi.incr(keys.tag(tag));
      multi.pexpire(keys.tag(tag), Math.ceil(tagTtlMs));
    }
    multi.publish(keys.invalidationChannel, encodeInvalidation(chunk));
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction for invalidation was discarded');
    if (awaitReplicaMs > 0) await awaitReplica(redis, awaitReplicaMs);
  }
}

/**
 * Resolves once a replica acknowledged everything this connection wrote, or when no replica is
 * connected (a primary left alone after a failover has nothing to wait for: its bumps are lost only
 * with it). Rejects when a connected replica did not acknowledge in time: the caller retries, and a
 * second bump of a counter costs nothing but one more miss.
 */
async function awaitReplica(redis: Redis, timeoutMs: number): Promise<void> {
  if ((await redis.wait(1, timeoutMs)) >= 1) return;
  const role = (await redis.role()) as [string, number, unknown[]?];
  if (role[0] === 'master' && (role[2]?.length ?? 0) === 0) return;
  throw new Error(`invalidation not acknowledged by a replica within ${timeoutMs} ms`);
}

export function encodeInvalidation(tags: readonly string[]): string {
  return JSON.stringify(tags);
}

export function decodeInvalidation(message: string): string[] {
  try {
    const parsed: unknown = JSON.parse(message);
    return Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === 'string') : [];
  } catch {
    return [];
  }
}
