// Bounds-checked little-endian reader over a section's bytes. Every read past the end throws
// a TruncatedError that the section parsers catch and turn into a Diagnostic, so malformed
// input never escapes as an exception.

/** Raised (and always caught inside the loader) when input ends before a structure does. */
export class TruncatedError extends Error {
  constructor(readonly offset: number, what: string) {
    super(what);
  }
}

export class ByteReader {
  private readonly view: DataView;
  pos: number;

  /** `base` is the file offset of bytes[0], so errors can name a file offset. */
  constructor(readonly bytes: Uint8Array, readonly base = 0, start = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get length(): number { return this.bytes.length; }
  get remaining(): number { return this.bytes.length - this.pos; }
  get atEnd(): boolean { return this.pos >= this.bytes.length; }
  /** File offset of the current position. */
  get fileOffset(): number { return this.base + this.pos; }

  need(n: number, what = 'data'): void {
    if (n < 0 || this.pos + n > this.bytes.length || this.pos < 0) {
      throw new TruncatedError(this.base + this.pos, `truncated ${what}`);
    }
  }

  u8(what?: string): number { this.need(1, what); return this.bytes[this.pos++]; }
  u16(what?: string): number { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(what?: string): number { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i8(what?: string): number { this.need(1, what); return this.view.getInt8(this.pos++); }
  i16(what?: string): number { this.need(2, what); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  i32(what?: string): number { this.need(4, what); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }

  /** 64-bit value as a JS number (exact below 2^53; guest addresses fit). */
  u64(what?: string): number {
    const lo = this.u32(what), hi = this.u32(what);
    return hi * 0x1_0000_0000 + lo;
  }

  /** Unsigned value of 1, 2, 4 or 8 bytes. */
  uN(size: number, what?: string): number {
    switch (size) {
      case 1: return this.u8(what);
      case 2: return this.u16(what);
      case 4: return this.u32(what);
      case 8: return this.u64(what);
      default: throw new TruncatedError(this.base + this.pos, `unsupported ${size}-byte field in ${what ?? 'data'}`);
    }
  }

  // DWARF 5 §7.6 (variable-length data): unsigned LEB128.
  uleb(what?: string): number {
    let result = 0, mul = 1;
    for (;;) {
      const b = this.u8(what);
      if (mul < 2 ** 56) result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
  }

  // DWARF 5 §7.6: signed LEB128.
  sleb(what?: string): number {
    let result = 0, mul = 1, b: number;
    do {
      b = this.u8(what);
      if (mul < 2 ** 56) result += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    if (b & 0x40) result -= mul;
    return result;
  }

  /** NUL-terminated string (UTF-8). */
  cstr(what?: string): string {
    const start = this.pos;
    let end = start;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    if (end >= this.bytes.length) throw new TruncatedError(this.base + start, `unterminated string in ${what ?? 'data'}`);
    this.pos = end + 1;
    return utf8(this.bytes.subarray(start, end));
  }

  bytesN(n: number, what?: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number, what?: string): void { this.need(n, what); this.pos += n; }

  /** A reader over [pos, pos+n), advancing this one past it. */
  sub(n: number, what?: string): ByteReader {
    this.need(n, what);
    const r = new ByteReader(this.bytes.subarray(this.pos, this.pos + n), this.base + this.pos);
    this.pos += n;
    return r;
  }
}

const decoder = new TextDecoder('utf-8');
export function utf8(b: Uint8Array): string { return decoder.decode(b); }

/** NUL-terminated string at `offset` of a string table, or undefined when out of range. */
export function stringAt(table: Uint8Array | undefined, offset: number): string | undefined {
  if (!table || offset < 0 || offset >= table.length) return undefined;
  let end = offset;
  while (end < table.length && table[end] !== 0) end++;
  return utf8(table.subarray(offset, end));
}

export function hex(n: number): string { return '0x' + n.toString(16); }
