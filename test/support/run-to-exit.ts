// Runs one of the program's entry points (src/main.ts, src/local-main.ts, src/healthcheck.ts) to its
// exit, with the parent's environment minus the variables `drop` matches, plus `env`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface ExitedRun {
  code: number | null;
  output: string;
  ms: number;
}

/** A run still going after `killAfterMs` is killed (a process that should have ended by itself did not). */
export function runToExit(entry: string, args: string[], options: { env?: Record<string, string>; drop: RegExp; killAfterMs?: number }): Promise<ExitedRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !options.drop.test(name)));
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, env: { ...inherited, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output, ms: performance.now() - started });
    }),
  );
}
