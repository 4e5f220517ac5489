// Multiboot v1 boot as QEMU's -kernel does it (hw/i386/multiboot.c, pc-bios/optionrom/multiboot.S):
// the multiboot information structure (MBI) at 0x9500, the e820 memory map at 0x9000, modules
// page-aligned after the kernel, and the boot vCPU in flat 32-bit protected mode with paging off,
// EAX = 0x2BADB002 and EBX = the MBI (Multiboot Specification §3.2 "Machine state").
import type { KvmVcpu } from '../kvm/vcpu';
import type { kvm_segment } from '../kvm/uapi';
import type { GuestImage } from '../loader/image';
import { MULTIBOOT_BOOTLOADER_MAGIC } from '../loader/multiboot';
import { e820Map, memLowerUpper } from './e820';

/**
 * QEMU's fixed addresses: the mmap buffer and the MBI, in low conventional memory; the boot GDT in
 * the option-ROM area (QEMU's lives in the multiboot option ROM), so no kernel's memory holds it.
 */
export const MULTIBOOT_LAYOUT = { mmap: 0x9000, mbi: 0x9500, gdt: 0xc0000, stack: 0x9000 } as const;
/** Multiboot §3.3 MBI flags: mem (b0), boot_device (b1), cmdline (b2), mods (b3), mmap (b6), loader name (b9). */
export const MBI_FLAGS = 0x24f;
const PAGE = 4096;

export interface MultibootModule { name: string; bytes: Uint8Array; }
export interface MultibootBoot { cmdline: string; modules: MultibootModule[]; memSize: number; }
export interface MultibootInfo { mbi: number; mods: { start: number; end: number }[]; }

/** A problem placing the modules or the MBI (too little RAM); the message names what did not fit. */
export class MultibootError extends Error {}

function imageEnd(img: GuestImage): number {
  let end = 0;
  for (const s of img.segments) end = Math.max(end, s.addr + Math.max(s.memSize, s.bytes.length));
  return end;
}

function putString(mem: Uint8Array, at: number, s: string): number {
  const b = Buffer.from(s, 'utf8');
  mem.set(b, at); mem[at + b.length] = 0;
  return at + b.length + 1;
}

/** Write the MBI, mmap, module list, strings and module data into guest RAM (hw/i386/multiboot.c load_multiboot). */
export function writeMultibootInfo(mem: Uint8Array, img: GuestImage, boot: MultibootBoot): MultibootInfo {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const L = MULTIBOOT_LAYOUT;
  // After the kernel (page aligned): the module entries (16 B each), then the strings, then the modules.
  let at = Math.ceil(imageEnd(img) / PAGE) * PAGE;
  const modsAddr = at;
  at += 16 * boot.modules.length;
  const cmdlineAddr = at;
  at = putStringChecked(mem, at, boot.cmdline);
  const nameAddrs: number[] = [];
  for (const m of boot.modules) { nameAddrs.push(at); at = putStringChecked(mem, at, m.name); }
  const loaderName = at;
  at = putStringChecked(mem, at, 'qemu');
  const mods: { start: number; end: number }[] = [];
  boot.modules.forEach((m, k) => {
    at = Math.ceil(at / PAGE) * PAGE;
    if (at + m.bytes.length > mem.length) throw new MultibootError(`module ${k} (${m.name}, ${m.bytes.length} bytes) does not fit in guest RAM at 0x${at.toString(16)} (memory is ${mem.length} bytes)`);
    mem.set(m.bytes, at);
    mods.push({ start: at, end: at + m.bytes.length });
    const e = modsAddr + 16 * k;
    dv.setUint32(e, at, true); dv.setUint32(e + 4, at + m.bytes.length, true); dv.setUint32(e + 8, nameAddrs[k], true); dv.setUint32(e + 12, 0, true);
    at += m.bytes.length;
  });
  // The e820 map as the option ROM copies it: {u32 size = 20, u64 base, u64 length, u32 type}.
  const map = e820Map(boot.memSize);
  map.forEach((e, k) => {
    const p = L.mmap + 24 * k;
    dv.setUint32(p, 20, true);
    dv.setUint32(p + 4, e.addr, true); dv.setUint32(p + 8, Math.floor(e.addr / 0x100000000), true);
    dv.setUint32(p + 12, e.size >>> 0, true); dv.setUint32(p + 16, Math.floor(e.size / 0x100000000), true);
    dv.setUint32(p + 20, e.type, true);
  });
  const { lower, upper } = memLowerUpper(map);
  mem.fill(0, L.mbi, L.mbi + 88);
  const mbi = L.mbi;
  dv.setUint32(mbi + 0, MBI_FLAGS, true);
  dv.setUint32(mbi + 4, lower, true);
  dv.setUint32(mbi + 8, upper, true);
  dv.setUint32(mbi + 12, 0x8000ffff, true); // boot_device: first BIOS disk, no partition
  dv.setUint32(mbi + 16, cmdlineAddr, true);
  dv.setUint32(mbi + 20, boot.modules.length, true);
  dv.setUint32(mbi + 24, modsAddr, true);
  dv.setUint32(mbi + 44, 24 * map.length, true);
  dv.setUint32(mbi + 48, L.mmap, true);
  dv.setUint32(mbi + 64, loaderName, true);
  // The option ROM reads the kernel in last (multiboot.S: read_fw_blob(FW_CFG_KERNEL) after the e820
  // map and the MBI are written): a kernel linked over 0x9000-0x9558 (kvm-unit-tests' realmode, at
  // 0x8000-0xa86c) keeps its own bytes there, its bss zeroed.
  for (const sg of img.segments) {
    const end = Math.min(sg.addr + Math.max(sg.memSize, sg.bytes.length), mem.length);
    if (sg.addr >= L.mbi + 88 || end <= L.mmap) continue;
    mem.set(sg.bytes.subarray(0, Math.max(0, end - sg.addr)), sg.addr);
    if (sg.addr + sg.bytes.length < end) mem.fill(0, sg.addr + sg.bytes.length, end);
  }
  return { mbi, mods };

  function putStringChecked(m: Uint8Array, p: number, s: string): number {
    if (p + Buffer.byteLength(s) + 1 > m.length) throw new MultibootError(`the multiboot strings do not fit in guest RAM at 0x${p.toString(16)}`);
    return putString(m, p, s);
  }
}

function seg(selector: number, type: number): kvm_segment {
  return { base: 0n, limit: 0xffffffff, selector, type, present: 1, dpl: 0, db: 1, s: 1, l: 0, g: 1, avl: 0, unusable: 0, padding: 0 };
}

/** The boot vCPU at the kernel's entry (pc-bios/optionrom/multiboot.S): GDT 0x08 code / 0x10 data, CR0.PE only. */
export function setupMultibootEntry(v: KvmVcpu, mem: Uint8Array, entry: number, mbi: number): void {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const g = MULTIBOOT_LAYOUT.gdt;
  dv.setUint32(g, 0, true); dv.setUint32(g + 4, 0, true);
  dv.setUint32(g + 8, 0x0000ffff, true); dv.setUint32(g + 12, 0x00cf9a00, true);
  dv.setUint32(g + 16, 0x0000ffff, true); dv.setUint32(g + 20, 0x00cf9200, true);
  const s = v.getSregs();
  s.gdt = { base: BigInt(g), limit: 23 };
  s.cs = seg(0x08, 11);
  for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = seg(0x10, 3);
  s.cr0 = 0x11n; // PE | ET
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(entry >>> 0); r.rflags = 2n; // IF = DF = 0
  r.rax = BigInt(MULTIBOOT_BOOTLOADER_MAGIC); r.rbx = BigInt(mbi); r.rcx = BigInt(entry >>> 0);
  r.rsp = BigInt(MULTIBOOT_LAYOUT.stack);
  v.setRegs(r);
}
