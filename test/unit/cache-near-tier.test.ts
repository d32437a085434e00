import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCacheMetrics } from '../../src/cache/cache-metrics.ts';
import { toCachedResponse } from '../../src/cache/cached-response.ts';
import { createFreshnessPolicy } from '../../src/cache/freshness.ts';
import { createNearTier } from '../../src/cache/near-tier.ts';
import { loadConfig } from '../../src/config.ts';

const settings = loadConfig({}).cache;
const policy = createFreshnessPolicy(settings);

function tier(enabled = true) {
  let clock = 1_750_000_000_000;
  const near = createNearTier({ near: { ...settings.near, enabled }, policy, metrics: createCacheMetrics(new Registry()), now: () => clock });
  return { near, advance: (ms: number) => (clock += ms), now: () => clock };
}

const page = (body: string, tags: string[], storedAt: number) => toCachedResponse({ status: 200, body: Buffer.from(body) }, tags, storedAt);

describe('near tier', () => {
  it('when a tag is invalidated while a read or load carrying it is in flight, then that flight is tainted and others are not', () => {
    const { near } = tier();
    const product = near.watch(['product:1']);
    const listing = near.watch(['listings', 'category:7']);
    near.drop(['category:7'], 'pubsub');
    expect(listing.tainted).toBe(true);
    expect(product.tainted).toBe(false);
    near.unwatch(product);
    near.drop(['product:1'], 'local');
    // Landed before the invalidation: no longer watched.
    expect(product.tainted).toBe(false);
  });

  it('when Redis vouches again for the copy already held, then the same copy is kept with its new check time', () => {
    const { near, now, advance } = tier();
    const held = page('{"id":1}', ['product:1'], now());
    near.put('product:1', held, now());
    const entry = near.get('product:1');
    advance(3_000);
    // The same entry as read back from Redis: equal, but other objects.
    near.put('product:1', page('{"id":1}', ['product:1'], held.storedAt), now());
    expect(near.get('product:1')).toBe(entry);
    expect(near.get('product:1')?.response).toBe(held);
    expect(near.get('product:1')?.checkedAt).toBe(now());
  });

  it('when a copy is stored, then it is kept for what is left of its stale-if-error life, and a miss for what is left of the miss TTL', () => {
    const { near, now, advance } = tier();
    near.put('product:1', page('{}', ['product:1'], now() - 100_000), now());
    near.put('product:2', toCachedResponse({ status: 404, body: Buffer.from('{}') }, ['product:2'], now() - 4_000), now());
    advance(5_990);
    expect(near.get('product:2')).toBeDefined();
    advance(20);
    expect(near.get('product:2')).toBeUndefined();
    advance(500_000 - 6_010 - 10);
    expect(near.get('product:1')).toBeDefined();
    advance(20);
    expect(near.get('product:1')).toBeUndefined();
  });

  it('when disabled, then it holds nothing but still taints flights', () => {
    const { near, now } = tier(false);
    near.put('product:1', page('{}', ['product:1'], now()), now());
    expect(near.enabled).toBe(false);
    expect(near.get('product:1')).toBeUndefined();
    const flight = near.watch(['product:1']);
    near.drop(['product:1'], 'local');
    expect(flight.tainted).toBe(true);
  });
});
