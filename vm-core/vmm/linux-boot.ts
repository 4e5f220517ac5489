// The Linux x86 boot protocol as a VMM does direct boot (QEMU's -kernel, Firecracker): the zero page
// (struct boot_params, Documentation/arch/x86/zero-page.rst) with the setup header copied from the
// image, the e820 map of the shared memory layout, the command line and the initrd; then the boot
// vCPU at the kernel's entry in the state boot.rst requires:
//  - bzImage: "32-bit boot protocol": protected mode, paging off, a GDT with __BOOT_CS (0x10) and
//    __BOOT_DS (0x18) flat 4 GiB segments, IF = 0, ESI = &boot_params, EBP = EDI = EBX = 0, at
//    code32_start. The kernel's own decompressor then builds its page tables and enters long mode,
//    which is the most robust choice: it needs nothing of the VMM beyond this state.
//  - vmlinux: "64-bit boot protocol": long mode with an identity map (the first 4 GiB, 2 MiB pages,
//    covering the kernel, the zero page and the command line), the same selectors, RSI = &boot_params,
//    at e_entry (startup_64).
import type { KvmVcpu } from '../kvm/vcpu';
import type { kvm_segment } from '../kvm/uapi';
import type { GuestImage } from '../loader/image';
import { XLF_CAN_BE_LOADED_ABOVE_4G, CAN_USE_HEAP, type LinuxBootImage } from '../loader/bzimage';
import { e820Map } from './e820';

/** Where the VMM puts its boot data (low memory below the EBDA, clear of the kernel at ≥ 1 MiB). */
export const LINUX_LAYOUT = {
  gdt: 0x500,
  /** 64-bit entry: PML4, PDPT and four page directories (4 GiB identity map, 2 MiB pages). */
  pml4: 0x9000, pdpt: 0xa000, pd: 0xb000,
  /** struct boot_params (4 KiB). */
  zeroPage: 0x7000,
  stack: 0x8ff0,
  cmdline: 0x20000,
} as const;
/** boot_params offsets (zero-page.rst) and setup header offsets in it. */
export const BP = {
  ext_ramdisk_image: 0x0c0, ext_ramdisk_size: 0x0c4, ext_cmd_line_ptr: 0x0c8,
  e820_entries: 0x1e8, sentinel: 0x1ef, hdr: 0x1f1,
  type_of_loader: 0x210, loadflags: 0x211, ramdisk_image: 0x218, ramdisk_size: 0x21c,
  heap_end_ptr: 0x224, cmd_line_ptr: 0x228, e820_table: 0x2d0, E820_MAX_ENTRIES_ZEROPAGE: 128,
} as const;
/** type_of_loader 0xFF: "undefined" boot loader (boot.rst), as Firecracker and other non-registered VMMs use. */
export const LOADER_TYPE_UNDEFINED = 0xff;
const ZERO_PAGE_SIZE = 4096;

/** A problem booting the kernel (too little RAM, command line too long); the message names what. */
export class LinuxBootError extends Error {}

export interface LinuxBootOptions { cmdline: string; initrd?: Uint8Array; memSize: number; }
export interface LinuxBootInfo { bootParams: number; initrd?: { addr: number; size: number }; }

const hex = (n: number) => '0x' + n.toString(16);

/** Build boot_params, the command line and the initrd in guest RAM (QEMU x86_load_linux, Firecracker configure_system). */
export function writeLinuxBootParams(mem: Uint8Array, img: GuestImage, boot: LinuxBootOptions): LinuxBootInfo {
  const linux = img.linux!;
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const L = LINUX_LAYOUT;
  const need = linux.loadAddr + linux.initSize;
  if (need > boot.memSize) throw new LinuxBootError(`memory: the kernel needs ${Math.ceil(need / 2 ** 20)} MiB of RAM to boot (load address ${hex(linux.loadAddr)} + init_size ${hex(linux.initSize)}), the VM has ${Math.floor(boot.memSize / 2 ** 20)} MiB: give --memory 256M or more`);
  const bp = L.zeroPage;
  mem.fill(0, bp, bp + ZERO_PAGE_SIZE);
  if (linux.setupHeader) mem.set(linux.setupHeader, bp + BP.hdr);
  // The command line: NUL-terminated, at most cmdline_size bytes (2 KiB for a vmlinux, as Firecracker allows).
  const text = Buffer.from(boot.cmdline, 'utf8');
  const max = linux.header?.cmdlineSize ?? 2047;
  if (text.length > max) throw new LinuxBootError(`append: the command line is ${text.length} bytes, the kernel takes at most ${max} (cmdline_size)`);
  mem.set(text, L.cmdline); mem[L.cmdline + text.length] = 0;
  dv.setUint32(bp + BP.cmd_line_ptr, L.cmdline, true);
  mem[bp + BP.type_of_loader] = LOADER_TYPE_UNDEFINED;
  // No real-mode setup code runs, so no heap: CAN_USE_HEAP stays clear (QEMU sets it for its 16-bit entry only).
  mem[bp + BP.loadflags] &= ~CAN_USE_HEAP;
  let initrd: LinuxBootInfo['initrd'];
  if (boot.initrd?.length) initrd = placeInitrd(mem, linux, boot, need);
  if (initrd) {
    dv.setUint32(bp + BP.ramdisk_image, initrd.addr, true);
    dv.setUint32(bp + BP.ramdisk_size, initrd.size, true);
  }
  const map = e820Map(boot.memSize);
  if (map.length > BP.E820_MAX_ENTRIES_ZEROPAGE) throw new LinuxBootError(`the e820 map has ${map.length} entries, the zero page holds ${BP.E820_MAX_ENTRIES_ZEROPAGE}`);
  map.forEach((e, k) => {
    const p = bp + BP.e820_table + 20 * k;
    dv.setBigUint64(p, BigInt(e.addr), true);
    dv.setBigUint64(p + 8, BigInt(e.size), true);
    dv.setUint32(p + 16, e.type, true);
  });
  mem[bp + BP.e820_entries] = map.length;
  return { bootParams: bp, initrd };
}

/**
 * The initrd at the top of RAM, page aligned (QEMU x86_load_linux): below initrd_addr_max unless the
 * kernel can take it anywhere (XLF_CAN_BE_LOADED_ABOVE_4G), above the kernel's boot-time footprint.
 */
function placeInitrd(mem: Uint8Array, linux: LinuxBootImage, boot: LinuxBootOptions, kernelEnd: number): { addr: number; size: number } {
  const size = boot.initrd!.length;
  const h = linux.header;
  const max = h && !(h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) ? h.initrdAddrMax : 0xffffffff;
  const limit = Math.min(max + 1, boot.memSize);
  const addr = Math.floor((limit - size) / 4096) * 4096;
  if (addr < kernelEnd) throw new LinuxBootError(`initrd: ${size} bytes do not fit in RAM between the kernel's end at ${hex(kernelEnd)} and ${hex(limit)}: give more --memory`);
  mem.set(boot.initrd!, addr);
  return { addr, size };
}

function seg(selector: number, type: number, l: number): kvm_segment {
  return { base: 0n, limit: 0xffffffff, selector, type, present: 1, dpl: 0, db: l ? 0 : 1, s: 1, l, g: 1, avl: 0, unusable: 0, padding: 0 };
}

/** GDT at LINUX_LAYOUT.gdt: null, null, __BOOT_CS 0x10 (32- or 64-bit code), __BOOT_DS 0x18. */
function writeBootGdt(mem: Uint8Array, long: boolean): void {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const g = LINUX_LAYOUT.gdt;
  mem.fill(0, g, g + 32);
  dv.setUint32(g + 16, 0x0000ffff, true); dv.setUint32(g + 20, long ? 0x00af9b00 : 0x00cf9b00, true);
  dv.setUint32(g + 24, 0x0000ffff, true); dv.setUint32(g + 28, 0x00cf9300, true);
}

/** Identity map of the first 4 GiB with 2 MiB pages (Firecracker's setup_page_tables maps 1 GiB). */
function writeIdentityMap4G(mem: Uint8Array): void {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const { pml4, pdpt, pd } = LINUX_LAYOUT;
  mem.fill(0, pml4, pd + 4 * 4096);
  dv.setUint32(pml4, pdpt | 3, true);
  for (let g = 0; g < 4; g++) {
    dv.setUint32(pdpt + 8 * g, (pd + 4096 * g) | 3, true);
    for (let k = 0; k < 512; k++) dv.setUint32(pd + 4096 * g + 8 * k, ((g * 512 + k) * 0x200000 + 0x83) >>> 0, true);
  }
}

/** The boot vCPU at the kernel's entry (boot.rst "32-bit/64-bit boot protocol"). */
export function setupLinuxEntry(v: KvmVcpu, mem: Uint8Array, linux: LinuxBootImage, bootParams: number): void {
  const long = linux.kind === 'vmlinux';
  writeBootGdt(mem, long);
  const s = v.getSregs();
  s.gdt = { base: BigInt(LINUX_LAYOUT.gdt), limit: 31 };
  s.idt = { base: 0n, limit: 0 };
  s.cs = seg(0x10, 11, long ? 1 : 0);
  for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = seg(0x18, 3, 0);
  if (long) {
    writeIdentityMap4G(mem);
    s.cr3 = BigInt(LINUX_LAYOUT.pml4);
    s.cr4 = 0x20n; // PAE
    s.efer = 0x500n; // LME | LMA
    s.cr0 = 0x80000011n; // PG | ET | PE
  } else {
    s.cr0 = 0x11n; // PE | ET, paging off
  }
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(linux.entry >>> 0);
  r.rsi = BigInt(bootParams);
  r.rbp = 0n; r.rdi = 0n; r.rbx = 0n;
  r.rsp = BigInt(LINUX_LAYOUT.stack);
  r.rflags = 2n; // IF = 0
  v.setRegs(r);
}
