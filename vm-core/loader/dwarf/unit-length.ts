// DWARF 5 §7.4 "32-Bit and 64-Bit DWARF Formats": the initial length field of a unit.
import { ByteReader, TruncatedError } from './byte-reader';

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
