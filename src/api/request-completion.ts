// The one record of a finished request, whoever answered it: its duration in
// http_request_duration_seconds and, when the route logs at info, one 'request completed' line
// (`hotPath` says who answered). Fastify reaches it through its LogController (after the onResponse
// hooks), the hot path directly.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestDurations } from '../observability/metrics.ts';

export interface RequestCompletion {
  /** Positional, so the hot path builds no record object for it. `fields` are added to the line (annotateCompletion). */
  complete(requestId: string, method: string, route: string, url: string, statusCode: number, seconds: number, logs: boolean, hotPath: boolean, fields?: object): void;
}

// Fields a route adds to its requests' 'request completed' line (who asked, for the admin API).
// Kept beside the request, not on it: Fastify's request object stays the shape every route shares.
const completionFields = new WeakMap<FastifyRequest, object>();

/** Adds `fields` to the request's 'request completed' line, as a child logger's bindings would be. */
export function annotateCompletion(request: FastifyRequest, fields: object): void {
  completionFields.set(request, { ...completionFields.get(request), ...fields });
}

export function createRequestCompletion(durations: RequestDurations, log: Logger): RequestCompletion {
  return {
    complete(requestId, method, route, url, statusCode, seconds, logs, hotPath, fields) {
      durations.observe({ method, route, status_code: String(statusCode) }, seconds);
      if (logs && log.isLevelEnabled('info')) {
        const record = { reqId: requestId, req: { method, url }, res: { statusCode }, responseTime: seconds * 1000, hotPath };
        // The hot path's lines carry no fields: a literal of fixed shape, no spread, for them.
        log.info(fields === undefined ? record : { ...fields, ...record }, 'request completed');
      }
    },
  };
}

/** Fastify's own request logging, with its 'request completed' line replaced by the shared record. */
export class CompletionLogController extends LogController {
  readonly #completion: RequestCompletion;

  constructor(completion: RequestCompletion) {
    super();
    this.#completion = completion;
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // A response that failed on the socket keeps Fastify's 'request errored' line.
    if (error) super.requestCompleted(error, request, reply);
    // The route's logger carries its logLevel (warn for /metrics and readiness probes).
    const logs = !error && (reply.log as Logger).isLevelEnabled('info');
    this.#completion.complete(request.id, request.method, request.routeOptions.url ?? 'unmatched', request.url, reply.statusCode, reply.elapsedTime / 1000, logs, false, completionFields.get(request));
  }
}
