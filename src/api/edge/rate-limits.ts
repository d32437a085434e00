// Rate limits by @fastify/rate-limit, counted in Redis when it is configured (every pod shares one
// count per client), in memory otherwise. Two scopes through one app-level hook:
// - client: public routes, per client address (request.ip, so TRUST_PROXY_HOPS matters; an IPv6
//   client counts per /64), RATE_LIMIT_MAX per window, off by default (storefront servers render
//   for many shoppers from few addresses), RATE_LIMIT_ALLOW exempt;
// - admin: /admin routes, per admin token (its configured name; the token is identified as auth
//   identifies it), an unknown or missing token per client address, RATE_LIMIT_ADMIN_MAX per window.
// Over the limit: 429 problem+json with Retry-After; every counted answer carries the draft IETF
// RateLimit-Limit, -Remaining and -Reset headers. Probes and /metrics are not limited.
// The hot path counts its answers with the plugin's own limiter (createRateLimit: same key, store,
// allow list and window) and adds the same three headers; over the limit it hands the request to
// Fastify, whose hook counts it again and answers 429 (an over-limit count only grows).
// Redis down: the limit fails open (skipOnError); the Redis client logs the outage.
import { BlockList, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { CatalogError } from '../../catalog/catalog-error.ts';
import type { AdminToken } from '../../config.ts';
import type { RateLimitConfig } from './edge-settings.ts';
import { bearerToken, findAdminToken } from '../admin-auth.ts';
import type { HotPathContract } from '../hot-path-contract.ts';
import { clientAddress } from './client-address.ts';
import { NEVER_SHED } from './load-shedding.ts';

export interface RateLimitDependencies {
  settings: RateLimitConfig;
  trustProxyHops: number;
  /** The read path's client; absent: counts are kept per pod. */
  redis: Redis | undefined;
  /** REDIS_KEY_PREFIX: the counts live under `<prefix>rate-limit:`. */
  keyPrefix: string;
  /** The admin API's tokens; absent: no admin routes. */
  adminTokens: readonly AdminToken[] | undefined;
  metrics: Registry;
}

const ADMIN = 'admin:';
const CLIENT = 'client:';

export async function registerRateLimits(app: FastifyInstance, hotPath: HotPathContract, deps: RateLimitDependencies): Promise<void> {
  const { settings, adminTokens } = deps;
  const clientMax = settings.max;
  const adminMax = adminTokens ? settings.adminMax : 0;
  if (clientMax === 0 && adminMax === 0) return;
  const limited = new Counter({
    name: 'http_requests_rate_limited_total',
    help: 'Requests answered 429 by a rate limit (RATE_LIMIT_*), by scope: client (per address, public routes) or admin (per token)',
    labelNames: ['scope'],
    registers: [deps.metrics],
  });
  const allowed = allowedAddresses(settings.allow);
  const isAdmin = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/admin/') === true;

  await app.register(rateLimit, {
    global: false,
    enableDraftSpec: true,
    skipOnError: true,
    timeWindow: settings.windowMs,
    ...(deps.redis ? { redis: deps.redis, nameSpace: `${deps.keyPrefix}rate-limit:` } : {}),
    keyGenerator(request) {
      if (!isAdmin(request)) return CLIENT + rateLimit.normalizeIP(request.ip);
      const presented = bearerToken(request.headers.authorization);
      const token = presented && adminTokens ? findAdminToken(adminTokens, presented) : undefined;
      return token ? `${ADMIN}token:${token.name}` : `${ADMIN}address:${rateLimit.normalizeIP(request.ip)}`;
    },
    max: (_request, key) => (key.startsWith(ADMIN) ? adminMax : clientMax),
    allowList(request, key) {
      if (NEVER_SHED.has(request.routeOptions.url ?? '')) return true;
      if (key.startsWith(ADMIN)) return adminMax === 0;
      return clientMax === 0 || allowed(request.ip);
    },
    onExceeded: (_request, key) => limited.inc({ scope: key.startsWith(ADMIN) ? 'admin' : 'client' }),
    errorResponseBuilder: (_request, context) => new CatalogError('too-many-requests', `rate limit exceeded, retry in ${context.after}`),
  });
  const limit = app.rateLimit() as unknown as onRequestHookHandler;
  if (clientMax === 0) {
    // Only /admin is limited, so only its routes run the hook: public requests (and the hot path)
    // pay nothing for a limit they are not under.
    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/admin/')) route.onRequest = [...[route.onRequest ?? []].flat(), limit];
    });
    return;
  }
  app.addHook('onRequest', limit);
  const count = app.createRateLimit();
  const hops = deps.trustProxyHops;
  hotPath.add({
    name: 'rate limit',
    hooks: [limit],
    count(request, headers, then) {
      count(asLimitedRequest(request, hops)).then(
        (verdict) => {
          if (verdict.isAllowed) return then(true);
          if (verdict.isExceeded) return then(false);
          // The headers the plugin's hook sets on a counted answer under the limit.
          headers.push('ratelimit-limit', String(verdict.max), 'ratelimit-remaining', String(verdict.remaining), 'ratelimit-reset', String(verdict.ttlInSeconds));
          then(true);
        },
        () => then(false),
      );
    },
  });
}

// What the limiter reads of a request (the key generator, allow list and max above; the plugin's
// route groupId): the hot path answers public routes only, which have no route options that matter.
const PUBLIC_ROUTE = { config: {} };

function asLimitedRequest(request: IncomingMessage, hops: number): FastifyRequest {
  return { ip: clientAddress(request, hops), headers: request.headers, raw: request, routeOptions: PUBLIC_ROUTE } as unknown as FastifyRequest;
}

/** RATE_LIMIT_ALLOW: addresses and CIDRs (IPv4 or IPv6) never limited. */
function allowedAddresses(entries: readonly string[]): (address: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [network = '', bits] = entry.split('/');
    const family = isIPv6(network) ? 'ipv6' : 'ipv4';
    try {
      if (bits === undefined) list.addAddress(network, family);
      else list.addSubnet(network, Number(bits), family);
    } catch (error) {
      throw new Error(`RATE_LIMIT_ALLOW: "${entry}" is not an address or CIDR`, { cause: error });
    }
  }
  return (address) => {
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
    const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}
