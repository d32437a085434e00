/** The Redis names invalidation uses: tag generation counters and the channel every pod listens on. */
export interface TagKeys {
  tag(tag: string): string;
  readonly invalidationChannel: string;
}

/**
 * Every Redis name the cache uses, derived from one prefix. Entries and locks carry the schema
 * version (a new entry layout never reads an old one); tag generations and the invalidation
 * channel do not, so pods of two versions in a rolling deploy still invalidate each other.
 *
 * Every key starts with the prefix as a Redis Cluster hash tag (`{catalog:}v1:entry:...`), so all
 * of them hash to one slot: a lookup MGETs an entry with its tags' counters, and a tag is shared by
 * thousands of entries, so no finer grouping keeps each MGET in one slot. The price is that one
 * shard holds the whole cache (docs/operations.md, Redis high availability). Channels are not keys
 * and keep the bare prefix.
 */
export interface KeySpace extends TagKeys {
  entry(key: string): string;
  lock(key: string): string;
  /** Where a fill of this key is announced; only pods waiting for that key subscribe to it. */
  fillChannel(key: string): string;
}

/** The start of every key: the prefix as a hash tag (REDIS_KEY_PREFIX allows no braces, so it is the key's first tag). */
export function keyPrefixOf(keyPrefix: string): string {
  return `{${keyPrefix}}`;
}

export function createTagKeys(keyPrefix: string): TagKeys {
  return {
    tag: (tag) => `${keyPrefixOf(keyPrefix)}tag:${tag}`,
    invalidationChannel: `${keyPrefix}invalidate`,
  };
}

export function createKeySpace(keyPrefix: string, schemaVersion: string | number): KeySpace {
  const versioned = `${keyPrefixOf(keyPrefix)}v${schemaVersion}:`;
  return {
    ...createTagKeys(keyPrefix),
    entry: (key) => `${versioned}entry:${key}`,
    lock: (key) => `${versioned}lock:${key}`,
    fillChannel: (key) => `${keyPrefix}v${schemaVersion}:filled:${key}`,
  };
}
