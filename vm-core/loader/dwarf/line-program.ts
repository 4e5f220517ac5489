// The DWARF line-number program (DWARF 5 §6.2; DWARF 2-4 §6.2): header parsing for
// versions 2 to 5 and the full state machine, producing address rows per sequence.
import { posix } from 'node:path';
import { ByteReader, TruncatedError, hex } from './byte-reader';
import { DW_LNCT, DW_LNE, DW_LNS } from './constants';
import { FormValue, UnitEncoding, formConstant, formString, readForm } from './forms';
import { DebugSections, DwarfReport, readerFor } from './sections';
import { readInitialLength } from './unit-length';

/** One row of the line-number matrix (§6.2.2 table 6.3), reduced to what the loader uses. */
export interface LineRow {
  address: number;
  file: number;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
  discriminator: number;
}

export interface LineProgramHeader {
  offset: number;
  version: number;
  offsetSize: 4 | 8;
  addressSize: number;
  minInstLength: number;
  maxOpsPerInst: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  standardOpcodeLengths: number[];
  /** Directory paths; index 0 is the compilation directory (§6.2.4 item 11). */
  includeDirs: string[];
  /** File entries: name and directory index; in DWARF 2-4 file numbering starts at 1. */
  files: { name: string; dir: number; md5?: Uint8Array }[];
  programStart: number;
  end: number;
}

export interface LineProgram {
  header: LineProgramHeader;
  /** Rows in program order; each sequence ends with an endSequence row. */
  rows: LineRow[];
}

/** What .debug_info tells about the unit owning a line program (DW_AT_comp_dir, DW_AT_name). */
export interface UnitContext {
  compDir?: string;
  name?: string;
}

// §6.2.4: reads the header at `offset` of .debug_line.
export function readLineProgramHeader(r: ByteReader, secs: DebugSections, ctx: UnitContext, defaultAddressSize: number): LineProgramHeader {
  const offset = r.pos;
  const { offsetSize, end } = readInitialLength(r, 'line program header');
  const version = r.u16('line program header');
  if (version < 2 || version > 5) throw new TruncatedError(r.fileOffset - 2, `unsupported line table version ${version}`);
  let addressSize = defaultAddressSize;
  if (version >= 5) {
    addressSize = r.u8('line program header');
    r.u8('line program header'); // segment_selector_size
  }
  const headerLength = r.uN(offsetSize, 'line program header');
  const programStart = r.pos + headerLength;
  if (programStart > end) throw new TruncatedError(r.fileOffset, 'header_length runs past the end of the line program');
  const h = r.sub(programStart - r.pos, 'line program header');
  const minInstLength = h.u8('line program header');
  const maxOpsPerInst = version >= 4 ? h.u8('line program header') : 1;
  const defaultIsStmt = h.u8('line program header') !== 0;
  const lineBase = h.i8('line program header');
  const lineRange = h.u8('line program header');
  const opcodeBase = h.u8('line program header');
  if (lineRange === 0) throw new TruncatedError(h.fileOffset - 2, 'line_range is 0');
  const standardOpcodeLengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) standardOpcodeLengths.push(h.u8('standard_opcode_lengths'));
  const hdr: LineProgramHeader = {
    offset, version, offsetSize, addressSize, minInstLength, maxOpsPerInst: maxOpsPerInst || 1,
    defaultIsStmt, lineBase, lineRange, opcodeBase, standardOpcodeLengths,
    includeDirs: [], files: [], programStart, end,
  };
  if (version >= 5) readEntriesV5(h, hdr, secs);
  else readEntriesV2(h, hdr, ctx);
  return hdr;
}

// DWARF 2-4 §6.2.4 items 11-12: NUL-terminated include_directories and file_names lists.
function readEntriesV2(h: ByteReader, hdr: LineProgramHeader, ctx: UnitContext): void {
  hdr.includeDirs.push(ctx.compDir ?? '');
  for (;;) {
    const d = h.cstr('include_directories');
    if (d === '') break;
    hdr.includeDirs.push(d);
  }
  hdr.files.push({ name: ctx.name ?? '', dir: 0 }); // file 0 is unused before DWARF 5
  for (;;) {
    const name = h.cstr('file_names');
    if (name === '') break;
    const dir = h.uleb('file_names');
    h.uleb('file_names'); // modification time
    h.uleb('file_names'); // length
    hdr.files.push({ name, dir });
  }
}

// DWARF 5 §6.2.4 items 13-20: directory and file entries described by (content type, form) pairs.
function readEntriesV5(h: ByteReader, hdr: LineProgramHeader, secs: DebugSections): void {
  const enc: UnitEncoding = { version: hdr.version, addressSize: hdr.addressSize, offsetSize: hdr.offsetSize };
  const readFormat = (what: string): [number, number][] => {
    const n = h.u8(what);
    const fmt: [number, number][] = [];
    for (let i = 0; i < n; i++) fmt.push([h.uleb(what), h.uleb(what)]);
    return fmt;
  };
  const readEntries = (fmt: [number, number][], what: string): Map<number, FormValue>[] => {
    const count = h.uleb(what);
    const out: Map<number, FormValue>[] = [];
    for (let i = 0; i < count; i++) {
      const m = new Map<number, FormValue>();
      for (const [type, form] of fmt) m.set(type, readForm(h, form, enc));
      out.push(m);
      if (h.atEnd && i + 1 < count) throw new TruncatedError(h.fileOffset, `truncated ${what}`);
    }
    return out;
  };
  const dirFmt = readFormat('directory_entry_format');
  for (const e of readEntries(dirFmt, 'directories')) {
    hdr.includeDirs.push(formString(e.get(DW_LNCT.path), secs, enc, {}) ?? '');
  }
  const fileFmt = readFormat('file_name_entry_format');
  for (const e of readEntries(fileFmt, 'file_names')) {
    const md5 = e.get(DW_LNCT.MD5);
    hdr.files.push({
      name: formString(e.get(DW_LNCT.path), secs, enc, {}) ?? '',
      dir: formConstant(e.get(DW_LNCT.directory_index)) ?? 0,
      md5: md5?.kind === 'block' ? md5.bytes : undefined,
    });
  }
}

/** Absolute (when the compilation directory is known) path of file `index` of the header. */
export function filePath(hdr: LineProgramHeader, index: number, compDir?: string): string | undefined {
  const f = hdr.files[index];
  if (!f) return undefined;
  if (f.name.startsWith('/')) return posix.normalize(f.name);
  let dir = hdr.includeDirs[f.dir] ?? '';
  const base = compDir ?? hdr.includeDirs[0] ?? '';
  if (!dir.startsWith('/') && base) dir = posix.join(base, dir);
  return dir ? posix.join(dir, f.name) : f.name;
}

// §6.2.5: runs the line-number program, appending rows; errors end the unit early (rows kept).
export function runLineProgram(r: ByteReader, hdr: LineProgramHeader, rows: LineRow[] = []): LineRow[] {
  const fresh = () => ({
    address: 0, opIndex: 0, file: 1, line: 1, column: 0, isStmt: hdr.defaultIsStmt,
    discriminator: 0,
  });
  let s = fresh();
  const emit = (endSequence: boolean) => {
    rows.push({ address: s.address, file: s.file, line: s.line, column: s.column, isStmt: s.isStmt, endSequence, discriminator: s.discriminator });
    s.discriminator = 0;
  };
  // §6.2.5.1: "operation advance" for VLIW; maxOps is 1 on x86, so this is address += adv * min_inst_length.
  const advance = (opAdvance: number) => {
    const maxOps = hdr.maxOpsPerInst;
    const total = s.opIndex + opAdvance;
    s.address += hdr.minInstLength * Math.floor(total / maxOps);
    s.opIndex = total % maxOps;
  };
  r.pos = hdr.programStart;
  while (r.pos < hdr.end) {
    const opStart = r.fileOffset;
    const op = r.u8('line program');
    if (op >= hdr.opcodeBase) {
      // §6.2.5.1 special opcodes.
      const adj = op - hdr.opcodeBase;
      advance(Math.floor(adj / hdr.lineRange));
      s.line += hdr.lineBase + (adj % hdr.lineRange);
      emit(false);
      continue;
    }
    switch (op) {
      case 0: { // §6.2.5.3 extended opcodes
        const len = r.uleb('extended opcode');
        if (len === 0) break;
        const next = r.pos + len;
        if (next > hdr.end) throw new TruncatedError(opStart, 'extended opcode runs past the end of the line program');
        const sub = r.u8('extended opcode');
        switch (sub) {
          case DW_LNE.end_sequence: emit(true); s = fresh(); break;
          case DW_LNE.set_address: s.address = r.uN(len - 1, 'DW_LNE_set_address'); s.opIndex = 0; break;
          case DW_LNE.define_file: {
            const name = r.cstr('DW_LNE_define_file');
            const dir = r.uleb('DW_LNE_define_file');
            hdr.files.push({ name, dir });
            break;
          }
          case DW_LNE.set_discriminator: s.discriminator = r.uleb('DW_LNE_set_discriminator'); break;
          default: break; // unknown/vendor extended opcodes are skipped by length
        }
        r.pos = next;
        break;
      }
      case DW_LNS.copy: emit(false); break;
      case DW_LNS.advance_pc: advance(r.uleb('DW_LNS_advance_pc')); break;
      case DW_LNS.advance_line: s.line += r.sleb('DW_LNS_advance_line'); break;
      case DW_LNS.set_file: s.file = r.uleb('DW_LNS_set_file'); break;
      case DW_LNS.set_column: s.column = r.uleb('DW_LNS_set_column'); break;
      case DW_LNS.negate_stmt: s.isStmt = !s.isStmt; break;
      case DW_LNS.set_basic_block: break;
      case DW_LNS.const_add_pc: advance(Math.floor((255 - hdr.opcodeBase) / hdr.lineRange)); break;
      case DW_LNS.fixed_advance_pc: s.address += r.u16('DW_LNS_fixed_advance_pc'); s.opIndex = 0; break;
      case DW_LNS.set_prologue_end: case DW_LNS.set_epilogue_begin: break;
      case DW_LNS.set_isa: r.uleb('DW_LNS_set_isa'); break;
      default: {
        // §6.2.5.2: unknown standard opcodes are skipped using standard_opcode_lengths.
        const n = hdr.standardOpcodeLengths[op - 1] ?? 0;
        for (let i = 0; i < n; i++) r.uleb('standard opcode operand');
      }
    }
  }
  return rows;
}

export interface LineTablesResult {
  programs: { header: LineProgramHeader; rows: LineRow[]; compDir?: string }[];
}

// §6.2: walks every line program in .debug_line, using .debug_info's unit context when known.
export function readLineTables(
  secs: DebugSections, units: Map<number, UnitContext>, defaultAddressSize: number, report: DwarfReport,
): LineTablesResult {
  const out: LineTablesResult = { programs: [] };
  const sec = secs.line;
  if (!sec) return out;
  const r = readerFor(sec);
  while (r.pos < sec.bytes.length) {
    const start = r.pos;
    // Padding between units is not allowed, but some linkers leave zeros; skip them quietly.
    if (sec.bytes.length - start < 4) break;
    const ctx = units.get(start) ?? {};
    let hdr: LineProgramHeader;
    try {
      hdr = readLineProgramHeader(r, secs, ctx, defaultAddressSize);
    } catch (e) {
      report(sec, e instanceof TruncatedError ? e.offset : start, `${errText(e, 'line program header')} (unit at ${hex(start)})`);
      const next = unitEnd(r, start);
      if (next === undefined) break; // without a valid unit_length the next unit cannot be found
      r.pos = next;
      continue;
    }
    const rows: LineRow[] = [];
    try {
      runLineProgram(r, hdr, rows); // on error, the rows emitted so far are kept
    } catch (e) {
      report(sec, e instanceof TruncatedError ? e.offset : r.pos, `${errText(e, 'line program')} (unit at ${hex(start)})`);
    }
    out.programs.push({ header: hdr, rows, compDir: ctx.compDir });
    r.pos = hdr.end;
  }
  return out;
}

/** End of the unit starting at `start` per its initial length, if that much is readable. */
function unitEnd(r: ByteReader, start: number): number | undefined {
  try {
    r.pos = start;
    return readInitialLength(r, 'line program header').end;
  } catch {
    return undefined;
  }
}

export function errText(e: unknown, what: string): string {
  if (e instanceof TruncatedError) return e.message;
  return `malformed ${what}: ${e instanceof Error ? e.message : String(e)}`;
}
