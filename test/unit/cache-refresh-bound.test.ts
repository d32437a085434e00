// CACHE_REFRESH_MAX_QUEUED bounds the refreshes waiting for a slot: each holds a lock, closures and
// its stale copy (docs/memory.md), so a wave of stale pages must not queue them all.
import { describe, expect, it, vi } from 'vitest';
import { createCatalogCache } from '../../src/cache/catalog-cache.ts';
import { loadConfig } from '../../src/config.ts';

describe('when more stale pages ask for a refresh than CACHE_REFRESH_MAX_QUEUED allows', () => {
  it('then only that many are queued, and the other pages keep their stale copies', async () => {
    let clock = Date.now();
    const windows: (() => void)[] = [];
    const { cache: settings } = loadConfig({ CACHE_REFRESH_MAX_QUEUED: '3', CACHE_FRESH_TTL_MS: '1000' });
    const cache = createCatalogCache({
      settings,
      schemaVersion: 1,
      now: () => clock,
      scheduleRefreshes: (startGathered) => {
        windows.push(startGathered);
        return () => undefined;
      },
    });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return { status: 200 as const, body: Buffer.from(`{"load":${loads}}`) };
    };
    const keys = Array.from({ length: 10 }, (_, i) => `listing:${i}`);
    for (const key of keys) await cache.read(key, ['listings'], load);
    clock += 1_500;
    for (const key of keys) expect((await cache.read(key, ['listings'], load)).stale).toBe(true);
    expect(windows).toHaveLength(1);
    windows[0]?.();
    await vi.waitFor(() => expect(loads).toBe(10 + 3));
    const refreshed = await Promise.all(keys.map((key) => cache.read(key, ['listings'], load)));
    expect(refreshed.filter((read) => !read.stale)).toHaveLength(3);
    await cache.close();
  });
});
