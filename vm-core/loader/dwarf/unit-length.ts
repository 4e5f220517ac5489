// DWARF 5 §7.4 "32-Bit and 64-Bit DWARF Formats": the initial length field of a unit.
import { ByteReader, TruncatedError } from './byte-reader';
import { DW_UT } from './constants';

export interface InitialLength {
  /** Length of the unit after the initial length field. */
  length: number;
  offsetSize: 4 | 8;
  /** Section offset just past the unit. */
  end: number;
}

export function readInitialLength(r: ByteReader, what: string): InitialLength {
  const first = r.u32(what);
  let length = first;
  let offsetSize: 4 | 8 = 4;
  if (first === 0xffffffff) {
    length = r.u64(what);
    offsetSize = 8;
  } else if (first >= 0xfffffff0) {
    throw new TruncatedError(r.fileOffset - 4, `reserved initial length 0x${first.toString(16)} in ${what}`);
  }
  const end = r.pos + length;
  if (end > r.length) throw new TruncatedError(r.fileOffset, `${what} length 0x${length.toString(16)} runs past the end of the section`);
  return { length, offsetSize, end };
}

export interface UnitHeader { offsetSize: 4 | 8; end: number; version: number; unitType: number; addressSize: number; abbrevOffset: number; }

// DWARF 5 §7.5.1.1 unit headers (v2-4: length, version, abbrev offset, address size; v5: length, version,
// unit type, address size, abbrev offset, then a DWO id or type signature for some unit types).
export function readUnitHeader(r: ByteReader): UnitHeader {
  const what = 'compilation unit header';
  const { offsetSize, end } = readInitialLength(r, what);
  const version = r.u16(what);
  if (version < 2 || version > 5) throw new TruncatedError(r.fileOffset - 2, `unsupported .debug_info version ${version}`);
  let unitType: number = DW_UT.compile, abbrevOffset: number, addressSize: number;
  if (version >= 5) {
    unitType = r.u8(what);
    addressSize = r.u8(what);
    abbrevOffset = r.uN(offsetSize, what);
    if (unitType === DW_UT.skeleton || unitType === DW_UT.split_compile) r.skip(8, what);
    else if (unitType === DW_UT.type || unitType === DW_UT.split_type) r.skip(8 + offsetSize, what);
  } else {
    abbrevOffset = r.uN(offsetSize, what);
    addressSize = r.u8(what);
  }
  if (addressSize !== 2 && addressSize !== 4 && addressSize !== 8) throw new TruncatedError(r.fileOffset - 1, `unsupported address size ${addressSize}`);
  return { offsetSize, end, version, unitType, addressSize, abbrevOffset };
}
