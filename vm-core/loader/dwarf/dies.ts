// The full tree of debugging information entries of .debug_info (DWARF 5 §2.1, §7.5), for the
// debugger's variables, types and scopes. Units are read on demand; a malformed unit is
// reported and skipped, and the number of entries read is bounded.
import { ByteReader, TruncatedError, hex } from './byte-reader';
import { Abbrev, readAbbrevTable } from './abbrev';
import { DW_AT } from './constants';
import { FormValue, UnitBases, UnitEncoding, formAddress, formConstant, formString, readForm } from './forms';
import { errText } from './line-program';
import { DebugSections, DwarfReport, readerFor } from './sections';
import { readUnitHeader } from './unit-length';

export interface Die {
  /** .debug_info offset of the entry. */
  offset: number;
  tag: number;
  attrs: Map<number, FormValue>;
  children: Die[];
  parent?: Die;
  unit: DieUnit;
}

export interface DieUnit {
  offset: number;
  enc: UnitEncoding;
  bases: UnitBases & { rnglistsBase?: number; loclistsBase?: number };
  /** DW_AT_low_pc of the unit: the base address of its location and range lists (§2.17.3). */
  baseAddress: number;
  root?: Die;
  name?: string;
  compDir?: string;
  stmtList?: number;
}

/** At most this many entries are kept (a hostile file cannot exhaust host memory). */
export const MAX_DIES = 4_000_000;
const MAX_DEPTH = 256;

export class DieTree {
  readonly units: DieUnit[] = [];
  readonly byOffset = new Map<number, Die>();
  count = 0;

  constructor(readonly secs: DebugSections, private report: DwarfReport) {
    this.readAll();
  }

  private readAll(): void {
    const info = this.secs.info;
    if (!info) return;
    const cache = new Map<number, Map<number, Abbrev>>();
    const r = readerFor(info);
    while (r.remaining >= 4 && this.count < MAX_DIES) {
      const start = r.pos;
      let end: number;
      try {
        end = this.readUnit(r, cache);
      } catch (e) {
        this.report(info, e instanceof TruncatedError ? e.offset : start, `${errText(e, 'compilation unit header')} (unit at ${hex(start)})`);
        break;
      }
      r.pos = end;
    }
    if (this.count >= MAX_DIES) this.report(info, r.pos, `more than ${MAX_DIES} debugging information entries: the rest is ignored`);
  }

  // §7.5.1.1 unit headers (v2-4 and v5 layouts).
  private readUnit(r: ByteReader, cache: Map<number, Map<number, Abbrev>>): number {
    const info = this.secs.info!;
    const start = r.pos;
    const { offsetSize, end, version, addressSize, abbrevOffset } = readUnitHeader(r);
    let abbrevs = cache.get(abbrevOffset);
    if (!abbrevs) {
      const ab = this.secs.abbrev;
      if (!ab || abbrevOffset >= ab.bytes.length) { this.report(info, start, `abbreviation offset ${hex(abbrevOffset)} is outside .debug_abbrev`); return end; }
      try { abbrevs = readAbbrevTable(readerFor(ab, abbrevOffset)); } catch (e) {
        this.report(ab, e instanceof TruncatedError ? e.offset : abbrevOffset, errText(e, 'abbreviation table'));
        return end;
      }
      cache.set(abbrevOffset, abbrevs);
    }
    const unit: DieUnit = { offset: start, enc: { version, addressSize, offsetSize }, bases: {}, baseAddress: 0 };
    const dies = r.sub(end - r.pos, 'compilation unit');
    const stack: Die[] = [];
    try {
      while (!dies.atEnd) {
        const offset = dies.pos + dies.base;
        const code = dies.uleb('DIE');
        if (code === 0) { stack.pop(); continue; } // §2.3: a null entry ends a sibling chain
        const ab = abbrevs.get(code);
        if (!ab) throw new TruncatedError(dies.fileOffset, `unknown abbreviation code ${code}`);
        const attrs = new Map<number, FormValue>();
        for (const a of ab.attrs) attrs.set(a.name, readForm(dies, a.form, unit.enc, a.implicitConst));
        const parent = stack[stack.length - 1];
        const die: Die = { offset, tag: ab.tag, attrs, children: [], parent, unit };
        this.byOffset.set(offset, die);
        if (++this.count >= MAX_DIES) break;
        if (parent) parent.children.push(die);
        else if (!unit.root) { unit.root = die; this.unitAttributes(unit, die); }
        else break; // a second top-level entry: the unit is over
        if (ab.hasChildren) {
          if (stack.length >= MAX_DEPTH) throw new TruncatedError(dies.fileOffset, `entries nested deeper than ${MAX_DEPTH}`);
          stack.push(die);
        }
      }
    } catch (e) {
      this.report(info, e instanceof TruncatedError ? e.offset : dies.fileOffset, `${errText(e, 'debugging information entry')} (unit at ${hex(start)})`);
    }
    this.units.push(unit);
    return end;
  }

  private unitAttributes(u: DieUnit, d: Die): void {
    const a = d.attrs;
    u.bases = {
      strOffsetsBase: formConstant(a.get(DW_AT.str_offsets_base)),
      addrBase: formConstant(a.get(DW_AT.addr_base)) ?? formConstant(a.get(DW_AT.GNU_addr_base)),
      rnglistsBase: formConstant(a.get(DW_AT.rnglists_base)),
      loclistsBase: formConstant(a.get(DW_AT.loclists_base)),
    };
    u.baseAddress = formAddress(a.get(DW_AT.low_pc), this.secs, u.enc, u.bases) ?? 0;
    u.name = formString(a.get(DW_AT.name), this.secs, u.enc, u.bases);
    u.compDir = formString(a.get(DW_AT.comp_dir), this.secs, u.enc, u.bases);
    const sl = a.get(DW_AT.stmt_list);
    if (sl && (sl.kind === 'secoff' || sl.kind === 'const')) u.stmtList = sl.value;
  }

  /** The entry a reference attribute points at (unit-relative, or section-relative for ref_addr). */
  ref(d: Die, at: number): Die | undefined {
    const v = d.attrs.get(at);
    if (!v || v.kind !== 'ref') return undefined;
    return this.byOffset.get(v.global ? v.value : d.unit.offset + v.value);
  }

  str(d: Die, at: number): string | undefined {
    return formString(d.attrs.get(at), this.secs, d.unit.enc, d.unit.bases);
  }

  addr(d: Die, at: number): number | undefined {
    return formAddress(d.attrs.get(at), this.secs, d.unit.enc, d.unit.bases);
  }

  /** An attribute of the entry or of its abstract origin / specification (§3.3.8, §2.13.2). */
  inherited(d: Die, at: number): { die: Die; value: FormValue } | undefined {
    let cur: Die | undefined = d;
    for (let hops = 0; cur && hops < 8; hops++) {
      const v = cur.attrs.get(at);
      if (v) return { die: cur, value: v };
      cur = this.ref(cur, DW_AT.abstract_origin) ?? this.ref(cur, DW_AT.specification);
    }
    return undefined;
  }

  name(d: Die): string | undefined {
    const v = this.inherited(d, DW_AT.name);
    return v ? formString(v.value, this.secs, v.die.unit.enc, v.die.unit.bases) : undefined;
  }

  /** The DW_AT_type of the entry (following its abstract origin). */
  typeOf(d: Die): Die | undefined {
    const v = this.inherited(d, DW_AT.type);
    return v ? this.ref(v.die, DW_AT.type) : undefined;
  }

  // §2.17: the address ranges of an entry: low_pc/high_pc, or DW_AT_ranges (.debug_ranges / .debug_rnglists).
  ranges(d: Die): [number, number][] {
    const low = this.addr(d, DW_AT.low_pc);
    const hv = d.attrs.get(DW_AT.high_pc);
    if (low !== undefined && hv) {
      const high = hv.kind === 'addr' || hv.kind === 'addrx' ? this.addr(d, DW_AT.high_pc) : low + (formConstant(hv) ?? 0);
      return high !== undefined && high > low ? [[low, high]] : [];
    }
    const rv = d.attrs.get(DW_AT.ranges);
    if (!rv) return low !== undefined && d === d.unit.root ? [] : [];
    try { return readRanges(this.secs, d.unit, rv); } catch (e) {
      const s = d.unit.enc.version >= 5 ? this.secs.rnglists : this.secs.ranges;
      if (s) this.report(s, e instanceof TruncatedError ? e.offset : 0, errText(e, 'range list'));
      return [];
    }
  }
}

const MAX_LIST = 100_000;

// DWARF 2-4 §2.17.3 (.debug_ranges: address pairs, base selection entries) and DWARF 5 §2.17.3
// (.debug_rnglists: DW_RLE_* entries), both relative to the unit's base address.
export function readRanges(secs: DebugSections, u: DieUnit, v: FormValue): [number, number][] {
  const out: [number, number][] = [];
  const as = u.enc.addressSize;
  if (u.enc.version < 5) {
    if (!secs.ranges) return out;
    const off = v.kind === 'secoff' || v.kind === 'const' ? v.value : -1;
    if (off < 0 || off >= secs.ranges.bytes.length) return out;
    const r = readerFor(secs.ranges, off);
    const maxA = as === 8 ? 2 ** 64 - 1 : 0xffffffff;
    let base = u.baseAddress;
    for (let n = 0; n < MAX_LIST; n++) {
      const a = r.uN(as, 'range list'), b = r.uN(as, 'range list');
      if (a === 0 && b === 0) break;
      if (a === maxA || (as === 8 && a >= 2 ** 64 - 2048)) { base = b; continue; }
      if (b > a) out.push([base + a, base + b]);
    }
    return out;
  }
  const sec = secs.rnglists;
  if (!sec) return out;
  let off: number;
  if (v.kind === 'listx') {
    const base = u.bases.rnglistsBase ?? (u.enc.offsetSize === 8 ? 20 : 12);
    const r = readerFor(sec, base + v.index * u.enc.offsetSize);
    off = base + r.uN(u.enc.offsetSize, 'range list offsets');
  } else if (v.kind === 'secoff' || v.kind === 'const') off = v.value;
  else return out;
  readRleEntries(readerFor(sec, off), secs, u, (lo, hi) => { if (hi > lo) out.push([lo, hi]); });
  return out;
}

// DWARF 5 §7.25 table 7.30: DW_RLE_* and (same numbering) §7.29 DW_LLE_* entry kinds.
function readRleEntries(r: ByteReader, secs: DebugSections, u: DieUnit, emit: (lo: number, hi: number) => void, loc?: (bytes: Uint8Array) => void): void {
  let base = u.baseAddress;
  const addrx = (i: number) => formAddress({ kind: 'addrx', index: i }, secs, u.enc, u.bases) ?? 0;
  const expr = () => { const n = loc ? r.uleb('location list') : 0; const b = loc ? r.bytesN(n, 'location list') : undefined; if (b) loc!(b); };
  for (let n = 0; n < MAX_LIST; n++) {
    const kind = r.u8('list entry');
    switch (kind) {
      case 0: return; // end_of_list
      case 1: base = addrx(r.uleb()); break; // base_addressx
      case 2: { const a = addrx(r.uleb()), b = addrx(r.uleb()); emit(a, b); expr(); break; } // startx_endx
      case 3: { const a = addrx(r.uleb()); const l = r.uleb(); emit(a, a + l); expr(); break; } // startx_length
      case 4: { const a = r.uleb(), b = r.uleb(); emit(base + a, base + b); expr(); break; } // offset_pair
      case 5: { if (!loc) throw new TruncatedError(r.fileOffset, 'DW_LLE_default_location in a range list'); emit(0, Number.MAX_SAFE_INTEGER); expr(); break; }
      case 6: base = r.uN(u.enc.addressSize); break; // base_address
      case 7: { const a = r.uN(u.enc.addressSize), b = r.uN(u.enc.addressSize); emit(a, b); expr(); break; } // start_end
      case 8: { const a = r.uN(u.enc.addressSize); const l = r.uleb(); emit(a, a + l); expr(); break; } // start_length
      default: throw new TruncatedError(r.fileOffset - 1, `unknown list entry kind ${kind}`);
    }
  }
}

export interface LocListEntry { low: number; high: number; expr: Uint8Array; }

// DWARF 2-4 §2.6.2 (.debug_loc) and DWARF 5 §2.6.2 (.debug_loclists): (range, expression) entries.
export function readLocList(secs: DebugSections, u: DieUnit, v: FormValue): LocListEntry[] {
  const out: LocListEntry[] = [];
  if (u.enc.version < 5) {
    const sec = secs.loc;
    if (!sec) return out;
    const off = v.kind === 'secoff' || v.kind === 'const' ? v.value : -1;
    if (off < 0 || off >= sec.bytes.length) return out;
    const r = readerFor(sec, off);
    const as = u.enc.addressSize;
    const maxA = as === 8 ? 2 ** 64 - 1 : 0xffffffff;
    let base = u.baseAddress;
    for (let n = 0; n < MAX_LIST; n++) {
      const a = r.uN(as, 'location list'), b = r.uN(as, 'location list');
      if (a === 0 && b === 0) break;
      if (a === maxA || (as === 8 && a >= 2 ** 64 - 2048)) { base = b; continue; }
      const len = r.u16('location list');
      out.push({ low: base + a, high: base + b, expr: r.bytesN(len, 'location list') });
    }
    return out;
  }
  const sec = secs.loclists;
  if (!sec) return out;
  let off: number;
  if (v.kind === 'listx') {
    const base = u.bases.loclistsBase ?? (u.enc.offsetSize === 8 ? 20 : 12);
    const r = readerFor(sec, base + v.index * u.enc.offsetSize);
    off = base + r.uN(u.enc.offsetSize, 'location list offsets');
  } else if (v.kind === 'secoff' || v.kind === 'const') off = v.value;
  else return out;
  let lo = 0, hi = 0;
  readRleEntries(readerFor(sec, off), secs, u, (a, b) => { lo = a; hi = b; }, (expr) => out.push({ low: lo, high: hi, expr }));
  return out;
}
