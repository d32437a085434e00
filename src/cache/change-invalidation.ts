// A change invalidated twice: at once, and again once the replica the pods read must have it.
//
// Pods load through a replica that may trail the primary. A page refilled right after a change's
// invalidation can read the replica before it has the change; it is then stored against the
// generations that invalidation left, so it is valid, with the old price, for a whole fresh span.
// Bumping the same tags again DATABASE_REPLICA_LAG_BOUND_MS after the first bump makes every such
// refill invalid: an entry records its tags' generations as read before its load, so an entry still
// valid after the second bump was loaded after it, when the replica had the change (the first bump
// follows the commit, the second follows the first by the bound). docs/caching.md says what is left.
import type { Logger } from 'pino';

/** What the indexer invalidates with: the cache's or buildInvalidator's invalidate. */
export interface TagInvalidator {
  invalidate(tags: readonly string[]): Promise<void>;
}

export interface ChangeInvalidationOptions {
  /** How far the replica may trail the primary (config.database.replicaLagBoundMs). */
  lagBoundMs: number;
  /** Whether the pods read a replica (config.database.replicaUrl set); without one a change is bumped once. */
  replica: boolean;
  log: Logger;
  /** Runs `run` after `ms`, returning a cancel; default setTimeout. Tests fire it when they choose. */
  schedule?: (run: () => void, ms: number) => () => void;
  now?: () => number;
  /** How long close() keeps retrying failed second bumps after the last came due; default CLOSE_RETRY_MS. */
  closeRetryMs?: number;
}

export interface ChangeInvalidation extends TagInvalidator {
  /**
   * Bumps the tags now and, with a replica, again after the lag bound. Resolves after the first bump
   * (rejects when it failed: retry, never skip); the second is this object's to do, retried until done.
   */
  invalidate(tags: readonly string[]): Promise<void>;
  /**
   * The same, resolving after the first bump with `second`: true once the second bump is done (at
   * once without a replica), false if close() gave it up. A consumer that commits an event's offset
   * only after `second` makes the pair durable: a crash between the bumps replays the event.
   */
  invalidateChange(tags: readonly string[]): Promise<{ second: Promise<boolean> }>;
  /** Changes whose second bump is still to come. */
  readonly pending: number;
  /** Resolves once every second bump asked for so far is done. */
  settled(): Promise<void>;
  /**
   * Does the pending second bumps as they come due (not sooner: an early bump would let a refill read
   * the lagging replica again), retrying failures for up to closeRetryMs; then refuses new changes.
   */
  close(): Promise<void>;
}

/** Second bumps coming due within this long of the first of them go to Redis as one transaction. */
export const SECOND_BUMP_GATHER_MS = 50;
export const CLOSE_RETRY_MS = 5_000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

interface SecondBump {
  tags: readonly string[];
  /** When it came due (first bump + lag bound). */
  dueAt: number;
  /** When to try it (dueAt, or later after a failure). */
  tryAt: number;
  /** Settles the caller's `second`. */
  done(bumped: boolean): void;
}

const afterDelay = (run: () => void, ms: number): (() => void) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

export function createChangeInvalidation(invalidator: TagInvalidator, options: ChangeInvalidationOptions): ChangeInvalidation {
  const { lagBoundMs, log } = options;
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? afterDelay;
  const closeRetryMs = options.closeRetryMs ?? CLOSE_RETRY_MS;
  let waiting: SecondBump[] = [];
  let inFlight: SecondBump[] = [];
  let flight: Promise<void> | null = null;
  let cancelTimer: (() => void) | null = null;
  let retryMs = FIRST_RETRY_MS;
  let closing = false;
  let closed = false;
  let settle: (() => void)[] = [];

  const pending = (): number => waiting.length + inFlight.length;

  /** One timer for the earliest second bump; while closing, without the gathering delay. */
  function arm(): void {
    if (cancelTimer || inFlight.length > 0 || waiting.length === 0) return;
    let earliest = Infinity;
    for (const bump of waiting) earliest = Math.min(earliest, bump.tryAt);
    cancelTimer = schedule(bumpDue, Math.max(0, earliest - now()) + (closing ? 0 : SECOND_BUMP_GATHER_MS));
  }

  function rearm(): void {
    cancelTimer?.();
    cancelTimer = null;
    arm();
  }

  /** Every second bump due by now, in one transaction (the invalidator's one MULTI). */
  function bumpDue(): void {
    cancelTimer = null;
    const at = now();
    inFlight = waiting.filter((bump) => bump.tryAt <= at);
    if (inFlight.length === 0) return arm();
    waiting = waiting.filter((bump) => bump.tryAt > at);
    const tags = [...new Set(inFlight.flatMap((bump) => bump.tags))];
    flight = invalidator.invalidate(tags).then(
      () => {
        retryMs = FIRST_RETRY_MS;
        for (const bump of inFlight) bump.done(true);
      },
      (error: unknown) => {
        log.warn({ err: error, tags: tags.length, retryMs }, 'second invalidation after the replica lag bound failed; retrying');
        for (const bump of inFlight) waiting.push({ ...bump, tryAt: now() + retryMs });
        retryMs = Math.min(2 * retryMs, MAX_RETRY_MS);
      },
    );
    void flight.then(() => {
      flight = null;
      inFlight = [];
      done();
    });
  }

  function done(): void {
    if (pending() > 0) return arm();
    const resolved = settle;
    settle = [];
    for (const resolve of resolved) resolve();
  }

  async function invalidateChange(tags: readonly string[]): Promise<{ second: Promise<boolean> }> {
    if (closed) throw new Error('change invalidation is closed: its second bumps could no longer be done');
    await invalidator.invalidate(tags);
    if (!options.replica || tags.length === 0) return { second: Promise.resolve(true) };
    if (closed) {
      log.warn({ tags: tags.length }, 'a change was invalidated once while closing; its second bump is not done');
      return { second: Promise.resolve(false) };
    }
    // Timed from the first bump's end, which follows the commit: the replica has the change by then
    // unless it trails by more than the bound.
    const dueAt = now() + lagBoundMs;
    let done: (bumped: boolean) => void = () => undefined;
    const second = new Promise<boolean>((resolve) => (done = resolve));
    waiting.push({ tags: [...tags], dueAt, tryAt: dueAt, done });
    arm();
    return { second };
  }

  function settled(): Promise<void> {
    return pending() === 0 ? Promise.resolve() : new Promise((resolve) => settle.push(resolve));
  }

  return {
    async invalidate(tags) {
      await invalidateChange(tags);
    },
    invalidateChange,
    get pending() {
      return pending();
    },
    settled,
    async close() {
      if (closed) return;
      closing = true;
      rearm();
      while (pending() > 0) {
        let lastDueAt = -Infinity;
        for (const bump of [...waiting, ...inFlight]) lastDueAt = Math.max(lastDueAt, bump.dueAt);
        const giveUpAt = lastDueAt + closeRetryMs;
        if (flight) await flight;
        else if (now() >= giveUpAt) {
          log.error({ changes: waiting.length }, 'second invalidations not done at shutdown: a page refilled from the lagging replica may keep old data for its fresh span');
          for (const bump of waiting) bump.done(false);
          waiting = [];
        } else {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([settled(), new Promise((resolve) => (timer = setTimeout(resolve, giveUpAt - now())))]);
          clearTimeout(timer);
        }
      }
      closed = true;
      cancelTimer?.();
      cancelTimer = null;
      done();
    },
  };
}
