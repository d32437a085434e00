// Request URLs already answered from the cache, each with its cache key. A GET for such a URL passed
// validation before, so when its page is a fresh near-cache hit the bytes can be sent straight from
// onRequest, skipping query parsing, validation and the handler: the hot path of hot listings.
import { LRUCache } from 'lru-cache';

export interface HotUrls {
  keyFor(url: string): string | undefined;
  remember(url: string, key: string): void;
}

export function createHotUrls(maxBytes = 16 * 1024 * 1024): HotUrls {
  const keys = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: (key, url) => 64 + 2 * (url.length + key.length) });
  return {
    keyFor: (url) => keys.get(url),
    remember(url, key) {
      if (keys.get(url) !== key) keys.set(url, key);
    },
  };
}
