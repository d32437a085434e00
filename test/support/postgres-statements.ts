// Counts the statements that reach PostgreSQL, read off the wire between the service and the server,
// so a test can check "one fetch" at the database instead of trusting the service's own metrics.
// pg_stat_statements is not preloaded on the shared server, and pg_stat_* counters are flushed late.
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

// Untyped messages a client may send before its StartupMessage (protocol 3.0, "Message Formats").
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
// A simple-protocol query, and the execution of a bound extended-protocol statement.
const STATEMENT_MESSAGES = new Set(['Q', 'E']);

export interface PostgresStatementProxy {
  /** postgres:// URL of the same database, through the proxy. */
  url: string;
  proxy: TcpProxy;
  /** Statements sent through the proxy so far, on every connection. */
  statements(): number;
  close(): Promise<void>;
}

export async function startPostgresStatementProxy(databaseUrl: string): Promise<PostgresStatementProxy> {
  const target = new URL(databaseUrl);
  let statements = 0;
  const proxy = await startTcpProxy(
    { host: target.hostname, port: Number(target.port || 5432) },
    {
      observeClient: () =>
        frontendReader((type) => {
          if (STATEMENT_MESSAGES.has(type)) statements += 1;
        }),
    },
  );
  const url = new URL(target);
  url.port = String(proxy.port);
  return { url: url.toString(), proxy, statements: () => statements, close: () => proxy.close() };
}

/**
 * Splits one connection's client-to-server bytes into messages and reports each message's type.
 * The first messages carry no type byte (length, then a request code); every later one is a type
 * byte followed by a length that counts itself.
 */
export function frontendReader(onMessage: (type: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let startingUp = true;
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (startingUp) {
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        startingUp = code === SSL_REQUEST || code === GSSENC_REQUEST;
        pending = pending.subarray(length);
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      onMessage(String.fromCharCode(pending[0] as number));
      pending = pending.subarray(1 + length);
    }
  };
}
