// The DWARF sections the loader reads, as extracted (and decompressed) from an ELF file.
import { ByteReader, stringAt } from './byte-reader';

export interface DebugSection {
  /** Section name as in the ELF file, e.g. ".debug_line". */
  name: string;
  bytes: Uint8Array;
  /** File offset of the section's data (of the compressed data, for compressed sections). */
  fileOffset: number;
  /** True when `bytes` was inflated, so offsets inside it are not file offsets. */
  compressed?: boolean;
  /** Load address of the section (sh_addr), for .eh_frame's pc-relative pointers. */
  addr?: number;
}

export interface DebugSections {
  line?: DebugSection;
  info?: DebugSection;
  abbrev?: DebugSection;
  str?: DebugSection;
  lineStr?: DebugSection;
  strOffsets?: DebugSection;
  addr?: DebugSection;
  ranges?: DebugSection;
  rnglists?: DebugSection;
  loc?: DebugSection;
  loclists?: DebugSection;
  frame?: DebugSection;
  ehFrame?: DebugSection;
}

/** Reports a problem in a debug section at a section-relative offset; never throws. */
export type DwarfReport = (section: DebugSection, offset: number, message: string) => void;

export function readerFor(s: DebugSection, start = 0): ByteReader {
  return new ByteReader(s.bytes, 0, start);
}

/** String at `offset` of .debug_str / .debug_line_str, or undefined when out of range. */
export function sectionString(s: DebugSection | undefined, offset: number): string | undefined {
  return stringAt(s?.bytes, offset);
}
