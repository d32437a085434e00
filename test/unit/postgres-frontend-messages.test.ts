import { describe, expect, it } from 'vitest';
import { frontendReader } from '../support/postgres-statements.ts';

const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;

function untyped(code: number, payload = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + payload.length, 0);
  head.writeInt32BE(code, 4);
  return Buffer.concat([head, payload]);
}

function typed(type: string, payload: string): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

const startup = untyped(PROTOCOL_3_0, Buffer.from('user\0postgres\0database\0catalog\0\0'));
// What node-postgres writes for a named prepared statement's first use, then a simple query.
const session = Buffer.concat([
  startup,
  typed('P', 'listing\0SELECT $1\0\0\0'),
  typed('B', '\0listing\0\0\0\0\0\0\0'),
  typed('D', 'P\0'),
  typed('E', '\0\0\0\0\0'),
  typed('S', ''),
  typed('Q', 'SELECT 1\0'),
  typed('X', ''),
]);

function typesOf(chunks: Buffer[]): string[] {
  const types: string[] = [];
  const read = frontendReader((type) => types.push(type));
  for (const chunk of chunks) read(chunk);
  return types;
}

describe('when a client talks to PostgreSQL through the counting proxy', () => {
  it('then the startup message is skipped and every later message is read by its type', () => {
    expect(typesOf([session])).toEqual(['P', 'B', 'D', 'E', 'S', 'Q', 'X']);
  });

  it('then messages split across chunks at any byte are read the same', () => {
    for (let cut = 1; cut < session.length; cut += 1) {
      expect(typesOf([session.subarray(0, cut), session.subarray(cut)]), `cut at ${cut}`).toEqual(['P', 'B', 'D', 'E', 'S', 'Q', 'X']);
    }
    expect(typesOf([...session].map((byte) => Buffer.from([byte])))).toEqual(['P', 'B', 'D', 'E', 'S', 'Q', 'X']);
  });

  it('then an SSL request refused before the startup message is skipped too', () => {
    expect(typesOf([untyped(SSL_REQUEST), session])).toEqual(['P', 'B', 'D', 'E', 'S', 'Q', 'X']);
  });
});
