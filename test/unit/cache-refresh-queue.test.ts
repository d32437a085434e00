import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRefreshQueue, REFRESH_GATHER_MS } from '../../src/cache/refresh-queue.ts';
import type { Refresh, RefreshQueueOptions } from '../../src/cache/refresh-queue.ts';

function deferred() {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A queue whose gathering window closes when the test calls `closeWindow`. */
function queue(options: Partial<RefreshQueueOptions> = {}) {
  const windows: (() => void)[] = [];
  const cancelled: number[] = [];
  const errors: [string, unknown][] = [];
  let opened = 0;
  const created = createRefreshQueue({
    concurrency: 8,
    maxQueued: 10_000,
    onError: (key, error) => errors.push([key, error]),
    schedule: (startGathered) => {
      windows.push(startGathered);
      const window = ++opened;
      return () => cancelled.push(window);
    },
    ...options,
  });
  const closeWindow = () => windows.shift()?.();
  return { queue: created, windows, cancelled, errors, closeWindow };
}

/** A refresh that loads in a slot, with a load the test finishes. */
function refreshes() {
  const started: string[] = [];
  const loading: string[] = [];
  let mostLoading = 0;
  const finishes = new Map<string, () => void>();
  const refresh = (key: string): Refresh => async (inSlot) => {
    started.push(key);
    return inSlot(async () => {
      loading.push(key);
      mostLoading = Math.max(mostLoading, loading.length);
      const done = deferred();
      finishes.set(key, done.resolve);
      await done.promise;
      loading.splice(loading.indexOf(key), 1);
      return key;
    });
  };
  const finish = (key: string) => finishes.get(key)?.();
  return { refresh, started, loading, finish, mostLoading: () => mostLoading };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('refresh queue', () => {
  it('when refreshes are asked for within one gathering window, then none starts before it closes and all start together', async () => {
    const { queue: q, windows, closeWindow } = queue();
    const r = refreshes();
    expect(q.request('a', r.refresh('a'))).toBe(true);
    expect(q.request('b', r.refresh('b'))).toBe(true);
    expect(q.request('c', r.refresh('c'))).toBe(true);
    expect(windows).toHaveLength(1);
    await settle();
    expect(r.started).toEqual([]);

    closeWindow();
    await settle();
    expect(r.started).toEqual(['a', 'b', 'c']);
    // The next refresh asked for opens a new window.
    expect(q.request('d', r.refresh('d'))).toBe(true);
    expect(windows).toHaveLength(1);
  });

  it('when no scheduler is given, then the gathered refreshes start REFRESH_GATHER_MS after the first was asked for', async () => {
    vi.useFakeTimers();
    const q = createRefreshQueue({ concurrency: 8, maxQueued: 10_000, onError: () => undefined });
    const r = refreshes();
    q.request('a', r.refresh('a'));
    await vi.advanceTimersByTimeAsync(REFRESH_GATHER_MS / 2);
    q.request('b', r.refresh('b'));
    await vi.advanceTimersByTimeAsync(REFRESH_GATHER_MS / 2 - 1);
    expect(r.started).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.started).toEqual(['a', 'b']);
    expect(REFRESH_GATHER_MS).toBe(50);
  });

  it('when a key is asked for again while gathered or running, then it is not queued twice, and may be once it is done', async () => {
    const { queue: q, closeWindow } = queue();
    const r = refreshes();
    expect(q.request('a', r.refresh('a'))).toBe(true);
    expect(q.request('a', r.refresh('a'))).toBe(false);
    closeWindow();
    await settle();
    expect(q.request('a', r.refresh('a'))).toBe(false);
    expect(q.running()).toHaveLength(1);
    r.finish('a');
    await Promise.all(q.running());
    expect(q.request('a', r.refresh('a'))).toBe(true);
  });

  it('when a wave of refreshes starts, then at most `concurrency` of them load at once, and every one loads', async () => {
    const { queue: q, closeWindow } = queue({ concurrency: 2 });
    const r = refreshes();
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (const key of keys) q.request(key, r.refresh(key));
    closeWindow();
    await settle();
    // Every refresh has started (its Redis work runs at once); only the loads wait for a slot.
    expect(r.started).toEqual(keys);
    expect(r.loading).toEqual(['a', 'b']);
    for (const key of keys) {
      r.finish(key);
      await settle();
    }
    await Promise.all(q.running());
    expect(r.mostLoading()).toBe(2);
    expect(r.loading).toEqual([]);
  });

  it('when gathered and slot-waiting refreshes reach maxQueued, then further ones are refused', async () => {
    const { queue: q, closeWindow } = queue({ concurrency: 1, maxQueued: 3 });
    const r = refreshes();
    for (const key of ['a', 'b', 'c']) expect(q.request(key, r.refresh(key))).toBe(true);
    expect(q.request('d', r.refresh('d'))).toBe(false);
    closeWindow();
    await settle();
    // a loads; b and c wait for the slot: two queued, so one more may be gathered.
    expect(r.loading).toEqual(['a']);
    expect(q.request('d', r.refresh('d'))).toBe(true);
    expect(q.request('e', r.refresh('e'))).toBe(false);
  });

  it('when the queue closes, then gathered refreshes never start and loads still waiting for a slot never run', async () => {
    const { queue: q, cancelled, closeWindow } = queue({ concurrency: 1 });
    const r = refreshes();
    q.request('a', r.refresh('a'));
    q.request('b', r.refresh('b'));
    closeWindow();
    await settle();
    q.request('c', r.refresh('c'));
    expect(r.loading).toEqual(['a']);

    q.close();
    expect(cancelled).toEqual([2]);
    expect(q.request('d', r.refresh('d'))).toBe(false);
    r.finish('a');
    const results = await Promise.all(q.running());
    expect(results).toEqual(['a', null]);
    expect(r.started).toEqual(['a', 'b']);
  });

  it('when a refresh fails, then its error goes to onError and nothing rejects', async () => {
    const { queue: q, errors, closeWindow } = queue();
    const failure = new Error('postgres down');
    q.request('a', () => Promise.reject(failure));
    closeWindow();
    const results = await Promise.all(q.running());
    expect(results).toEqual([null]);
    expect(errors).toEqual([['a', failure]]);
  });
});
