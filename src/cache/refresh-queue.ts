import pLimit from 'p-limit';
import { createSingleFlight } from './single-flight.ts';

/** How long refreshes asked for are gathered before they start together. */
export const REFRESH_GATHER_MS = 50;

/** Runs `work` when a load slot is free; resolves null instead if the queue closed meanwhile. */
export type InSlot = <T>(work: () => Promise<T>) => Promise<T | null>;

/** A refresh: its Redis work runs at once, its load through `inSlot`. */
export type Refresh = (inSlot: InSlot) => Promise<unknown>;

export interface RefreshQueueOptions {
  /** Loads running at once (CACHE_REFRESH_CONCURRENCY). */
  concurrency: number;
  maxQueued: number;
  /** Called with a refresh's error; the refresh itself never rejects to anyone. */
  onError(key: string, error: unknown): void;
  /**
   * Starts the gathered refreshes later: default REFRESH_GATHER_MS after the first is asked for.
   * Returns a function that cancels the start.
   */
  schedule?: (startGathered: () => void) => () => void;
}

/**
 * Background refreshes of stale pages. Refreshes asked for within REFRESH_GATHER_MS start together
 * (the stale copy is served meanwhile), so their locks and their lookups each go to Redis as one
 * write, and the loads that run together share round trips too (product pages are one query per
 * turn). Only the loads wait for a slot, so the database sees at most `concurrency` of them however
 * large a wave of pages going stale together, and the event loop a steady trickle, not a burst.
 */
export interface RefreshQueue {
  /** Asks for key's refresh; false (nothing queued) when one is gathered or running for key, the queue is full or closed. */
  request(key: string, refresh: Refresh): boolean;
  /** Refreshes that have started and not settled (close() of the cache waits for them). */
  running(): Promise<unknown>[];
  /** Drops the gathered refreshes; started ones get null from `inSlot` when their slot comes. */
  close(): void;
}

const afterGatherDelay = (startGathered: () => void): (() => void) => {
  const timer = setTimeout(startGathered, REFRESH_GATHER_MS);
  return () => clearTimeout(timer);
};

export function createRefreshQueue(options: RefreshQueueOptions): RefreshQueue {
  const schedule = options.schedule ?? afterGatherDelay;
  const slots = pLimit(options.concurrency);
  const flights = createSingleFlight<unknown>();
  const gathered = new Map<string, Refresh>();
  let cancelStart: (() => void) | null = null;
  let closed = false;

  const inSlot: InSlot = (work) => slots(() => (closed ? null : work()));

  function start(key: string, refresh: Refresh): void {
    const flight = flights.run(key, async () => {
      if (closed) return null;
      try {
        return await refresh(inSlot);
      } catch (error) {
        options.onError(key, error);
        return null;
      }
    });
    void flight.promise;
  }

  function startGathered(): void {
    cancelStart = null;
    const starting = [...gathered];
    gathered.clear();
    for (const [key, refresh] of starting) start(key, refresh);
  }

  return {
    request(key, refresh) {
      if (closed || flights.has(key) || gathered.has(key) || gathered.size + slots.pendingCount >= options.maxQueued) return false;
      gathered.set(key, refresh);
      cancelStart ??= schedule(startGathered);
      return true;
    },
    running: () => flights.pending(),
    close() {
      closed = true;
      cancelStart?.();
      cancelStart = null;
      gathered.clear();
    },
  };
}
