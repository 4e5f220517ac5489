// Reading attribute values by form (DWARF 5 §7.5.6, "Classes and forms"), shared by
// .debug_info DIEs and the DWARF 5 line-table directory/file entry formats (§6.2.4.1).
import { ByteReader, TruncatedError } from './byte-reader';
import { DW_FORM } from './constants';
import { DebugSections, sectionString } from './sections';

/** What a form decodes to before string/address indirections are resolved. */
export type FormValue =
  | { kind: 'const'; value: number; signed?: boolean }
  | { kind: 'addr'; value: number }
  | { kind: 'ref'; value: number; global?: boolean }
  | { kind: 'secoff'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'strp'; section: 'str' | 'lineStr' | 'sup'; offset: number }
  | { kind: 'strx'; index: number }
  | { kind: 'addrx'; index: number }
  | { kind: 'block'; bytes: Uint8Array }
  | { kind: 'flag'; value: boolean }
  | { kind: 'listx'; index: number }
  | { kind: 'other' };

export interface UnitEncoding {
  version: number;
  addressSize: number;
  /** 4 for 32-bit DWARF, 8 for 64-bit DWARF (§7.4). */
  offsetSize: number;
}

// §7.5.6: reads one value of `form`; `implicitConst` is the abbreviation's constant for DW_FORM_implicit_const.
export function readForm(r: ByteReader, form: number, enc: UnitEncoding, implicitConst = 0, depth = 0): FormValue {
  const F = DW_FORM;
  switch (form) {
    case F.addr: return { kind: 'addr', value: r.uN(enc.addressSize, 'address') };
    case F.block2: return { kind: 'block', bytes: r.bytesN(r.u16(), 'block') };
    case F.block4: return { kind: 'block', bytes: r.bytesN(r.u32(), 'block') };
    case F.block: case F.exprloc: return { kind: 'block', bytes: r.bytesN(r.uleb(), 'block') };
    case F.block1: return { kind: 'block', bytes: r.bytesN(r.u8(), 'block') };
    case F.data1: return { kind: 'const', value: r.u8() };
    case F.data2: return { kind: 'const', value: r.u16() };
    case F.data4: return { kind: 'const', value: r.u32() };
    case F.data8: return { kind: 'const', value: r.u64() };
    case F.data16: return { kind: 'block', bytes: r.bytesN(16, 'data16') };
    case F.sdata: return { kind: 'const', value: r.sleb(), signed: true };
    case F.udata: return { kind: 'const', value: r.uleb() };
    case F.implicit_const: return { kind: 'const', value: implicitConst, signed: true };
    case F.string: return { kind: 'str', value: r.cstr('string') };
    case F.strp: return { kind: 'strp', section: 'str', offset: r.uN(enc.offsetSize) };
    case F.line_strp: return { kind: 'strp', section: 'lineStr', offset: r.uN(enc.offsetSize) };
    case F.strp_sup: case F.GNU_strp_alt: return { kind: 'strp', section: 'sup', offset: r.uN(enc.offsetSize) };
    case F.strx: case F.GNU_str_index: return { kind: 'strx', index: r.uleb() };
    case F.strx1: return { kind: 'strx', index: r.u8() };
    case F.strx2: return { kind: 'strx', index: r.u16() };
    case F.strx3: return { kind: 'strx', index: r.u16() | (r.u8() << 16) };
    case F.strx4: return { kind: 'strx', index: r.u32() };
    case F.addrx: case F.GNU_addr_index: return { kind: 'addrx', index: r.uleb() };
    case F.addrx1: return { kind: 'addrx', index: r.u8() };
    case F.addrx2: return { kind: 'addrx', index: r.u16() };
    case F.addrx3: return { kind: 'addrx', index: r.u16() | (r.u8() << 16) };
    case F.addrx4: return { kind: 'addrx', index: r.u32() };
    case F.flag: return { kind: 'flag', value: r.u8() !== 0 };
    case F.flag_present: return { kind: 'flag', value: true };
    case F.ref1: return { kind: 'ref', value: r.u8() };
    case F.ref2: return { kind: 'ref', value: r.u16() };
    case F.ref4: return { kind: 'ref', value: r.u32() };
    case F.ref8: return { kind: 'ref', value: r.u64() };
    case F.ref_udata: return { kind: 'ref', value: r.uleb() };
    // §7.5.4: DW_FORM_ref_addr is address-sized in DWARF 2, offset-sized from DWARF 3 on.
    case F.ref_addr: return { kind: 'ref', value: r.uN(enc.version <= 2 ? enc.addressSize : enc.offsetSize), global: true };
    case F.ref_sup4: r.skip(4); return { kind: 'other' };
    case F.ref_sup8: case F.ref_sig8: r.skip(8); return { kind: 'other' };
    case F.GNU_ref_alt: r.skip(enc.offsetSize); return { kind: 'other' };
    case F.sec_offset: return { kind: 'secoff', value: r.uN(enc.offsetSize) };
    case F.loclistx: case F.rnglistx: return { kind: 'listx', index: r.uleb() };
    case F.indirect: {
      // §7.5.3: the actual form follows as a ULEB128.
      if (depth > 4) throw new TruncatedError(r.fileOffset, 'DW_FORM_indirect chain too deep');
      const actual = r.uleb();
      return readForm(r, actual, enc, implicitConst, depth + 1);
    }
    default:
      throw new TruncatedError(r.fileOffset, `unknown form 0x${form.toString(16)}`);
  }
}

/** Per-unit bases for DWARF 5 string and address indirection (§7.26, §7.27). */
export interface UnitBases {
  strOffsetsBase?: number;
  addrBase?: number;
}

// §7.26: DW_FORM_strx indexes .debug_str_offsets from the unit's DW_AT_str_offsets_base.
export function formString(v: FormValue | undefined, secs: DebugSections, enc: UnitEncoding, bases: UnitBases): string | undefined {
  if (!v) return undefined;
  switch (v.kind) {
    case 'str': return v.value;
    case 'strp':
      if (v.section === 'str') return sectionString(secs.str, v.offset);
      if (v.section === 'lineStr') return sectionString(secs.lineStr, v.offset);
      return undefined;
    case 'strx': {
      const so = secs.strOffsets;
      if (!so) return undefined;
      const base = bases.strOffsetsBase ?? (enc.offsetSize === 8 ? 16 : 8);
      const at = base + v.index * enc.offsetSize;
      if (at + enc.offsetSize > so.bytes.length) return undefined;
      const r = new ByteReader(so.bytes, 0, at);
      return sectionString(secs.str, r.uN(enc.offsetSize));
    }
    default: return undefined;
  }
}

// §7.27: DW_FORM_addrx indexes .debug_addr from the unit's DW_AT_addr_base.
export function formAddress(v: FormValue | undefined, secs: DebugSections, enc: UnitEncoding, bases: UnitBases): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'addr') return v.value;
  if (v.kind === 'addrx') {
    const a = secs.addr;
    if (!a) return undefined;
    const at = (bases.addrBase ?? 8) + v.index * enc.addressSize;
    if (at + enc.addressSize > a.bytes.length) return undefined;
    return new ByteReader(a.bytes, 0, at).uN(enc.addressSize);
  }
  return undefined;
}

export function formConstant(v: FormValue | undefined): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'const' || v.kind === 'secoff' || v.kind === 'ref') return v.value;
  if (v.kind === 'flag') return v.value ? 1 : 0;
  return undefined;
}
