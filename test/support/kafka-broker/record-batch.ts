import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { MalformedRequestError, ProtocolReader } from './protocol-reader.ts';
import { ProtocolWriter } from './protocol-writer.ts';

// Record batch format v2 (magic 2), https://kafka.apache.org/documentation/#recordbatch
export const RECORD_BATCH_MAGIC = 2;
/** baseOffset (8) + batchLength (4): the part not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
/** Everything from baseOffset up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
const PARTITION_LEADER_EPOCH_POSITION = 12;
const CRC_POSITION = 17;
/** The CRC covers the batch from the attributes onwards, so offsets can be rewritten freely. */
const CRC_COVERED_FROM = 21;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = (typeof Compression)[keyof typeof Compression];
const COMPRESSION_MASK = 0x07;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordBatch {
  baseOffset: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  records: KafkaRecord[];
}

/** Why a batch was refused; the broker maps it to CORRUPT_MESSAGE or UNSUPPORTED_COMPRESSION_TYPE. */
export class InvalidRecordBatchError extends Error {
  override readonly name = 'InvalidRecordBatchError';
  constructor(
    readonly reason: 'corrupt' | 'unsupported-compression',
    message: string,
  ) {
    super(message);
  }
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | null>;
  timestamp?: number;
}

export interface RecordBatchInput {
  records: RecordInput[];
  baseOffset?: number;
  compression?: CompressionCodec;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
}

const asBuffer = (value: Buffer | string | null | undefined): Buffer | null =>
  value === null || value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');

export function crc32cOf(bytes: Uint8Array): number {
  return crc32c(bytes) >>> 0;
}

function encodeRecord(record: KafkaRecord): Buffer {
  const body = new ProtocolWriter(64)
    .int8(record.attributes)
    .varlong(record.timestampDelta)
    .varint(record.offsetDelta)
    .varintBytes(record.key)
    .varintBytes(record.value)
    .varint(record.headers.length);
  for (const header of record.headers) {
    body.varintBytes(Buffer.from(header.key, 'utf8')).varintBytes(header.value);
  }
  const bodyBytes = body.toBuffer();
  return new ProtocolWriter(bodyBytes.length + 5).varint(bodyBytes.length).raw(bodyBytes).toBuffer();
}

/** Encodes one v2 record batch with a correct CRC-32C, optionally gzip-compressed. */
export function encodeRecordBatch(input: RecordBatchInput): Buffer {
  const now = Date.now();
  const timestamps = input.records.map((record) => record.timestamp ?? now);
  const firstTimestamp = timestamps.length > 0 ? Math.min(...timestamps) : now;
  const maxTimestamp = timestamps.length > 0 ? Math.max(...timestamps) : now;
  const compression = input.compression ?? Compression.none;
  const records = input.records.map((record, index) =>
    encodeRecord({
      attributes: 0,
      timestampDelta: (timestamps[index] ?? now) - firstTimestamp,
      offsetDelta: index,
      key: asBuffer(record.key),
      value: asBuffer(record.value),
      headers: Object.entries(record.headers ?? {}).map(([key, value]) => ({ key, value: asBuffer(value) })),
    }),
  );
  let recordBytes = Buffer.concat(records);
  if (compression === Compression.gzip) recordBytes = gzipSync(recordBytes);
  else if (compression !== Compression.none) {
    throw new InvalidRecordBatchError('unsupported-compression', `compression codec ${compression} is not implemented`);
  }

  const writer = new ProtocolWriter(BATCH_HEADER_SIZE + recordBytes.length)
    .int64(input.baseOffset ?? 0)
    .int32(0) // batch length, patched below
    .int32(input.partitionLeaderEpoch ?? -1)
    .int8(RECORD_BATCH_MAGIC)
    .uint32(0) // CRC, patched below
    .int16(compression)
    .int32(input.records.length - 1)
    .int64(firstTimestamp)
    .int64(maxTimestamp)
    .int64(input.producerId ?? -1n)
    .int16(input.producerEpoch ?? -1)
    .int32(input.baseSequence ?? -1)
    .int32(input.records.length)
    .raw(recordBytes);
  const batch = writer.toBuffer();
  writer.patchInt32(8, batch.length - BATCH_LOG_OVERHEAD);
  writer.patchUInt32(CRC_POSITION, crc32cOf(batch.subarray(CRC_COVERED_FROM)));
  return batch;
}

function decodeRecord(reader: ProtocolReader): KafkaRecord {
  const length = reader.readVarint();
  if (length < 0) throw new MalformedRequestError(`negative record length ${length}`);
  const body = new ProtocolReader(reader.readRaw(length));
  const record: KafkaRecord = {
    attributes: body.readInt8(),
    timestampDelta: Number(body.readVarlong()),
    offsetDelta: body.readVarint(),
    key: body.readVarintBytes(),
    value: body.readVarintBytes(),
    headers: [],
  };
  const headerCount = body.readVarint();
  if (headerCount < 0 || headerCount > body.remaining) {
    throw new MalformedRequestError(`invalid header count ${headerCount}`);
  }
  for (let i = 0; i < headerCount; i++) {
    const key = body.readVarintString();
    if (key === null) throw new MalformedRequestError('record header key is null');
    record.headers.push({ key, value: body.readVarintBytes() });
  }
  if (body.remaining !== 0) throw new MalformedRequestError(`${body.remaining} stray bytes after a record`);
  return record;
}

/**
 * Decodes and validates exactly one v2 record batch: length, magic, CRC-32C, compression
 * and every record inside. Anything unreadable is an InvalidRecordBatchError.
 */
export function decodeRecordBatch(batch: Buffer): RecordBatch {
  if (batch.length < BATCH_HEADER_SIZE) {
    throw new InvalidRecordBatchError('corrupt', `record batch of ${batch.length} bytes is shorter than its header`);
  }
  const reader = new ProtocolReader(batch);
  const baseOffset = reader.readInt64AsNumber();
  const batchLength = reader.readInt32();
  if (batchLength !== batch.length - BATCH_LOG_OVERHEAD) {
    throw new InvalidRecordBatchError('corrupt', `batch length ${batchLength} does not match ${batch.length - BATCH_LOG_OVERHEAD} bytes`);
  }
  const partitionLeaderEpoch = reader.readInt32();
  const magic = reader.readInt8();
  if (magic !== RECORD_BATCH_MAGIC) {
    throw new InvalidRecordBatchError('corrupt', `record batch magic ${magic}, only ${RECORD_BATCH_MAGIC} is supported`);
  }
  const crc = reader.readUInt32();
  const computedCrc = crc32cOf(batch.subarray(CRC_COVERED_FROM));
  if (crc !== computedCrc) {
    throw new InvalidRecordBatchError('corrupt', `CRC-32C mismatch: batch says ${crc}, contents give ${computedCrc}`);
  }
  const attributes = reader.readInt16();
  const header = {
    baseOffset,
    partitionLeaderEpoch,
    magic,
    crc,
    attributes,
    compression: attributes & COMPRESSION_MASK,
    isTransactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    isControl: (attributes & CONTROL_FLAG) !== 0,
    lastOffsetDelta: reader.readInt32(),
    firstTimestamp: reader.readInt64AsNumber(),
    maxTimestamp: reader.readInt64AsNumber(),
    producerId: reader.readInt64(),
    producerEpoch: reader.readInt16(),
    baseSequence: reader.readInt32(),
  };
  const recordCount = reader.readInt32();
  if (recordCount < 0 || recordCount !== header.lastOffsetDelta + 1) {
    throw new InvalidRecordBatchError('corrupt', `${recordCount} records but lastOffsetDelta ${header.lastOffsetDelta}`);
  }

  let recordBytes = reader.readRest();
  if (header.compression === Compression.gzip) {
    try {
      recordBytes = gunzipSync(recordBytes);
    } catch (error) {
      throw new InvalidRecordBatchError('corrupt', `gzip records do not decompress: ${(error as Error).message}`);
    }
  } else if (header.compression > Compression.zstd) {
    throw new InvalidRecordBatchError('corrupt', `unknown compression codec ${header.compression}`);
  } else if (header.compression !== Compression.none) {
    throw new InvalidRecordBatchError('unsupported-compression', `compression codec ${header.compression} is not implemented`);
  }

  const records: KafkaRecord[] = [];
  const recordReader = new ProtocolReader(recordBytes);
  try {
    for (let i = 0; i < recordCount; i++) records.push(decodeRecord(recordReader));
  } catch (error) {
    if (error instanceof MalformedRequestError) throw new InvalidRecordBatchError('corrupt', error.message);
    throw error;
  }
  if (recordReader.remaining !== 0) {
    throw new InvalidRecordBatchError('corrupt', `${recordReader.remaining} stray bytes after the last record`);
  }
  return { ...header, records };
}

/**
 * Splits a record set (the bytes of a produce partition or a fetch response) into its
 * batches by their length prefixes. A trailing partial batch is reported as corrupt.
 */
export function splitRecordBatches(recordSet: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let position = 0;
  while (position < recordSet.length) {
    if (recordSet.length - position < BATCH_LOG_OVERHEAD) {
      throw new InvalidRecordBatchError('corrupt', 'truncated record batch header');
    }
    const size = BATCH_LOG_OVERHEAD + recordSet.readInt32BE(position + 8);
    if (size < BATCH_HEADER_SIZE || position + size > recordSet.length) {
      throw new InvalidRecordBatchError('corrupt', `record batch of ${size} bytes does not fit the record set`);
    }
    batches.push(recordSet.subarray(position, position + size));
    position += size;
  }
  return batches;
}

/** Copies a validated batch for the log with the offset the broker assigned to it. */
export function assignBatchOffset(batch: Buffer, baseOffset: number, partitionLeaderEpoch: number): Buffer {
  const stored = Buffer.from(batch);
  stored.writeBigInt64BE(BigInt(baseOffset), 0);
  stored.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_POSITION);
  return stored;
}
