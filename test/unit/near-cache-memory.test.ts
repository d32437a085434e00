// The near cache is bounded in bytes: these tests hold its count to the memory its entries really
// keep alive, measured on the V8 heap and in ArrayBuffers, with bodies shaped as they arrive (views
// into a Redis reply's socket chunk, or into Node's shared pool).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createCacheMetrics } from '../../src/cache/cache-metrics.ts';
import { toCachedResponse, type CachedResponse } from '../../src/cache/cached-response.ts';
import { createNearTier } from '../../src/cache/near-tier.ts';
import { loadConfig } from '../../src/config.ts';
import { createFreshnessPolicy } from '../../src/cache/freshness.ts';
import { cacheHeaders } from '../../src/api/cached-reply.ts';
import { createNearCache, NEAR_ENTRY_UNCOUNTED_BYTES } from '../../src/cache/near-cache.ts';
import { decodeEntry, encodeEntry } from '../../src/cache/redis-entry.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memoryInUse(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** A product page's body, as a view at `offset` into a 64 KiB buffer like a socket read's. */
function inChunk(body: string, offset = 100): Buffer {
  const chunk = Buffer.alloc(64 * 1024);
  const length = chunk.write(body, offset);
  return chunk.subarray(offset, offset + length);
}

function productPage(id: number, body: Buffer) {
  return toCachedResponse({ status: 200, body, surrogateKeys: [`product:some-product-slug-${id}`, `category:${id % 500}`, `brand:b${id % 200}`] }, [`product:${id}`], Date.now());
}

describe('when a cached response is made of a body that is a view into a larger buffer', () => {
  it('then the near cache holds a copy of the body alone, not the buffer around it', () => {
    const near = createNearCache({ maxBytes: 1024 * 1024, ttlMs: 60_000 });
    near.set('product:1', productPage(1, inChunk('{"id":1}')));
    const held = near.get('product:1')?.response.body;
    expect(held?.toString()).toBe('{"id":1}');
    expect(held?.buffer.byteLength).toBe(held?.length);
  });

  it('then a response decoded from a Redis reply is kept by the near tier with bytes of its own', () => {
    const stored = productPage(2, Buffer.from('{"id":2}'));
    const reply = encodeEntry({ response: stored, generations: [0] });
    const decoded = decodeEntry(viewOf(reply));
    expect(decoded?.response.body.toString()).toBe('{"id":2}');
    const settings = loadConfig({}).cache;
    const tier = createNearTier({ near: settings.near, policy: createFreshnessPolicy(settings), metrics: createCacheMetrics(new Registry()), now: Date.now });
    tier.put('product:2', decoded?.response as CachedResponse, Date.now());
    const held = tier.get('product:2')?.response.body;
    expect(held?.toString()).toBe('{"id":2}');
    expect(held?.buffer.byteLength).toBe(held?.length);
  });
});

/** The bytes of `buffer` as a view inside a larger buffer, as a Redis reply arrives. */
function viewOf(buffer: Buffer): Buffer {
  const chunk = Buffer.alloc(buffer.length + 200);
  buffer.copy(chunk, 100);
  return chunk.subarray(100, 100 + buffer.length);
}

describe('when the near cache is full of product pages', () => {
  it('then the memory its entries keep alive is within the bytes it counts plus their uncounted share', () => {
    const near = createNearCache({ maxBytes: 1024 ** 3, ttlMs: 60_000 });
    const page = JSON.stringify({ id: 0, name: 'x'.repeat(1_400) });
    const policy = createFreshnessPolicy({ freshTtlMs: 30_000, maxStaleMs: 60_000, staleIfErrorMs: 600_000, missTtlMs: 10_000 });
    const before = memoryInUse();
    for (let id = 0; id < 4_000; id += 1) {
      // Half arrive from Redis (views into a reply's chunk), half from a load (Node's pool).
      near.set(`product:${id}`, productPage(id, id % 2 === 0 ? inChunk(page) : Buffer.from(page)));
      // Served once: the headers built for it live as long as it does.
      cacheHeaders({ response: (near.get(`product:${id}`) as { response: ReturnType<typeof productPage> }).response, tier: 'near', stale: false }, policy);
    }
    const held = memoryInUse() - before;
    const bound = near.bytes + near.size * NEAR_ENTRY_UNCOUNTED_BYTES;
    expect(held).toBeLessThanOrEqual(bound);
    expect(held).toBeGreaterThan(bound / 2);
  });

  it('then it holds no more entries than its entry bound, however small they are', () => {
    const near = createNearCache({ maxBytes: 1024 ** 3, maxEntries: 100, ttlMs: 60_000 });
    for (let id = 0; id < 1_000; id += 1) near.set(`product:${id}`, productPage(id, Buffer.from('{}')));
    expect(near.size).toBe(100);
    expect(near.get('product:999')).toBeDefined();
    expect(near.get('product:0')).toBeUndefined();
  });
});
