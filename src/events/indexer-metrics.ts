// The indexer's metrics, on the process's registry. Looked up before they are created, so the change
// indexer and the Kafka wiring (which sets the lag) share them, and an api process that builds its
// in-process indexer twice in tests does not register a name twice.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IndexerMetrics {
  consumed: Counter;
  failed: Counter<'reason'>;
  deadLettered: Counter<'reason'>;
  stale: Counter;
  latency: Histogram;
  lag: Gauge<'topic' | 'partition'>;
}

export function indexerMetrics(registry: Registry): IndexerMetrics {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    consumed:
      existing<Counter>('catalog_change_events_consumed_total') ??
      new Counter({ name: 'catalog_change_events_consumed_total', help: 'Change messages the indexer received (each delivery counts, duplicates included)', registers: [registry] }),
    failed:
      existing<Counter<'reason'>>('catalog_change_events_failed_total') ??
      new Counter({
        name: 'catalog_change_events_failed_total',
        help: 'Change events in attempts that failed, by reason (every retry counts again)',
        labelNames: ['reason'],
        registers: [registry],
      }),
    deadLettered:
      existing<Counter<'reason'>>('catalog_change_events_dead_lettered_total') ??
      new Counter({ name: 'catalog_change_events_dead_lettered_total', help: 'Change messages given up on and dead-lettered, by reason', labelNames: ['reason'], registers: [registry] }),
    stale:
      existing<Counter>('catalog_change_events_stale_total') ??
      new Counter({
        name: 'catalog_change_events_stale_total',
        help: 'Search documents not written because the index already held that product at the same or a newer version (duplicates, replays, late events)',
        registers: [registry],
      }),
    latency:
      existing<Histogram>('catalog_change_latency_seconds') ??
      new Histogram({
        name: 'catalog_change_latency_seconds',
        help: "From a change's commit to its invalidation on every pod (search document written)",
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
    lag:
      existing<Gauge<'topic' | 'partition'>>('catalog_indexer_consumer_lag') ??
      new Gauge({
        name: 'catalog_indexer_consumer_lag',
        help: 'Messages of a change topic partition not yet committed by the indexer (high watermark minus committed offset)',
        labelNames: ['topic', 'partition'],
        registers: [registry],
      }),
  };
}
