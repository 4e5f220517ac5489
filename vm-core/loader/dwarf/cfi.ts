// Call frame information (DWARF 5 §6.4) from .debug_frame and .eh_frame (LSB "Exception Frames"):
// CIEs and FDEs, every DW_CFA_* instruction, and the unwinding step from one frame's registers to
// its caller's. Malformed entries are reported and skipped; every loop is bounded.
import { ByteReader, TruncatedError, hex } from './byte-reader';
import { errText } from './line-program';
import { evaluateLocation, type LocationContext } from './location';
import { DebugSection, DwarfReport, readerFor } from './sections';

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEncoding: number;
  augZ: boolean;
  signal: boolean;
  addressSize: number;
  initial: Uint8Array;
}

export interface Fde { low: number; high: number; cie: Cie; program: Uint8Array; }

export type RegRule =
  | { kind: 'undefined' } | { kind: 'same' }
  | { kind: 'offset'; n: number } | { kind: 'valOffset'; n: number }
  | { kind: 'register'; reg: number }
  | { kind: 'expression'; expr: Uint8Array } | { kind: 'valExpression'; expr: Uint8Array };

export interface CfiRow {
  cfa: { reg: number; offset: number } | { expr: Uint8Array };
  regs: Map<number, RegRule>;
  raReg: number;
}

const MAX_ENTRIES = 1_000_000;
const MAX_INSNS = 100_000;
const MAX_REMEMBER = 64;

// DW_EH_PE_* pointer encodings (LSB 5.0 "DWARF Exception Header Encoding").
const PE_omit = 0xff;

export class CallFrameInfo {
  readonly fdes: Fde[] = [];

  constructor(sections: { frame?: DebugSection; ehFrame?: DebugSection }, private addressSize: number, report: DwarfReport) {
    if (sections.ehFrame) this.readSection(sections.ehFrame, true, report);
    if (sections.frame) this.readSection(sections.frame, false, report);
    // .eh_frame first: when both cover a pc, the first (stable sort) wins.
    this.fdes.sort((a, b) => a.low - b.low);
  }

  private readSection(sec: DebugSection, eh: boolean, report: DwarfReport): void {
    const r = readerFor(sec);
    const cies = new Map<number, Cie | null>();
    for (let n = 0; n < MAX_ENTRIES && r.remaining >= 4; n++) {
      const start = r.pos;
      let length = r.u32();
      if (length === 0) { if (eh) break; continue; } // .eh_frame terminator
      let offsetSize = 4;
      if (length === 0xffffffff) { length = r.u64(); offsetSize = 8; }
      const body = r.pos;
      const end = body + length;
      if (end > sec.bytes.length) { report(sec, start, `call frame entry at ${hex(start)} runs past the end of the section`); break; }
      try {
        const idPos = r.pos;
        const id = r.uN(offsetSize, 'CIE id');
        const isCie = eh ? id === 0 : (offsetSize === 4 ? id === 0xffffffff : id >= 2 ** 53);
        if (!isCie) {
          const cieOff = eh ? idPos - id : id;
          let cie = cies.get(cieOff);
          if (cie === undefined) { cie = this.readCie(sec, cieOff, eh, report); cies.set(cieOff, cie); }
          if (cie) this.readFde(sec, r, end, cie, eh);
        }
      } catch (e) {
        report(sec, e instanceof TruncatedError ? e.offset : start, errText(e, 'call frame entry'));
      }
      r.pos = end;
    }
  }

  private readCie(sec: DebugSection, off: number, eh: boolean, report: DwarfReport): Cie | null {
    try {
      const r = readerFor(sec, off);
      let length = r.u32('CIE');
      let offsetSize = 4;
      if (length === 0xffffffff) { length = r.u64('CIE'); offsetSize = 8; }
      const end = r.pos + length;
      if (end > sec.bytes.length) throw new TruncatedError(off, 'CIE runs past the end of the section');
      r.uN(offsetSize, 'CIE');
      const version = r.u8('CIE');
      const aug = r.cstr('CIE augmentation');
      let addressSize = this.addressSize;
      if (!eh && version >= 4) { addressSize = r.u8('CIE'); r.u8('CIE'); }
      if (aug.includes('eh')) r.uN(addressSize, 'CIE'); // old GCC "eh" augmentation: a pointer follows
      const codeAlign = r.uleb('CIE');
      const dataAlign = r.sleb('CIE');
      const raReg = version === 1 ? r.u8('CIE') : r.uleb('CIE');
      const cie: Cie = { codeAlign, dataAlign, raReg, fdeEncoding: 0, augZ: false, signal: false, addressSize, initial: new Uint8Array(0) };
      if (aug.startsWith('z')) {
        cie.augZ = true;
        const n = r.uleb('CIE augmentation data');
        const data = r.sub(n, 'CIE augmentation data');
        for (const ch of aug.slice(1)) {
          if (ch === 'R') cie.fdeEncoding = data.u8();
          else if (ch === 'P') { const enc = data.u8(); this.readPointer(data, enc, sec, addressSize); }
          else if (ch === 'L') data.u8();
          else if (ch === 'S') cie.signal = true;
          else break;
        }
      }
      cie.initial = r.bytesN(end - r.pos, 'CIE instructions');
      return cie;
    } catch (e) {
      report(sec, e instanceof TruncatedError ? e.offset : off, errText(e, 'CIE'));
      return null;
    }
  }

  private readFde(sec: DebugSection, r: ByteReader, end: number, cie: Cie, eh: boolean): void {
    const enc = eh ? cie.fdeEncoding : 0;
    const low = this.readPointer(r, enc, sec, cie.addressSize);
    const range = this.readPointer(r, enc & 0x0f, sec, cie.addressSize);
    if (cie.augZ) r.skip(r.uleb('FDE augmentation data'), 'FDE augmentation data');
    const program = r.bytesN(end - r.pos, 'FDE instructions');
    if (low !== undefined && range !== undefined && range > 0) this.fdes.push({ low, high: low + range, cie, program });
  }

  // LSB "DWARF Exception Header Encoding": the value format (low nibble) and application (high nibble).
  private readPointer(r: ByteReader, enc: number, sec: DebugSection, addressSize: number): number | undefined {
    if (enc === PE_omit) return undefined;
    const at = (sec.addr ?? 0) + r.pos;
    let v: number;
    switch (enc & 0x0f) {
      case 0x00: v = r.uN(addressSize, 'pointer'); break;
      case 0x01: v = r.uleb('pointer'); break;
      case 0x02: v = r.u16('pointer'); break;
      case 0x03: v = r.u32('pointer'); break;
      case 0x04: v = r.u64('pointer'); break;
      case 0x09: v = r.sleb('pointer'); break;
      case 0x0a: v = r.i16('pointer'); break;
      case 0x0b: v = r.i32('pointer'); break;
      case 0x0c: v = r.u64('pointer'); if (v >= 2 ** 63) v -= 2 ** 64; break;
      default: throw new TruncatedError(r.fileOffset, `unknown pointer encoding ${hex(enc)}`);
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case 0x10: v += at; break; // pcrel
      default: break; // textrel / datarel / funcrel: not used by x86 guests' unwind tables
    }
    if (addressSize === 4) return ((v % 2 ** 32) + 2 ** 32) % 2 ** 32;
    return v < 0 ? 2 ** 64 + v : v; // 64-bit addresses stay exact below 2^53
  }

  /** The FDE covering `pc`. */
  find(pc: number): Fde | undefined {
    const f = this.fdes;
    let lo = 0, hi = f.length - 1, best: Fde | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid].low <= pc) { best = f[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    if (best && pc < best.high) return best;
    // Overlapping FDEs (.eh_frame and .debug_frame both present): search the neighbours.
    return f.find((x) => pc >= x.low && pc < x.high);
  }

  /** The unwinding rules in force at `pc` (§6.4.2): the CIE's initial instructions, then the FDE's up to pc. */
  rowAt(pc: number): CfiRow | undefined {
    const fde = this.find(pc);
    if (!fde) return undefined;
    const cie = fde.cie;
    const row: CfiRow = { cfa: { reg: 7, offset: 8 }, regs: new Map(), raReg: cie.raReg };
    try {
      runCfa(cie.initial, cie, row, fde.low, Infinity, undefined);
      const initial = new Map(row.regs);
      runCfa(fde.program, cie, row, fde.low, pc, initial);
    } catch {
      return undefined;
    }
    return row;
  }
}

// §6.4.2: the call frame instructions; stops when the location passes `pc`.
function runCfa(prog: Uint8Array, cie: Cie, row: CfiRow, start: number, pc: number, initial: Map<number, RegRule> | undefined): void {
  const r = new ByteReader(prog);
  let loc = start;
  const stack: { cfa: CfiRow['cfa']; regs: Map<number, RegRule> }[] = [];
  const da = cie.dataAlign, ca = cie.codeAlign;
  const restore = (reg: number) => { const x = initial?.get(reg); if (x) row.regs.set(reg, x); else row.regs.delete(reg); };
  const cfaReg = () => ('reg' in row.cfa ? row.cfa : { reg: 7, offset: 0 });
  for (let n = 0; n < MAX_INSNS && !r.atEnd; n++) {
    const op = r.u8('call frame instruction');
    const hi = op & 0xc0, lo = op & 0x3f;
    if (hi === 0x40) { loc += lo * ca; if (loc > pc) return; continue; } // advance_loc
    if (hi === 0x80) { row.regs.set(lo, { kind: 'offset', n: r.uleb() * da }); continue; } // offset
    if (hi === 0xc0) { restore(lo); continue; } // restore
    switch (op) {
      case 0x00: break; // nop
      case 0x01: loc = r.uN(cie.addressSize); if (loc > pc) return; break; // set_loc
      case 0x02: loc += r.u8() * ca; if (loc > pc) return; break;
      case 0x03: loc += r.u16() * ca; if (loc > pc) return; break;
      case 0x04: loc += r.u32() * ca; if (loc > pc) return; break;
      case 0x05: { const reg = r.uleb(); row.regs.set(reg, { kind: 'offset', n: r.uleb() * da }); break; }
      case 0x06: restore(r.uleb()); break;
      case 0x07: row.regs.set(r.uleb(), { kind: 'undefined' }); break;
      case 0x08: row.regs.set(r.uleb(), { kind: 'same' }); break;
      case 0x09: { const reg = r.uleb(); row.regs.set(reg, { kind: 'register', reg: r.uleb() }); break; }
      case 0x0a: if (stack.length < MAX_REMEMBER) stack.push({ cfa: { ...row.cfa }, regs: new Map(row.regs) }); break; // remember_state
      case 0x0b: { const s = stack.pop(); if (s) { row.cfa = s.cfa; row.regs = s.regs; } break; } // restore_state
      case 0x0c: { const reg = r.uleb(); row.cfa = { reg, offset: r.uleb() }; break; } // def_cfa
      case 0x0d: row.cfa = { reg: r.uleb(), offset: cfaReg().offset }; break; // def_cfa_register
      case 0x0e: row.cfa = { reg: cfaReg().reg, offset: r.uleb() }; break; // def_cfa_offset
      case 0x0f: row.cfa = { expr: r.bytesN(r.uleb()) }; break; // def_cfa_expression
      case 0x10: { const reg = r.uleb(); row.regs.set(reg, { kind: 'expression', expr: r.bytesN(r.uleb()) }); break; }
      case 0x11: { const reg = r.uleb(); row.regs.set(reg, { kind: 'offset', n: r.sleb() * da }); break; } // offset_extended_sf
      case 0x12: { const reg = r.uleb(); row.cfa = { reg, offset: r.sleb() * da }; break; } // def_cfa_sf
      case 0x13: row.cfa = { reg: cfaReg().reg, offset: r.sleb() * da }; break; // def_cfa_offset_sf
      case 0x14: { const reg = r.uleb(); row.regs.set(reg, { kind: 'valOffset', n: r.uleb() * da }); break; }
      case 0x15: { const reg = r.uleb(); row.regs.set(reg, { kind: 'valOffset', n: r.sleb() * da }); break; }
      case 0x16: { const reg = r.uleb(); row.regs.set(reg, { kind: 'valExpression', expr: r.bytesN(r.uleb()) }); break; }
      case 0x2e: r.uleb(); break; // GNU_args_size
      case 0x2f: { const reg = r.uleb(); row.regs.set(reg, { kind: 'offset', n: -r.uleb() * da }); break; } // GNU_negative_offset_extended
      default: throw new TruncatedError(r.pos, `unknown call frame instruction ${hex(op)}`);
    }
  }
}

/** One frame's registers by DWARF number. */
export type DwarfRegs = Map<number, bigint>;

/**
 * §6.4.4: the caller's registers from this frame's, by the CFI row at `pc`; undefined without CFI.
 * The caller's stack pointer is the CFA and its pc the return address.
 */
export function unwindCfi(cfi: CallFrameInfo, pc: number, regs: DwarfRegs, spReg: number, ipReg: number, addressSize: number,
  read: (addr: bigint, size: number) => bigint | undefined): { regs: DwarfRegs; cfa: bigint } | undefined {
  const row = cfi.rowAt(pc);
  if (!row) return undefined;
  const mask = addressSize === 4 ? 0xffffffffn : (1n << 64n) - 1n;
  const ctx: LocationContext = { addressSize, reg: (n) => regs.get(n), read };
  let cfa: bigint;
  if ('reg' in row.cfa) {
    const base = regs.get(row.cfa.reg);
    if (base === undefined) return undefined;
    cfa = (base + BigInt(row.cfa.offset)) & mask;
  } else {
    const l = evaluateLocation(row.cfa.expr, ctx);
    if (l.kind !== 'memory') return undefined;
    cfa = l.addr;
  }
  const out: DwarfRegs = new Map(regs);
  ctx.cfa = () => cfa;
  for (const [reg, rule] of row.regs) {
    switch (rule.kind) {
      case 'undefined': out.delete(reg); break;
      case 'same': break;
      case 'offset': { const v = read((cfa + BigInt(rule.n)) & mask, addressSize); if (v === undefined) out.delete(reg); else out.set(reg, v); break; }
      case 'valOffset': out.set(reg, (cfa + BigInt(rule.n)) & mask); break;
      case 'register': { const v = regs.get(rule.reg); if (v === undefined) out.delete(reg); else out.set(reg, v); break; }
      case 'expression': case 'valExpression': {
        const l = evaluateLocation(rule.expr, ctx, cfa);
        if (l.kind !== 'memory') { out.delete(reg); break; }
        if (rule.kind === 'valExpression') out.set(reg, l.addr);
        else { const v = read(l.addr, addressSize); if (v === undefined) out.delete(reg); else out.set(reg, v); }
        break;
      }
    }
  }
  const ra = row.regs.has(row.raReg) ? out.get(row.raReg) : undefined;
  out.set(spReg, cfa);
  if (ra === undefined) out.delete(ipReg); else out.set(ipReg, ra);
  return { regs: out, cfa };
}
