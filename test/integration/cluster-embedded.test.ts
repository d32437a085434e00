// `API_WORKERS=2 npm start` with nothing else configured: the primary starts the embedded PostgreSQL
// once, imports the bundled products once, and hands its URL to the workers; none starts one of its
// own (two would fight over one data directory). On SIGTERM the workers stop first, then the database.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/change-feed.ts';
import { freePort } from '../support/free-port.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

let service: ServiceProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  if (service?.child.exitCode === null) await service.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

const count = (output: string, message: string) => output.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('when cluster mode starts with no DATABASE_URL (npm start)', () => {
  it('then one embedded PostgreSQL serves both workers, and it stops after them on SIGTERM', { timeout: 150_000 }, async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'catalog-cluster-embedded-'));
    const postgresPort = await freePort();
    service = await startServiceProcess({ API_WORKERS: '2', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(postgresPort), LOG_LEVEL: 'info' }, 120_000);
    const current = service;
    await waitFor('both workers listening', () => count(current.output(), 'api workers ready') === 1, 60_000);
    expect(count(current.output(), 'embedded PostgreSQL started')).toBe(1);
    expect(count(current.output(), 'bundled products imported')).toBe(1);

    const listing = await fetch(`${current.address}/products?limit=3`);
    expect(listing.status).toBe(200);
    expect(((await listing.json()) as { items: unknown[] }).items).toHaveLength(3);

    expect(await current.stop()).toBe(0);
    expect(count(current.output(), 'shut down cleanly')).toBe(2);
    expect(await accepts(postgresPort)).toBe(false);
  });
});
