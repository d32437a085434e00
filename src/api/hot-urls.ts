// Request URLs already answered 200 from the cache, each with its cache key, tags and route. Such a
// URL passed validation before, so when its page is fresh in the near cache or in Redis it can be
// answered without parsing or validating it again (see hot-path.ts).
import { LRUCache } from 'lru-cache';
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
}

export function createHotUrls(maxBytes = 16 * 1024 * 1024): HotUrls {
  const urls = new LRUCache<string, HotUrl>({ maxSize: maxBytes, sizeCalculation: (hot, url) => 512 + 2 * (url.length + hot.key.length) });
  return {
    get: (url) => urls.get(url),
    remember(url, hot) {
      if (urls.get(url)?.key !== hot.key) urls.set(url, hot);
    },
  };
}
