// KVM's register cache (arch/x86/kvm/kvm_cache_regs.h): vcpu->arch.regs[] with the regs_avail and
// regs_dirty bitmaps over enum kvm_reg. avail/dirty: 0/0 the value lives in the VMCS/VMCB; 1/0
// cached; 1/1 cached and must be written back; 0/1 invalid.
import type { KvmVcpu } from '../vcpu';

export const VCPU_REGS_RAX = 0, VCPU_REGS_RCX = 1, VCPU_REGS_RDX = 2, VCPU_REGS_RBX = 3, VCPU_REGS_RSP = 4,
  VCPU_REGS_RBP = 5, VCPU_REGS_RSI = 6, VCPU_REGS_RDI = 7, VCPU_REGS_R8 = 8, VCPU_REGS_R15 = 15,
  VCPU_REGS_RIP = 16, NR_VCPU_REGS = 17, VCPU_EXREG_PDPTR = 17, VCPU_EXREG_CR0 = 18, VCPU_EXREG_CR3 = 19,
  VCPU_EXREG_CR4 = 20, VCPU_EXREG_RFLAGS = 21, VCPU_EXREG_SEGMENTS = 22, VCPU_EXREG_EXIT_INFO_1 = 23,
  VCPU_EXREG_EXIT_INFO_2 = 24;
export const KVM_REG_NAMES = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11',
  'R12', 'R13', 'R14', 'R15', 'RIP', 'EXREG_PDPTR', 'EXREG_CR0', 'EXREG_CR3', 'EXREG_CR4', 'EXREG_RFLAGS',
  'EXREG_SEGMENTS', 'EXREG_EXIT_INFO_1', 'EXREG_EXIT_INFO_2'];
/** All bits of the 32-bit bitmaps (KVM stuffs ~0). */
export const ALL_REGS = -1;

/** Guest-owned CR bits KVM may pass through (KVM_POSSIBLE_CR0/CR4_GUEST_BITS). */
export const KVM_POSSIBLE_CR0_GUEST_BITS = (1 << 3) /* TS */ | (1 << 16) /* WP */;
export const KVM_POSSIBLE_CR4_GUEST_BITS = (1 << 1) /* PVI */ | (1 << 3) /* DE */ | (1 << 8) /* PCE */ |
  (1 << 9) /* OSFXSR */ | (1 << 10) /* OSXMMEXCPT */ | (1 << 7) /* PGE */ | (1 << 2) /* TSD */ | (1 << 16) /* FSGSBASE */;

/** Cache-access kinds reported to observers. */
export const CACHE_READ = 0, CACHE_WRITE = 1, CACHE_FILL = 2;

export function kvm_register_is_available(v: KvmVcpu, reg: number): boolean {
  return ((v.arch.regs_avail >>> reg) & 1) !== 0;
}
export function kvm_register_is_dirty(v: KvmVcpu, reg: number): boolean {
  return ((v.arch.regs_dirty >>> reg) & 1) !== 0;
}
export function kvm_register_mark_available(v: KvmVcpu, reg: number): void {
  v.arch.regs_avail |= 1 << reg;
}
export function kvm_register_mark_dirty(v: KvmVcpu, reg: number): void {
  v.arch.regs_avail |= 1 << reg;
  v.arch.regs_dirty |= 1 << reg;
}
/** test_and_mark_available: true if it was already available. */
export function kvm_register_test_and_mark_available(v: KvmVcpu, reg: number): boolean {
  const was = kvm_register_is_available(v, reg);
  v.arch.regs_avail |= 1 << reg;
  return was;
}

/** Fill an unavailable register from the VMCS/VMCB (the vendor's cache_reg). */
function cacheFill(v: KvmVcpu, reg: number): void {
  v.ops.cache_reg(reg);
  if (v.trace) v.trace.cache(CACHE_FILL, reg);
}

/** kvm_register_read_raw: the value (low half; high half in v.arch.hi), calling cache_reg when unavailable. */
export function kvm_register_read_raw(v: KvmVcpu, reg: number): number {
  if (!kvm_register_is_available(v, reg)) cacheFill(v, reg);
  else if (v.trace) v.trace.checkStale(reg);
  if (v.trace) v.trace.cache(CACHE_READ, reg);
  const a = v.arch;
  a.hi = a.regs[2 * reg + 1];
  return a.regs[2 * reg];
}

/** kvm_register_write_raw: store and mark dirty. */
export function kvm_register_write_raw(v: KvmVcpu, reg: number, lo: number, hi: number): void {
  const a = v.arch;
  a.regs[2 * reg] = lo | 0;
  a.regs[2 * reg + 1] = hi | 0;
  kvm_register_mark_dirty(v, reg);
  if (v.trace) v.trace.cache(CACHE_WRITE, reg);
}

const TWO32 = 4294967296;
/** A register as a JS number (exact for canonical addresses). */
export function kvm_register_read(v: KvmVcpu, reg: number): number {
  const lo = kvm_register_read_raw(v, reg);
  return v.arch.hi * TWO32 + (lo >>> 0);
}
export function kvm_register_write(v: KvmVcpu, reg: number, val: number): void {
  kvm_register_write_raw(v, reg, val | 0, Math.floor(val / TWO32) | 0);
}

export function kvm_rip_read(v: KvmVcpu): number { return kvm_register_read(v, VCPU_REGS_RIP); }
export function kvm_rip_write(v: KvmVcpu, val: number): void { kvm_register_write(v, VCPU_REGS_RIP, val); }
export function kvm_rsp_read(v: KvmVcpu): number { return kvm_register_read(v, VCPU_REGS_RSP); }
export function kvm_rsp_write(v: KvmVcpu, val: number): void { kvm_register_write(v, VCPU_REGS_RSP, val); }

/** GPR accessors (kvm_rax_read ...): arch.regs directly; the exit stub saved every GPR but RSP. */
export function kvm_gpr_read(v: KvmVcpu, reg: number): number {
  return v.arch.regs[2 * reg + 1] * TWO32 + (v.arch.regs[2 * reg] >>> 0);
}
export function kvm_gpr_read32(v: KvmVcpu, reg: number): number {
  return v.arch.regs[2 * reg] >>> 0;
}
export function kvm_gpr_write(v: KvmVcpu, reg: number, lo: number, hi: number): void {
  v.arch.regs[2 * reg] = lo | 0;
  v.arch.regs[2 * reg + 1] = hi | 0;
}

/** kvm_read_cr0_bits: cache_reg only when the mask touches guest-owned bits. */
export function kvm_read_cr0_bits(v: KvmVcpu, mask: number): number {
  const t = mask & KVM_POSSIBLE_CR0_GUEST_BITS;
  if ((t & v.arch.cr0_guest_owned_bits) && !kvm_register_is_available(v, VCPU_EXREG_CR0)) cacheFill(v, VCPU_EXREG_CR0);
  else if (v.trace && (t & v.arch.cr0_guest_owned_bits)) v.trace.checkStale(VCPU_EXREG_CR0);
  if (v.trace) v.trace.cache(CACHE_READ, VCPU_EXREG_CR0);
  return (v.arch.cr0 & mask) >>> 0;
}
export function kvm_read_cr0(v: KvmVcpu): number { return kvm_read_cr0_bits(v, -1); }

export function kvm_read_cr4_bits(v: KvmVcpu, mask: number): number {
  const t = mask & KVM_POSSIBLE_CR4_GUEST_BITS;
  if ((t & v.arch.cr4_guest_owned_bits) && !kvm_register_is_available(v, VCPU_EXREG_CR4)) cacheFill(v, VCPU_EXREG_CR4);
  else if (v.trace && (t & v.arch.cr4_guest_owned_bits)) v.trace.checkStale(VCPU_EXREG_CR4);
  if (v.trace) v.trace.cache(CACHE_READ, VCPU_EXREG_CR4);
  return (v.arch.cr4 & mask) >>> 0;
}
export function kvm_read_cr4(v: KvmVcpu): number { return kvm_read_cr4_bits(v, -1); }

export function kvm_read_cr3(v: KvmVcpu): number {
  if (!kvm_register_is_available(v, VCPU_EXREG_CR3)) cacheFill(v, VCPU_EXREG_CR3);
  else if (v.trace) v.trace.checkStale(VCPU_EXREG_CR3);
  if (v.trace) v.trace.cache(CACHE_READ, VCPU_EXREG_CR3);
  return v.arch.cr3;
}

/** kvm_pdptr_read. */
export function kvm_pdptr_read(v: KvmVcpu, index: number): number {
  if (!kvm_register_is_available(v, VCPU_EXREG_PDPTR)) cacheFill(v, VCPU_EXREG_PDPTR);
  return v.arch.pdptrs[index];
}

/** kvm_read_edx_eax as [lo, hi]. */
export function kvm_read_edx_eax_lo(v: KvmVcpu): number { return v.arch.regs[0]; }
export function kvm_read_edx_eax_hi(v: KvmVcpu): number { return v.arch.regs[4]; }

/** Render a bitmap as the names of its set bits (debugger view). */
export function regBitmapNames(bits: number): string[] {
  const out: string[] = [];
  for (let r = 0; r < KVM_REG_NAMES.length; r++) if ((bits >>> r) & 1) out.push(KVM_REG_NAMES[r]);
  return out;
}
