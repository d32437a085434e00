import { describe, expect, it } from 'vitest';
import { toCachedResponse } from '../../src/cache/cached-response.ts';
import { createNearCache, nearEntrySize } from '../../src/cache/near-cache.ts';

function response(body: string, tags: string[] = []) {
  return toCachedResponse({ status: 200, body: Buffer.from(body) }, tags, 0);
}

describe('near cache', () => {
  it('keeps the bytes held under maxBytes, evicting the least recently used entries', () => {
    const one = nearEntrySize(response('x'.repeat(1_000)));
    const cache = createNearCache({ maxBytes: one * 5, ttlMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      cache.set(`k${i}`, response('x'.repeat(1_000)));
      expect(cache.bytes).toBeLessThanOrEqual(one * 5);
    }
    expect(cache.size).toBe(5);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k19')?.response.body.length).toBe(1_000);
  });

  it('counts body bytes, so a few large bodies displace many small ones', () => {
    const cache = createNearCache({ maxBytes: 20_000, ttlMs: 60_000 });
    for (let i = 0; i < 50; i++) cache.set(`small${i}`, response('{}'));
    expect(cache.size).toBe(50);
    cache.set('large', response('x'.repeat(15_000)));
    expect(cache.get('large')).toBeDefined();
    expect(cache.size).toBeLessThan(50);
    expect(cache.bytes).toBeLessThanOrEqual(20_000);
  });

  it('refuses an entry larger than the whole budget instead of flushing everything', () => {
    const cache = createNearCache({ maxBytes: 2_000, ttlMs: 60_000 });
    cache.set('a', response('small'));
    cache.set('huge', response('x'.repeat(5_000)));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('when entries carry long tags, then the tags count against the budget too', () => {
    const tagged = () => response('{}', ['a'.repeat(300), 'b'.repeat(100)]);
    // 128 overhead + 2 body + 29 ETag + 2 x 401 surrogate key (both tags) + 2 x 400 tag characters.
    expect(nearEntrySize(tagged())).toBe(1_761);
    const cache = createNearCache({ maxBytes: 3_000, ttlMs: 60_000 });
    cache.set('first', tagged());
    cache.set('second', tagged());
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(1_761);
    expect(cache.get('first')).toBeUndefined();
  });

  it('keeps an entry exactly as large as the whole budget, and refuses one a byte larger', () => {
    // 128 overhead + 1,843 body + 29 ETag, no tags: 2,000 bytes.
    const cache = createNearCache({ maxBytes: 2_000, ttlMs: 60_000 });
    cache.set('exact', response('x'.repeat(1_843)));
    expect(cache.get('exact')?.response.body.length).toBe(1_843);
    expect(cache.bytes).toBe(2_000);
    cache.set('over', response('x'.repeat(1_844)));
    expect(cache.get('over')).toBeUndefined();
    expect(cache.get('exact')).toBeDefined();
  });

  it('expires entries after their TTL, per entry when given', () => {
    let clock = 1_000;
    const cache = createNearCache({ maxBytes: 1_000_000, ttlMs: 100, now: () => clock });
    cache.set('default', response('a'));
    cache.set('short', response('b'), { ttlMs: 10 });
    clock += 50;
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('default')).toBeDefined();
    clock += 51;
    expect(cache.get('default')).toBeUndefined();
  });

  it('drops every entry carrying an invalidated tag and nothing else', () => {
    const cache = createNearCache({ maxBytes: 1_000_000, ttlMs: 60_000 });
    cache.set('product:1', response('p1', ['product:1']));
    cache.set('listing:a', response('la', ['listings', 'category:7', 'brand:3']));
    cache.set('listing:b', response('lb', ['listings', 'category:8']));
    expect(cache.deleteByTags(['category:7', 'product:9'])).toBe(1);
    expect(cache.get('listing:a')).toBeUndefined();
    expect(cache.get('listing:b')).toBeDefined();
    expect(cache.deleteByTags(['listings'])).toBe(1);
    expect(cache.get('listing:b')).toBeUndefined();
    expect(cache.get('product:1')).toBeDefined();
  });

  it('forgets the old tags of a replaced entry, so their invalidation spares the new one', () => {
    const cache = createNearCache({ maxBytes: 1_000_000, ttlMs: 60_000 });
    cache.set('listing', response('old', ['category:1']));
    cache.set('listing', response('new', ['category:2']));
    expect(cache.deleteByTags(['category:1'])).toBe(0);
    expect(cache.get('listing')?.response.body.toString()).toBe('new');
    expect(cache.deleteByTags(['category:2'])).toBe(1);
  });

  it('unindexes evicted entries, so invalidating their tag drops nothing', () => {
    const one = nearEntrySize(response('x'.repeat(100), ['t']));
    const cache = createNearCache({ maxBytes: one * 2, ttlMs: 60_000 });
    cache.set('a', response('x'.repeat(100), ['t']));
    cache.set('b', response('x'.repeat(100), ['u']));
    cache.set('c', response('x'.repeat(100), ['u']));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.deleteByTags(['t'])).toBe(0);
    expect(cache.deleteByTags(['u'])).toBe(2);
  });
});
