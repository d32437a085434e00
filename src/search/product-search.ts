// Search that survives its engine. With OpenSearch configured, every search and suggestion goes to it
// through an opossum breaker; when it fails or is slower than its timeout, the PostgreSQL engine
// answers that request, flagged degraded. Enough failures open the breaker, and requests go straight to
// PostgreSQL until it half-opens and one request finds OpenSearch answering again. Without OpenSearch,
// PostgreSQL is the engine and nothing is degraded.
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { EngineSearchResult, SearchRequest, Suggestion } from '../catalog/search.ts';
import { observeBreaker } from '../observability/breaker-metrics.ts';
import type { SearchEngine } from './search-port.ts';

export type EngineName = SearchEngine['name'];

export interface Answered<T> {
  value: T;
  engine: EngineName;
  /** The primary engine failed and the fallback answered. */
  degraded: boolean;
}

export interface ProductSearch {
  search(request: SearchRequest): Promise<Answered<EngineSearchResult>>;
  suggest(q: string, limit: number): Promise<Answered<Suggestion[]>>;
  /** Called when the primary engine answers again after its breaker was open (answers given meanwhile were degraded). */
  onRecovered(listener: () => void): void;
  shutdown(): void;
}

export interface ProductSearchOptions {
  /** The engine that answers when healthy: OpenSearch, or PostgreSQL when it is the only one. */
  primary: SearchEngine;
  /** Answers when the primary fails; absent when the primary is PostgreSQL itself. */
  fallback?: SearchEngine | undefined;
  /** A primary answer slower than this counts as a failure (the fallback answers). */
  timeoutMs: number;
  /** How long the breaker stays open before one request tries the primary again. */
  resetTimeoutMs: number;
  log: Logger;
  metrics: Registry;
}

type Operation = 'search' | 'suggest';
type Call = { operation: 'search'; request: SearchRequest } | { operation: 'suggest'; q: string; limit: number };

export function createProductSearch(options: ProductSearchOptions): ProductSearch {
  const { primary, fallback, log } = options;
  const metrics = searchMetrics(options.metrics);
  const timed = async <T>(engine: SearchEngine, operation: Operation, run: () => Promise<T>): Promise<T> => {
    const end = metrics.duration.startTimer({ engine: engine.name, operation });
    try {
      return await run();
    } finally {
      end();
    }
  };
  const call = (engine: SearchEngine, request: Call, signal?: AbortSignal): Promise<EngineSearchResult | Suggestion[]> =>
    timed<EngineSearchResult | Suggestion[]>(engine, request.operation, () =>
      request.operation === 'search' ? engine.search(request.request, signal) : engine.suggest(request.q, request.limit, signal),
    );

  // Each call gets its own AbortController: a timed-out request is abandoned, its socket closed.
  const breaker = fallback
    ? new CircuitBreaker(
        async (request: Call) => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), options.timeoutMs);
          try {
            return await call(primary, request, controller.signal);
          } finally {
            clearTimeout(timer);
          }
        },
        {
          name: primary.name,
          timeout: options.timeoutMs,
          resetTimeout: options.resetTimeoutMs,
          errorThresholdPercentage: 50,
          volumeThreshold: 5,
          rollingCountTimeout: 10_000,
        },
      )
    : undefined;
  const unobserve = breaker ? observeBreaker(breaker, primary.name, options.metrics) : () => undefined;
  let wasOpen = false;
  const recovered: (() => void)[] = [];
  breaker?.on('open', () => {
    wasOpen = true;
    log.warn({ engine: primary.name }, `search engine ${primary.name} failing: the PostgreSQL engine answers, degraded`);
  });
  breaker?.on('close', () => {
    if (!wasOpen) return;
    wasOpen = false;
    log.info({ engine: primary.name }, `search engine ${primary.name} answering again`);
    for (const listener of recovered) listener();
  });

  async function answer<T extends EngineSearchResult | Suggestion[]>(request: Call): Promise<Answered<T>> {
    if (!breaker || !fallback) return { value: (await call(primary, request)) as T, engine: primary.name, degraded: false };
    try {
      return { value: (await breaker.fire(request)) as T, engine: primary.name, degraded: false };
    } catch (error) {
      const reason = breaker.opened && (error as { code?: string }).code === 'EOPENBREAKER' ? 'breaker-open' : (error as { code?: string }).code === 'ETIMEDOUT' ? 'timeout' : 'error';
      metrics.fallbacks.inc({ operation: request.operation, reason });
      if (reason === 'error') log.warn({ err: error, engine: primary.name, operation: request.operation }, 'search engine failed; PostgreSQL answers');
      return { value: (await call(fallback, request)) as T, engine: fallback.name, degraded: true };
    }
  }

  return {
    async search(request) {
      const answered = await answer<EngineSearchResult>({ operation: 'search', request });
      if (answered.value.items.length === 0) metrics.zeroResults.inc({ engine: answered.engine });
      return answered;
    },
    suggest(q, limit) {
      return answer<Suggestion[]>({ operation: 'suggest', q, limit });
    },
    onRecovered(listener) {
      recovered.push(listener);
    },
    shutdown() {
      unobserve();
      breaker?.shutdown();
    },
  };
}

function searchMetrics(registry: Registry) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    duration:
      existing<Histogram<'engine' | 'operation'>>('catalog_search_duration_seconds') ??
      new Histogram({
        name: 'catalog_search_duration_seconds',
        help: 'Time an engine took to answer a search or a suggestion (cache misses only)',
        labelNames: ['engine', 'operation'],
        buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
    fallbacks:
      existing<Counter<'operation' | 'reason'>>('catalog_search_fallbacks_total') ??
      new Counter({
        name: 'catalog_search_fallbacks_total',
        help: 'Searches and suggestions the PostgreSQL engine answered because the primary engine failed (reason: error, timeout, breaker-open)',
        labelNames: ['operation', 'reason'],
        registers: [registry],
      }),
    zeroResults:
      existing<Counter<'engine'>>('catalog_search_zero_results_total') ??
      new Counter({
        name: 'catalog_search_zero_results_total',
        help: 'Searches that found nothing, even after the relaxed retry',
        labelNames: ['engine'],
        registers: [registry],
      }),
  };
}
