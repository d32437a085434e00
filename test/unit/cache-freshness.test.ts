import { describe, expect, it } from 'vitest';
import { createFreshnessPolicy } from '../../src/cache/freshness.ts';
import { loadConfig } from '../../src/config.ts';

// The config's defaults: fresh 30 s, price bound 60 s, stale-if-error 10 min, misses 10 s.
const policy = createFreshnessPolicy(loadConfig({}).cache);
/** A load time ending in `ms` milliseconds. */
const loadedAt = (ms: number) => 1_750_000_000_000 + ms;
const page = (ms: number) => ({ status: 200 as const, storedAt: loadedAt(ms) });
const miss = (ms: number) => ({ status: 404 as const, storedAt: loadedAt(ms) });

describe('freshness policy', () => {
  it('when built from the config, then it holds the config\'s lifetimes', () => {
    expect(policy).toMatchObject({ freshTtlMs: 30_000, maxStaleMs: 60_000, staleIfErrorMs: 600_000, missTtlMs: 10_000 });
  });

  it('when pages are loaded at different milliseconds, then their fresh spans spread over 50-100 % of the fresh TTL', () => {
    expect(policy.freshForMs(loadedAt(0))).toBe(15_000);
    expect(policy.freshForMs(loadedAt(500))).toBe(22_500);
    expect(policy.freshForMs(loadedAt(999))).toBe(29_985);
    // Fixed per page: the same load time always gives the same span.
    expect(policy.freshForMs(loadedAt(500) + 7_000)).toBe(22_500);
  });

  it('when a page ages, then it is fresh for its own span, stale until the price bound, expired after', () => {
    const at = (ageMs: number) => loadedAt(500) + ageMs;
    expect(policy.classify(page(500), at(0))).toBe('fresh');
    expect(policy.classify(page(500), at(22_499))).toBe('fresh');
    expect(policy.classify(page(500), at(22_500))).toBe('stale');
    expect(policy.classify(page(500), at(59_999))).toBe('stale');
    expect(policy.classify(page(500), at(60_000))).toBe('expired');
    // The same age is already stale for a page loaded at the start of a second.
    expect(policy.classify(page(0), loadedAt(0) + 15_000)).toBe('stale');
  });

  it('when a miss ages, then it is fresh for the miss TTL and then expired, never stale', () => {
    expect(policy.classify(miss(0), loadedAt(0) + 9_999)).toBe('fresh');
    expect(policy.classify(miss(0), loadedAt(0) + 10_000)).toBe('expired');
    expect(policy.classify(miss(999), loadedAt(999) + 10_000)).toBe('expired');
  });

  it('when asked what is left of a copy as a stale-if-error fallback, then a page has 10 min and a miss 10 s from its load', () => {
    expect(policy.lifetimeLeftMs(page(0), loadedAt(0) + 100_000)).toBe(500_000);
    expect(policy.lifetimeLeftMs(page(0), loadedAt(0) + 600_000)).toBe(0);
    expect(policy.lifetimeLeftMs(miss(0), loadedAt(0) + 4_000)).toBe(6_000);
  });

  it('when Cache-Control lifetimes are asked for, then max-age ends with the page\'s own fresh span and the stale windows follow it', () => {
    // Loaded at ...000 ms: fresh 15 s. 500 ms old: 14 whole seconds left of it.
    const early = policy.maxAgeSeconds(loadedAt(0), 500);
    expect(early).toBe(14);
    expect(policy.staleWhileRevalidateSeconds(500, early)).toBe(45);
    expect(policy.staleIfErrorSeconds(500, early)).toBe(585);
    // Loaded at ...999 ms: fresh 29.985 s.
    const late = policy.maxAgeSeconds(loadedAt(999), 500);
    expect(late).toBe(29);
    expect(policy.staleWhileRevalidateSeconds(500, late)).toBe(30);
    expect(policy.staleIfErrorSeconds(500, late)).toBe(570);
    // Past its span, nothing is promised fresh; past the bounds, nothing at all.
    expect(policy.maxAgeSeconds(loadedAt(0), 15_000)).toBe(0);
    expect(policy.staleWhileRevalidateSeconds(61_000, 0)).toBe(0);
    expect(policy.staleIfErrorSeconds(601_000, 0)).toBe(0);
  });

  it('when the lifetimes are out of order, then the policy refuses them', () => {
    expect(() => createFreshnessPolicy({ freshTtlMs: 2_000, maxStaleMs: 1_000, staleIfErrorMs: 5_000, missTtlMs: 1_000 })).toThrow(/freshTtlMs/);
    expect(() => createFreshnessPolicy({ freshTtlMs: 1_000, maxStaleMs: 6_000, staleIfErrorMs: 5_000, missTtlMs: 1_000 })).toThrow(/staleIfErrorMs/);
  });
});
