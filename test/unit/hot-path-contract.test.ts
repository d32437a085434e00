// The hot path runs no Fastify hook, so it may answer a route only when every hook that route runs is
// accounted for. These build bare Fastify apps (no services) and read the contract's verdict.
import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createHotPathContract, type HotPathContract } from '../../src/api/hot-path-contract.ts';

const page = async () => ({ items: [] });

async function judged(setup: (app: FastifyInstance, contract: HotPathContract) => void | Promise<void>, lines: string[] = []) {
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const contract = createHotPathContract(log);
  const app = Fastify();
  contract.install(app);
  await setup(app, contract);
  await app.ready();
  await app.close();
  return contract;
}

const addTraceId: onRequestHookHandler = (_request, reply, done) => {
  reply.header('x-trace-id', 'abc');
  done();
};

describe('when the app is ready, the hot path contract judges every GET route', () => {
  it('then a route nothing hooks is answered by the hot path, GET and HEAD', async () => {
    const contract = await judged((app) => {
      app.get('/products', page);
    });
    expect(contract.route('/products')).toMatchObject({ head: true, logs: true });
    expect(contract.standingAside().size).toBe(0);
  });

  it('then an app-wide hook it does not run makes it stand aside for every route, with a warning naming the hook', async () => {
    const lines: string[] = [];
    const contract = await judged((app) => {
      app.addHook('onRequest', addTraceId);
      app.get('/products', page);
      app.get('/categories', page);
    }, lines);
    expect(contract.route('/products')).toBeUndefined();
    expect(contract.route('/categories')).toBeUndefined();
    expect(contract.standingAside().get('/products')).toBe('hooks it does not run: onRequest addTraceId');
    expect(lines.join('')).toContain('the hot path stands aside');
    expect(lines.join('')).toContain('onRequest addTraceId');
  });

  it("then a plugin's hook (fastify-plugin or encapsulated) counts for the routes it wraps, and only those", async () => {
    const contract = await judged(async (app) => {
      await app.register(async (child) => {
        child.addHook('preHandler', async function requireToken() {});
        child.get('/admin/products', page);
      });
      app.get('/products', page);
      await app.register(
        fp(async (root) => {
          root.addHook('onSend', async function securityHeaders() {});
        }),
      );
    });
    expect(contract.standingAside().get('/admin/products')).toContain('preHandler requireToken');
    expect(contract.standingAside().get('/products')).toBe('hooks it does not run: onSend securityHeaders');
  });

  it("then a route's own hook, or config.hotPath false, makes it stand aside for that route alone", async () => {
    const contract = await judged((app) => {
      app.get('/products/:id', { onRequest: addTraceId }, page);
      app.get('/categories', { config: { hotPath: false } }, page);
      app.get('/products', page);
    });
    expect(contract.standingAside().get('/products/:id')).toBe('hooks it does not run: onRequest addTraceId');
    expect(contract.standingAside().get('/categories')).toBe('config.hotPath is false');
    expect(contract.route('/products')).toBeDefined();
  });

  it('then hooks it reproduces, checks the URL settles and the hooks of declared concerns are accounted for', async () => {
    const contract = await judged((app, hotPath) => {
      const stampRequestId: onRequestHookHandler = (_request, _reply, done) => done();
      const checkQuery: onRequestHookHandler = (_request, _reply, done) => done();
      hotPath.reproduces(stampRequestId);
      hotPath.settledByUrl(checkQuery);
      hotPath.add({ name: 'trace ids', hooks: [addTraceId], addHeaders: (_request, headers) => headers.push('x-trace-id', 'abc') });
      app.addHook('onRequest', stampRequestId);
      app.addHook('onRequest', addTraceId);
      app.get('/products', { preValidation: checkQuery }, page);
    });
    expect(contract.route('/products')).toBeDefined();
    const headers: string[] = [];
    contract.addHeaders({} as never, headers);
    expect(headers).toEqual(['x-trace-id', 'abc']);
  });

  it('then a HEAD route of its own (another handler) keeps HEAD with Fastify, and a quiet route logs nothing', async () => {
    const contract = await judged((app) => {
      app.head('/products', async () => undefined);
      app.get('/products', { logLevel: 'warn' }, page);
    });
    expect(contract.route('/products')).toMatchObject({ head: false, logs: false });
  });

  it('then a concern that does not admit a request sends it to Fastify', async () => {
    let underPressure = false;
    const contract = await judged((_app, hotPath) => hotPath.add({ name: 'load shedding', admits: () => !underPressure }));
    expect(contract.admits({} as never)).toBe(true);
    underPressure = true;
    expect(contract.admits({} as never)).toBe(false);
  });
});
