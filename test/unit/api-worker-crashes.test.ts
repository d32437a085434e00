// The primary's answer to a worker that died unasked: replace it after a growing wait, and give up (so
// a supervisor notices) when crashes come too often.
import { describe, expect, it } from 'vitest';
import { crashLimit, createCrashPolicy } from '../../src/roles/api-workers.ts';

describe('when api workers crash', () => {
  it('then each crash within a minute doubles the wait before the replacement, and one too many gives up', () => {
    let now = 0;
    const policy = createCrashPolicy(5, () => now);
    const waits = Array.from({ length: 5 }, () => {
      now += 1000;
      return policy.crashed();
    });
    expect(waits).toEqual([100, 200, 400, 800, 1600]);
    now += 1000;
    expect(policy.crashed()).toBe('give up');
  });

  it('then crashes more than a minute apart are each replaced at the shortest wait, for good', () => {
    let now = 0;
    const policy = createCrashPolicy(5, () => now);
    for (let crash = 0; crash < 20; crash++) {
      now += 60_001;
      expect(policy.crashed()).toBe(100);
    }
  });

  it('then the wait is bounded at 10 s and the limit grows with the workers (at least 5)', () => {
    const policy = createCrashPolicy(100, () => 0);
    const waits = Array.from({ length: 12 }, () => policy.crashed());
    expect(waits.at(-1)).toBe(10_000);
    expect(crashLimit(1)).toBe(5);
    expect(crashLimit(8)).toBe(16);
  });
});
