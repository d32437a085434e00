/**
 * Every Redis name the cache uses, derived from one prefix. Entries and locks carry the schema
 * version (a new entry layout never reads an old one); tag generations and the invalidation
 * channel do not, so pods of two versions in a rolling deploy still invalidate each other.
 */
export interface KeySpace {
  entry(key: string): string;
  lock(key: string): string;
  tag(tag: string): string;
  readonly invalidationChannel: string;
  /** Where a fill of this key is announced; only pods waiting for that key subscribe to it. */
  fillChannel(key: string): string;
}

export function createKeySpace(keyPrefix: string, schemaVersion: string | number): KeySpace {
  const versioned = `${keyPrefix}v${schemaVersion}:`;
  return {
    entry: (key) => `${versioned}entry:${key}`,
    lock: (key) => `${versioned}lock:${key}`,
    tag: (tag) => `${keyPrefix}tag:${tag}`,
    invalidationChannel: `${keyPrefix}invalidate`,
    fillChannel: (key) => `${versioned}filled:${key}`,
  };
}
