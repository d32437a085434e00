// CORS for storefronts that read the catalog from the browser (CORS_ORIGINS), by @fastify/cors; unset,
// no CORS header is sent and preflights are 404s. Preflights are answered by the plugin alone. For a
// simple GET or HEAD the hot path adds what the plugin's hook adds to Fastify's answer for these
// options: Access-Control-Allow-Origin (`*`, or the request's Origin when listed), the exposed
// headers, and `Vary: Origin` when origins are listed. That is three cases of the plugin's
// addCorsHeaders, written out here because they depend on the request; the cross-origin test
// compares both answers byte for byte for each case. Cached answers carry no Vary of their own
// (cached-reply.ts), so this is the only one.
import type { IncomingMessage } from 'node:http';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { HttpEdgeConfig } from './edge-settings.ts';
import { hooksAddedBy, type HotPathContract } from '../hot-path-contract.ts';

/** Answer headers a browser script may read besides the safelisted ones. */
const EXPOSED_HEADERS = 'ETag, X-Request-Id, X-Cache, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After';

export function crossOriginOptions(origins: '*' | readonly string[]): FastifyCorsOptions {
  return {
    origin: origins === '*' ? '*' : [...origins],
    // Browsers read the catalog; the admin API is for servers, which need no CORS.
    methods: ['GET', 'HEAD'],
    exposedHeaders: EXPOSED_HEADERS,
    // A storefront's preflights are answered from the browser's cache for ten minutes.
    maxAge: 600,
  };
}

export async function registerCrossOrigin(app: FastifyInstance, hotPath: HotPathContract, settings: Pick<HttpEdgeConfig, 'corsOrigins'>): Promise<void> {
  const origins = settings.corsOrigins;
  if (origins === undefined) return;
  const hooks = await hooksAddedBy(app, () => app.register(cors, crossOriginOptions(origins)));
  hotPath.add({ name: 'CORS', hooks, addHeaders: origins === '*' ? anyOrigin : listedOrigins(new Set(origins)) });
}

function anyOrigin(_request: IncomingMessage, headers: string[]): void {
  headers.push('access-control-allow-origin', '*', 'access-control-expose-headers', EXPOSED_HEADERS);
}

function listedOrigins(listed: ReadonlySet<string>) {
  return (request: IncomingMessage, headers: string[]): void => {
    const origin = request.headers.origin;
    headers.push('vary', 'Origin');
    if (origin !== undefined && listed.has(origin)) headers.push('access-control-allow-origin', origin);
    headers.push('access-control-expose-headers', EXPOSED_HEADERS);
  };
}
