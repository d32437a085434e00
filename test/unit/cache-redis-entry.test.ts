import { describe, expect, it } from 'vitest';
import { strongEtag, toCachedResponse } from '../../src/cache/cached-response.ts';
import { decodeEntry, encodeEntry, generationsMatch } from '../../src/cache/redis-entry.ts';

describe('redis entry encoding', () => {
  it('round-trips status, body bytes, etag, surrogate keys, tags, generations and storedAt', () => {
    const body = Buffer.from(JSON.stringify({ id: 42, name: 'Kurta — cotton', price: 499.5 }));
    const response = toCachedResponse({ status: 200, body, surrogateKeys: ['product:42', 'product:kurta-é'] }, ['product:42', 'brand:é'], 1_700_000_000_123);
    expect(response.surrogateKey).toBe('product:42 brand:é product:kurta-é');
    const decoded = decodeEntry(encodeEntry({ response, generations: [3, 9_007_199_254] }));
    expect(decoded).not.toBeNull();
    expect(decoded?.response).toEqual(response);
    expect(decoded?.response.body.equals(body)).toBe(true);
    expect(decoded?.generations).toEqual([3, 9_007_199_254]);
  });

  it('stores the body as raw bytes after a small header, not as base64 or JSON', () => {
    const body = Buffer.alloc(10_000, 0x61);
    const encoded = encodeEntry({ response: toCachedResponse({ status: 404, body }, ['product:1'], 1), generations: [0] });
    expect(encoded.length).toBeLessThan(body.length + 80);
    expect(encoded.subarray(encoded.length - body.length).equals(body)).toBe(true);
  });

  it('treats truncated or foreign bytes as a miss', () => {
    const encoded = encodeEntry({ response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['a'], 1), generations: [1] });
    expect(decodeEntry(encoded.subarray(0, 20))).toBeNull();
    expect(decodeEntry(Buffer.from('{"legacy":"json"}'))).toBeNull();
  });

  it('gives the same strong etag for the same bytes', () => {
    expect(strongEtag(Buffer.from('{"a":1}'))).toBe(strongEtag(Buffer.from('{"a":1}')));
    expect(strongEtag(Buffer.from('{"a":1}'))).not.toBe(strongEtag(Buffer.from('{"a":2}')));
    expect(strongEtag(Buffer.from('x'))).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('is valid only for the exact tags at their current generations', () => {
    const entry = { response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['a', 'b'], 1), generations: [2, 5] };
    expect(generationsMatch(entry, ['a', 'b'], [2, 5])).toBe(true);
    expect(generationsMatch(entry, ['b', 'a'], [5, 2])).toBe(true);
    expect(generationsMatch(entry, ['a', 'b'], [3, 5])).toBe(false);
    expect(generationsMatch(entry, ['a'], [2])).toBe(false);
  });
});
