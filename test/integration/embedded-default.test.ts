import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

let service: ServiceProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await service?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('when a newcomer runs the service with nothing configured', () => {
  it('then it starts its own PostgreSQL, imports the bundled products, serves them, and stops cleanly on SIGTERM', { timeout: 120_000 }, async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'catalog-embedded-'));
    const token = 'embedded-test-token';
    service = await startServiceProcess({
      EMBEDDED_POSTGRES_DIR: dataDir,
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      ADMIN_TOKENS: `newcomer:${createHash('sha256').update(token).digest('hex')}:read+write`,
    });
    expect(service.output()).toMatch(/bundled products imported/);

    const listing = await fetch(`${service.address}/products?sort=price_desc&limit=3`);
    expect(listing.status).toBe(200);
    const page = (await listing.json()) as { items: { name: string; price: { min: number } }[] };
    expect(page.items).toHaveLength(3);
    expect(page.items[0]?.price.min).toBeGreaterThan(page.items[2]?.price.min ?? Infinity - 1);
    expect((await fetch(`${service.address}/health/ready`)).status).toBe(200);

    // Without Kafka the process relays its own outbox to its own indexer. The first run's import
    // committed 20,000 events; once they are through, a write shows on the next reads, though the
    // page was cached (near TTL 5 s, fresh for 15-30 s).
    const backlog = async () => Number(/^catalog_outbox_backlog (\d+)/m.exec(await (await fetch(`${service?.address}/metrics`)).text())?.[1]);
    for (const until = Date.now() + 90_000; (await backlog()) !== 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await backlog()).toBe(0);
    // The in-process indexer filled the search read model from those events: search answers.
    const found = (await (await fetch(`${service.address}/products/search?q=cotton%20shirt&limit=3`)).json()) as { engine: string; items: unknown[] };
    expect(found.engine).toBe('postgres');
    expect(found.items).toHaveLength(3);
    const productPath = `/products?sort=price_desc&limit=1`;
    const [top] = ((await (await fetch(service.address + productPath)).json()) as { items: { id: number }[] }).items;
    const before = (await (await fetch(`${service.address}/products/${top?.id}`)).json()) as { variants: { sku: string; price: number }[] };
    const sku = before.variants[0]?.sku as string;
    const patched = await fetch(`${service.address}/admin/variants/${sku}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ price: 1 }),
    });
    expect(patched.status).toBe(200);
    const deadline = Date.now() + 1_000;
    let served: number | undefined;
    while (Date.now() < deadline && served !== 1) {
      const page = (await (await fetch(`${service.address}/products/${top?.id}`)).json()) as { variants: { sku: string; price: number }[] };
      served = page.variants.find((variant) => variant.sku === sku)?.price;
    }
    expect(served).toBe(1);
    const listed = (await (await fetch(service.address + productPath)).json()) as { items: { id: number }[] };
    expect(listed.items[0]?.id).not.toBe(top?.id);

    const code = await service.stop();
    service = undefined;
    expect(code).toBe(0);
  });
});
