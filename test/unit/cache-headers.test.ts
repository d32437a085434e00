import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toCachedResponse } from '../../src/cache/cached-response.ts';
import { createFreshnessPolicy } from '../../src/cache/freshness.ts';
import { cacheHeaders, matchesIfNoneMatch } from '../../src/api/cached-reply.ts';
import { loadConfig } from '../../src/config.ts';

// The cache's own rule, from the config's defaults: fresh 30 s (spread over 50-100 % per page),
// price bound 60 s, stale-if-error 10 min.
const policy = createFreshnessPolicy(loadConfig({}).cache);
// The clock stands still at a time ending in 499 ms, so a page `ageMs` old (ages ending in 500 ms)
// was loaded at a time ending in 999 ms: its fresh span is 99.95 % of 30 s, 29,985 ms.
const NOW = 1_750_000_000_499;
const at = (ageMs: number, stale = false) => ({
  response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['product:1'], Date.now() - ageMs),
  tier: 'redis' as const,
  stale,
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('when a cached page is sent, its Cache-Control', () => {
  it('then a new page may be kept 30 s, then served stale 30 s more, or until 10 min on errors', () => {
    expect(cacheHeaders(at(500), policy)['cache-control']).toBe('public, max-age=29, stale-while-revalidate=30, stale-if-error=570');
  });

  it('then headers reused for one page still follow its age, staleness and tier', () => {
    const read = at(500);
    const fresh = cacheHeaders(read, policy);
    expect(cacheHeaders(read, policy)).toBe(fresh);
    expect(cacheHeaders({ ...read, stale: true }, policy)).toMatchObject({ 'x-cache': 'STALE', 'cache-control': 'public, max-age=0, stale-while-revalidate=59, stale-if-error=599' });
    expect(cacheHeaders({ ...read, tier: 'near' }, policy)['x-cache']).toBe('HIT-NEAR');
    const older = { ...read, response: { ...read.response, storedAt: read.response.storedAt - 2_000 } };
    expect(cacheHeaders(older, policy)['cache-control']).toBe('public, max-age=27, stale-while-revalidate=30, stale-if-error=570');
    expect(cacheHeaders(read, policy)['cache-control']).toBe(fresh['cache-control']);
  });

  it('then a page 55 s old that is being revalidated lets a CDN keep it only the 5 s left of the price bound', () => {
    expect(cacheHeaders(at(55_500, true), policy)['cache-control']).toBe('public, max-age=0, stale-while-revalidate=4, stale-if-error=544');
  });

  it('then a page loaded at the start of a second, fresh in the cache for 15 s only, is promised 15 s at most', () => {
    const storedAt = NOW - 499; // a time ending in 000 ms, 499 ms ago
    const read = { response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['product:1'], storedAt), tier: 'near' as const, stale: false };
    expect(cacheHeaders(read, policy)['cache-control']).toBe('public, max-age=14, stale-while-revalidate=45, stale-if-error=585');
  });

  it('then max-age never outlasts the fresh span the cache gives that page, wherever in the spread it falls', () => {
    for (let loadedAtMs = 0; loadedAtMs < 1000; loadedAtMs += 37) {
      const storedAt = 1_750_000_000_000 + loadedAtMs;
      // 50-100 % of 30 s by the load time's milliseconds: 15 s + 15 ms per millisecond.
      const freshForMs = 15_000 + 15 * loadedAtMs;
      for (const ageMs of [0, 999, 14_000, 15_001, 22_000, 29_000]) {
        vi.setSystemTime(storedAt + ageMs);
        const read = { response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['product:1'], storedAt), tier: 'redis' as const, stale: false };
        const maxAge = Number(/max-age=(\d+)/.exec(cacheHeaders(read, policy)['cache-control'])?.[1]);
        if (ageMs >= freshForMs) {
          expect(maxAge).toBe(0);
        } else {
          expect(ageMs + maxAge * 1000).toBeLessThanOrEqual(freshForMs);
          expect(ageMs + maxAge * 1000).toBeGreaterThan(freshForMs - 1000);
        }
      }
    }
  });
});

describe('when a client revalidates with If-None-Match', () => {
  it('then lists, weak tags and * match; other tags do not', () => {
    expect(matchesIfNoneMatch('"a", W/"b"', '"b"')).toBe(true);
    expect(matchesIfNoneMatch('*', '"b"')).toBe(true);
    expect(matchesIfNoneMatch('"c"', '"b"')).toBe(false);
    expect(matchesIfNoneMatch(undefined, '"b"')).toBe(false);
  });
});
