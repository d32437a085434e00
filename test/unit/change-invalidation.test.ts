// The second invalidation past the replica's lag bound, on a clock and timers the test moves. The
// invalidator here records what it is asked to bump (through Redis: test/integration/change-fences.test.ts).
import { describe, expect, it } from 'vitest';
import { createChangeInvalidation, SECOND_BUMP_GATHER_MS, type ChangeInvalidationOptions, type TagInvalidator } from '../../src/cache/change-invalidation.ts';
import { capturedLog } from '../support/captured-log.ts';

const LAG_BOUND_MS = 1_000;

/** An invalidator that records each bump, failing the next `failures` of them. */
function recorder(): TagInvalidator & { bumps: string[][]; failures: number } {
  const record = {
    bumps: [] as string[][],
    failures: 0,
    async invalidate(tags: readonly string[]) {
      if (record.failures > 0) {
        record.failures -= 1;
        throw new Error('Redis is away');
      }
      record.bumps.push([...tags]);
    },
  };
  return record;
}

/** A clock and timers the test moves: `advance` runs the timers that come due. */
function clock() {
  const state = { now: 1_000_000, timers: [] as { at: number; run: () => void }[] };
  const schedule: NonNullable<ChangeInvalidationOptions['schedule']> = (run, ms) => {
    const timer = { at: state.now + ms, run };
    state.timers.push(timer);
    return () => void state.timers.splice(state.timers.indexOf(timer), 1);
  };
  async function advance(ms: number): Promise<void> {
    const until = state.now + ms;
    for (;;) {
      const next = state.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      state.timers.splice(state.timers.indexOf(next), 1);
      state.now = Math.max(state.now, next.at);
      next.run();
      // Let the bump's promise settle before the next timer.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    state.now = until;
  }
  return { state, schedule, now: () => state.now, advance };
}

function changes(invalidator: TagInvalidator, time: ReturnType<typeof clock>, replica = true) {
  const { log } = capturedLog();
  return createChangeInvalidation(invalidator, { lagBoundMs: LAG_BOUND_MS, replica, log, schedule: time.schedule, now: time.now });
}

describe('when the pods read the primary (no replica)', () => {
  it('then a change is bumped once, at once, and nothing waits', async () => {
    const invalidator = recorder();
    const time = clock();
    const invalidation = changes(invalidator, time, false);
    await invalidation.invalidate(['product:1', 'listings']);
    await time.advance(10 * LAG_BOUND_MS);
    expect(invalidator.bumps).toEqual([['product:1', 'listings']]);
    expect(invalidation.pending).toBe(0);
    expect(await (await invalidation.invalidateChange(['product:2'])).second).toBe(true);
  });
});

describe('when the pods read a replica that may trail the primary', () => {
  it('then a change is bumped at once and again once the lag bound has passed, never sooner', async () => {
    const invalidator = recorder();
    const time = clock();
    const invalidation = changes(invalidator, time);
    const { second } = await invalidation.invalidateChange(['product:1', 'listings']);
    let secondDone: boolean | undefined;
    void second.then((done) => (secondDone = done));
    expect(invalidator.bumps).toEqual([['product:1', 'listings']]);
    expect(invalidation.pending).toBe(1);
    await time.advance(LAG_BOUND_MS - 1);
    expect(invalidator.bumps).toHaveLength(1);
    expect(secondDone).toBeUndefined();
    await time.advance(1 + SECOND_BUMP_GATHER_MS);
    expect(secondDone).toBe(true);
    expect(invalidator.bumps).toEqual([
      ['product:1', 'listings'],
      ['product:1', 'listings'],
    ]);
    expect(invalidation.pending).toBe(0);
  });

  it('then the second bumps of changes coming due together go as one, and a later change keeps its own time', async () => {
    const invalidator = recorder();
    const time = clock();
    const invalidation = changes(invalidator, time);
    await invalidation.invalidate(['product:1', 'listings']);
    await time.advance(SECOND_BUMP_GATHER_MS / 2);
    await invalidation.invalidate(['product:2', 'listings']);
    await time.advance(SECOND_BUMP_GATHER_MS);
    await invalidation.invalidate(['product:3']);
    invalidator.bumps.length = 0;
    await time.advance(LAG_BOUND_MS);
    expect(invalidator.bumps).toEqual([['product:1', 'listings', 'product:2']]);
    expect(invalidation.pending).toBe(1);
    await time.advance(LAG_BOUND_MS);
    expect(invalidator.bumps).toEqual([['product:1', 'listings', 'product:2'], ['product:3']]);
  });

  it('then a second bump that fails is retried until it is done, and only then is everything settled', async () => {
    const invalidator = recorder();
    const time = clock();
    const invalidation = changes(invalidator, time);
    await invalidation.invalidate(['product:1']);
    let settled = false;
    void invalidation.settled().then(() => (settled = true));
    invalidator.failures = 3;
    await time.advance(LAG_BOUND_MS + SECOND_BUMP_GATHER_MS);
    expect(invalidator.bumps).toHaveLength(1);
    expect(invalidation.pending).toBe(1);
    await time.advance(60_000);
    expect(invalidator.bumps).toEqual([['product:1'], ['product:1']]);
    expect(invalidation.pending).toBe(0);
    await Promise.resolve();
    expect(settled).toBe(true);
  });

  it('then a first bump that fails rejects (the caller retries) and leaves no second bump behind', async () => {
    const invalidator = recorder();
    const time = clock();
    const invalidation = changes(invalidator, time);
    invalidator.failures = 1;
    await expect(invalidation.invalidate(['product:1'])).rejects.toThrow('Redis is away');
    expect(invalidation.pending).toBe(0);
  });
});

describe('when the process closes with second bumps pending', () => {
  it('then close waits for them to come due and does them, and refuses changes afterwards', async () => {
    const invalidator = recorder();
    const { log } = capturedLog();
    // Real timers: close must not bump early, nor return before the bump is done.
    const invalidation = createChangeInvalidation(invalidator, { lagBoundMs: 100, replica: true, log });
    const startedAt = Date.now();
    await invalidation.invalidate(['product:1']);
    await invalidation.close();
    expect(invalidator.bumps).toEqual([['product:1'], ['product:1']]);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(100);
    await expect(invalidation.invalidate(['product:2'])).rejects.toThrow(/closed/);
  });

  it('then one that keeps failing is retried until closeRetryMs after it came due, then given up with an error logged', async () => {
    const invalidator = recorder();
    const captured = capturedLog();
    const invalidation = createChangeInvalidation(invalidator, { lagBoundMs: 20, replica: true, log: captured.log, closeRetryMs: 300 });
    const { second } = await invalidation.invalidateChange(['product:1']);
    invalidator.failures = Infinity;
    await invalidation.close();
    expect(await second).toBe(false);
    expect(invalidator.bumps).toEqual([['product:1']]);
    expect(invalidation.pending).toBe(0);
    expect(captured.lines.some((line) => line.level === 50 && /not done at shutdown/.test(String(line.msg)))).toBe(true);
  });
});
