// The service's own logger (createLogger), writing its JSON lines into an array a test can read.
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/logger.ts';

export interface LogLine extends Record<string, unknown> {
  level: number;
  msg: string;
}

export function capturedLog(level = 'info'): { lines: LogLine[]; log: Logger } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { lines, log: createLogger(level, stream) };
}
