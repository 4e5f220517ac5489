// Test helper: writes DWARF sections byte by byte, so tests can exercise every opcode and form.
import type { DebugSection } from '../../vm-core/loader/dwarf/sections';

export class Bytes {
  readonly b: number[] = [];
  get length(): number { return this.b.length; }
  u8(...v: number[]): this { for (const x of v) this.b.push(x & 0xff); return this; }
  u16(v: number): this { return this.u8(v, v >> 8); }
  u32(v: number): this { return this.u8(v, v >> 8, v >> 16, v >>> 24); }
  u64(v: number): this { return this.u32(v % 0x1_0000_0000).u32(Math.floor(v / 0x1_0000_0000)); }
  uN(size: number, v: number): this { return size === 8 ? this.u64(v) : size === 4 ? this.u32(v) : size === 2 ? this.u16(v) : this.u8(v); }
  uleb(v: number): this {
    do { let byte = v % 128; v = Math.floor(v / 128); if (v) byte |= 0x80; this.b.push(byte); } while (v);
    return this;
  }
  sleb(v: number): this {
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && !(byte & 0x40)) || (v === -1 && (byte & 0x40));
      this.b.push(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }
  str(s: string): this { for (const c of Buffer.from(s, 'utf8')) this.b.push(c); this.b.push(0); return this; }
  raw(a: ArrayLike<number>): this { for (let i = 0; i < a.length; i++) this.b.push(a[i]); return this; }
  setU32(at: number, v: number): void { this.b[at] = v & 0xff; this.b[at + 1] = (v >> 8) & 0xff; this.b[at + 2] = (v >> 16) & 0xff; this.b[at + 3] = v >>> 24; }
  setU64(at: number, v: number): void { this.setU32(at, v % 0x1_0000_0000); this.setU32(at + 4, Math.floor(v / 0x1_0000_0000)); }
  section(name: string): DebugSection { return { name, bytes: Uint8Array.from(this.b), fileOffset: 0x1000 }; }
}

/** A string table (.debug_str / .debug_line_str) with offsets by string. */
export class StrTab {
  readonly bytes = new Bytes();
  private readonly at = new Map<string, number>();
  off(s: string): number {
    if (!this.at.has(s)) { this.at.set(s, this.bytes.length); this.bytes.str(s); }
    return this.at.get(s)!;
  }
}

/** Wraps a unit body in its initial length (DWARF 5 §7.4), 32- or 64-bit format. */
export function unit(body: (b: Bytes, offsetSize: 4 | 8) => void, is64 = false, out = new Bytes()): Bytes {
  const offsetSize = is64 ? 8 : 4;
  if (is64) out.u32(0xffffffff);
  const lenAt = out.length;
  out.uN(offsetSize, 0);
  const start = out.length;
  body(out, offsetSize);
  if (is64) out.setU64(lenAt, out.length - start); else out.setU32(lenAt, out.length - start);
  return out;
}

export interface LineHeaderOpts {
  version: 2 | 3 | 4 | 5;
  is64?: boolean;
  addressSize?: number;
  minInst?: number;
  maxOps?: number;
  lineBase?: number;
  lineRange?: number;
  opcodeBase?: number;
  stdLens?: number[];
  /** DWARF 2-4 include_directories and (name, dir) file entries. */
  dirs?: string[];
  files?: [string, number][];
  /** DWARF 5: writes the directory/file entry formats and entries. */
  v5Entries?: (b: Bytes, offsetSize: number) => void;
}

/** A full line-number program (DWARF 5 §6.2.4 header + opcodes). */
export function lineProgram(o: LineHeaderOpts, program: (b: Bytes) => void, out = new Bytes()): Bytes {
  const opcodeBase = o.opcodeBase ?? 13;
  const std = o.stdLens ?? [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 2, 2, 2, 2].slice(0, opcodeBase - 1);
  return unit((b, offsetSize) => {
    b.u16(o.version);
    if (o.version >= 5) b.u8(o.addressSize ?? 8, 0);
    const hlAt = b.length;
    b.uN(offsetSize, 0);
    const hStart = b.length;
    b.u8(o.minInst ?? 1);
    if (o.version >= 4) b.u8(o.maxOps ?? 1);
    b.u8(1).u8((o.lineBase ?? -5) & 0xff).u8(o.lineRange ?? 14).u8(opcodeBase);
    for (const n of std) b.u8(n);
    if (o.version >= 5) o.v5Entries?.(b, offsetSize);
    else {
      for (const d of o.dirs ?? []) b.str(d);
      b.u8(0);
      for (const [name, dir] of o.files ?? []) b.str(name).uleb(dir).uleb(0).uleb(0);
      b.u8(0);
    }
    if (offsetSize === 8) b.setU64(hlAt, b.length - hStart); else b.setU32(hlAt, b.length - hStart);
    program(b);
  }, o.is64, out);
}

/** Opcode writers (DWARF 5 §6.2.5). */
export const op = {
  setAddress: (b: Bytes, a: number, size = 8) => b.u8(0).uleb(size + 1).u8(2).uN(size, a),
  endSequence: (b: Bytes) => b.u8(0, 1, 1),
  defineFile: (b: Bytes, name: string, dir: number) => { const n = new Bytes().u8(3).str(name).uleb(dir).uleb(0).uleb(0); b.u8(0).uleb(n.length).raw(n.b); },
  setDiscriminator: (b: Bytes, d: number) => { const n = new Bytes().u8(4).uleb(d); b.u8(0).uleb(n.length).raw(n.b); },
  copy: (b: Bytes) => b.u8(1),
  advancePc: (b: Bytes, n: number) => b.u8(2).uleb(n),
  advanceLine: (b: Bytes, n: number) => b.u8(3).sleb(n),
  setFile: (b: Bytes, f: number) => b.u8(4).uleb(f),
  setColumn: (b: Bytes, c: number) => b.u8(5).uleb(c),
  negateStmt: (b: Bytes) => b.u8(6),
  basicBlock: (b: Bytes) => b.u8(7),
  constAddPc: (b: Bytes) => b.u8(8),
  fixedAdvancePc: (b: Bytes, n: number) => b.u8(9).u16(n),
  prologueEnd: (b: Bytes) => b.u8(10),
  epilogueBegin: (b: Bytes) => b.u8(11),
  setIsa: (b: Bytes, n: number) => b.u8(12).uleb(n),
  /** Special opcode for (address advance, line advance) with line_base -5, line_range 14, opcode_base 13. */
  special: (b: Bytes, addr: number, line: number, base = 13, lineBase = -5, range = 14) => b.u8((line - lineBase) + range * addr + base),
};
