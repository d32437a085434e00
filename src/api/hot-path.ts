// The cache in front of the framework: a GET or HEAD for a URL answered 200 before, whose page is
// fresh in the near cache or in Redis, is written straight to the socket. Its contract
// (hot-path-contract.ts, docs/caching.md): the answer is the route's own (cachedAnswerStatus and
// cachedAnswerHeaders in cached-reply.ts), plus the headers of the registered concerns; the request
// is recorded as Fastify records it (request-completion.ts) and counted in
// http_hot_path_answers_total; routes with hooks the hot path does not run are left to Fastify.
// A stale page is sent the same way, its refresh started with the loader kept for the URL. Everything
// else (a miss, an invalidated or expired page, a URL never seen, another method) goes to Fastify.
// Profiling hot listings showed Fastify's per-request work (request and reply objects, query
// parsing and validation, hooks) costing several times the cache lookup; see docs/caching.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheRead } from '../cache/catalog-cache.ts';
import { hotPathAnswerSlot } from '../observability/metrics.ts';
import { cachedAnswerHeaders, cachedAnswerStatus, type CachedReads } from './cached-reply.ts';
import type { HotPathContract, HotRoute } from './hot-path-contract.ts';
import type { RequestCompletion } from './request-completion.ts';
import { requestIdFor } from './request-id.ts';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HotPath {
  /** Answers the request from the cache, or hands it to `next` (Fastify). */
  serve(request: IncomingMessage, response: ServerResponse, next: RequestHandler): void;
  /** From now on every request goes to Fastify (which answers 503 while closing). */
  stop(): void;
}

export function createHotPath(deps: { reads: CachedReads; contract: HotPathContract; completion: RequestCompletion }): HotPath {
  const { reads, contract, completion } = deps;
  let stopped = false;

  /** Writes a cached 200 (or 304), or hands the request to Fastify when the entry is not a 200 or a limit refuses it. */
  function answer(request: IncomingMessage, response: ServerResponse, next: RequestHandler, read: CacheRead, route: HotRoute, pattern: string, started: number): void {
    if (read.response.status !== 200) return next(request, response);
    // Counted only once the hot path knows it answers, so a request it hands over is counted once, by Fastify.
    if (!contract.counts) return send(request, response, read, route, pattern, started, undefined);
    const counted: string[] = [];
    contract.count(request, counted, (admitted) => (admitted ? send(request, response, read, route, pattern, started, counted) : next(request, response)));
  }

  function send(request: IncomingMessage, response: ServerResponse, read: CacheRead, route: HotRoute, pattern: string, started: number, counted: string[] | undefined): void {
    const requestId = requestIdFor(request.headers['x-request-id']);
    const status = cachedAnswerStatus(read, request.headers['if-none-match']);
    const headers = cachedAnswerHeaders(read, reads.httpCache, requestId, status);
    contract.addHeaders(request, headers);
    if (counted) for (const header of counted) headers.push(header);
    const head = request.method === 'HEAD';
    response.writeHead(status, headers);
    if (status === 304 || head) response.end();
    else response.end(read.response.body);
    const slot = hotPathAnswerSlot(head, status === 304);
    route.answers[slot] = (route.answers[slot] ?? 0) + 1;
    completion.complete(requestId, head ? 'HEAD' : 'GET', pattern, request.url as string, status, (performance.now() - started) / 1000, route.logs, true);
  }

  return {
    serve(request, response, next) {
      const head = request.method === 'HEAD';
      const hot = stopped || (request.method !== 'GET' && !head) || request.url === undefined ? undefined : reads.hotUrls.get(request.url);
      const route = hot === undefined ? undefined : contract.route(hot.route);
      if (!hot || !route || (head && !route.head) || !contract.admits(request)) return next(request, response);
      const started = performance.now();
      const near = reads.cache.peek(hot.key, hot.tags, hot.load);
      if (near) return answer(request, response, next, near, route, hot.route, started);
      // Not fresh in memory: one Redis round trip may still answer it without the framework.
      reads.cache.peekShared(hot.key, hot.tags, hot.load).then(
        (shared) => (shared ? answer(request, response, next, shared, route, hot.route, started) : next(request, response)),
        () => next(request, response),
      );
    },
    stop() {
      stopped = true;
    },
  };
}
