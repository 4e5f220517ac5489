// ELF32/ELF64 little-endian x86 executables (System V gABI, "Object Files" chapter): PT_LOAD
// segments, entry point, symbol tables and DWARF debug sections, into a GuestImage.
// Segments are placed at p_paddr (the guest-physical load address, gABI "Program Header");
// symbols, lines and functions stay in the link-time virtual addresses (p_vaddr space),
// which equal p_paddr for identity-mapped guests. Never throws: problems become Diagnostics.
import { readFileBounded } from './read-file';
import { inflateSync } from 'node:zlib';
import { ByteReader, TruncatedError, hex, stringAt } from './dwarf/byte-reader';
import { readDwarf } from './dwarf/read-dwarf';
import { DebugSection, DebugSections } from './dwarf/sections';
import type { Diagnostic, GuestImage, ImageSegment, ImageSymbol, LoadResult } from './image';

// gABI "ELF Header": e_ident indexes and values.
const ELFCLASS32 = 1, ELFCLASS64 = 2, ELFDATA2LSB = 1;
const ET_REL = 1, ET_EXEC = 2, ET_DYN = 3, ET_CORE = 4;
const EM_386 = 3, EM_IAMCU = 6, EM_X86_64 = 62;
// gABI "Program Header": segment types and flags.
const PT_LOAD = 1, PF_X = 1, PF_W = 2, PF_R = 4;
// gABI "Sections": types, flags and special indexes.
const SHT_SYMTAB = 2, SHT_NOBITS = 8, SHT_DYNSYM = 11;
const SHF_COMPRESSED = 0x800;
const SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2, SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;
// gABI "Symbol Table": st_info types.
const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_GNU_IFUNC = 10;
// gABI "Compression": ch_type.
const ELFCOMPRESS_ZLIB = 1, ELFCOMPRESS_ZSTD = 2;
const SHF_EXECINSTR = 0x4;

export interface ElfHeader {
  is64: boolean;
  type: number;
  machine: number;
  entry: number;
  phoff: number;
  shoff: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ElfProgramHeader {
  type: number; flags: number; offset: number; vaddr: number; paddr: number;
  filesz: number; memsz: number; align: number;
}

export interface ElfSection {
  index: number; name: string; type: number; flags: number; addr: number;
  offset: number; size: number; link: number; info: number; entsize: number;
}

export interface ElfLoadOptions {
  /** Skip DWARF (faster; no line map). */
  noDebugInfo?: boolean;
}

/** Collects diagnostics for one ELF file, in the form "elf: <where> at offset 0x..: <what>". */
class ElfDiagnostics {
  readonly list: Diagnostic[] = [];
  constructor(readonly path: string) {}
  add(severity: 'error' | 'warning', where: string, offset: number | undefined, message: string): void {
    const at = offset === undefined ? '' : ` at offset ${hex(offset)}`;
    this.list.push({ file: this.path, line: 0, column: 0, severity, message: `elf: ${where}${at}: ${message}` });
  }
  get failed(): boolean { return this.list.some((d) => d.severity === 'error'); }
}

/** True when `bytes` starts with the ELF magic (gABI e_ident[EI_MAG0..3]). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function loadElfFile(path: string, opts: ElfLoadOptions = {}): LoadResult {
  let bytes: Uint8Array;
  try {
    bytes = readFileBounded(path);
  } catch (e) {
    return { ok: false, diagnostics: [{ file: path, line: 0, column: 0, severity: 'error', message: `elf: cannot read file: ${(e as Error).message}` }] };
  }
  return parseElf(bytes, path, opts);
}

/** Parses an ELF executable image. Never throws. */
export function parseElf(bytes: Uint8Array, path: string, opts: ElfLoadOptions = {}): LoadResult {
  const diag = new ElfDiagnostics(path);
  try {
    return parseElfInner(bytes, path, opts, diag);
  } catch (e) {
    // Defensive: every known failure is reported where it happens; anything else still becomes a diagnostic.
    const off = e instanceof TruncatedError ? e.offset : undefined;
    diag.add('error', 'file', off, e instanceof Error ? e.message : String(e));
    return { ok: false, diagnostics: diag.list };
  }
}

function parseElfInner(bytes: Uint8Array, path: string, opts: ElfLoadOptions, diag: ElfDiagnostics): LoadResult {
  const hdr = readElfHeader(bytes, diag);
  if (!hdr) return { ok: false, diagnostics: diag.list };
  const sections = readSectionHeaders(bytes, hdr, diag);
  const phdrs = readProgramHeaders(bytes, hdr, sections, diag);
  const segments = loadSegments(bytes, phdrs, diag);
  if (segments.length === 0 && !diag.failed) diag.add('error', 'program headers', hdr.phoff, 'no PT_LOAD segment with contents: nothing to load');
  if (diag.failed) return { ok: false, diagnostics: diag.list };

  const symbols = readSymbols(bytes, hdr, sections, diag);
  const image: GuestImage = {
    format: hdr.is64 ? 'elf64' : 'elf32',
    path,
    segments,
    entry: hdr.entry,
    bits: hdr.is64 ? 64 : (hdr.machine === EM_X86_64 ? 64 : 32),
    symbols,
    lines: [],
  };
  if (!opts.noDebugInfo) attachDwarf(bytes, hdr, sections, phdrs, image, diag);
  if (!image.functions || image.functions.length === 0) image.functions = functionsFromSymbols(symbols, sections);
  return { ok: true, image, diagnostics: diag.list };
}

// gABI "ELF Identification" and "ELF Header".
export function readElfHeader(bytes: Uint8Array, diag: ElfDiagnostics): ElfHeader | undefined {
  const where = 'ELF header';
  if (!isElf(bytes)) { diag.add('error', where, 0, 'not an ELF file (bad magic)'); return undefined; }
  if (bytes.length < 16) { diag.add('error', where, 0, `truncated e_ident (${bytes.length} of 16 bytes)`); return undefined; }
  const cls = bytes[4], data = bytes[5];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) { diag.add('error', where, 4, `invalid class ${cls} (expected 1 = ELF32 or 2 = ELF64)`); return undefined; }
  if (data !== ELFDATA2LSB) { diag.add('error', where, 5, `data encoding ${data} is not little-endian; x86 guests are ELFDATA2LSB`); return undefined; }
  const is64 = cls === ELFCLASS64;
  const size = is64 ? 64 : 52;
  if (bytes.length < size) { diag.add('error', where, bytes.length, `truncated ELF header (${bytes.length} of ${size} bytes)`); return undefined; }
  const r = new ByteReader(bytes, 0, 16);
  const type = r.u16(), machine = r.u16();
  r.u32(); // e_version
  const addr = () => (is64 ? r.u64() : r.u32());
  const entry = addr(), phoff = addr(), shoff = addr();
  r.u32(); // e_flags
  r.u16(); // e_ehsize
  const phentsize = r.u16(), phnum = r.u16(), shentsize = r.u16(), shnum = r.u16(), shstrndx = r.u16();
  if (type === ET_REL) { diag.add('error', where, 16, 'relocatable object file (ET_REL): link it into an executable first (e.g. ld -static)'); return undefined; }
  if (type === ET_CORE) { diag.add('error', where, 16, 'core dump (ET_CORE) is not a guest image'); return undefined; }
  if (type !== ET_EXEC && type !== ET_DYN) { diag.add('error', where, 16, `unsupported e_type ${type} (expected ET_EXEC or ET_DYN)`); return undefined; }
  if (machine !== EM_386 && machine !== EM_X86_64 && machine !== EM_IAMCU) {
    diag.add('error', where, 18, `e_machine ${machine} is not x86 (EM_386 = 3 or EM_X86_64 = 62)`);
    return undefined;
  }
  if (type === ET_DYN) diag.add('warning', where, 16, 'position-independent executable (ET_DYN) loaded at its link addresses; no relocations are applied');
  return { is64, type, machine, entry, phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx };
}

// gABI "Section Header", including extended numbering (e_shnum/e_shstrndx in section 0).
function readSectionHeaders(bytes: Uint8Array, h: ElfHeader, diag: ElfDiagnostics): ElfSection[] {
  if (h.shoff === 0) return [];
  const entSize = h.is64 ? 64 : 40;
  if (h.shentsize < entSize) { diag.add('warning', 'section headers', h.shoff, `e_shentsize ${h.shentsize} is smaller than ${entSize}; sections ignored`); return []; }
  const raw: ElfSection[] = [];
  const readOne = (i: number): ElfSection | undefined => {
    const off = h.shoff + i * h.shentsize;
    if (off + entSize > bytes.length) {
      diag.add('warning', `section header ${i}`, off, 'truncated section header table; remaining sections ignored');
      return undefined;
    }
    const r = new ByteReader(bytes, 0, off);
    const w = () => (h.is64 ? r.u64() : r.u32());
    const name = r.u32(), type = r.u32(), flags = w(), addr = w(), offset = w(), size = w();
    const link = r.u32(), info = r.u32();
    w(); // sh_addralign
    const entsize = w();
    return { index: i, name: '', type, flags, addr, offset, size, link, info, entsize, nameOff: name } as ElfSection & { nameOff: number };
  };
  const s0 = readOne(0);
  if (!s0) return [];
  let shnum = h.shnum, shstrndx = h.shstrndx;
  if (shnum === 0) shnum = s0.size; // gABI: e_shnum 0 means the count is in section 0's sh_size
  if (shstrndx === SHN_XINDEX) shstrndx = s0.link;
  if (h.phnum === PN_XNUM) h.phnum = s0.info;
  if (shnum > 0x100000) { diag.add('warning', 'section headers', h.shoff, `implausible section count ${shnum}; sections ignored`); return []; }
  raw.push(s0);
  for (let i = 1; i < shnum; i++) {
    const s = readOne(i);
    if (!s) break;
    raw.push(s);
  }
  const strtab = raw[shstrndx];
  const strBytes = strtab && strtab.type !== SHT_NOBITS ? sliceFile(bytes, strtab.offset, strtab.size) : undefined;
  if (shstrndx !== 0 && !strBytes) diag.add('warning', 'section headers', h.shoff, `section name table index ${shstrndx} is invalid; section names unknown`);
  for (const s of raw) {
    const nameOff = (s as ElfSection & { nameOff: number }).nameOff;
    s.name = stringAt(strBytes, nameOff) ?? `#${s.index}`;
  }
  return raw;
}

// gABI "Program Header".
function readProgramHeaders(bytes: Uint8Array, h: ElfHeader, _sections: ElfSection[], diag: ElfDiagnostics): ElfProgramHeader[] {
  const out: ElfProgramHeader[] = [];
  if (h.phoff === 0 || h.phnum === 0) { diag.add('error', 'ELF header', 0, 'no program headers (e_phnum is 0): not an executable image'); return out; }
  const entSize = h.is64 ? 56 : 32;
  if (h.phentsize < entSize) { diag.add('error', 'program headers', h.phoff, `e_phentsize ${h.phentsize} is smaller than ${entSize}`); return out; }
  for (let i = 0; i < h.phnum; i++) {
    const off = h.phoff + i * h.phentsize;
    if (off + entSize > bytes.length) { diag.add('error', `program header ${i}`, off, 'truncated program header table'); break; }
    const r = new ByteReader(bytes, 0, off);
    if (h.is64) {
      const type = r.u32(), flags = r.u32();
      const offset = r.u64(), vaddr = r.u64(), paddr = r.u64(), filesz = r.u64(), memsz = r.u64(), align = r.u64();
      out.push({ type, flags, offset, vaddr, paddr, filesz, memsz, align });
    } else {
      const type = r.u32(), offset = r.u32(), vaddr = r.u32(), paddr = r.u32(), filesz = r.u32(), memsz = r.u32(), flags = r.u32(), align = r.u32();
      out.push({ type, flags, offset, vaddr, paddr, filesz, memsz, align });
    }
  }
  return out;
}

// gABI "Program Loading": p_filesz bytes from p_offset, zero-filled up to p_memsz.
function loadSegments(bytes: Uint8Array, phdrs: ElfProgramHeader[], diag: ElfDiagnostics): ImageSegment[] {
  const segs: ImageSegment[] = [];
  phdrs.forEach((p, i) => {
    if (p.type !== PT_LOAD || p.memsz === 0) return;
    const where = `PT_LOAD segment ${i}`;
    const filesz = p.filesz;
    if (filesz > p.memsz) {
      diag.add('error', where, p.offset, `p_filesz ${hex(p.filesz)} exceeds p_memsz ${hex(p.memsz)}`);
      return;
    }
    if (p.offset + filesz > bytes.length) {
      diag.add('error', where, p.offset, `truncated segment: file data ends at ${hex(bytes.length)}, segment needs up to ${hex(p.offset + filesz)}`);
      return;
    }
    if (p.memsz > 0x1_0000_0000) { diag.add('error', where, p.offset, `p_memsz ${hex(p.memsz)} is larger than 4 GiB`); return; }
    if (p.paddr + p.memsz > 2 ** 52) { diag.add('error', where, p.offset, `p_paddr ${hex(p.paddr)} + p_memsz is beyond the guest-physical address space`); return; }
    if (p.vaddr + p.memsz > 2 ** 53) {
      diag.add('warning', where, p.offset, `p_vaddr ${hex(p.vaddr)} is above 2^53: symbol, line and function addresses in it are not exact`);
    }
    segs.push({
      addr: p.paddr,
      vaddr: p.vaddr,
      bytes: bytes.slice(p.offset, p.offset + filesz),
      memSize: p.memsz,
      flags: { r: (p.flags & PF_R) !== 0, w: (p.flags & PF_W) !== 0, x: (p.flags & PF_X) !== 0 },
      name: `PT_LOAD[${i}]`,
    });
  });
  const sorted = segs.slice().sort((a, b) => a.addr - b.addr);
  for (let j = 1; j < sorted.length; j++) {
    if (sorted[j].addr < sorted[j - 1].addr + sorted[j - 1].memSize) {
      diag.add('warning', 'program headers', undefined, `${sorted[j].name} at ${hex(sorted[j].addr)} overlaps ${sorted[j - 1].name}`);
    }
  }
  return segs;
}

function sliceFile(bytes: Uint8Array, offset: number, size: number): Uint8Array | undefined {
  if (offset < 0 || size < 0 || offset + size > bytes.length) return undefined;
  return bytes.subarray(offset, offset + size);
}

// gABI "Symbol Table": .symtab (else .dynsym); functions, objects and labels with a defined section.
function readSymbols(bytes: Uint8Array, h: ElfHeader, sections: ElfSection[], diag: ElfDiagnostics): ImageSymbol[] {
  const tab = sections.find((s) => s.type === SHT_SYMTAB) ?? sections.find((s) => s.type === SHT_DYNSYM);
  if (!tab) return [];
  const where = `section ${tab.name}`;
  const data = sliceFile(bytes, tab.offset, tab.size);
  if (!data) { diag.add('warning', where, tab.offset, `truncated symbol table (needs ${hex(tab.size)} bytes)`); return []; }
  const strSec = sections[tab.link];
  const strs = strSec ? sliceFile(bytes, strSec.offset, strSec.size) : undefined;
  if (!strs) diag.add('warning', where, tab.offset, `string table (sh_link ${tab.link}) is missing or truncated; symbol names unknown`);
  const entSize = h.is64 ? 24 : 16;
  const stride = tab.entsize >= entSize ? tab.entsize : entSize;
  const out: ImageSymbol[] = [];
  const r = new ByteReader(data, tab.offset);
  for (let off = stride; off + entSize <= data.length; off += stride) { // entry 0 is the reserved null symbol
    r.pos = off;
    let name: number, value: number, size: number, info: number, shndx: number;
    if (h.is64) {
      name = r.u32(); info = r.u8(); r.u8(); shndx = r.u16();
      // st_value as the processor's RIP numbers: above 2^63 (a higher-half kernel's 0xffffffff8...) sign-extended, exact.
      const lo = r.u32(), hi = r.u32(); value = (hi | 0) * 0x1_0000_0000 + lo; size = r.u64();
    } else {
      name = r.u32(); value = r.u32(); size = r.u32(); info = r.u8(); r.u8(); shndx = r.u16();
    }
    const type = info & 0xf;
    if (shndx === SHN_UNDEF || shndx === SHN_COMMON) continue;
    let kind: ImageSymbol['kind'];
    if (type === STT_FUNC || type === STT_GNU_IFUNC) kind = 'function';
    else if (type === STT_OBJECT) kind = 'object';
    else if (type === STT_NOTYPE) kind = shndx === SHN_ABS ? 'constant' : 'label';
    else continue; // STT_SECTION, STT_FILE, STT_TLS, ...
    const symName = stringAt(strs, name);
    if (!symName) continue;
    const sym: ImageSymbol = { name: symName, addr: value, size, kind };
    out.push(sym);
  }
  return out.sort((a, b) => a.addr - b.addr || a.name.localeCompare(b.name));
}

/** Functions for the call stack when there is no DWARF: sized STT_FUNC symbols, else labels in code up to the next one. */
function functionsFromSymbols(symbols: ImageSymbol[], sections: ElfSection[]): NonNullable<GuestImage['functions']> {
  const code = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0);
  const inCode = (a: number) => code.find((s) => a >= s.addr && a < s.addr + s.size);
  const cands = symbols.filter((s) => (s.kind === 'function' || (s.kind === 'label' && !s.name.includes('.'))) && inCode(s.addr));
  const out: NonNullable<GuestImage['functions']> = [];
  for (let i = 0; i < cands.length; i++) {
    const s = cands[i];
    let high = s.addr + s.size;
    if (s.size === 0) {
      const sec = inCode(s.addr)!;
      const next = cands.slice(i + 1).find((n) => n.addr > s.addr);
      high = Math.min(next ? next.addr : Infinity, sec.addr + sec.size);
    }
    if (high > s.addr && !out.some((f) => f.low === s.addr)) out.push({ name: s.name, low: s.addr, high });
  }
  return out;
}

// DWARF sections by name, decompressing SHF_COMPRESSED (gABI "Compression") and legacy .zdebug_* sections.
function attachDwarf(bytes: Uint8Array, h: ElfHeader, sections: ElfSection[], phdrs: ElfProgramHeader[], image: GuestImage, diag: ElfDiagnostics): void {
  const wanted: Record<string, keyof DebugSections> = {
    '.debug_line': 'line', '.debug_info': 'info', '.debug_abbrev': 'abbrev', '.debug_str': 'str',
    '.debug_line_str': 'lineStr', '.debug_str_offsets': 'strOffsets', '.debug_addr': 'addr',
    '.debug_ranges': 'ranges', '.debug_rnglists': 'rnglists', '.debug_loc': 'loc', '.debug_loclists': 'loclists',
    '.debug_frame': 'frame', '.eh_frame': 'ehFrame',
  };
  const secs: DebugSections = {};
  for (const s of sections) {
    const legacy = s.name.startsWith('.zdebug_');
    const name = legacy ? '.debug_' + s.name.slice(8) : s.name;
    const key = wanted[name];
    if (!key || s.type === SHT_NOBITS) continue;
    const data = sliceFile(bytes, s.offset, s.size);
    if (!data) { diag.add('warning', `section ${s.name}`, s.offset, `truncated section: needs ${hex(s.size)} bytes, file ends at ${hex(bytes.length)}`); continue; }
    const sec = decompressSection(s, data, h.is64, legacy, diag);
    if (sec) { sec.addr = s.addr; secs[key] = sec; }
  }
  if (secs.info || secs.frame || secs.ehFrame) image.debug = { sections: secs, addressSize: h.is64 ? 8 : 4 };
  if (!secs.line && !secs.info) return;
  const report = (sec: DebugSection, offset: number, message: string) => {
    if (sec.compressed) diag.add('warning', `section ${sec.name} (decompressed)`, offset, message);
    else diag.add('warning', `section ${sec.name}`, sec.fileOffset + offset, message);
  };
  const dw = readDwarf(secs, h.is64 ? 8 : 4, report);
  // Drop line rows of code the linker discarded (sequences left at address 0 outside every segment).
  const inImage = (a: number) => phdrs.some((p) => p.type === PT_LOAD && a >= p.vaddr && a < p.vaddr + p.memsz);
  image.lines = dw.lines.filter((e) => inImage(e.addr));
  const fns = dw.functions.filter((f) => inImage(f.low));
  if (fns.length) image.functions = fns;
  for (const f of fns) {
    const sym = image.symbols.find((s) => s.addr === f.low && s.name === f.name);
    if (sym) { if (f.file) sym.file = f.file; if (f.line) sym.line = f.line; }
  }
}

function decompressSection(s: ElfSection, data: Uint8Array, is64: boolean, legacy: boolean, diag: ElfDiagnostics): DebugSection | undefined {
  const where = `section ${s.name}`;
  const name = legacy ? '.debug_' + s.name.slice(8) : s.name;
  try {
    if (legacy) {
      // GNU .zdebug_*: "ZLIB" then the 8-byte big-endian uncompressed size, then a zlib stream.
      if (data.length < 12 || String.fromCharCode(...data.subarray(0, 4)) !== 'ZLIB') return { name, bytes: data, fileOffset: s.offset };
      return { name, bytes: new Uint8Array(inflateSync(data.subarray(12))), fileOffset: s.offset, compressed: true };
    }
    if ((s.flags & SHF_COMPRESSED) === 0) return { name, bytes: data, fileOffset: s.offset };
    // gABI "Compression": Elf32_Chdr (12 bytes) / Elf64_Chdr (24 bytes) precedes the compressed data.
    const r = new ByteReader(data, s.offset);
    const type = r.u32();
    if (is64) r.u32();
    const size = is64 ? r.u64() : r.u32();
    if (type === ELFCOMPRESS_ZSTD) { diag.add('warning', where, s.offset, 'zstd-compressed debug section is not supported; relink with --compress-debug-sections=zlib or none'); return undefined; }
    if (type !== ELFCOMPRESS_ZLIB) { diag.add('warning', where, s.offset, `unknown compression type ${type}`); return undefined; }
    const out = new Uint8Array(inflateSync(data.subarray(is64 ? 24 : 12), { maxOutputLength: Math.max(size, 1) }));
    if (out.length !== size) diag.add('warning', where, s.offset, `decompressed size ${out.length} differs from ch_size ${size}`);
    return { name, bytes: out, fileOffset: s.offset, compressed: true };
  } catch (e) {
    const off = e instanceof TruncatedError ? e.offset : s.offset;
    diag.add('warning', where, off, `cannot decompress: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
