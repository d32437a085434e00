// Request URLs already answered 200 from the cache, each with its cache key, tags and route. Such a
// URL passed validation before, so when its page is fresh in the near cache or in Redis it can be
// answered without parsing or validating it again (see hot-path.ts).
import { LRUCache } from 'lru-cache';
import { Gauge, type Registry } from 'prom-client';
import type { OriginResponse } from '../cache/catalog-cache.ts';

export interface HotUrl {
  key: string;
  /** The entry's invalidation tags (the same for every request of this URL). */
  tags: readonly string[];
  /** The route pattern, for the request-duration metric. */
  route: string;
  /** Refetches the page (the route's loader for this URL), for refreshing a stale copy. */
  load: () => Promise<OriginResponse>;
}

export interface HotUrls {
  get(url: string): HotUrl | undefined;
  remember(url: string, hot: HotUrl): void;
  /** The bytes the remembered URLs retain, as counted against the bound. */
  readonly bytes: number;
  readonly size: number;
}

/**
 * What a remembered URL retains besides its strings: the entry object, the LRU's slots, and the
 * loader with what it captured (three closures, their contexts and the route's parsed query).
 * Measured at about 1.5 KiB for a listing URL and 0.8 KiB for a product page, strings included, as
 * the heap that 1,500 remembered URLs retain (test/integration/memory-bounds.test.ts).
 */
export const HOT_URL_OVERHEAD_BYTES = 1536;

/** Counted generously: 2 bytes a character, as if every string were two-byte. */
export function hotUrlSize(url: string, hot: HotUrl): number {
  let size = HOT_URL_OVERHEAD_BYTES + 2 * (url.length + hot.key.length);
  for (const tag of hot.tags) size += 2 * tag.length;
  return size;
}

/**
 * `maxBytes` bounds what the table retains; 0 remembers nothing (every request goes to the routes).
 * With a registry, `catalog_hot_urls_bytes` reports what it holds, for the memory budget (docs/memory.md).
 */
export function createHotUrls(maxBytes: number, registry?: Registry): HotUrls {
  const table = maxBytes > 0 ? lruTable(maxBytes) : { get: () => undefined, remember: () => undefined, bytes: 0, size: 0 };
  if (registry) {
    new Gauge({
      name: 'catalog_hot_urls_bytes',
      help: 'Bytes the hot path\'s table of URLs answered before retains, as counted against CACHE_HOT_URLS_MAX_BYTES',
      registers: [registry],
      collect() {
        this.set(table.bytes);
      },
    });
  }
  return table;
}

function lruTable(maxBytes: number): HotUrls {
  const urls = new LRUCache<string, HotUrl>({ maxSize: maxBytes, sizeCalculation: (hot, url) => hotUrlSize(url, hot) });
  return {
    get: (url) => urls.get(url),
    remember(url, hot) {
      // A URL's tags can change with what it shows (a related list's scope when its product moved):
      // kept with the old ones, its hot answers would be judged against the wrong generations.
      const known = urls.get(url);
      if (known?.key !== hot.key || !sameTags(known.tags, hot.tags)) urls.set(url, hot);
    },
    get bytes() {
      return urls.calculatedSize;
    },
    get size() {
      return urls.size;
    },
  };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}
