// Runs one role of the container's entry point (src/main.ts) as a child process, with only the
// environment a test gives it (the parent's DATABASE_, REDIS_, KAFKA_, ... variables are dropped).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface RoleProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output matches `pattern`; rejects if the process exits first or after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export function startRoleProcess(args: string[], env: Record<string, string>): RoleProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(DATABASE_|REDIS_|KAFKA_|INDEXER_|OUTBOX_|OPENSEARCH_|EMBEDDED_|PORT$|HOST$|LOG_LEVEL$)/.test(name)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, env: { ...inherited, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    output: () => output,
    exited,
    waitForOutput(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        const check = () => {
          const match = pattern.exec(output);
          if (match) finish(undefined, match);
          else if (ended) finish(new Error(`the process exited before printing ${pattern}:\n${output}`));
        };
        function finish(error?: Error, match?: RegExpExecArray): void {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.stderr?.off('data', check);
          if (error) reject(error);
          else resolve(match!);
        }
        child.stdout?.on('data', check);
        child.stderr?.on('data', check);
        void exited.then(check);
        check();
      });
    },
  };
}

/** Runs a role that ends by itself; resolves with its exit code and output. */
export async function runRoleProcess(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const role = startRoleProcess(args, env);
  const { code } = await role.exited;
  return { code, output: role.output() };
}
