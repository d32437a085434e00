import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import type { CachedResponse } from './cached-response.ts';
import type { KeySpace } from './key-space.ts';
import type { RedisGuard } from './redis-guard.ts';

/**
 * A cached response as stored in Redis: a small binary header, then the body bytes untouched
 * (no base64, no JSON re-encoding), so a Redis hit costs one buffer slice.
 *
 *   u8  format (2)
 *   f64 storedAt (big-endian; the fill script compares it without decoding the rest)
 *   u16 status
 *   u8  etag length, etag (ASCII)
 *   u16 surrogate-key length, surrogate key (UTF-8)
 *   u16 tag count, then per tag: u16 length, UTF-8 bytes, f64 generation it was built with
 *   body
 */
export interface StoredEntry {
  response: CachedResponse;
  /** Tag generations the entry was built with, aligned with response.tags. */
  generations: number[];
}

const FORMAT = 2;

export function encodeEntry(entry: StoredEntry): Buffer {
  const { response, generations } = entry;
  const etag = Buffer.from(response.etag, 'latin1');
  const surrogateKey = Buffer.from(response.surrogateKey, 'utf8');
  const tags = response.tags.map((tag) => Buffer.from(tag, 'utf8'));
  let headerSize = 1 + 8 + 2 + 1 + etag.length + 2 + surrogateKey.length + 2;
  for (const tag of tags) headerSize += 2 + tag.length + 8;
  const header = Buffer.allocUnsafe(headerSize);
  let at = header.writeUInt8(FORMAT, 0);
  at = header.writeDoubleBE(response.storedAt, at);
  at = header.writeUInt16BE(response.status, at);
  at = header.writeUInt8(etag.length, at);
  at += etag.copy(header, at);
  at = header.writeUInt16BE(surrogateKey.length, at);
  at += surrogateKey.copy(header, at);
  at = header.writeUInt16BE(tags.length, at);
  tags.forEach((tag, i) => {
    at = header.writeUInt16BE(tag.length, at);
    at += tag.copy(header, at);
    at = header.writeDoubleBE(generations[i] ?? 0, at);
  });
  return Buffer.concat([header, response.body]);
}

/** Returns null for anything that is not a well-formed entry of this format (treated as a miss). */
export function decodeEntry(raw: Buffer): StoredEntry | null {
  try {
    if (raw.length < 14 || raw.readUInt8(0) !== FORMAT) return null;
    let at = 1;
    const storedAt = raw.readDoubleBE(at);
    at += 8;
    const status = raw.readUInt16BE(at);
    at += 2;
    if (status !== 200 && status !== 404) return null;
    const etagLength = raw.readUInt8(at);
    at += 1;
    const etag = raw.toString('latin1', at, at + etagLength);
    at += etagLength;
    const surrogateKeyLength = raw.readUInt16BE(at);
    at += 2;
    if (at + surrogateKeyLength > raw.length) return null;
    const surrogateKey = raw.toString('utf8', at, at + surrogateKeyLength);
    at += surrogateKeyLength;
    const tagCount = raw.readUInt16BE(at);
    at += 2;
    const tags: string[] = [];
    const generations: number[] = [];
    for (let i = 0; i < tagCount; i++) {
      const length = raw.readUInt16BE(at);
      at += 2;
      if (at + length + 8 > raw.length) return null;
      tags.push(raw.toString('utf8', at, at + length));
      at += length;
      generations.push(raw.readDoubleBE(at));
      at += 8;
    }
    if (at > raw.length) return null;
    // A view into the reply: most reads are answered and dropped, and a copy per read cost the
    // product-page path a sixth of its throughput (GC). What keeps a response (the near tier, a
    // queued refresh) takes it with bytes of its own (ownedResponse).
    return { response: { status, body: raw.subarray(at), etag, tags, surrogateKey, storedAt }, generations };
  } catch {
    return null; // RangeError from a truncated buffer
  }
}

/** True when the entry was built with exactly these tags at their current generations. */
export function generationsMatch(entry: StoredEntry, tags: readonly string[], current: readonly number[]): boolean {
  const built = entry.response.tags;
  if (built.length !== tags.length) return false;
  for (let i = 0; i < tags.length; i++) {
    const at = built.indexOf(tags[i] as string);
    if (at < 0 || entry.generations[at] !== current[i]) return false;
  }
  return true;
}

// Compare-and-set: an older fill (smaller storedAt) never replaces a newer entry. Publishing the
// fill from the script tells waiting pods without another round trip.
const FILL_SCRIPT = `
local current = redis.call('GETRANGE', KEYS[1], 0, 8)
if #current == 9 and string.byte(current, 1) == ${FORMAT} then
  local storedAt = struct.unpack('>d', current, 2)
  if storedAt > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], KEYS[1])
return 1
`;
const FILL_SHA = createHash('sha1').update(FILL_SCRIPT).digest('hex');

export interface RedisLookup {
  entry: StoredEntry | null;
  /** Current generation of each requested tag (0 when never invalidated). */
  generations: number[];
}

export interface EntryStore {
  /**
   * The entry and the current generation of each of its tags (one MGET). Lookups made in the same
   * event-loop turn, e.g. by the requests of one socket poll, go to Redis as one pipeline: one write
   * and usually one read for all of them, instead of a syscall pair each.
   */
  get(key: string, tags: readonly string[]): Promise<RedisLookup>;
  /**
   * The same lookup for a background check nobody waits on: such lookups are gathered for up to
   * `RECHECK_GATHER_MS` and sent as one pipeline, so the near cache's re-checks of hundreds of pages
   * a second cost Redis (and this event loop) a few round trips instead of one each.
   */
  recheck(key: string, tags: readonly string[]): Promise<RedisLookup>;
  /** Writes unless a newer entry is already there; resolves false when the CAS refused it. */
  write(key: string, entry: StoredEntry, ttlMs: number): Promise<boolean>;
}

interface Lookup {
  key: string;
  tags: readonly string[];
}

/** Longest pipeline of lookups; a larger turn is split. */
const MAX_LOOKUPS_PER_PIPELINE = 128;

/** How long background re-checks are gathered before they go to Redis together. */
export const RECHECK_GATHER_MS = 50;

/**
 * `guard`, when given, wraps each lookup pipeline (not each lookup): one breaker call per round
 * trip, which is what can fail or time out. Writes are guarded by the caller.
 */
export function createEntryStore(redis: Redis, keys: KeySpace, guard?: RedisGuard): EntryStore {
  // A pipeline resolves even when its commands failed (each reply carries its error): a failed
  // command fails the round trip, so the breaker counts it.
  const exec = async (pipeline: ReturnType<Redis['pipeline']>) => {
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0] as Error;
    return results;
  };
  const run = (pipeline: ReturnType<Redis['pipeline']>) => (guard ? guard.run(() => exec(pipeline)) : exec(pipeline));
  const lookupBatch = async (batch: readonly Lookup[]): Promise<(RedisLookup | Error)[]> => {
    const pipeline = redis.pipeline();
    for (const { key, tags } of batch) pipeline.mgetBuffer(keys.entry(key), ...tags.map((tag) => keys.tag(tag)));
    const results = await run(pipeline);
    return batch.map((_, i) => {
      // run() has thrown if any command failed: every reply here is a value.
      const values = results[i]?.[1] as (Buffer | null)[] | undefined;
      if (!values) return new Error('Redis pipeline returned no reply');
      const [raw, ...tagValues] = values;
      return {
        entry: raw ? decodeEntry(raw) : null,
        generations: tagValues.map((value) => (value ? Number(value.toString('latin1')) : 0)),
      };
    });
  };
  // setImmediate runs after the poll phase, so every request read in that poll joins the batch.
  const lookups = new DataLoader<Lookup, RedisLookup>(lookupBatch, {
    cache: false,
    maxBatchSize: MAX_LOOKUPS_PER_PIPELINE,
    batchScheduleFn: (send) => setImmediate(send),
  });
  const rechecks = new DataLoader<Lookup, RedisLookup>(lookupBatch, {
    cache: false,
    maxBatchSize: MAX_LOOKUPS_PER_PIPELINE,
    batchScheduleFn: (send) => setTimeout(send, RECHECK_GATHER_MS),
  });
  return {
    get: (key, tags) => lookups.load({ key, tags }),
    recheck: (key, tags) => rechecks.load({ key, tags }),
    async write(key, entry, ttlMs) {
      const args = [encodeEntry(entry), String(entry.response.storedAt), String(Math.max(1, Math.ceil(ttlMs))), keys.fillChannel(key)];
      let result: unknown;
      try {
        result = await redis.evalsha(FILL_SHA, 1, keys.entry(key), ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        result = await redis.eval(FILL_SCRIPT, 1, keys.entry(key), ...args);
      }
      return result === 1;
    },
  };
}
