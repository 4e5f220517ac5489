// Boot set-ups a VMM applies to a vCPU after creating it: the RESET state (firmware), real mode at
// 0000:7C00, flat 32-bit protected mode, or 64-bit long mode with identity-mapped page tables and a
// GDT, as KVM selftests prepare their vCPUs (vcpu_init_sregs / kvm_setup_gdt / virt_arch_pgd_alloc).
import type { KvmVcpu } from '../kvm/vcpu';
import type { kvm_segment } from '../kvm/uapi';

export type EntryMode = 'reset' | 'real' | 'protected' | 'long';

/** Guest-physical layout the set-ups use (below the usual 0x7C00 / 1 MiB load addresses). */
export const BOOT_LAYOUT = { gdt: 0x500, pml4: 0x1000, pdpt: 0x2000, pd: 0x3000, stack: 0x7000 };

function seg(selector: number, type: number, db: number, l: number, g: number, limit: number): kvm_segment {
  return { base: 0n, limit, selector, type, present: 1, dpl: 0, db, s: 1, l, g, avl: 0, unusable: 0, padding: 0 };
}

/** Write a flat GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18). */
export function writeGdt(mem: Uint8Array, at = BOOT_LAYOUT.gdt): void {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const d = [[0, 0], [0x0000ffff, 0x00af9b00], [0x0000ffff, 0x00cf9300], [0x0000ffff, 0x00cf9b00]];
  d.forEach(([lo, hi], k) => { dv.setUint32(at + 8 * k, lo, true); dv.setUint32(at + 8 * k + 4, hi, true); });
}

/** Identity map the first 1 GiB with 2 MiB pages (PML4 -> PDPT -> PD). */
export function writeIdentityPageTables(mem: Uint8Array): void {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const { pml4, pdpt, pd } = BOOT_LAYOUT;
  dv.setUint32(pml4, pdpt | 3, true);
  dv.setUint32(pdpt, pd | 3, true);
  for (let k = 0; k < 512; k++) dv.setUint32(pd + 8 * k, (k * 0x200000 + 0x83) >>> 0, true);
}

export function setupRealMode(v: KvmVcpu, ip = 0x7c00, cs = 0): void {
  const s = v.getSregs();
  for (const x of [s.ds, s.es, s.ss, s.fs, s.gs]) { x.selector = 0; x.base = 0n; x.limit = 0xffff; }
  s.cs.selector = cs; s.cs.base = BigInt(cs << 4); s.cs.limit = 0xffff;
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(ip); r.rsp = BigInt(BOOT_LAYOUT.stack);
  v.setRegs(r);
}

export function setupProtectedMode(v: KvmVcpu, mem: Uint8Array, eip: number): void {
  writeGdt(mem);
  const s = v.getSregs();
  s.gdt = { base: BigInt(BOOT_LAYOUT.gdt), limit: 31 };
  s.cs = seg(0x18, 11, 1, 0, 1, 0xffffffff);
  for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = seg(0x10, 3, 1, 0, 1, 0xffffffff);
  s.cr0 = 0x11n; // PE | ET
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(eip); r.rsp = BigInt(BOOT_LAYOUT.stack); r.rflags = 2n;
  v.setRegs(r);
}

export function setupLongMode(v: KvmVcpu, mem: Uint8Array, rip: number): void {
  writeGdt(mem);
  writeIdentityPageTables(mem);
  const s = v.getSregs();
  s.gdt = { base: BigInt(BOOT_LAYOUT.gdt), limit: 31 };
  s.cs = seg(0x08, 11, 0, 1, 1, 0xffffffff);
  for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = seg(0x10, 3, 1, 0, 1, 0xffffffff);
  s.tr = { ...seg(0, 11, 0, 0, 0, 0x67), s: 0 };
  s.cr3 = BigInt(BOOT_LAYOUT.pml4);
  s.cr4 = 0x20n; // PAE
  s.efer = 0x500n; // LME | LMA
  s.cr0 = 0x80010011n; // PG | WP | ET | PE
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(rip); r.rsp = BigInt(BOOT_LAYOUT.stack); r.rflags = 2n;
  v.setRegs(r);
}

/** Apply an entry mode; 'reset' leaves the RESET state (CS:IP = F000:FFF0). */
export function setupEntry(v: KvmVcpu, mem: Uint8Array, mode: EntryMode, entry: number): void {
  switch (mode) {
    case 'real': setupRealMode(v, entry & 0xffff, entry > 0xffff ? (entry >>> 4) & 0xf000 : 0); break;
    case 'protected': setupProtectedMode(v, mem, entry); break;
    case 'long': setupLongMode(v, mem, entry); break;
    case 'reset': break;
  }
}
