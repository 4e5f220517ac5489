// Linux kernel images for direct boot, as a VMM loads them (QEMU's -kernel, Firecracker):
// a bzImage (Documentation/arch/x86/boot.rst "The real-mode kernel header", boot protocol 2.x) whose
// protected-mode part is placed at 1 MiB, and an uncompressed vmlinux ELF recognised by its "Linux"
// ELF note. Never throws: every problem is a Diagnostic naming the header field and its offset.
import type { Diagnostic, GuestImage, LoadResult } from './image';

/** boot.rst: "HdrS" at 0x202, the boot sector signature 0xAA55 at 0x1FE. */
export const LINUX_HDRS_MAGIC = 0x53726448, BOOT_FLAG = 0xaa55;
/** The oldest protocol this loader accepts: 2.06 (cmdline_size, relocatable/kernel_alignment; Linux 2.6.22). */
export const MIN_BOOT_PROTOCOL = 0x206;
/** loadflags (0x211). */
export const LOADED_HIGH = 1 << 0, KEEP_SEGMENTS = 1 << 6, CAN_USE_HEAP = 1 << 7;
/** xloadflags (0x236). */
export const XLF_KERNEL_64 = 1 << 0, XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
/** Where boot protocol ≥ 2.00 kernels want their protected-mode part (the traditional "bzImage at 1 MiB"). */
export const BZIMAGE_LOAD_ADDR = 0x100000;

/** The setup header fields a loader reads (offsets into the file, = offsets into boot_params). */
export interface LinuxSetupHeader {
  /** 0x1F1: 512-byte sectors of real-mode setup code after the boot sector (0 means 4). */
  setupSects: number;
  /** 0x1F4: protected-mode code size in 16-byte paragraphs. */
  syssize: number;
  /** 0x206: protocol version, e.g. 0x20F = 2.15. */
  version: number;
  loadflags: number;
  code32Start: number;
  /** 0x22C: highest address an initrd may end at (inclusive). */
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  xloadflags: number;
  /** 0x238: longest command line, excluding the terminating zero. */
  cmdlineSize: number;
  prefAddress: number;
  /** 0x260: bytes of linear memory the kernel needs from its load address during boot (decompression). */
  initSize: number;
}

/** How the VMM enters a Linux image (vm-core/vmm/linux-boot.ts). */
export interface LinuxBootImage {
  kind: 'bzimage' | 'vmlinux';
  /** The file's bytes 0x1F1 .. header end, copied into boot_params (bzImage only). */
  setupHeader?: Uint8Array;
  header?: LinuxSetupHeader;
  /** Entry point: code32_start (bzImage, 32-bit entry) or e_entry (vmlinux, 64-bit startup_64). */
  entry: number;
  /** Where the kernel was placed and how much memory it needs there (for the RAM check). */
  loadAddr: number;
  initSize: number;
}

const hex = (n: number) => '0x' + n.toString(16);

/** True if the file starts like a Linux boot image ("HdrS" at 0x202). */
export function isBzImage(head: Uint8Array): boolean {
  if (head.length < 0x206) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return dv.getUint32(0x202, true) === LINUX_HDRS_MAGIC;
}

/** Read and check the setup header; errors name the field. */
export function parseSetupHeader(b: Uint8Array): { header?: LinuxSetupHeader; errors: string[] } {
  const errors: string[] = [];
  if (b.length < 0x264) return { errors: [`file is ${b.length} bytes, too short for a setup header (needs 0x264)`] };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0x202, true) !== LINUX_HDRS_MAGIC) errors.push(`header (0x202): magic is ${hex(dv.getUint32(0x202, true))}, not "HdrS" (0x53726448)`);
  if (dv.getUint16(0x1fe, true) !== BOOT_FLAG) errors.push(`boot_flag (0x1FE): ${hex(dv.getUint16(0x1fe, true))}, not 0xaa55`);
  const version = dv.getUint16(0x206, true);
  if (version < MIN_BOOT_PROTOCOL) errors.push(`version (0x206): boot protocol ${version >> 8}.${(version & 0xff).toString().padStart(2, '0')} is older than 2.06, which this loader needs (cmdline_size, kernel_alignment)`);
  const setupSects = b[0x1f1] || 4;
  const h: LinuxSetupHeader = {
    setupSects,
    syssize: dv.getUint32(0x1f4, true),
    version,
    loadflags: b[0x211],
    code32Start: dv.getUint32(0x214, true),
    initrdAddrMax: dv.getUint32(0x22c, true),
    kernelAlignment: dv.getUint32(0x230, true),
    relocatable: b[0x234] !== 0,
    xloadflags: dv.getUint16(0x236, true),
    cmdlineSize: dv.getUint32(0x238, true),
    prefAddress: Number(dv.getBigUint64(0x258, true)),
    initSize: dv.getUint32(0x260, true),
  };
  if (errors.length) return { errors };
  if (!(h.loadflags & LOADED_HIGH)) errors.push(`loadflags (0x211): LOADED_HIGH (bit 0) is clear: a zImage loaded at 0x10000, which this loader does not support`);
  const pmOffset = (setupSects + 1) * 512;
  if (pmOffset >= b.length) errors.push(`setup_sects (0x1F1): ${setupSects} sectors put the protected-mode kernel at offset ${hex(pmOffset)}, past the end of the ${b.length}-byte file`);
  else if (h.syssize === 0 || pmOffset + h.syssize * 16 > b.length + 16) errors.push(`syssize (0x1F4): ${h.syssize} paragraphs (${h.syssize * 16} bytes) from offset ${hex(pmOffset)} do not fit the ${b.length}-byte file`);
  if (h.code32Start !== BZIMAGE_LOAD_ADDR && !h.relocatable) errors.push(`code32_start (0x214): ${hex(h.code32Start)} is not 1 MiB and the kernel is not relocatable`);
  if (h.kernelAlignment === 0 || (h.kernelAlignment & (h.kernelAlignment - 1)) !== 0) errors.push(`kernel_alignment (0x230): ${hex(h.kernelAlignment)} is not a power of two`);
  if (h.initSize === 0) errors.push(`init_size (0x260): 0, the kernel states no memory size to boot in`);
  if (h.cmdlineSize === 0) errors.push(`cmdline_size (0x238): 0`);
  return errors.length ? { errors } : { header: h, errors };
}

/** Load a bzImage: the protected-mode kernel at 1 MiB, entered at code32_start in 32-bit protected mode. */
export function loadBzImage(b: Uint8Array, path: string): LoadResult {
  const err = (message: string): Diagnostic => ({ file: path, line: 0, column: 0, severity: 'error', message: `bzImage: ${message}` });
  const { header: h, errors } = parseSetupHeader(b);
  if (!h) return { ok: false, diagnostics: errors.map(err) };
  const pmOffset = (h.setupSects + 1) * 512;
  const pm = new Uint8Array(b.subarray(pmOffset, Math.min(b.length, pmOffset + h.syssize * 16)));
  const hdrEnd = Math.min(0x202 + b[0x201], b.length);
  const linux: LinuxBootImage = {
    kind: 'bzimage', setupHeader: new Uint8Array(b.subarray(0x1f1, hdrEnd)), header: h,
    entry: BZIMAGE_LOAD_ADDR, loadAddr: BZIMAGE_LOAD_ADDR,
    // The decompressor moves the kernel up to max(load address, LOAD_PHYSICAL_ADDR = pref_address), aligned.
    initSize: Math.max(BZIMAGE_LOAD_ADDR, h.prefAddress) - BZIMAGE_LOAD_ADDR + h.initSize,
  };
  const image: GuestImage = {
    format: 'bzimage', path, entry: BZIMAGE_LOAD_ADDR, bits: 32, symbols: [], lines: [],
    segments: [{ addr: BZIMAGE_LOAD_ADDR, bytes: pm, memSize: pm.length, flags: { r: true, w: true, x: true }, name: 'bzImage protected-mode kernel' }],
    linux,
  };
  return { ok: true, image, diagnostics: [] };
}

/** ELF note name of the kernel's own notes (include/linux/elfnote.h, "Linux"; Xen's are "Xen"). */
const NOTE_NAMES = ['Linux', 'Xen'];

/** True if the ELF's PT_NOTE segments carry a "Linux" or "Xen" note (a vmlinux). */
export function hasLinuxNote(b: Uint8Array): boolean {
  if (b.length < 64 || b[4] !== 2) return false; // ELFCLASS64
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = Number(dv.getBigUint64(32, true)), phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    if (p + 56 > b.length || dv.getUint32(p, true) !== 4) continue; // PT_NOTE
    const off = Number(dv.getBigUint64(p + 8, true)), size = Number(dv.getBigUint64(p + 32, true));
    for (let q = off; q + 12 <= Math.min(off + size, b.length);) {
      const namesz = dv.getUint32(q, true), descsz = dv.getUint32(q + 4, true);
      const name = Buffer.from(b.subarray(q + 12, Math.min(q + 12 + namesz, b.length))).toString('latin1').replace(/\0+$/, '');
      if (NOTE_NAMES.includes(name)) return true;
      q += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
    }
  }
  return false;
}
