/** Builds Kafka wire types into a growable buffer; the mirror of ProtocolReader. */
export class ProtocolWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  /** Call before touching this.buffer: it may replace the buffer with a bigger one. */
  private reserve(size: number): number {
    if (this.length + size > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + size));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const start = this.length;
    this.length += size;
    return start;
  }

  int8(value: number): this {
    const at = this.reserve(1);
    this.buffer.writeInt8(value, at);
    return this;
  }

  int16(value: number): this {
    const at = this.reserve(2);
    this.buffer.writeInt16BE(value, at);
    return this;
  }

  int32(value: number): this {
    const at = this.reserve(4);
    this.buffer.writeInt32BE(value, at);
    return this;
  }

  uint32(value: number): this {
    const at = this.reserve(4);
    this.buffer.writeUInt32BE(value, at);
    return this;
  }

  int64(value: bigint | number): this {
    const at = this.reserve(8);
    this.buffer.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  boolean(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, 'utf8');
    return this.int16(bytes.length).raw(bytes);
  }

  bytes(value: Buffer | null): this {
    if (value === null) return this.int32(-1);
    return this.int32(value.length).raw(value);
  }

  array<T>(items: readonly T[] | null, writeItem: (writer: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  unsignedVarint(value: number): this {
    let remaining = value;
    while (remaining >= 0x80) {
      const at = this.reserve(1);
    this.buffer.writeUInt8((remaining % 0x80) | 0x80, at);
      remaining = Math.floor(remaining / 0x80);
    }
    const at = this.reserve(1);
    this.buffer.writeUInt8(remaining, at);
    return this;
  }

  varint(value: number): this {
    return this.unsignedVarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  varlong(value: bigint | number): this {
    const signed = BigInt.asIntN(64, BigInt(value));
    let remaining = BigInt.asUintN(64, (signed << 1n) ^ (signed >> 63n));
    while (remaining >= 0x80n) {
      const at = this.reserve(1);
    this.buffer.writeUInt8(Number(remaining & 0x7fn) | 0x80, at);
      remaining >>= 7n;
    }
    const at = this.reserve(1);
    this.buffer.writeUInt8(Number(remaining), at);
    return this;
  }

  varintBytes(value: Buffer | null): this {
    if (value === null) return this.varint(-1);
    return this.varint(value.length).raw(value);
  }

  raw(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length);
    this.buffer.set(bytes, at);
    return this;
  }

  get size(): number {
    return this.length;
  }

  /** Writes a big-endian int32 at an earlier position, for length prefixes known only afterwards. */
  patchInt32(position: number, value: number): void {
    this.buffer.writeInt32BE(value, position);
  }

  patchUInt32(position: number, value: number): void {
    this.buffer.writeUInt32BE(value, position);
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
