import Redlock, { ExecutionError, ResourceLockedError } from 'redlock';
import type { Redis } from 'ioredis';

export type LockAttempt = { state: 'acquired'; release(): Promise<void> } | { state: 'busy' };

/** The fleet-wide "I am loading this key" lock. */
export interface FillLock {
  /** One attempt, no retries (callers poll for the fill instead). Rejects only when Redis fails. */
  tryAcquire(resource: string): Promise<LockAttempt>;
}

export function createFillLock(redis: Redis, ttlMs: number): FillLock {
  // retryCount 0: waiting is done by the cache, which watches for the fill between attempts.
  const redlock = new Redlock([redis], { retryCount: 0, driftFactor: 0.01 });
  const duration = Math.max(1, Math.round(ttlMs));
  return {
    async tryAcquire(resource) {
      try {
        const lock = await redlock.acquire([resource], duration);
        return {
          state: 'acquired',
          release: async () => {
            // An expired lock is already gone; nothing to undo.
            await lock.release().catch(() => undefined);
          },
        };
      } catch (error) {
        if (!(error instanceof ExecutionError)) throw error;
        const [attempt] = error.attempts;
        const votes = attempt ? [...(await attempt).votesAgainst.values()] : [];
        if (votes.some((vote) => vote instanceof ResourceLockedError)) return { state: 'busy' };
        throw votes[0] ?? error;
      }
    },
  };
}
