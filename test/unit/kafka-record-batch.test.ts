import { describe, expect, it } from 'vitest';
import { ProtocolReader } from '../support/kafka-broker/protocol-reader.ts';
import { ProtocolWriter } from '../support/kafka-broker/protocol-writer.ts';
import {
  Compression,
  crc32cOf,
  decodeRecordBatch,
  encodeRecordBatch,
  InvalidRecordBatchError,
  splitRecordBatches,
  type RecordInput,
} from '../support/kafka-broker/record-batch.ts';

// Batches produced by kafkajs 2.2.4's own RecordBatch encoder (the client the broker must
// understand), three records at 1700000000000, +5 ms and +300 ms.
const KAFKAJS_BATCH = Buffer.from(
  '00000000000000000000007d0000000002cdc960ef0000000000020000018bcfe568000000018bcfe5692cffffffffffffffff0000000000000000000342' +
    '0000000a736b752d311070726963653d3130020c736f757263650c696d706f727428000a02011c746f6d6273746f6e652d6c657373002800d804040a736b' +
    '752d3201040261027802620279',
  'hex',
);
const KAFKAJS_GZIP_BATCH = Buffer.from(
  '00000000000000000000008e00000000025f8104210001000000020000018bcfe568000000018bcfe5692cffffffffffffffff000000000000000000031f8b' +
    '080000000000000373626060e02ace2ed535142828ca4c4eb5353460e229ce2f2d4a4ee5c9cc2dc82f2ad160e062629429c9cf4d2a2ec9cf4bd5cd492d2e66' +
    'd060b8c1c202d667c4c8c294c854c194c45409008b08b2644c000000',
  'hex',
);
const FIRST_TIMESTAMP = 1_700_000_000_000;

const THREE_RECORDS: RecordInput[] = [
  { key: 'sku-1', value: 'price=10', headers: { source: 'import' }, timestamp: FIRST_TIMESTAMP },
  { key: null, value: 'tombstone-less', timestamp: FIRST_TIMESTAMP + 5 },
  { key: 'sku-2', value: null, headers: { a: 'x', b: 'y' }, timestamp: FIRST_TIMESTAMP + 300 },
];

const asText = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

function expectTheThreeRecords(batch: ReturnType<typeof decodeRecordBatch>) {
  expect(batch.records).toHaveLength(3);
  expect(batch.firstTimestamp).toBe(FIRST_TIMESTAMP);
  expect(batch.maxTimestamp).toBe(FIRST_TIMESTAMP + 300);
  expect(batch.records.map((record) => record.offsetDelta)).toEqual([0, 1, 2]);
  expect(batch.records.map((record) => record.timestampDelta)).toEqual([0, 5, 300]);
  expect(batch.records.map((record) => asText(record.key))).toEqual(['sku-1', null, 'sku-2']);
  expect(batch.records.map((record) => asText(record.value))).toEqual(['price=10', 'tombstone-less', null]);
  expect(batch.records.map((record) => record.headers.map((h) => [h.key, asText(h.value)]))).toEqual([
    [['source', 'import']],
    [],
    [
      ['a', 'x'],
      ['b', 'y'],
    ],
  ]);
}

describe('zigzag varints', () => {
  const knownVarints: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [2_147_483_647, 'feffffff0f'],
    [-2_147_483_648, 'ffffffff0f'],
  ];

  it.each(knownVarints)('encodes %i as %s and reads it back', (value, hex) => {
    expect(new ProtocolWriter().varint(value).toBuffer().toString('hex')).toBe(hex);
    expect(new ProtocolReader(Buffer.from(hex, 'hex')).readVarint()).toBe(value);
  });

  it('round-trips 64-bit varlongs at the extremes', () => {
    for (const value of [0n, -1n, 1n, 1n << 40n, -(1n << 40n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      const bytes = new ProtocolWriter().varlong(value).toBuffer();
      expect(new ProtocolReader(bytes).readVarlong()).toBe(value);
    }
    expect(new ProtocolWriter().varlong(-(2n ** 63n)).toBuffer().toString('hex')).toBe('ffffffffffffffffff01');
  });

  it('rejects a varint that never ends instead of reading past the buffer', () => {
    expect(() => new ProtocolReader(Buffer.from('8080', 'hex')).readVarint()).toThrow(/needed 1 bytes/);
    expect(() => new ProtocolReader(Buffer.from('ffffffffffff01', 'hex')).readVarint()).toThrow(/longer than 5 bytes/);
  });
});

describe('protocol writer', () => {
  it('keeps every byte when it outgrows its initial buffer', () => {
    const writer = new ProtocolWriter(4).int32(7).string('grows past four bytes').bytes(Buffer.alloc(300, 1)).int64(-2n);
    const reader = new ProtocolReader(writer.toBuffer());
    expect([reader.readInt32(), reader.readString(), reader.readBytes().equals(Buffer.alloc(300, 1)), reader.readInt64()]).toEqual([
      7,
      'grows past four bytes',
      true,
      -2n,
    ]);
    expect(reader.remaining).toBe(0);
  });
});

describe('CRC-32C', () => {
  it('matches the Castagnoli check value for "123456789"', () => {
    expect(crc32cOf(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('matches the CRC kafkajs wrote into its batch', () => {
    expect(crc32cOf(KAFKAJS_BATCH.subarray(21))).toBe(KAFKAJS_BATCH.readUInt32BE(17));
  });
});

describe('record batch v2', () => {
  it('decodes an uncompressed batch written by kafkajs', () => {
    const batch = decodeRecordBatch(KAFKAJS_BATCH);
    expect(batch.magic).toBe(2);
    expect(batch.compression).toBe(Compression.none);
    expect(batch.lastOffsetDelta).toBe(2);
    expectTheThreeRecords(batch);
  });

  it('decodes a gzip batch written by kafkajs', () => {
    const batch = decodeRecordBatch(KAFKAJS_GZIP_BATCH);
    expect(batch.compression).toBe(Compression.gzip);
    expectTheThreeRecords(batch);
  });

  it('encodes the same bytes as kafkajs for the same records', () => {
    const encoded = encodeRecordBatch({ records: THREE_RECORDS, partitionLeaderEpoch: 0, producerEpoch: 0, baseSequence: 0 });
    expect(encoded.toString('hex')).toBe(KAFKAJS_BATCH.toString('hex'));
  });

  it('round-trips a gzip batch through its own encoder and decoder', () => {
    const encoded = encodeRecordBatch({ records: THREE_RECORDS, compression: Compression.gzip });
    expect(encoded.readInt16BE(21) & 0x07).toBe(Compression.gzip);
    expectTheThreeRecords(decodeRecordBatch(encoded));
  });

  it('refuses a batch whose CRC does not match its contents', () => {
    const corrupt = Buffer.from(KAFKAJS_BATCH);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    expect(() => decodeRecordBatch(corrupt)).toThrow(expect.objectContaining({ reason: 'corrupt', message: expect.stringMatching(/CRC/) }));
  });

  it('refuses a truncated batch and a wrong batch length', () => {
    expect(() => decodeRecordBatch(KAFKAJS_BATCH.subarray(0, 40))).toThrow(InvalidRecordBatchError);
    const longer = Buffer.concat([KAFKAJS_BATCH, Buffer.from([0])]);
    expect(() => decodeRecordBatch(longer)).toThrow(/batch length/);
  });

  it('refuses records that disagree with the record count, even with a valid CRC', () => {
    const batch = encodeRecordBatch({ records: THREE_RECORDS });
    batch.writeInt32BE(3, 23); // lastOffsetDelta: claims four offsets for three records
    batch.writeUInt32BE(crc32cOf(batch.subarray(21)), 17);
    expect(() => decodeRecordBatch(batch)).toThrow(/records but lastOffsetDelta/);
  });

  it('reports snappy as an unsupported compression rather than corruption', () => {
    const batch = encodeRecordBatch({ records: THREE_RECORDS });
    batch.writeInt16BE(Compression.snappy, 21);
    batch.writeUInt32BE(crc32cOf(batch.subarray(21)), 17);
    expect(() => decodeRecordBatch(batch)).toThrow(expect.objectContaining({ reason: 'unsupported-compression' }));
  });

  it('splits a record set into its batches and rejects a partial trailing batch', () => {
    const second = encodeRecordBatch({ records: [{ value: 'second' }], baseOffset: 3 });
    const recordSet = Buffer.concat([KAFKAJS_BATCH, second]);
    const batches = splitRecordBatches(recordSet);
    expect(batches.map((batch) => batch.length)).toEqual([KAFKAJS_BATCH.length, second.length]);
    expect(asText(decodeRecordBatch(batches[1] ?? Buffer.alloc(0)).records[0]?.value ?? null)).toBe('second');
    expect(() => splitRecordBatches(recordSet.subarray(0, recordSet.length - 1))).toThrow(/does not fit/);
  });
});
