/** The Redis names invalidation uses: tag generation counters and the channel every pod listens on. */
export interface TagKeys {
  tag(tag: string): string;
  readonly invalidationChannel: string;
}

/**
 * Every Redis name the cache uses, derived from one prefix. Entries and locks carry the schema
 * version (a new entry layout never reads an old one); tag generations and the invalidation
 * channel do not, so pods of two versions in a rolling deploy still invalidate each other.
 */
export interface KeySpace extends TagKeys {
  entry(key: string): string;
  lock(key: string): string;
  /** Where a fill of this key is announced; only pods waiting for that key subscribe to it. */
  fillChannel(key: string): string;
}

export function createTagKeys(keyPrefix: string): TagKeys {
  return {
    tag: (tag) => `${keyPrefix}tag:${tag}`,
    invalidationChannel: `${keyPrefix}invalidate`,
  };
}

export function createKeySpace(keyPrefix: string, schemaVersion: string | number): KeySpace {
  const versioned = `${keyPrefix}v${schemaVersion}:`;
  return {
    ...createTagKeys(keyPrefix),
    entry: (key) => `${versioned}entry:${key}`,
    lock: (key) => `${versioned}lock:${key}`,
    fillChannel: (key) => `${versioned}filled:${key}`,
  };
}
