// The worker's side of cluster mode (roles/api-workers.ts is the primary's): what the api role does
// differently when a primary forked it. It stops when the primary says so, relays its invalidations to
// the other workers when there is no Redis to carry them, and its /metrics answers for the whole cluster.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { CatalogCache } from '../cache/catalog-cache.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';

/**
 * A worker told to stop keeps answering at least this long, each answer with `Connection: close`,
 * before it closes its idle keep-alive connections: a client busy on one learns from an answer that
 * the connection ends instead of finding it reset under its next request. Longer with SHUTDOWN_DELAY_MS.
 */
export const WORKER_DRAIN_MS = 2000;

export type PrimaryMessage = { catalog: 'stop' } | { catalog: 'invalidate'; tags: string[] } | { catalog: 'metrics'; id: number; text?: string; error?: string };
export type WorkerMessage = { catalog: 'invalidate'; tags: string[] } | { catalog: 'metrics-request'; id: number };

export function isCatalogMessage<T>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && 'catalog' in message;
}

/** What the api role does differently in a cluster worker. Undefined in a process of its own. */
export interface ApiWorkerLink {
  /** The worker's registry: it registers as any, and its /metrics answers the whole cluster's, through the primary. */
  metrics: Registry;
  /** Without Redis, wraps the cache the in-process change feed invalidates so the other workers drop the tags too. */
  changeInvalidator(cache: CatalogCache, shared: boolean): { invalidate(tags: readonly string[]): Promise<void> };
  /** Invalidations from the other workers land in this cache; a stop from the primary runs `stop`. */
  attach(options: { cache: CatalogCache; stop: (reason: string) => void }): void;
  /** The last shutdown step: lets go of the primary's channel, which would keep the process alive. */
  leave(): void;
}

export function joinApiWorkers(log: Logger): ApiWorkerLink | undefined {
  if (!cluster.isWorker) return undefined;
  const metrics = createMetricsRegistry(new ClusterMetricsRegistry());
  // Installs prom-client's answer to the primary's "send me your metrics".
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics]);
  // Ctrl-C in a terminal signals the whole process group: the primary alone decides, and tells each worker.
  process.on('SIGINT', () => undefined);
  return {
    metrics,
    changeInvalidator(cache, shared) {
      if (shared) return cache;
      return {
        async invalidate(tags) {
          await cache.invalidate(tags);
          if (process.connected) process.send?.({ catalog: 'invalidate', tags: [...tags] } satisfies WorkerMessage);
        },
      };
    },
    leave() {
      if (process.connected) cluster.worker?.disconnect();
    },
    attach({ cache, stop }) {
      process.on('message', (message: unknown) => {
        if (!isCatalogMessage<PrimaryMessage>(message)) return;
        if (message.catalog === 'stop') stop('asked by the primary');
        else if (message.catalog === 'invalidate') {
          cache.invalidate(message.tags).catch((error: unknown) => log.warn({ err: error }, 'invalidation from another worker failed'));
        }
      });
    },
  };
}

/** A worker's registry whose exposition is the cluster's: the primary gathers every worker's and sums them. */
class ClusterMetricsRegistry extends Registry {
  #next = 0;
  readonly #pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

  constructor() {
    super();
    process.on('message', (message: unknown) => {
      if (!isCatalogMessage<PrimaryMessage>(message) || message.catalog !== 'metrics') return;
      const request = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.text !== undefined) request?.resolve(message.text);
      else request?.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
    });
  }

  override metrics(): Promise<string> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (!process.connected || !process.send?.({ catalog: 'metrics-request', id } satisfies WorkerMessage)) {
        this.#pending.delete(id);
        reject(new Error('cluster metrics: the primary is gone'));
      }
    });
  }
}
