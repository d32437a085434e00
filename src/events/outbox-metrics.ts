// The relay's metrics. The backlog gauges are read when Prometheus scrapes, with one query on the
// unpublished rows' partial index, so they are true whichever relay leads (every relay reports the
// same database-wide backlog: aggregate with max, not sum).
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { readBacklog, type OutboxBacklog } from '../store/outbox.ts';

export interface OutboxMetrics {
  published: Counter<string>;
  publishFailures: Counter<string>;
  leader: Gauge<string>;
}

/** Registers the relay's metrics on `registry` (one relay per registry). */
export function createOutboxMetrics(registry: Registry, pool: pg.Pool, log: Logger): OutboxMetrics {
  // One query serves both gauges of a scrape (prom-client collects them concurrently).
  let reading: Promise<OutboxBacklog | undefined> | undefined;
  function backlog(): Promise<OutboxBacklog | undefined> {
    reading ??= readBacklog(pool)
      .catch((error: unknown) => {
        // A scrape must not fail with the database: the gauges keep their last values.
        log.debug({ err: error }, 'could not read the outbox backlog for metrics');
        return undefined;
      })
      .finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  }

  new Gauge({
    name: 'catalog_outbox_backlog',
    help: 'Outbox rows not yet published',
    registers: [registry],
    // Every relay reads the same table: across cluster-mode workers the figure is one, not a sum.
    aggregator: 'max',
    async collect() {
      const read = await backlog();
      if (read) this.set(read.unpublished);
    },
  });
  new Gauge({
    name: 'catalog_outbox_oldest_age_seconds',
    help: 'How long the oldest unpublished outbox row has waited since its write committed (0 when none waits)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      const read = await backlog();
      if (read) this.set(read.oldestCommittedAt ? Math.max(0, (Date.now() - read.oldestCommittedAt.getTime()) / 1000) : 0);
    },
  });
  return {
    published: new Counter({ name: 'catalog_change_events_published_total', help: 'Change events published and marked published by this relay', registers: [registry] }),
    publishFailures: new Counter({
      name: 'catalog_outbox_publish_failures_total',
      help: 'Batches the publisher refused or failed (each retried with backoff)',
      registers: [registry],
    }),
    leader: new Gauge({ name: 'catalog_outbox_relay_leader', help: '1 while this relay holds the outbox lock and publishes; 0 on standby', registers: [registry] }),
  };
}
