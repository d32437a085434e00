import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Credentials never reach them because nothing logs them: requests
 * are logged by Fastify's serializer (method, URL, host, remote address; no headers), and database
 * URLs are never logged. No `redact` paths: they are re-applied to every per-request child logger
 * and cost 6-10 % of hot-listing throughput (bench/read-path.ts).
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'catalog-service' } });
}
