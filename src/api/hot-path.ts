// The cache in front of the framework: a GET for a URL answered 200 before, whose page is fresh in
// the near cache or in Redis, is written straight to the socket with the same headers the routes
// send (request id, ETag/304, Cache-Control, Surrogate-Key), counted in the same duration metric.
// A stale page is sent the same way, its refresh started with the loader kept for the URL. Everything
// else (a miss, an invalidated or expired page, a URL never seen, not a GET) goes to Fastify.
// Profiling hot listings showed Fastify's per-request work (request and reply objects, query
// parsing and validation, hooks) costing several times the cache lookup; see docs/caching.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheRead } from '../cache/catalog-cache.ts';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { cacheHeaders, matchesIfNoneMatch, type CachedReads } from './cached-reply.ts';
import { requestIdFor } from './request-id.ts';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HotPath {
  /** Answers the request from the cache, or hands it to `next` (Fastify). */
  serve(request: IncomingMessage, response: ServerResponse, next: RequestHandler): void;
  /** From now on every request goes to Fastify (which answers 503 while closing). */
  stop(): void;
}

export function createHotPath(deps: { reads: CachedReads; log: Logger; durations: Histogram<'method' | 'route' | 'status_code'> }): HotPath {
  const { reads, log, durations } = deps;
  let stopped = false;

  /** Writes a cached 200 (or 304); false when the entry is not a 200 and Fastify must answer. */
  function send(request: IncomingMessage, response: ServerResponse, read: CacheRead, route: string, started: number): boolean {
    if (read.response.status !== 200) return false;
    const requestId = requestIdFor(request.headers['x-request-id']);
    const cached = cacheHeaders(read, reads.httpCache);
    // A flat [name, value, ...] list: writeHead takes it without walking an object's keys.
    const headers = ['x-request-id', requestId, 'etag', cached.etag, 'cache-control', cached['cache-control'], 'surrogate-key', cached['surrogate-key'], 'x-cache', cached['x-cache']] as string[];
    let status = 200;
    if (matchesIfNoneMatch(request.headers['if-none-match'], read.response.etag)) {
      status = 304;
      response.writeHead(304, headers).end();
    } else {
      headers.push('content-type', 'application/json; charset=utf-8', 'content-length', String(read.response.body.length));
      response.writeHead(200, headers).end(read.response.body);
    }
    const seconds = (performance.now() - started) / 1000;
    durations.observe({ method: 'GET', route, status_code: String(status) }, seconds);
    if (log.isLevelEnabled('info')) {
      log.info({ reqId: requestId, req: { method: 'GET', url: request.url }, res: { statusCode: status }, responseTime: seconds * 1000 }, 'request completed from the cache');
    }
    return true;
  }

  return {
    serve(request, response, next) {
      const hot = stopped || request.method !== 'GET' || request.url === undefined ? undefined : reads.hotUrls.get(request.url);
      if (!hot) return next(request, response);
      const started = performance.now();
      const near = reads.cache.peek(hot.key, hot.tags, hot.load);
      if (near) {
        if (!send(request, response, near, hot.route, started)) next(request, response);
        return;
      }
      // Not fresh in memory: one Redis round trip may still answer it without the framework.
      reads.cache.peekShared(hot.key, hot.tags, hot.load).then(
        (shared) => {
          if (!shared || !send(request, response, shared, hot.route, started)) next(request, response);
        },
        () => next(request, response),
      );
    },
    stop() {
      stopped = true;
    },
  };
}
