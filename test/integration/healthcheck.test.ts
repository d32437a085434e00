// The image's HEALTHCHECK script (src/healthcheck.ts, dist/healthcheck.js in the image) run as Docker
// runs it, a process of its own with the role's environment, against a real role and against servers
// that fail in the ways a health check must notice.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneCatalogDatabase, dropDatabase } from '../support/database.ts';
import { runToExit } from '../support/run-to-exit.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

let databaseName: string;
let api: ServiceProcess | undefined;

beforeAll(async () => {
  const clone = await cloneCatalogDatabase('catalog_test_healthcheck');
  databaseName = clone.name;
  // As in the image: listening on every address.
  api = await startServiceProcess({ DATABASE_URL: clone.url, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
}, 120_000);

afterAll(async () => {
  if (api?.child.exitCode === null) await api.stop();
  await dropDatabase(databaseName);
});

/** Runs the health check with the container's HOST and the given PORT; resolves with its exit code, output and duration. */
function healthCheck(port: number) {
  // Docker's --timeout: a check still running after 20 s counts as failed; runToExit kills it.
  return runToExit('src/healthcheck.ts', [], { env: { HOST: '0.0.0.0', PORT: String(port) }, drop: /^(DATABASE_|REDIS_|KAFKA_|OPENSEARCH_|PORT$|HOST$)/ });
}

async function listen(server: HttpServer | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('when the image health check asks a role on its PORT', () => {
  it('then it exits 0 while the role is live', async () => {
    const port = Number(new URL(api!.address).port);
    const result = await healthCheck(port);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('then it exits 1 naming the URL when /health/live answers anything but 200', async () => {
    const server = createHttpServer((request, reply) => {
      reply.statusCode = request.url === '/health/live' ? 503 : 200;
      reply.end();
    });
    try {
      const result = await healthCheck(await listen(server));
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/http:\/\/127\.0\.0\.1:\d+\/health\/live: 503/);
    } finally {
      server.close();
    }
  });

  it('then it exits 1 within Docker\'s 5 s timeout when the role accepts the connection but never answers', async () => {
    const held: Socket[] = [];
    const server = createTcpServer((socket) => held.push(socket));
    try {
      const result = await healthCheck(await listen(server));
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/\/health\/live: .*(timeout|aborted)/i);
      // The script's own 2 s bound, plus starting node and tsx on a busy machine.
      expect(result.ms).toBeLessThan(15_000);
    } finally {
      for (const socket of held) socket.destroy();
      server.close();
    }
  });

  it('then it exits 1 once the role has stopped', async () => {
    const port = Number(new URL(api!.address).port);
    expect(await api!.stop()).toBe(0);
    const result = await healthCheck(port);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/\/health\/live: fetch failed/);
  });
});
