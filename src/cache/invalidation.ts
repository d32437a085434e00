import type { Redis } from 'ioredis';
import type { KeySpace } from './key-space.ts';

/**
 * Invalidation by tag generations: each tag has a counter; an entry records the generations it
 * was built with and is valid only while they are still current. Invalidating is one INCR per
 * tag (no SCAN, no key list per tag), plus a pub/sub message so every pod drops its near copies.
 *
 * The counters expire after tagTtlMs (refreshed on each bump), which must exceed the longest
 * entry lifetime: an entry built at generation g cannot outlive the counter that moved past g.
 */
export async function bumpTagGenerations(redis: Redis, keys: KeySpace, tags: readonly string[], tagTtlMs: number): Promise<void> {
  const unique = [...new Set(tags)];
  if (unique.length === 0) return;
  const multi = redis.multi();
  for (const tag of unique) {
    multi.incr(keys.tag(tag));
    multi.pexpire(keys.tag(tag), Math.ceil(tagTtlMs));
  }
  multi.publish(keys.invalidationChannel, encodeInvalidation(unique));
  const results = await multi.exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction for invalidation was discarded');
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
