import { LRUCache } from 'lru-cache';
import type { CachedResponse } from './cached-response.ts';

/** A ready-to-send response held in process, plus when it was last confirmed by Redis or the origin. */
export interface NearEntry {
  readonly response: CachedResponse;
  /** Epoch ms when Redis or the origin last vouched for this entry (-Infinity once Redis disowned it). */
  checkedAt: number;
  /** Earliest epoch ms at which a hit may start another background refresh (bounds retries). */
  refreshAfter: number;
}

export interface NearCacheOptions {
  /** Upper bound of the bytes held (bodies, ETags, tags and a fixed per-entry overhead). */
  maxBytes: number;
  /** Upper bound of the entries held: each keeps up to NEAR_ENTRY_UNCOUNTED_BYTES more alive than it counts. Default: no bound. */
  maxEntries?: number;
  /** Lifetime of an entry unless set() gives one. */
  ttlMs: number;
  now?: () => number;
}

export interface NearCache {
  get(key: string): NearEntry | undefined;
  /** Stores the response; ttlMs (default options.ttlMs) is how long it may stay at most. */
  set(key: string, response: CachedResponse, options?: { checkedAt?: number; ttlMs?: number }): void;
  delete(key: string): void;
  /** Drops every entry carrying any of the tags; returns how many were dropped. */
  deleteByTags(tags: readonly string[]): number;
  clear(): void;
  readonly bytes: number;
  readonly size: number;
}

// Map/object overhead per entry, so a flood of tiny 404 bodies is still bounded.
const ENTRY_OVERHEAD_BYTES = 128;

/**
 * What an entry keeps alive beyond the bytes it counts (nearEntrySize): the entry, response and
 * Buffer objects, the body's allocation, the LRU's slots, the tag index's sets and the headers built
 * for it (cached-reply.ts). Measured at about 1 KiB per product page; `maxEntries` bounds the sum.
 */
export const NEAR_ENTRY_UNCOUNTED_BYTES = 1536;

export function nearEntrySize(response: CachedResponse): number {
  let size = ENTRY_OVERHEAD_BYTES + response.body.length + response.etag.length + response.surrogateKey.length * 2;
  for (const tag of response.tags) size += tag.length * 2;
  return size;
}

export function createNearCache(options: NearCacheOptions): NearCache {
  const now = options.now ?? Date.now;
  // tag -> keys carrying it, so invalidation by tag never walks the whole LRU.
  const byTag = new Map<string, Set<string>>();

  const unindex = (key: string, entry: NearEntry): void => {
    for (const tag of entry.response.tags) {
      const keys = byTag.get(tag);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) byTag.delete(tag);
    }
  };

  const lru = new LRUCache<string, NearEntry>({
    ...(options.maxEntries ? { max: options.maxEntries } : {}),
    maxSize: options.maxBytes,
    maxEntrySize: options.maxBytes,
    sizeCalculation: (entry) => nearEntrySize(entry.response),
    ttl: options.ttlMs,
    perf: { now },
    // Read the clock on every check: TTLs here are short and Date.now() is cheap.
    ttlResolution: 0,
    // Called synchronously on eviction, expiry, delete and replacement: keeps the tag index exact.
    dispose: (entry, key) => unindex(key, entry),
  });

  return {
    get: (key) => lru.get(key),
    set(key, response, setOptions = {}) {
      const ttl = setOptions.ttlMs ?? options.ttlMs;
      const entry: NearEntry = { response, checkedAt: setOptions.checkedAt ?? now(), refreshAfter: 0 };
      if (ttl <= 0 || nearEntrySize(response) > options.maxBytes) {
        lru.delete(key);
        return;
      }
      // Set before indexing: replacing an entry disposes (unindexes) the old one first.
      lru.set(key, entry, { ttl });
      for (const tag of response.tags) {
        let keys = byTag.get(tag);
        if (!keys) byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
    },
    delete: (key) => void lru.delete(key),
    deleteByTags(tags) {
      let dropped = 0;
      for (const tag of tags) {
        const keys = byTag.get(tag);
        if (!keys) continue;
        for (const key of [...keys]) if (lru.delete(key)) dropped++;
        byTag.delete(tag);
      }
      return dropped;
    },
    clear: () => lru.clear(),
    get bytes() {
      return lru.calculatedSize;
    },
    get size() {
      return lru.size;
    },
  };
}
