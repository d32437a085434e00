// HTTP_MAX_URL_LENGTH: a longer request target is answered 414 problem+json by the server factory,
// before the hot path and Fastify see it (neither then parses, routes, remembers or logs a huge URL).
// The answer carries the concerns' headers (security headers, CORS) as every other answer does, and
// is recorded like one (unmatched route, URL cut short).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HotPathContract } from '../hot-path-contract.ts';
import { problemDocument } from '../problem-handler.ts';
import type { RequestCompletion } from '../request-completion.ts';
import { requestIdFor } from '../request-id.ts';

const LOGGED_URL_LENGTH = 200;

/** Answers a request whose URL is too long and says so; false leaves it to the hot path and Fastify. */
export function createUrlLengthCheck(deps: { maxLength: number; contract: Pick<HotPathContract, 'addHeaders'>; completion: RequestCompletion }) {
  const { maxLength, contract, completion } = deps;
  return function refusedForLength(request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url ?? '';
    if (url.length <= maxLength) return false;
    const started = performance.now();
    const requestId = requestIdFor(request.headers['x-request-id']);
    const body = problemDocument({
      code: 'uri-too-long',
      status: 414,
      detail: `the URL is ${url.length} characters long; at most ${maxLength} are accepted`,
      instance: (url.split('?')[0] ?? '').slice(0, LOGGED_URL_LENGTH),
      requestId,
      fallbackTitle: 'URI too long',
    });
    const headers = ['x-request-id', requestId, 'cache-control', 'no-store', 'content-type', 'application/problem+json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
    contract.addHeaders(request, headers);
    response.writeHead(414, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
    completion.complete(requestId, request.method ?? 'GET', 'unmatched', `${url.slice(0, LOGGED_URL_LENGTH)}...`, 414, (performance.now() - started) / 1000, true, false);
    return true;
  };
}
