import { assignBatchOffset, decodeRecordBatch, type RecordBatch } from './record-batch.ts';

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

/** The leader epoch stamped on stored batches; this broker never changes leader. */
const LEADER_EPOCH = 0;

/**
 * One partition's log, in memory: validated record batches kept as received (the CRC
 * does not cover baseOffset, so only the offset is rewritten) and served back as is.
 */
export class PartitionLog {
  private readonly batches: StoredBatch[] = [];
  private nextOffset = 0;
  readonly logStartOffset = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The offset the next record will get; with one replica everything appended is committed. */
  get highWatermark(): number {
    return this.nextOffset;
  }

  append(batch: Buffer, decoded: RecordBatch): number {
    const baseOffset = this.nextOffset;
    this.batches.push({
      baseOffset,
      lastOffset: baseOffset + decoded.lastOffsetDelta,
      maxTimestamp: decoded.maxTimestamp,
      bytes: assignBatchOffset(batch, baseOffset, LEADER_EPOCH),
    });
    this.nextOffset += decoded.lastOffsetDelta + 1;
    return baseOffset;
  }

  private indexOfBatchContaining(offset: number): number {
    let low = 0;
    let high = this.batches.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const batch = this.batches[middle];
      if (batch === undefined) break;
      if (batch.lastOffset < offset) low = middle + 1;
      else high = middle - 1;
    }
    return low;
  }

  /**
   * Whole batches from the one holding fetchOffset onwards, within maxBytes. Like Kafka
   * (KIP-74), an oversized first batch is still returned when allowOversized, so a consumer
   * can always make progress.
   */
  read(fetchOffset: number, maxBytes: number, allowOversized: boolean): Buffer[] {
    const selected: Buffer[] = [];
    let size = 0;
    for (let index = this.indexOfBatchContaining(fetchOffset); index < this.batches.length; index++) {
      const batch = this.batches[index];
      if (batch === undefined) break;
      const fits = size + batch.bytes.length <= maxBytes;
      if (!fits && !(selected.length === 0 && allowOversized)) break;
      selected.push(batch.bytes);
      size += batch.bytes.length;
    }
    return selected;
  }

  /** The first record whose timestamp is at or after the given one (ListOffsets by time). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    for (const batch of this.batches) {
      if (batch.maxTimestamp < timestamp) continue;
      const decoded = decodeRecordBatch(batch.bytes);
      for (const record of decoded.records) {
        const recordTimestamp = decoded.firstTimestamp + record.timestampDelta;
        if (recordTimestamp >= timestamp) {
          return { offset: batch.baseOffset + record.offsetDelta, timestamp: recordTimestamp };
        }
      }
    }
    return null;
  }
}
