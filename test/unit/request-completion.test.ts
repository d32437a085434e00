// One record per finished request, whoever answered it: Fastify (through its LogController) and the
// hot path (directly) write the same duration metric and the same 'request completed' line.
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CompletionLogController, createRequestCompletion } from '../../src/api/request-completion.ts';
import { createRequestDurations } from '../../src/observability/metrics.ts';

function recorded() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = new Registry();
  const completion = createRequestCompletion(createRequestDurations(metrics), log);
  const count = async (labels: Record<string, string>) => {
    const values = (await metrics.getSingleMetric('http_request_duration_seconds')?.get())?.values ?? [];
    const series = values.find((v) => (v as { metricName?: string }).metricName === 'http_request_duration_seconds_count' && Object.entries(labels).every(([k, w]) => v.labels[k] === w));
    return series?.value ?? 0;
  };
  return { lines, log, completion, count };
}

describe('when a request completes', () => {
  it('then the hot path records its duration and one line saying it answered', async () => {
    const { lines, completion, count } = recorded();
    completion.complete('id-1', 'HEAD', '/products', '/products?limit=5', 304, 0.0002, true, true);
    completion.complete('id-2', 'GET', '/products', '/products?limit=5', 200, 0.0002, false, true);
    expect(await count({ method: 'HEAD', route: '/products', status_code: '304' })).toBe(1);
    expect(await count({ method: 'GET', route: '/products', status_code: '200' })).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request completed', reqId: 'id-1', req: { method: 'HEAD', url: '/products?limit=5' }, res: { statusCode: 304 }, responseTime: 0.2, hotPath: true }),
    ]);
  });

  it("then Fastify's answers write the same record, quiet routes only the metric", async () => {
    const { lines, log, completion, count } = recorded();
    const app = Fastify({ loggerInstance: log, logController: new CompletionLogController(completion) });
    app.get('/products/:idOrSlug', async () => ({ id: 1 }));
    app.get('/metrics', { logLevel: 'warn' }, async () => 'up 1');
    await app.inject('/products/7');
    await app.inject('/metrics');
    await app.inject('/nowhere');
    await app.close();
    expect(await count({ method: 'GET', route: '/products/:idOrSlug', status_code: '200' })).toBe(1);
    expect(await count({ method: 'GET', route: '/metrics', status_code: '200' })).toBe(1);
    expect(await count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed.map((line) => line.req)).toEqual([
      { method: 'GET', url: '/products/7' },
      { method: 'GET', url: '/nowhere' },
    ]);
    expect(completed[0]).toMatchObject({ reqId: expect.any(String), res: { statusCode: 200 }, responseTime: expect.any(Number), hotPath: false });
  });
});
