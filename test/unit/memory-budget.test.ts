import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { memoryBudget, reportMemoryBudget } from '../../src/roles/memory-budget.ts';
import { capturedLog } from '../support/captured-log.ts';

const MiB = 1024 * 1024;

describe('when the memory budget is read from the configuration', () => {
  it('then the defaults ask for the pod limit and live heap docs/memory.md states (about 306 MiB and 100 MiB)', () => {
    const budget = memoryBudget(loadConfig({}).cache);
    // 170 + 64 + 16,384 x 1.5 KiB + 32 + 1,000 x 16 KiB
    expect(budget.podLimitBytes / MiB).toBeCloseTo(170 + 64 + 24 + 32 + 15.625, 3);
    // 40 + 32 + 24 + 1,000 x 4 KiB
    expect(budget.liveHeapBytes / MiB).toBeCloseTo(40 + 32 + 24 + 3.90625, 3);
  });

  it('then each bound raises the budget by what it lets the process hold', () => {
    const base = memoryBudget(loadConfig({}).cache);
    const bigger = memoryBudget(loadConfig({ CACHE_NEAR_MAX_BYTES: String(256 * MiB), CACHE_HOT_URLS_MAX_BYTES: String(48 * MiB) }).cache);
    expect(bigger.podLimitBytes - base.podLimitBytes).toBe(192 * MiB + 16 * MiB);
    expect(bigger.liveHeapBytes - base.liveHeapBytes).toBe(16 * MiB);
    const noNear = memoryBudget(loadConfig({ CACHE_NEAR_ENABLED: 'false' }).cache);
    expect(base.podLimitBytes - noNear.podLimitBytes).toBe(64 * MiB + 16_384 * 1536);
  });

  it('then a heap limit under twice the live heap is warned about at start-up, naming the flag, and a roomy one is not', () => {
    const cache = loadConfig({ CACHE_HOT_URLS_MAX_BYTES: String(256 * MiB) }).cache;
    const tight = capturedLog();
    // Room for the live heap (324 MiB) once, not twice.
    reportMemoryBudget(cache, tight.log, 512 * MiB);
    expect(tight.lines.find((line) => line.level === 40)?.msg).toMatch(/--max-old-space-size .* at least 6\d\d MiB/);
    const roomy = capturedLog();
    reportMemoryBudget(loadConfig({}).cache, roomy.log, 256 * MiB);
    expect(roomy.lines.filter((line) => line.level === 40)).toEqual([]);
    expect(roomy.lines[0]?.msg).toBe('memory budget (docs/memory.md)');
  });
});
