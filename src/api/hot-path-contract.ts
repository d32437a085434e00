// What the hot path (hot-path.ts) does in place of Fastify's request lifecycle, and the check that
// keeps it honest. For a URL it remembers, the hot path writes the answer the route writes (the
// shared writer in cached-reply.ts), adds the headers of the registered concerns, and records the
// completion as Fastify does (request-completion.ts). It runs no Fastify hook. So when the app is
// ready, every GET route's hooks (the app's, its plugins', its own) are read, and the hot path
// answers a route only when each hook is accounted for: reproduced by the hot path (the request-id
// stamp, a concern's hooks) or a check the URL settles (it passed when the URL was first answered).
// Any other hook, such as auth, rate limiting or tracing added later, makes the hot path stand aside
// for the route, with a warning naming it; so does `config: { hotPath: false }` on the route.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, RouteOptions } from 'fastify';
import type { Logger } from 'pino';

export type Hook = (...args: never[]) => unknown;

/**
 * Something every answer must carry or pass, for Fastify's answers and the hot path's alike (security
 * headers, CORS, load shedding, rate limits). Without `hooks`, the concern lives here alone: its
 * headers are added by the app's onRequest hook and by the hot path. With `hooks` (a plugin's own
 * Fastify hooks), Fastify runs those, and `addHeaders` and `admits` say what the hot path does instead.
 */
export interface HotPathConcern {
  name: string;
  /** Pushes name, value pairs onto a flat header list (the shape writeHead takes). */
  addHeaders?(request: IncomingMessage, headers: string[]): void;
  /** False hands the request to Fastify, whose hooks then answer it (a 503 under pressure, a 429). */
  admits?(request: IncomingMessage): boolean;
  /**
   * Counts an answer the hot path is about to give (a rate limit), when the count needs a round trip:
   * pushes its headers onto `headers` and calls `then(true)`, or `then(false)` to hand the request to
   * Fastify (which answers 429). `then` may be called at once or later. The hot path asks only when
   * some concern counts, so without a limit it stays synchronous and allocates nothing more.
   */
  count?(request: IncomingMessage, headers: string[], then: (admitted: boolean) => void): void;
  /** The concern's own Fastify hooks, which the hot path answers for by the two methods above. */
  hooks?: readonly Hook[];
}

/** A GET route the hot path answers, with the counts of its answers (read by the metric). */
export interface HotRoute {
  /** The route logs its requests at info (its logLevel allows it). */
  logs: boolean;
  /** Its HEAD is Fastify's HEAD of this GET route (same handler, no body), so the hot path answers HEAD too. */
  head: boolean;
  /** Answers by method and status, indexed by hotPathAnswerSlot (metrics.ts). */
  answers: Float64Array;
}

export interface HotPathContract {
  /** Registers a concern; before the app is ready. */
  add(concern: HotPathConcern): void;
  /** Marks a hook whose effect the hot path reproduces itself. */
  reproduces(hook: Hook): void;
  /** Marks a check whose verdict depends on the URL alone: a remembered URL has passed it. */
  settledByUrl(hook: Hook): void;
  /** The route, when the hot path may answer it; undefined while the app is not ready. */
  route(url: string): HotRoute | undefined;
  /** Routes the hot path answers, for the metric. */
  routes(): Iterable<readonly [string, HotRoute]>;
  /** Routes the hot path stands aside for, and why. */
  standingAside(): ReadonlyMap<string, string>;
  admits(request: IncomingMessage): boolean;
  /** True when a concern counts answers (HotPathConcern.count); fixed once the app is ready. */
  readonly counts: boolean;
  /** Runs every concern's count in turn; `then(false)` as soon as one refuses. */
  count(request: IncomingMessage, headers: string[], then: (admitted: boolean) => void): void;
  /** The concerns' headers, for the hot path's header list. */
  addHeaders(request: IncomingMessage, headers: string[]): void;
  /** The concerns' headers on a Fastify reply (called by the app's onRequest hook). */
  applyHeaders(request: IncomingMessage, reply: FastifyReply): void;
  /** Watches the routes as they are added and judges them when the app is ready; before any route. */
  install(app: FastifyInstance): void;
}

const LIFECYCLE_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'onError', 'onTimeout', 'onRequestAbort'] as const;

// Fastify's automatic HEAD route drops the body in this onSend hook; the hot path writes no body for HEAD.
const FASTIFY_HEAD_ON_SEND = 'headRouteOnSendHandler';

interface SeenRoute {
  options: RouteOptions;
  instance: FastifyInstance;
}

export function createHotPathContract(log: Logger): HotPathContract {
  const accounted = new WeakSet<Hook>();
  const headerConcerns: NonNullable<HotPathConcern['addHeaders']>[] = [];
  const fastifySideHeaders: NonNullable<HotPathConcern['addHeaders']>[] = [];
  const gates: NonNullable<HotPathConcern['admits']>[] = [];
  const counters: NonNullable<HotPathConcern['count']>[] = [];
  const seen: SeenRoute[] = [];
  const served = new Map<string, HotRoute>();
  const aside = new Map<string, string>();

  function judge(): void {
    const gets = new Map<string, SeenRoute>();
    const heads = new Map<string, SeenRoute>();
    for (const route of seen) {
      const methods = [route.options.method].flat();
      if (methods.includes('GET')) gets.set(route.options.url, route);
      if (methods.includes('HEAD')) heads.set(route.options.url, route);
    }
    for (const [url, get] of gets) {
      const config = get.options.config as { hotPath?: boolean } | undefined;
      const unaccounted = unaccountedHooks(get, accounted);
      if (config?.hotPath === false) aside.set(url, 'config.hotPath is false');
      else if (unaccounted.length > 0) aside.set(url, `hooks it does not run: ${unaccounted.join(', ')}`);
      else {
        const head = heads.get(url);
        const sameHead = head !== undefined && head.options.handler === get.options.handler && unaccountedHooks(head, accounted).length === 0;
        served.set(url, { logs: logsAtInfo(get.options, log), head: sameHead, answers: new Float64Array(4) });
      }
    }
    const unexpected = [...aside].filter(([, why]) => why.startsWith('hooks'));
    if (unexpected.length > 0) {
      log.warn({ routes: Object.fromEntries(unexpected) }, 'the hot path stands aside for routes with hooks it does not run; declare them as hot-path concerns (docs/caching.md)');
    }
  }

  return {
    add(concern) {
      for (const hook of concern.hooks ?? []) accounted.add(hook);
      if (concern.addHeaders) {
        headerConcerns.push(concern.addHeaders);
        if (!concern.hooks) fastifySideHeaders.push(concern.addHeaders);
      }
      if (concern.admits) gates.push(concern.admits);
      if (concern.count) counters.push(concern.count);
    },
    reproduces: (hook) => accounted.add(hook),
    settledByUrl: (hook) => accounted.add(hook),
    route: (url) => served.get(url),
    routes: () => served.entries(),
    standingAside: () => aside,
    admits(request) {
      for (const admits of gates) if (!admits(request)) return false;
      return true;
    },
    get counts() {
      return counters.length > 0;
    },
    count(request, headers, then) {
      const next = (index: number): void => {
        const counter = counters[index];
        if (!counter) return then(true);
        counter(request, headers, (admitted) => (admitted ? next(index + 1) : then(false)));
      };
      next(0);
    },
    addHeaders(request, headers) {
      for (const add of headerConcerns) add(request, headers);
    },
    applyHeaders(request, reply) {
      if (fastifySideHeaders.length === 0) return;
      const headers: string[] = [];
      for (const add of fastifySideHeaders) add(request, headers);
      for (let i = 0; i < headers.length; i += 2) reply.header(headers[i] as string, headers[i + 1]);
    },
    install(app) {
      app.addHook('onRoute', function (this: FastifyInstance, options) {
        seen.push({ options, instance: this });
      });
      app.addHook('onReady', (done) => {
        judge();
        done();
      });
    },
  };
}

/**
 * The hooks a plugin adds to the app, for its concern's `hooks`: the app's hooks are read before and
 * after registering it (a plugin names its hooks nowhere else).
 */
export async function hooksAddedBy(app: FastifyInstance, register: () => PromiseLike<unknown>): Promise<Hook[]> {
  const all = () => Object.values(instanceHooks(app) ?? {}).flatMap((hooks) => hooks ?? []);
  const before = new Set(all());
  await register();
  return all().filter((hook) => !before.has(hook));
}

/** Names of the hooks a route runs that nobody accounted for. */
function unaccountedHooks({ options, instance }: SeenRoute, accounted: WeakSet<Hook>): string[] {
  const inherited = instanceHooks(instance);
  if (!inherited) return ['(the hooks Fastify runs cannot be read)'];
  const names: string[] = [];
  for (const name of LIFECYCLE_HOOKS) {
    const own = (options as unknown as Record<string, Hook | Hook[] | undefined>)[name];
    for (const hook of [...(inherited[name] ?? []), ...[own ?? []].flat()]) {
      const fastifyHead = name === 'onSend' && options.method === 'HEAD' && hook.name === FASTIFY_HEAD_ON_SEND;
      if (!accounted.has(hook) && !fastifyHead) names.push(`${name} ${hook.name || 'anonymous'}`);
    }
  }
  return names;
}

/**
 * The hooks of the instance a route was added on: its own, its plugins' and the app's. Fastify keeps
 * them under a private symbol and lists them only as text (printRoutes), so they are found by the
 * symbol's description; if a Fastify release renames it, every route is judged unreadable and the
 * hot path stands aside (the hot-path tests then fail).
 */
function instanceHooks(instance: FastifyInstance): Partial<Record<string, Hook[]>> | undefined {
  for (let object: object | null = instance; object !== null; object = Object.getPrototypeOf(object) as object | null) {
    const symbol = Object.getOwnPropertySymbols(object).find((candidate) => candidate.description === 'fastify.hooks');
    if (symbol) return (instance as unknown as Record<symbol, Partial<Record<string, Hook[]>>>)[symbol];
  }
  return undefined;
}

function logsAtInfo(options: RouteOptions, log: Logger): boolean {
  const level = options.logLevel;
  return !level || (log.levels.values[level] ?? 0) <= (log.levels.values.info ?? 30);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the hot path never answers this route (hot-path-contract.ts). */
    hotPath?: boolean;
  }
}
