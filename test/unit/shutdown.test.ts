import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleShutdown, interruptOnSignal, RoleInterrupted, type Shutdown } from '../../src/roles/shutdown.ts';

const log = pino({ level: 'silent' });
// A signal no test runner uses, emitted in process: the handlers run exactly as for a real one.
const SIGNAL = 'SIGUSR2';
let shutdown: Shutdown | undefined;
afterEach(() => shutdown?.dispose());

function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('when a role is signalled to stop', () => {
  it('then it stops taking work first and closes its parts one after the other, in order', async () => {
    const events: string[] = [];
    const http = deferred();
    const closing = deferred();
    shutdown = handleShutdown({
      log,
      delayMs: 0,
      timeoutMs: 10_000,
      signals: [SIGNAL],
      exit: (code) => events.push(`exit ${code}`),
      stopTakingWork: () => events.push('readiness fails'),
      steps: [
        { name: 'http', close: () => (events.push('http closing'), closing.resolve(), http.promise.then(() => events.push('http closed'))) },
        { name: 'database', close: () => events.push('database closed') },
      ],
    });
    process.emit(SIGNAL, SIGNAL);
    expect(shutdown.started).toBe(true);
    expect(events).toEqual(['readiness fails']);
    await closing.promise;
    // The pools wait for the requests in flight.
    expect(events).toEqual(['readiness fails', 'http closing']);
    http.resolve();
    await shutdown.finished;
    expect(events).toEqual(['readiness fails', 'http closing', 'http closed', 'database closed']);
  });

  it('then a second signal exits at once, without waiting for the steps', async () => {
    const exits: number[] = [];
    const hung = deferred();
    shutdown = handleShutdown({ log, delayMs: 0, timeoutMs: 10_000, signals: [SIGNAL], exit: (code) => exits.push(code), steps: [{ name: 'http', close: () => hung.promise }] });
    process.emit(SIGNAL, SIGNAL);
    expect(exits).toEqual([]);
    process.emit(SIGNAL, SIGNAL);
    expect(exits).toEqual([1]);
    hung.resolve();
    await shutdown.finished;
  });

  it('then a step that hangs past the timeout forces the exit', async () => {
    const exited = deferred();
    const exits: number[] = [];
    shutdown = handleShutdown({
      log,
      delayMs: 0,
      timeoutMs: 20,
      signals: [SIGNAL],
      exit: (code) => (exits.push(code), exited.resolve()),
      steps: [{ name: 'consumer', close: () => new Promise(() => undefined) }],
    });
    void shutdown.run('test');
    await exited.promise;
    expect(exits).toEqual([1]);
  });

  it('then a step that fails does not keep the later ones open', async () => {
    const closed: string[] = [];
    shutdown = handleShutdown({
      log,
      delayMs: 0,
      timeoutMs: 10_000,
      signals: [SIGNAL],
      exit: () => undefined,
      steps: [
        { name: 'read path', close: () => Promise.reject(new Error('redis quit failed')) },
        { name: 'database', close: () => closed.push('database') },
      ],
    });
    const before = process.exitCode;
    await shutdown.run('test');
    expect(closed).toEqual(['database']);
    expect(process.exitCode).toBe(1);
    process.exitCode = before;
  });

  it('then a role that something keeps alive after its last step closed is made to exit, saying what remained', async () => {
    vi.useFakeTimers();
    try {
      const exits: number[] = [];
      shutdown = handleShutdown({ log, delayMs: 0, timeoutMs: 10_000, signals: [SIGNAL], exit: (code) => exits.push(code), steps: [] });
      const run = shutdown.run('test');
      await vi.advanceTimersByTimeAsync(0);
      await run;
      expect(exits).toEqual([]);
      await vi.advanceTimersByTimeAsync(2_000);
      expect(exits).toEqual([0]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('when a role that ends by itself (import, reindex, reconcile) is signalled', () => {
  it('then its work is asked to stop, with the exit code a shell gives that signal, and nothing exits while the work winds down', async () => {
    const exits: number[] = [];
    const interruption = interruptOnSignal({ log, timeoutMs: 10_000, signals: [SIGNAL], exit: (code) => exits.push(code) });
    expect(interruption.signal.aborted).toBe(false);
    process.emit(SIGNAL, SIGNAL);
    expect(interruption.signal.aborted).toBe(true);
    const reason = interruption.signal.reason as RoleInterrupted;
    expect(reason).toBeInstanceOf(RoleInterrupted);
    expect(reason.reason).toBe(SIGNAL);
    // SIGUSR2 is 12 on Linux: 128 + 12, as for SIGTERM 143.
    expect(reason.exitCode).toBe(140);
    expect(new RoleInterrupted('SIGTERM').exitCode).toBe(143);
    interruption.done();
    await new Promise((resolve) => setImmediate(resolve));
    expect(exits).toEqual([]);
  });

  it('then, ending without a signal, it leaves no handler behind: a later signal does what it would have done', () => {
    const before = process.listenerCount(SIGNAL);
    const interruption = interruptOnSignal({ log, timeoutMs: 10_000, signals: [SIGNAL], exit: () => undefined });
    expect(process.listenerCount(SIGNAL)).toBe(before + 1);
    interruption.done();
    expect(process.listenerCount(SIGNAL)).toBe(before);
    expect(interruption.signal.aborted).toBe(false);
  });
});
