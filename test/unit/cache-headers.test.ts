import { describe, expect, it } from 'vitest';
import { toCachedResponse } from '../../src/cache/cached-response.ts';
import { cacheHeaders, matchesIfNoneMatch } from '../../src/api/cached-reply.ts';

const policy = { freshTtlMs: 30_000, maxStaleMs: 60_000, staleIfErrorMs: 600_000 };
const at = (ageMs: number, stale = false) => ({
  response: toCachedResponse({ status: 200, body: Buffer.from('{}') }, ['product:1'], Date.now() - ageMs),
  tier: 'redis' as const,
  stale,
});

describe('when a cached page is sent, its Cache-Control', () => {
  // Ages sit mid-second, so the milliseconds between building the entry and the headers never move a floor.
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
});

describe('when a client revalidates with If-None-Match', () => {
  it('then lists, weak tags and * match; other tags do not', () => {
    expect(matchesIfNoneMatch('"a", W/"b"', '"b"')).toBe(true);
    expect(matchesIfNoneMatch('*', '"b"')).toBe(true);
    expect(matchesIfNoneMatch('"c"', '"b"')).toBe(false);
    expect(matchesIfNoneMatch(undefined, '"b"')).toBe(false);
  });
});
