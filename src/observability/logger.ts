import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Credentials never reach them because nothing logs them: requests
 * are logged by Fastify's serializer (method, URL, host, remote address; no headers), database URLs
 * are never logged, and errors are reduced to what an operator needs (logError). No `redact` paths:
 * they are re-applied to every per-request child logger and cost 6-10 % of hot-listing throughput
 * (bench/read-path.ts).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'catalog-service' }, serializers: { err: logError, error: logError } }, destination);
}

export interface LoggedError {
  type: string;
  message: string;
  code?: string | number;
  stack?: string;
  cause?: LoggedError;
}

// user:password@ in any URL a driver may quote in its message.
const CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;

/**
 * An error's type, message, code and stack (and its cause's), never its other properties: driver
 * errors carry their client, connection parameters or prepared statements (an idle PostgreSQL
 * connection's error once logged a 6 KB line holding a whole pg Client).
 */
export function logError(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) return { type: typeof error, message: hideCredentials(String(error)) };
  const { code } = error as { code?: unknown };
  const logged: LoggedError = { type: error.name || error.constructor.name, message: hideCredentials(error.message) };
  if (typeof code === 'string' || typeof code === 'number') logged.code = code;
  if (error.stack) logged.stack = hideCredentials(error.stack);
  if (error.cause !== undefined && depth < 3) logged.cause = logError(error.cause, depth + 1);
  return logged;
}

function hideCredentials(text: string): string {
  return text.replace(CREDENTIALS, '$1***@');
}
