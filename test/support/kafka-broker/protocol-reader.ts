/** Thrown when request bytes do not match the schema of the API version they claim. */
export class MalformedRequestError extends Error {
  override readonly name = 'MalformedRequestError';
}

/**
 * Reads the Kafka wire types (big-endian fixed-width integers, int16-length strings,
 * int32-length bytes and arrays, zigzag varints). Every read is bounds-checked so that
 * garbage from a client surfaces as a MalformedRequestError, never as a RangeError deep
 * in the broker.
 */
export class ProtocolReader {
  private position = 0;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.position;
  }

  private take(size: number): number {
    if (size < 0 || this.position + size > this.buffer.length) {
      throw new MalformedRequestError(
        `needed ${size} bytes at offset ${this.position}, only ${this.remaining} left`,
      );
    }
    const start = this.position;
    this.position += size;
    return start;
  }

  readInt8(): number {
    return this.buffer.readInt8(this.take(1));
  }

  readInt16(): number {
    return this.buffer.readInt16BE(this.take(2));
  }

  readInt32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }

  readUInt32(): number {
    return this.buffer.readUInt32BE(this.take(4));
  }

  readInt64(): bigint {
    return this.buffer.readBigInt64BE(this.take(8));
  }

  /** Offsets and timestamps stay far below 2^53 in a test broker, so numbers are safe. */
  readInt64AsNumber(): number {
    return Number(this.readInt64());
  }

  readBoolean(): boolean {
    return this.readInt8() !== 0;
  }

  readNullableString(): string | null {
    const length = this.readInt16();
    if (length === -1) return null;
    if (length < -1) throw new MalformedRequestError(`invalid string length ${length}`);
    const start = this.take(length);
    return this.buffer.toString('utf8', start, start + length);
  }

  readString(): string {
    const value = this.readNullableString();
    if (value === null) throw new MalformedRequestError('a required string was null');
    return value;
  }

  readNullableBytes(): Buffer | null {
    const length = this.readInt32();
    if (length === -1) return null;
    if (length < -1) throw new MalformedRequestError(`invalid bytes length ${length}`);
    return this.readRaw(length);
  }

  readBytes(): Buffer {
    return this.readNullableBytes() ?? Buffer.alloc(0);
  }

  readNullableArray<T>(readItem: (reader: ProtocolReader) => T): T[] | null {
    const length = this.readInt32();
    if (length === -1) return null;
    // Every element takes at least one byte; this stops garbage from allocating gigabytes.
    if (length < -1 || length > this.remaining) {
      throw new MalformedRequestError(`invalid array length ${length}`);
    }
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(readItem(this));
    return items;
  }

  readArray<T>(readItem: (reader: ProtocolReader) => T): T[] {
    return this.readNullableArray(readItem) ?? [];
  }

  readUnsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buffer.readUInt8(this.take(1));
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new MalformedRequestError('varint longer than 5 bytes');
  }

  /** Zigzag-encoded signed 32-bit varint, as used inside v2 records. */
  readVarint(): number {
    const raw = this.readUnsignedVarint();
    if (raw > 0xffffffff) throw new MalformedRequestError('varint overflows 32 bits');
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Zigzag-encoded signed 64-bit varint. */
  readVarlong(): bigint {
    let raw = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = BigInt(this.buffer.readUInt8(this.take(1)));
      raw |= (byte & 0x7fn) << shift;
      if ((byte & 0x80n) === 0n) return (raw >> 1n) ^ -(raw & 1n);
    }
    throw new MalformedRequestError('varlong longer than 10 bytes');
  }

  readVarintBytes(): Buffer | null {
    const length = this.readVarint();
    if (length === -1) return null;
    if (length < -1) throw new MalformedRequestError(`invalid varint bytes length ${length}`);
    return this.readRaw(length);
  }

  readVarintString(): string | null {
    const bytes = this.readVarintBytes();
    return bytes === null ? null : bytes.toString('utf8');
  }

  readRaw(size: number): Buffer {
    const start = this.take(size);
    return this.buffer.subarray(start, start + size);
  }

  readRest(): Buffer {
    return this.readRaw(this.remaining);
  }
}
