// The relay: publishes the outbox (product_changes) in id order and marks each batch published once
// the publisher resolved, so every change is delivered at least once and one product's changes in
// the order they committed. Several relays may run; the one holding a session advisory lock on a
// connection of its own publishes, the others stand by and try again every poll interval
// (docs/change-pipeline.md, "Relay").
import pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ChangeFeedConfig } from '../config.ts';
import { markPublished, prunePublished, readUnpublished, toOutboxMessage } from '../store/outbox.ts';
import type { ChangePublisher } from './change-feed.ts';
import { createOutboxMetrics, type OutboxMetrics } from './outbox-metrics.ts';

/** Any fixed number, the same in every relay: whoever holds it publishes. */
export const RELAY_LOCK = 0x6f7574626f78n;
const CHANNEL = 'product_changes';

export interface OutboxRelayOptions {
  /** The primary's pool: the lock's connection is opened with its settings (never taken from it). */
  pool: pg.Pool;
  publisher: ChangePublisher;
  log: Logger;
  metrics: Registry;
  settings: ChangeFeedConfig['outbox'];
  /** Backoff after a failed publish, doubling from minMs to maxMs (default 200 ms to 5 s). */
  retry?: { minMs: number; maxMs: number };
}

export interface OutboxRelay {
  start(): void;
  /** Finishes the batch in flight (publish and mark), then releases the lock and closes its connection. Idempotent. */
  stop(): Promise<void>;
  /** Whether this relay holds the lock (and so publishes). */
  readonly leader: boolean;
  /** Deletes published rows older than the retention now (the schedule calls it too). */
  prune(): Promise<number>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  return new Relay(options);
}

/** The publisher refused a batch: retry it with backoff, the lock stays ours. */
class PublishFailed extends Error {}

interface Sleeper {
  onNotify: boolean;
  done(): void;
}

class Relay implements OutboxRelay {
  private readonly log: Logger;
  private readonly metrics: OutboxMetrics;
  private connection: pg.Client | undefined;
  private holdsLock = false;
  private stopping = false;
  /** A notification came since the last read: the next idle wait returns at once. */
  private notified = false;
  private readonly sleepers = new Set<Sleeper>();
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;
  private outage: { since: number; attempts: number } | undefined;
  private databaseDown = false;
  private standingBy = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.log = options.log.child({ component: 'outbox-relay' });
    this.metrics = createOutboxMetrics(options.metrics, options.pool, this.log);
    this.metrics.leader.set(0);
  }

  get leader(): boolean {
    return this.holdsLock;
  }

  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run().catch((error: unknown) => this.log.error({ err: error }, 'the outbox relay stopped on an unexpected error'));
    this.pruneTimer = setInterval(() => {
      if (this.holdsLock) this.prune().catch((error: unknown) => this.log.warn({ err: error }, 'pruning published outbox rows failed'));
    }, this.options.settings.pruneIntervalMs);
    this.pruneTimer.unref();
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      clearInterval(this.pruneTimer);
      for (const sleeper of this.sleepers) sleeper.done();
      await this.loop;
      await this.pruning?.catch(() => undefined);
      const connection = this.connection;
      this.dropConnection();
      if (connection) {
        await connection.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK.toString()]).catch(() => undefined);
        await connection.end().catch(() => undefined);
      }
    })();
    return this.stopped;
  }

  prune(): Promise<number> {
    this.pruning ??= prunePublished(this.options.pool, this.options.settings.retentionMs)
      .then((pruned) => {
        if (pruned > 0) this.log.info({ pruned, retentionMs: this.options.settings.retentionMs }, 'pruned published outbox rows');
        return pruned;
      })
      .finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async run(): Promise<void> {
    const { pollIntervalMs, batchSize } = this.options.settings;
    while (!this.stopping) {
      if (!this.holdsLock) {
        await this.tryToLead();
        if (!this.holdsLock) await this.sleep(pollIntervalMs, false);
        continue;
      }
      let relayed: number;
      try {
        relayed = await this.relayBatch();
      } catch (error) {
        if (error instanceof PublishFailed) {
          await this.sleep(this.publishFailed(error.cause), false);
        } else {
          this.lostConnection(this.connection, error);
          // Standbys that have been trying all along get the first chance at the lock.
          await this.sleep(pollIntervalMs, false);
        }
        continue;
      }
      if (this.outage) {
        this.log.info({ failedAttempts: this.outage.attempts, outageMs: Date.now() - this.outage.since }, 'publishing outbox changes again');
        this.outage = undefined;
      }
      // A full batch: more may wait, drain on. Otherwise wait for a notification or the poll.
      if (relayed < batchSize) await this.sleep(pollIntervalMs, true);
    }
  }

  /** Publishes the oldest unpublished rows, then marks them; returns how many. */
  private async relayBatch(): Promise<number> {
    const connection = this.connection;
    if (!connection) throw new Error('no connection');
    this.notified = false;
    const rows = await readUnpublished(connection, this.options.settings.batchSize);
    if (rows.length === 0) return 0;
    // The lock went with the connection while we read: another relay may be publishing these.
    if (!this.holdsLock || connection !== this.connection) throw new Error('lost the lock while reading');
    try {
      await this.options.publisher.publish(rows.map(toOutboxMessage));
    } catch (error) {
      throw new PublishFailed('publish failed', { cause: error });
    }
    // On the lock's connection: a relay that lost it cannot mark, so its rows are published again.
    await markPublished(
      connection,
      rows.map((row) => row.id),
    );
    this.metrics.published.inc(rows.length);
    return rows.length;
  }

  /** Counts the failure, reports it once per outage, and says how long to wait before the retry. */
  private publishFailed(error: unknown): number {
    this.metrics.publishFailures.inc();
    if (!this.outage) {
      this.outage = { since: Date.now(), attempts: 0 };
      this.log.warn(
        { err: error },
        'publishing outbox changes failed: retrying with backoff until the publisher answers; writes keep committing and the backlog drains then',
      );
    } else {
      this.log.debug({ err: error, attempts: this.outage.attempts + 1 }, 'publishing outbox changes failed again');
    }
    this.outage.attempts += 1;
    const { minMs, maxMs } = this.options.retry ?? { minMs: 200, maxMs: 5_000 };
    return Math.min(maxMs, minMs * 2 ** Math.min(this.outage.attempts - 1, 20));
  }

  private async tryToLead(): Promise<void> {
    try {
      this.connection ??= await this.connect();
      const { rows } = await this.connection.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK.toString()]);
      if (this.databaseDown) this.log.info('the outbox relay reaches PostgreSQL again');
      this.databaseDown = false;
      if (!rows[0]?.locked) {
        if (!this.standingBy) this.log.info('another relay publishes the outbox: standing by');
        this.standingBy = true;
        return;
      }
      await this.connection.query(`LISTEN ${CHANNEL}`);
      this.holdsLock = true;
      this.standingBy = false;
      this.notified = true;
      this.metrics.leader.set(1);
      this.log.info('this relay holds the outbox lock: publishing');
    } catch (error) {
      if (!this.databaseDown) this.log.warn({ err: error }, 'the outbox relay cannot reach PostgreSQL: trying again every poll interval');
      this.databaseDown = true;
      // Closed, not just forgotten: a connection that took the lock but failed to LISTEN would hold it for good.
      const connection = this.connection;
      this.dropConnection();
      connection?.end().catch(() => undefined);
    }
  }

  /** A connection of the relay's own: the session lock and LISTEN live and die with it. */
  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      ...this.options.pool.options,
      application_name: 'catalog-service:outbox-relay',
      // A dead peer is noticed without waiting for a query (the server frees the lock on its side).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('error', (error) => this.lostConnection(client, error));
    client.on('end', () => this.lostConnection(client, new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) this.wake();
    });
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /** The lock's connection failed: stop publishing at once; the loop tries to lead again with a new one. */
  private lostConnection(client: pg.Client | undefined, error: unknown): void {
    if (!client || client !== this.connection || this.stopping) return;
    const wasLeader = this.holdsLock;
    this.dropConnection();
    client.end().catch(() => undefined);
    if (wasLeader) this.log.warn({ err: error }, "lost the outbox lock's connection: not publishing until this relay holds the lock again");
  }

  private dropConnection(): void {
    this.connection = undefined;
    this.holdsLock = false;
    this.metrics.leader.set(0);
  }

  private wake(): void {
    this.notified = true;
    for (const sleeper of this.sleepers) if (sleeper.onNotify) sleeper.done();
  }

  /** Waits `ms`, or less: on stop, and on a notification when `onNotify`. */
  private sleep(ms: number, onNotify: boolean): Promise<void> {
    if (this.stopping || (onNotify && this.notified)) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        onNotify,
        done: () => {
          clearTimeout(timer);
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      const timer = setTimeout(sleeper.done, ms);
      this.sleepers.add(sleeper);
    });
  }
}
