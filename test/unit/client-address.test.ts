// The hot path's client address must be Fastify's request.ip, or one client would have two rate-limit
// counts (one per path). Compared on Fastify itself, for the shapes X-Forwarded-For comes in.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { clientAddress, trustProxyHops } from '../../src/api/edge/client-address.ts';

describe.each([0, 1, 2])('when %i proxy hops are trusted', (hops) => {
  it.each([
    ['no X-Forwarded-For', undefined],
    ['one address', '203.0.113.7'],
    ['a chain', '198.51.100.1, 203.0.113.7, 10.0.0.9'],
    ['a chain without spaces', '198.51.100.1,203.0.113.7'],
    ['empty entries', ' , 203.0.113.7,, 10.0.0.9 '],
    ['an IPv6 chain', '2001:db8::1, 10.0.0.9'],
    ['an empty header', ''],
  ])('then the hot path sees the address Fastify sees, for %s', async (_shape, forwarded) => {
    const app = Fastify({ trustProxy: trustProxyHops(hops) });
    app.get('/', (request) => ({ fastify: request.ip, hotPath: clientAddress(request.raw, hops) }));
    const response = await app.inject({ url: '/', headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } });
    const { fastify, hotPath } = response.json<{ fastify: string; hotPath: string }>();
    expect(hotPath).toBe(fastify);
    await app.close();
  });
});
