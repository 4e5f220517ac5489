// Flat binaries: raw bytes placed at one guest-physical address. Either a load address
// (default 0x7C00, where a PC BIOS loads a boot sector) or `placement: 'reset'`, which puts
// the last byte at 0xFFFFFFFF so that the RESET vector 0xFFFFFFF0 (Intel SDM Vol. 3A §9.1.4,
// "First Instruction Executed") falls inside the image, as for firmware.
import { readFileBounded } from './read-file';
import type { Diagnostic, LoadResult } from './image';

export const BOOT_SECTOR_ADDRESS = 0x7c00;
/** SDM Vol. 3A §9.1.4: CS.base 0xFFFF0000 + EIP 0xFFF0. */
export const RESET_VECTOR = 0xfffffff0;
const FOUR_GIB = 0x1_0000_0000;
const MAX_GUEST_PHYS = 2 ** 52; // SDM Vol. 3A §4.1.4: MAXPHYADDR is at most 52

export interface FlatOptions {
  /** Guest-physical address of the first byte (default 0x7C00). Ignored for 'reset'. */
  loadAddress?: number;
  /** 'address' (default): at loadAddress; 'reset': ending at 0xFFFFFFFF. */
  placement?: 'address' | 'reset';
  /** Entry point; defaults to the load address, or the RESET vector for 'reset'. */
  entry?: number;
  /** Code size the image starts in (default 16: a boot sector or firmware starts in real mode). */
  bits?: 16 | 32 | 64;
}

function err(path: string, message: string, severity: 'error' | 'warning' = 'error'): Diagnostic {
  return { file: path, line: 0, column: 0, severity, message: `flat: ${message}` };
}

const hex = (n: number) => '0x' + n.toString(16).toUpperCase();

/** Loads a flat binary from a file; never throws. */
export function loadFlatFile(path: string, opts: FlatOptions = {}): LoadResult {
  try {
    return parseFlat(readFileBounded(path), path, opts);
  } catch (e) {
    return { ok: false, diagnostics: [err(path, `cannot read file: ${(e as Error).message}`)] };
  }
}

/** Places `bytes` as a flat image; validates size and address range. */
export function parseFlat(bytes: Uint8Array, path: string, opts: FlatOptions = {}): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const size = bytes.length;
  if (size === 0) return { ok: false, diagnostics: [err(path, 'image is empty (0 bytes): nothing to load')] };
  if (size > FOUR_GIB) return { ok: false, diagnostics: [err(path, `image is ${size} bytes; a flat binary must be at most 4 GiB`)] };
  const placement = opts.placement ?? 'address';
  let addr: number;
  let entry: number;
  if (placement === 'reset') {
    if (opts.loadAddress !== undefined) diagnostics.push(err(path, `loadAddress ${hex(opts.loadAddress)} is ignored with placement 'reset'`, 'warning'));
    addr = FOUR_GIB - size;
    entry = opts.entry ?? RESET_VECTOR;
    if (addr > RESET_VECTOR) {
      diagnostics.push(err(path, `image is ${size} bytes, so it ends at 0xFFFFFFFF without covering the RESET vector ${hex(RESET_VECTOR)} (needs at least 16 bytes)`, 'warning'));
    }
  } else {
    addr = opts.loadAddress ?? BOOT_SECTOR_ADDRESS;
    if (!Number.isSafeInteger(addr) || addr < 0) return { ok: false, diagnostics: [err(path, `load address ${String(opts.loadAddress)} is not a non-negative integer`)] };
    if (addr + size > MAX_GUEST_PHYS) return { ok: false, diagnostics: [err(path, `image of ${size} bytes at ${hex(addr)} runs past the 52-bit guest-physical address space`)] };
    entry = opts.entry ?? addr;
  }
  if (!Number.isSafeInteger(entry) || entry < 0) return { ok: false, diagnostics: [...diagnostics, err(path, `entry ${String(opts.entry)} is not a non-negative integer`)] };
  if (entry < addr || entry >= addr + size) diagnostics.push(err(path, `entry ${hex(entry)} is outside the image [${hex(addr)}, ${hex(addr + size)})`, 'warning'));
  return {
    ok: true,
    diagnostics,
    image: {
      format: 'flat',
      path,
      segments: [{ addr, bytes: bytes instanceof Buffer ? new Uint8Array(bytes) : bytes, memSize: size, flags: { r: true, w: true, x: true }, name: 'flat' }],
      entry,
      bits: opts.bits ?? 16,
      symbols: [],
      lines: [],
    },
  };
}
