// What the broker did, so a test can wait for the event it means ("the consumer is parked at the
// end of the log", "the append woke it") instead of sleeping and hoping.

/** How a fetch that had to wait was answered: woken by an append, by its max wait, or never. */
export type LongPollEnd = 'appended' | 'max-wait' | 'closed';

export interface FetchSeen {
  clientId: string;
  maxWaitMs: number;
  partitions: { topic: string; partition: number; fetchOffset: number }[];
  /** True when nothing could be answered at once and the fetch waited (a long-poll). */
  parked: boolean;
  /** Set when a parked fetch ends; undefined while it still waits. */
  endedBy?: LongPollEnd;
}

export class BrokerActivity {
  private readonly seen: FetchSeen[] = [];
  /** Responses held back by delayResponses(). */
  delayedResponses = 0;

  /** Every fetch since the broker was created, in arrival order (a test's broker lives seconds). */
  get fetches(): readonly FetchSeen[] {
    return this.seen;
  }

  recordFetch(fetch: FetchSeen): FetchSeen {
    this.seen.push(fetch);
    return fetch;
  }
}
