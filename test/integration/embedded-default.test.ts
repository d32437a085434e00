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
    service = await startServiceProcess({ EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()), LOG_LEVEL: 'info' });
    expect(service.output()).toMatch(/bundled products imported/);

    const listing = await fetch(`${service.address}/products?sort=price_desc&limit=3`);
    expect(listing.status).toBe(200);
    const page = (await listing.json()) as { items: { name: string; price: { min: number } }[] };
    expect(page.items).toHaveLength(3);
    expect(page.items[0]?.price.min).toBeGreaterThan(page.items[2]?.price.min ?? Infinity - 1);
    expect((await fetch(`${service.address}/health/ready`)).status).toBe(200);

    const code = await service.stop();
    service = undefined;
    expect(code).toBe(0);
  });
});
