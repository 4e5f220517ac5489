// The common form of every guest image the loader produces (assembled source, flat binary, ELF).
// The debugger uses `lines` for source breakpoints, stepping and the call stack, and `symbols`
// for function breakpoints, disassembly labels and stack frames.
import type { DebugSections } from './dwarf/sections';

/** A contiguous run of bytes to place in guest memory at a guest-physical (= load) address. */
export interface ImageSegment {
  /** Guest address the bytes are loaded at (physical; for ELF, p_paddr). */
  addr: number;
  /** Link-time virtual address of the bytes when it differs in meaning from `addr` (ELF p_vaddr). */
  vaddr?: number;
  bytes: Uint8Array;
  /** Bytes past `bytes.length` up to memSize are zero (ELF .bss). */
  memSize: number;
  /** Segment permissions, for display. */
  flags?: { r: boolean; w: boolean; x: boolean };
  name?: string;
}

export interface ImageSymbol {
  name: string;
  addr: number;
  size: number;
  kind: 'function' | 'object' | 'label' | 'constant';
  /** Where the symbol was defined, if known. */
  file?: string;
  line?: number;
}

/** One entry of the line map: guest addresses [addr, addr+size) were produced by file:line. */
export interface LineEntry {
  addr: number;
  size: number;
  file: string;
  line: number;
  column?: number;
  /** False where DWARF says the address is not the start of a statement (is_stmt false). */
  isStmt?: boolean;
}

export interface GuestImage {
  format: 'asm' | 'flat' | 'elf32' | 'elf64' | 'bzimage';
  /** Path of the file the image came from (absolute when known). */
  path: string;
  segments: ImageSegment[];
  /** Entry point (ELF e_entry, asm `org`/start label, flat load address). */
  entry: number;
  /** Code size the image expects to start in, when known (asm `bits`, ELF class). */
  bits?: 16 | 32 | 64;
  symbols: ImageSymbol[];
  /** Sorted by addr, non-overlapping. */
  lines: LineEntry[];
  /** Function ranges from DWARF .debug_info or the symbol table, for the call stack. */
  functions?: { name: string; low: number; high: number; file?: string; line?: number }[];
  /** A multiboot v1 kernel (header found in its first 8 KiB): the VMM boots it as QEMU's -kernel does. */
  multiboot?: import('./multiboot').MultibootHeader;
  /** A Linux kernel (bzImage or vmlinux): the VMM boots it by the Linux boot protocol (vmm/linux-boot.ts). */
  linux?: import('./bzimage').LinuxBootImage;
  /** DWARF sections kept for the debugger's variables, types and unwinding (ELF only), read on demand. */
  debug?: { sections: DebugSections; addressSize: number };
}

/** A problem in user input, with its location. Loaders collect these and never throw. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}

export type LoadResult =
  | { ok: true; image: GuestImage; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

/** Binary search of a sorted line map. */
export function lineForAddress(lines: LineEntry[], addr: number): LineEntry | undefined {
  let lo = 0, hi = lines.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = lines[mid];
    if (addr < e.addr) hi = mid - 1;
    else if (addr >= e.addr + e.size) lo = mid + 1;
    else return e;
  }
  return undefined;
}

/** An address as 64-bit unsigned hex (negative or huge numbers wrap as the 64-bit value, never "0x-54"). */
export const hex64 = (n: number): string => '0x' + BigInt.asUintN(64, BigInt(Math.trunc(n))).toString(16);
