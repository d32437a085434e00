// The one way a role stops: on SIGTERM or SIGINT it first stops taking work (readiness fails, the
// consumer pauses), waits for the load balancer to notice, then closes its parts in the order given
// (listener before pools, consumers before producers) so a rolling deploy drops no request and loses
// no message. A second signal, or the timeout, forces the exit.
import { constants } from 'node:os';
import type { Logger } from 'pino';

/** How long a role may linger after its last step closed before it is made to exit. */
const LINGER_MS = 2000;

export interface ShutdownStep {
  /** Named in the log line when it fails or hangs. */
  name: string;
  close(): Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  log: Logger;
  /** How long the role keeps serving after it stopped taking work (SHUTDOWN_DELAY_MS). */
  delayMs: number;
  /** How long the closing steps may take before the process exits anyway (SHUTDOWN_TIMEOUT_MS). */
  timeoutMs: number;
  /** Called first, at once, with the signal's name (or run's reason): from then on the role refuses new work (e.g. readiness fails). */
  stopTakingWork?: (reason: string) => void;
  /** Closed one after the other, in this order. */
  steps: readonly ShutdownStep[];
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
}

export interface Shutdown {
  /** True from the first signal (or call) on. */
  readonly started: boolean;
  /** Runs the shutdown as a signal would; resolves when every step has closed. */
  run(reason: string): Promise<void>;
  /** Resolves when the shutdown has finished. */
  readonly finished: Promise<void>;
  /** Removes the signal handlers (for tests and for roles that end by themselves). */
  dispose(): void;
}

export function handleShutdown(options: ShutdownOptions): Shutdown {
  const { log } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let started = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  async function run(reason: string): Promise<void> {
    if (started) return finished;
    started = true;
    log.info({ reason, delayMs: options.delayMs }, 'shutting down: no new work is taken');
    options.stopTakingWork?.(reason);
    const forced = setTimeout(() => {
      log.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting');
      exit(1);
    }, options.delayMs + options.timeoutMs);
    forced.unref();
    await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    let failed = false;
    for (const step of options.steps) {
      try {
        await step.close();
      } catch (error) {
        failed = true;
        log.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(forced);
    dispose();
    if (failed) process.exitCode = 1;
    log.info('shut down cleanly');
    finish();
    // Every part is closed: nothing should keep the process alive now. If something does, the pod must
    // still go: say what it was, then exit. Seen: a kafkajs consumer that reconnected after a broker
    // restart keeps a socket and a retry timer past disconnect() (tulios/kafkajs#1147, open).
    setTimeout(() => {
      log.warn({ resources: process.getActiveResourcesInfo() }, 'still running after a clean shutdown; exiting');
      exit(Number(process.exitCode ?? 0));
    }, LINGER_MS).unref();
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (!started) {
      void run(signal);
      return;
    }
    // An operator pressing Ctrl-C twice, or the kubelet after a hung shutdown: leave now.
    log.warn({ signal }, 'second signal during shutdown; exiting at once');
    exit(1);
  };
  for (const signal of signals) process.on(signal, onSignal);

  function dispose(): void {
    for (const signal of signals) process.off(signal, onSignal);
  }

  return {
    get started() {
      return started;
    },
    run,
    finished,
    dispose,
  };
}

/** What a one-shot role's work throws (the AbortSignal's reason) when a signal stopped it at a safe point. */
export class RoleInterrupted extends Error {
  override name = 'RoleInterrupted';
  /** 128 + the signal's number, as a shell reports a process the signal ended: 143 for SIGTERM, 130 for SIGINT. */
  readonly exitCode: number;

  constructor(readonly reason: string) {
    super(`interrupted by ${reason}`);
    this.exitCode = 128 + (constants.signals[reason as NodeJS.Signals] ?? 15);
  }
}

export interface Interruption {
  /** Aborted by the first signal, with a RoleInterrupted as its reason: the work stops at its next safe point. */
  readonly signal: AbortSignal;
  /** The work ended (done or stopped): a shutdown in progress may finish; without one, the handlers go. */
  done(): void;
}

/**
 * For a role that ends by itself (import, reindex, reconcile): the first SIGTERM or SIGINT asks the work
 * to stop between two of its transactions or batches, through `signal`; the role then exits with
 * RoleInterrupted's code, leaving nothing half-written. A second signal, or SHUTDOWN_TIMEOUT_MS with
 * the work still going, exits at once with 1 (handleShutdown's rules).
 */
export function interruptOnSignal(options: Pick<ShutdownOptions, 'log' | 'timeoutMs' | 'exit' | 'signals'>): Interruption {
  const controller = new AbortController();
  let workEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (workEnded = resolve));
  const shutdown = handleShutdown({
    ...options,
    delayMs: 0,
    stopTakingWork: (reason) => controller.abort(new RoleInterrupted(reason)),
    steps: [{ name: 'work in hand', close: () => ended }],
  });
  return {
    signal: controller.signal,
    done() {
      workEnded();
      if (!shutdown.started) shutdown.dispose();
    },
  };
}

/**
 * A one-shot role's work under interruptOnSignal: `work` gets the signal to stop at its next safe
 * point; when a signal stopped it, the line `stopped` gives is printed for the operator and the role
 * exits with RoleInterrupted's code. The signal handlers go when the work ends, either way.
 */
export async function runInterruptible(
  options: Pick<ShutdownOptions, 'log' | 'timeoutMs'>,
  work: (signal: AbortSignal) => Promise<number>,
  stopped: (interrupted: RoleInterrupted) => string,
): Promise<number> {
  const interruption = interruptOnSignal(options);
  try {
    return await work(interruption.signal);
  } catch (error) {
    if (!(error instanceof RoleInterrupted)) throw error;
    process.stdout.write(`${stopped(error)}\n`);
    return error.exitCode;
  } finally {
    interruption.done();
  }
}
