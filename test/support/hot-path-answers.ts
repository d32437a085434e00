// Reads http_hot_path_answers_total: how a test tells an answer of the hot path from Fastify's.
import type { Registry } from 'prom-client';
import { expect } from 'vitest';

export async function hotPathAnswers(metrics: Registry, labels: { route?: string; method?: string; status_code?: string } = {}): Promise<number> {
  const metric = await metrics.getSingleMetric('http_hot_path_answers_total')?.get();
  const matching = (metric?.values ?? []).filter((value) => Object.entries(labels).every(([name, wanted]) => value.labels[name] === wanted));
  return matching.reduce((sum, value) => sum + value.value, 0);
}

/** Every header but the per-request ones, after checking their shape. */
export function comparableHeaders(response: Response): Record<string, string> {
  const headers = Object.fromEntries(response.headers);
  const { date, 'x-request-id': requestId, ...rest } = headers;
  expect(date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return rest;
}
