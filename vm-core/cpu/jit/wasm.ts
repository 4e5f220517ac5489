// A minimal WebAssembly binary encoder (WebAssembly Core Specification 2.0, ch. 5 "Binary Format"):
// just what the block compiler emits. Code is built as bytes from typed calls; guest values enter
// only as numeric immediates (LEB128 / IEEE 754), never as text.

/** Value types (spec 5.3.1). */
export const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c;
export type ValType = typeof I32 | typeof I64 | typeof F64;
/** Block type "no result" (spec 5.4.1). */
export const VOID = 0x40;

/** Opcodes used by the compiler (spec 5.4). */
export const enum Op {
  unreachable = 0x00, block = 0x02, loop = 0x03, if_ = 0x04, else_ = 0x05, end = 0x0b, br = 0x0c, br_if = 0x0d,
  return_ = 0x0f, call = 0x10, drop = 0x1a, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29, f64_load = 0x2b, i32_load8_s = 0x2c, i32_load8_u = 0x2d, i32_load16_s = 0x2e,
  i32_load16_u = 0x2f, i64_load32_s = 0x34, i32_store = 0x36, i64_store = 0x37, f64_store = 0x39, i32_store8 = 0x3a,
  i32_const = 0x41, i64_const = 0x42, f64_const = 0x44,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_s = 0x48, i32_lt_u = 0x49, i32_gt_s = 0x4a, i32_gt_u = 0x4b,
  i32_le_s = 0x4c, i32_le_u = 0x4d, i32_ge_s = 0x4e, i32_ge_u = 0x4f,
  i64_eqz = 0x50, i64_eq = 0x51, i64_ne = 0x52, i64_lt_s = 0x53, i64_lt_u = 0x54, i64_gt_s = 0x55, i64_gt_u = 0x56,
  i64_le_s = 0x57, i64_le_u = 0x58, i64_ge_s = 0x59, i64_ge_u = 0x5a,
  i32_popcnt = 0x69, i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c, i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73,
  i32_shl = 0x74, i32_shr_s = 0x75, i32_shr_u = 0x76,
  i64_add = 0x7c, i64_sub = 0x7d, i64_mul = 0x7e, i64_and = 0x83, i64_or = 0x84, i64_xor = 0x85,
  i64_shl = 0x86, i64_shr_s = 0x87, i64_shr_u = 0x88,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad,
  f64_convert_i32_u = 0xb8, f64_convert_i64_s = 0xb9,
}

/** A growable byte buffer with the encodings the binary format uses. */
export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;
  byte(b: number): this {
    if (this.length === this.buf.length) { const n = new Uint8Array(this.buf.length * 2); n.set(this.buf); this.buf = n; }
    this.buf[this.length++] = b & 0xff;
    return this;
  }
  bytes(bs: ArrayLike<number>): this { for (let k = 0; k < bs.length; k++) this.byte(bs[k]); return this; }
  /** Unsigned LEB128 (spec 5.2.2) of a non-negative integer below 2^32. */
  u32(v: number): this {
    v >>>= 0;
    do { let b = v & 0x7f; v >>>= 7; if (v !== 0) b |= 0x80; this.byte(b); } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f; v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { this.byte(b); return this; }
      this.byte(b | 0x80);
    }
  }
  /** Signed LEB128 of the 64-bit value hi:lo (two int32 halves). */
  s64(lo: number, hi: number): this {
    // Shift the 64-bit pair right by 7 each step (arithmetic on hi).
    let l = lo >>> 0, h = hi | 0;
    for (;;) {
      const b = l & 0x7f;
      l = ((l >>> 7) | ((h & 0x7f) << 25)) >>> 0;
      h >>= 7;
      const done = (h === 0 && l === 0 && (b & 0x40) === 0) || (h === -1 && l === 0xffffffff && (b & 0x40) !== 0);
      if (done) { this.byte(b); return this; }
      this.byte(b | 0x80);
    }
  }
  f64(v: number): this {
    F64_SCRATCH[0] = v;
    return this.bytes(F64_BYTES);
  }
  name(s: string): this { this.u32(s.length); for (let k = 0; k < s.length; k++) this.byte(s.charCodeAt(k)); return this; }
  append(b: Bytes): this { for (let k = 0; k < b.length; k++) this.byte(b.buf[k]); return this; }
  toArray(): Uint8Array { return this.buf.slice(0, this.length); }
}
const F64_SCRATCH = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64_SCRATCH.buffer);

/** Function body builder: typed helpers over the opcodes. */
export class Fn {
  readonly code = new Bytes();
  private locals: ValType[] = [];
  constructor(readonly params: number) {}
  /** Declare a new local (index after the parameters). */
  local(t: ValType): number { this.locals.push(t); return this.params + this.locals.length - 1; }
  op(o: Op): this { this.code.byte(o); return this; }
  i32(v: number): this { this.code.byte(Op.i32_const).s32(v); return this; }
  i64(lo: number, hi: number): this { this.code.byte(Op.i64_const).s64(lo, hi); return this; }
  f64(v: number): this { this.code.byte(Op.f64_const).f64(v); return this; }
  get(l: number): this { this.code.byte(Op.local_get).u32(l); return this; }
  set(l: number): this { this.code.byte(Op.local_set).u32(l); return this; }
  tee(l: number): this { this.code.byte(Op.local_tee).u32(l); return this; }
  /** Memory access with natural alignment hint and a constant offset. */
  mem(o: Op, offset: number): this {
    const align = o === Op.i64_load || o === Op.i64_store || o === Op.f64_load || o === Op.f64_store ? 3
      : o === Op.i32_load8_s || o === Op.i32_load8_u || o === Op.i32_store8 ? 0
        : o === Op.i32_load16_s || o === Op.i32_load16_u ? 1 : 2;
    this.code.byte(o).u32(align).u32(offset);
    return this;
  }
  call(f: number): this { this.code.byte(Op.call).u32(f); return this; }
  blockStart(o: Op.block | Op.loop | Op.if_): this { this.code.byte(o).byte(VOID); return this; }
  br(o: Op.br | Op.br_if, depth: number): this { this.code.byte(o).u32(depth); return this; }
  /** The function body (locals vector + code + end), spec 5.5.13. */
  body(): Bytes {
    const b = new Bytes();
    // Run-length groups of equal local types.
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const g = groups[groups.length - 1];
      if (g && g[1] === t) g[0]++; else groups.push([1, t]);
    }
    b.u32(groups.length);
    for (const [n, t] of groups) b.u32(n).byte(t);
    b.append(this.code).byte(Op.end);
    return b;
  }
}

export interface FuncType { params: ValType[]; results: ValType[] }
export interface ImportFunc { module: string; name: string; type: number }

/**
 * A module importing one memory ("e","m") and `imports` functions, defining one function of type
 * `fnType` exported as "f".
 */
export function encodeModule(types: FuncType[], imports: ImportFunc[], fnType: number, fn: Fn): Uint8Array {
  const m = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const section = (id: number, content: Bytes) => { m.byte(id).u32(content.length).append(content); };
  const t = new Bytes().u32(types.length);
  for (const ft of types) { t.byte(0x60).u32(ft.params.length).bytes(ft.params).u32(ft.results.length).bytes(ft.results); }
  section(1, t);
  const im = new Bytes().u32(imports.length + 1);
  im.name('e').name('m').byte(0x02).byte(0x00).u32(1); // memory, min 1 page, no max
  for (const f of imports) im.name(f.module).name(f.name).byte(0x00).u32(f.type);
  section(2, im);
  section(3, new Bytes().u32(1).u32(fnType));
  section(7, new Bytes().u32(1).name('f').byte(0x00).u32(imports.length));
  const body = fn.body();
  section(10, new Bytes().u32(1).u32(body.length).append(body));
  return m.toArray();
}
