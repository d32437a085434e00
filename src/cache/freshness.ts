import type { CacheConfig } from '../config.ts';
import type { CachedResponse } from './cached-response.ts';

/**
 * How long a cached response may be served, and how: one rule for the cache's tiers and for the
 * Cache-Control header a CDN or browser gets, so neither promises more freshness than the other.
 * Pure: every answer follows from the settings, the entry's storedAt and the time asked about.
 */
export type FreshnessSettings = Pick<CacheConfig, 'freshTtlMs' | 'maxStaleMs' | 'staleIfErrorMs' | 'missTtlMs'>;

/** fresh: serve; stale: serve and revalidate; expired: refetch (serve only if the origin fails). */
export type Freshness = 'fresh' | 'stale' | 'expired';

type Dated = Pick<CachedResponse, 'status' | 'storedAt'>;

export interface FreshnessPolicy extends Readonly<FreshnessSettings> {
  /** The entry's own fresh lifetime: 50-100 % of freshTtlMs, fixed by its storedAt. */
  freshForMs(storedAt: number): number;
  classify(response: Dated, at: number): Freshness;
  /** What is left of an entry's lifetime as a stale-if-error copy at `at` (404s only live missTtlMs). */
  lifetimeLeftMs(response: Dated, at: number): number;
  /** Cache-Control max-age, in whole seconds, of a 200 stored at storedAt and served fresh at ageMs. */
  maxAgeSeconds(storedAt: number, ageMs: number): number;
  /** Cache-Control stale-while-revalidate: seconds after max-age until the price bound (maxStaleMs). */
  staleWhileRevalidateSeconds(ageMs: number, maxAge: number): number;
  /** Cache-Control stale-if-error: seconds after max-age until staleIfErrorMs. */
  staleIfErrorSeconds(ageMs: number, maxAge: number): number;
}

export function createFreshnessPolicy(settings: FreshnessSettings): FreshnessPolicy {
  const { freshTtlMs, maxStaleMs, staleIfErrorMs, missTtlMs } = settings;
  if (!(freshTtlMs <= maxStaleMs && maxStaleMs <= staleIfErrorMs)) {
    throw new Error('freshness policy: expected freshTtlMs <= maxStaleMs <= staleIfErrorMs');
  }

  /**
   * 50-100 % of freshTtlMs, fixed per entry (its load time's milliseconds): pages loaded together,
   * e.g. after a deploy, go stale over a spread instead of all refreshing from PostgreSQL at once.
   * With 80-100 % the waves of 1,200 listings warmed together kept recurring for minutes and cost
   * their benchmark rounds up to a quarter of their throughput; the wider spread costs about a fifth
   * more refreshes on average and dissolves such waves within two cycles.
   */
  const freshForMs = (storedAt: number): number => {
    // storedAt % 1000, but without a floating-point modulo, which costs three times as much: this
    // runs on every near hit and every Cache-Control check.
    const loadMillis = storedAt - 1000 * Math.floor(storedAt / 1000);
    return freshTtlMs * (0.5 + (0.5 * loadMillis) / 1000);
  };

  // Lifetimes a CDN gets are what is left of the cache's own at the entry's age, rounded down.
  const secondsLeft = (untilMs: number, ageMs: number): number => Math.max(0, Math.floor((untilMs - ageMs) / 1000));

  return {
    freshTtlMs,
    maxStaleMs,
    staleIfErrorMs,
    missTtlMs,
    freshForMs,
    classify(response, at) {
      const age = at - response.storedAt;
      if (response.status === 404) return age < missTtlMs ? 'fresh' : 'expired';
      return age < freshForMs(response.storedAt) ? 'fresh' : age < maxStaleMs ? 'stale' : 'expired';
    },
    lifetimeLeftMs(response, at) {
      return (response.status === 404 ? missTtlMs : staleIfErrorMs) - (at - response.storedAt);
    },
    maxAgeSeconds: (storedAt, ageMs) => secondsLeft(freshForMs(storedAt), ageMs),
    staleWhileRevalidateSeconds: (ageMs, maxAge) => secondsLeft(maxStaleMs, ageMs) - maxAge,
    staleIfErrorSeconds: (ageMs, maxAge) => secondsLeft(staleIfErrorMs, ageMs) - maxAge,
  };
}
