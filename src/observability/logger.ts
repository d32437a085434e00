import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout; credentials never reach them. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'catalog-service' },
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.connectionString'],
  });
}
