import type CircuitBreaker from 'opossum';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

const STATE_NAME = 'catalog_breaker_state';
const EVENTS_NAME = 'catalog_breaker_events_total';
const EVENTS = ['open', 'halfOpen', 'close', 'failure', 'timeout', 'reject'] as const;

/**
 * Exposes a breaker as `catalog_breaker_state{dependency}` (0 closed, 1 half-open, 2 open) and
 * `catalog_breaker_events_total{dependency,event}`. Safe to call for several breakers on one
 * registry. Returns a function that detaches the listeners.
 */
export function observeBreaker<TI extends unknown[], TR>(
  breaker: CircuitBreaker<TI, TR>,
  dependency: string,
  registry: Registry,
): () => void {
  const state =
    (registry.getSingleMetric(STATE_NAME) as Gauge<'dependency'> | undefined) ??
    new Gauge({
      name: STATE_NAME,
      help: 'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open',
      labelNames: ['dependency'],
      registers: [registry],
    });
  const events =
    (registry.getSingleMetric(EVENTS_NAME) as Counter<'dependency' | 'event'> | undefined) ??
    new Counter({
      name: EVENTS_NAME,
      help: 'Circuit breaker events per dependency',
      labelNames: ['dependency', 'event'],
      registers: [registry],
    });

  const setState = (): void => {
    state.set({ dependency }, breaker.opened ? 2 : breaker.halfOpen ? 1 : 0);
  };
  const listeners = EVENTS.map((event) => {
    const listener = (): void => {
      events.inc({ dependency, event });
      if (event === 'open' || event === 'halfOpen' || event === 'close') setState();
    };
    breaker.on(event as 'open', listener);
    return [event, listener] as const;
  });
  setState();
  return () => {
    for (const [event, listener] of listeners) breaker.off(event, listener);
  };
}
