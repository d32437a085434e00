// The api process's memory budget from its configuration (docs/memory.md), so an operator sets a pod's
// limit from the config, and a cache bound raised past V8's heap limit is named at start-up instead of
// ending in a heap-out-of-memory crash under load.
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { CacheConfig } from '../config.ts';

const MiB = 1024 * 1024;
/** Node, the service's modules, pools and sockets, requests in flight and V8's headroom (the image; measured by bench:memory). */
const BASELINE_BYTES = 170 * MiB;
/** What a near entry keeps alive beyond the bytes it is counted at. */
const NEAR_ENTRY_OVERHEAD_BYTES = 1536;
/** A queued refresh: its lock, promises and closures, and the stale page it holds. */
const QUEUED_REFRESH_BYTES = 16 * 1024;
/** The part of a queued refresh that lives in V8's heap (its page's body is a Buffer, outside it). */
const QUEUED_REFRESH_HEAP_BYTES = 4 * 1024;
/** The heap the service uses with nothing cached. */
const HEAP_BASELINE_BYTES = 40 * MiB;

export interface MemoryBudget {
  /** What the pod's memory limit must at least be. */
  podLimitBytes: number;
  /** What V8's old space must hold when every bound is full; its limit should be twice this. */
  liveHeapBytes: number;
}

export function memoryBudget(cache: Pick<CacheConfig, 'near' | 'hotUrlsMaxBytes' | 'refreshMaxQueued'>): MemoryBudget {
  const nearEntries = cache.near.enabled ? cache.near.maxEntries : 0;
  const nearBytes = cache.near.enabled ? cache.near.maxBytes : 0;
  return {
    podLimitBytes:
      BASELINE_BYTES + nearBytes + nearEntries * NEAR_ENTRY_OVERHEAD_BYTES + cache.hotUrlsMaxBytes + cache.refreshMaxQueued * QUEUED_REFRESH_BYTES,
    liveHeapBytes: HEAP_BASELINE_BYTES + cache.hotUrlsMaxBytes + nearEntries * NEAR_ENTRY_OVERHEAD_BYTES + cache.refreshMaxQueued * QUEUED_REFRESH_HEAP_BYTES,
  };
}

/** Logs the budget, and warns when V8's heap limit leaves less than twice the live heap the bounds allow. */
export function reportMemoryBudget(cache: CacheConfig, log: Logger, heapLimitBytes = getHeapStatistics().heap_size_limit): MemoryBudget {
  const budget = memoryBudget(cache);
  const mib = (bytes: number) => Math.ceil(bytes / MiB);
  log.info({ podLimitMiB: mib(budget.podLimitBytes), liveHeapMiB: mib(budget.liveHeapBytes), heapLimitMiB: mib(heapLimitBytes) }, 'memory budget (docs/memory.md)');
  if (heapLimitBytes < 2 * budget.liveHeapBytes) {
    log.warn(
      { liveHeapMiB: mib(budget.liveHeapBytes), heapLimitMiB: mib(heapLimitBytes) },
      `V8's heap limit is under twice what the cache bounds let it hold: raise --max-old-space-size in NODE_OPTIONS to at least ${mib(2 * budget.liveHeapBytes)} MiB, or lower CACHE_HOT_URLS_MAX_BYTES, CACHE_NEAR_MAX_ENTRIES or CACHE_REFRESH_MAX_QUEUED`,
    );
  }
  return budget;
}
