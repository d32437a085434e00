// Steady load for the zero-failed-request tests: a few concurrent loops, each sending GETs one after
// another over keep-alive connections (global fetch: undici's pooled agent), counting every answer
// that is not 2xx/3xx and every network error. `backend()` picks where each request goes, which lets
// a test put its own balancer in front (see readinessBalancer).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadFailure {
  url: string;
  /** The status of a non-2xx/3xx answer, or the network error's message and cause. */
  outcome: number | string;
}

export interface SteadyLoad {
  /** Answers counted so far, by the origin that gave them. */
  readonly answered: ReadonlyMap<string, number>;
  readonly failures: readonly LoadFailure[];
  /** Network errors retried once (only with retryConnectionErrorOnce). */
  readonly retried: readonly LoadFailure[];
  /** Stops the loops and waits for the requests in flight. */
  stop(): Promise<void>;
}

export interface SteadyLoadOptions {
  /** The origin each request goes to; undefined: none is ready, the loop waits briefly. */
  backend: () => string | undefined;
  paths: readonly string[];
  concurrency?: number;
  /**
   * A request that failed on the network (no answer at all) is sent again once, on a new connection, as
   * a proxy does for an idempotent request whose upstream connection broke (nginx proxy_next_upstream
   * error) and a browser does for a GET on a reused connection that was reset. Only what still fails counts.
   */
  retryConnectionErrorOnce?: boolean;
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `${(error as Error).message}${cause ? `: ${cause.code ?? ''} ${cause.message ?? ''}` : ''}`;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const answered = new Map<string, number>();
  const failures: LoadFailure[] = [];
  const retried: LoadFailure[] = [];
  let running = true;
  let sent = 0;

  async function once(origin: string, path: string): Promise<number> {
    const response = await fetch(`${origin}${path}`, { redirect: 'manual' });
    // Read the whole body: an answer cut short is a failure too.
    await response.arrayBuffer();
    return response.status;
  }

  /** The retry: never on a pooled connection, which may be another one the same dead process held. */
  function onNewConnection(origin: string, path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      http
        .get(`${origin}${path}`, { agent: false }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        })
        .on('error', reject);
    });
  }

  async function loop(): Promise<void> {
    while (running) {
      const origin = options.backend();
      if (!origin) {
        await sleep(10);
        continue;
      }
      const path = options.paths[sent++ % options.paths.length] as string;
      let status: number;
      try {
        status = await once(origin, path);
      } catch (error) {
        if (!options.retryConnectionErrorOnce) {
          failures.push({ url: `${origin}${path}`, outcome: describeError(error) });
          continue;
        }
        retried.push({ url: `${origin}${path}`, outcome: describeError(error) });
        const again = options.backend() ?? origin;
        try {
          status = await onNewConnection(again, path);
        } catch (second) {
          failures.push({ url: `${again}${path}`, outcome: describeError(second) });
          continue;
        }
      }
      if (status >= 400) failures.push({ url: `${origin}${path}`, outcome: status });
      else answered.set(origin, (answered.get(origin) ?? 0) + 1);
    }
  }

  const loops = Array.from({ length: options.concurrency ?? 4 }, () => loop());
  return {
    answered,
    failures,
    retried,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export function totalAnswered(load: SteadyLoad): number {
  return [...load.answered.values()].reduce((sum, count) => sum + count, 0);
}

/**
 * What Kubernetes does in front of pods, in small: endpoints are the backends whose /health/ready
 * answered 200 at the last poll (every `intervalMs`, as a readiness probe with periodSeconds would),
 * and new requests go round-robin to those only.
 */
export function readinessBalancer(origins: readonly string[], intervalMs = 100) {
  const ready = new Set<string>(origins);
  let next = 0;
  let polling = true;
  const poll = async () => {
    while (polling) {
      await Promise.all(
        origins.map(async (origin) => {
          try {
            const response = await fetch(`${origin}/health/ready`, { signal: AbortSignal.timeout(1000) });
            await response.arrayBuffer();
            if (response.status === 200) ready.add(origin);
            else ready.delete(origin);
          } catch {
            ready.delete(origin);
          }
        }),
      );
      await sleep(intervalMs);
    }
  };
  const polled = poll();
  return {
    ready: ready as ReadonlySet<string>,
    backend(): string | undefined {
      const candidates = [...ready];
      if (candidates.length === 0) return undefined;
      return candidates[next++ % candidates.length];
    },
    async stop() {
      polling = false;
      await polled;
    },
  };
}
