import { once } from 'node:events';
import CircuitBreaker from 'opossum';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { observeBreaker } from '../../src/observability/breaker-metrics.ts';

const breakers: CircuitBreaker<[], unknown>[] = [];
afterEach(() => breakers.splice(0).forEach((breaker) => breaker.shutdown()));

function breaker(): CircuitBreaker<[], unknown> {
  const created = new CircuitBreaker<[], unknown>(async () => 'ok', { resetTimeout: 20 });
  breakers.push(created);
  return created;
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('breaker metrics', () => {
  it('reports closed, open and half-open as 0, 2 and 1 per dependency, and counts the transitions', async () => {
    const registry = new Registry();
    const redis = breaker();
    const postgres = breaker();
    observeBreaker(redis, 'redis', registry);
    observeBreaker(postgres, 'postgres', registry); // same registry: no double registration
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(0);

    redis.open();
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(2);
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'postgres' })).toBe(0);
    await once(redis, 'halfOpen'); // after resetTimeout; observeBreaker's listener ran first
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(1);
    await redis.fire();
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(0);
    expect(await value(registry, 'catalog_breaker_events_total', { dependency: 'redis', event: 'open' })).toBe(1);
    expect(await value(registry, 'catalog_breaker_events_total', { dependency: 'redis', event: 'close' })).toBe(1);
  });

  it('stops updating after the returned detach function is called', async () => {
    const registry = new Registry();
    const observed = breaker();
    const detach = observeBreaker(observed, 'redis', registry);
    detach();
    observed.open();
    expect(await value(registry, 'catalog_breaker_state', { dependency: 'redis' })).toBe(0);
  });
});
