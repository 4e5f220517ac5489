// Multiboot (v1) kernel images (GNU Multiboot Specification 0.6.96 §3.1 "OS image format"), as
// QEMU's -kernel loads them (hw/i386/multiboot.c): the header is found by scanning the first 8 KiB
// in 4-byte steps for the magic with magic + flags + checksum = 0. Flag bit 16 (the "a.out kludge")
// places the file by the header's addresses; otherwise the image is an ELF whose PT_LOAD segments
// the ELF loader already placed. Never throws: problems become Diagnostics.
import type { Diagnostic, GuestImage, LoadResult } from './image';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** Multiboot §3.2: EAX at entry. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** §3.1.1: the header must lie within the first 8192 bytes (QEMU scans i < 8192 - 48). */
const SEARCH = 8192, HEADER_LEN = 48;
export const MB_PAGE_ALIGN = 1 << 0, MB_MEMORY_INFO = 1 << 1, MB_VIDEO_MODE = 1 << 2, MB_AOUT_KLUDGE = 1 << 16;

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number;
}

/** Find a valid multiboot header in the first 8 KiB of `bytes`. */
export function findMultibootHeader(bytes: Uint8Array): MultibootHeader | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = Math.min(bytes.length - 12, SEARCH - HEADER_LEN);
  for (let i = 0; i <= end; i += 4) {
    if (dv.getUint32(i, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(i + 4, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + dv.getUint32(i + 8, true)) >>> 0) !== 0) continue;
    const f = (k: number) => (i + k + 4 <= bytes.length ? dv.getUint32(i + k, true) : 0);
    return { offset: i, flags, headerAddr: f(12), loadAddr: f(16), loadEndAddr: f(20), bssEndAddr: f(24), entryAddr: f(28) };
  }
  return undefined;
}

function err(path: string, message: string): Diagnostic {
  return { file: path, line: 0, column: 0, severity: 'error', message: `multiboot: ${message}` };
}
const hex = (n: number) => '0x' + n.toString(16);

/** Place an a.out-kludge image (flag bit 16) the way QEMU's load_multiboot does. */
export function loadMultibootAout(bytes: Uint8Array, path: string, h: MultibootHeader): LoadResult {
  if (h.headerAddr < h.loadAddr) return { ok: false, diagnostics: [err(path, `header at offset ${hex(h.offset)}: header_addr ${hex(h.headerAddr)} is below load_addr ${hex(h.loadAddr)}`)] };
  const start = h.offset - (h.headerAddr - h.loadAddr);
  if (start < 0) return { ok: false, diagnostics: [err(path, `header at offset ${hex(h.offset)}: header_addr - load_addr = ${hex(h.headerAddr - h.loadAddr)} puts the load start before the file's first byte`)] };
  const size = h.loadEndAddr ? h.loadEndAddr - h.loadAddr : bytes.length - start;
  if (size <= 0 || start + size > bytes.length) return { ok: false, diagnostics: [err(path, `header at offset ${hex(h.offset)}: load_end_addr ${hex(h.loadEndAddr)} gives ${size} bytes from offset ${hex(start)}, but the file has ${bytes.length} bytes`)] };
  const memSize = h.bssEndAddr ? h.bssEndAddr - h.loadAddr : size;
  if (memSize < size) return { ok: false, diagnostics: [err(path, `header at offset ${hex(h.offset)}: bss_end_addr ${hex(h.bssEndAddr)} is below load_end_addr`)] };
  if (h.entryAddr < h.loadAddr || h.entryAddr >= h.loadAddr + memSize) return { ok: false, diagnostics: [err(path, `header at offset ${hex(h.offset)}: entry_addr ${hex(h.entryAddr)} is outside the loaded range [${hex(h.loadAddr)}, ${hex(h.loadAddr + memSize)})`)] };
  if (h.loadAddr + memSize > 0x100000000) return { ok: false, diagnostics: [err(path, `image runs past 4 GiB`)] };
  const image: GuestImage = {
    format: 'flat', path, entry: h.entryAddr, bits: 32, symbols: [], lines: [],
    segments: [{ addr: h.loadAddr, bytes: new Uint8Array(bytes.subarray(start, start + size)), memSize, flags: { r: true, w: true, x: true }, name: 'multiboot' }],
    multiboot: h,
  };
  return { ok: true, image, diagnostics: [] };
}
