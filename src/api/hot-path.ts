// The in-process cache in front of the framework: a GET for a URL answered 200 before, whose page
// is a fresh near-cache hit, is written straight to the socket with the same headers the routes
// send (request id, ETag/304, Cache-Control, Surrogate-Key), counted in the same duration metric.
// Everything else (stale, due for a Redis check, never seen, not a GET) goes to Fastify.
// Profiling hot listings showed Fastify's per-request work (request and reply objects, query
// parsing and validation, hooks) costing several times the cache lookup; see docs/caching.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { cacheHeaders, matchesIfNoneMatch, type CachedReads } from './cached-reply.ts';
import { requestIdFor } from './request-id.ts';

export interface HotPath {
  /** Answers the request and returns true, or returns false and leaves it untouched. */
  serve(request: IncomingMessage, response: ServerResponse): boolean;
  /** From now on every request goes to Fastify (which answers 503 while closing). */
  stop(): void;
}

export function createHotPath(deps: { reads: CachedReads; log: Logger; durations: Histogram<'method' | 'route' | 'status_code'> }): HotPath {
  const { reads, log, durations } = deps;
  let stopped = false;
  return {
    serve(request, response) {
      if (stopped || request.method !== 'GET' || request.url === undefined) return false;
      const hot = reads.hotUrls.get(request.url);
      const read = hot ? reads.cache.peek(hot.key) : null;
      if (!hot || read?.response.status !== 200) return false;
      const started = performance.now();
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
      durations.observe({ method: 'GET', route: hot.route, status_code: String(status) }, seconds);
      if (log.isLevelEnabled('info')) {
        log.info({ reqId: requestId, req: { method: 'GET', url: request.url }, res: { statusCode: status }, responseTime: seconds * 1000 }, 'request completed from the near cache');
      }
      return true;
    },
    stop() {
      stopped = true;
    },
  };
}
