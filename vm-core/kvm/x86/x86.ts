// Common x86 helpers of arch/x86/kvm/x86.c: instruction skipping, exception queueing, CR/DR/XCR
// writes with KVM's checks, HLT, and the small "emulate as NOP / #UD" handlers.
import type { KvmVcpu } from '../vcpu';
import {
  kvm_read_cr0_bits, kvm_read_cr4_bits, kvm_read_cr4, kvm_read_cr3, kvm_read_cr0, kvm_register_mark_dirty,
  VCPU_EXREG_CR3, kvm_gpr_read32, VCPU_REGS_RCX, kvm_rip_read, VCPU_EXREG_PDPTR, kvm_register_mark_available,
} from './kvm_cache_regs';
import { KVM_REQ_EVENT, KVM_REQ_LOAD_MMU_PGD, KVM_REQ_TLB_FLUSH_GUEST } from '../vcpu_arch';
import { DB_VECTOR, GP_VECTOR, KVM_EXIT_HLT, KVM_MP_STATE_HALTED, PF_VECTOR, UD_VECTOR } from '../uapi';
import {
  CR0_CD, CR0_NW, CR0_PE, CR0_PG, CR0_ET, CR0_TS, CR0_WP, CR0_MP, CR0_EM, CR0_NE, CR0_AM,
  CR4_PAE, CR4_PCIDE, CR4_PGE, CR4_PSE, CR4_SMEP, CR4_OSXSAVE, CR4_VMXE, EFER_LME, EFER_LMA, EFER_NXE, EFER_SCE, EFER_SVME, TF,
} from '../../cpu/state';
import { hasErrorCode } from '../../cpu/events';

const X86_CR0_VALID = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
/** CR4 bits this model's guests may set (the processor's CR4_SUPPORTED minus VMXE/SMXE). */
export const CR4_GUEST_VALID = 0x1 | 0x2 | 0x4 | 0x8 | CR4_PSE | CR4_PAE | 0x40 | CR4_PGE | 0x100 | 0x200 | 0x400 |
  0x800 | 0x10000 | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | (1 << 21);

// ---------------------------------------------------------------- exceptions (x86.c kvm_queue_exception*)

const EXCPT_BENIGN = 0, EXCPT_CONTRIBUTORY = 1, EXCPT_PF = 2;
/** exception_class (x86.c). */
function exception_class(vector: number): number {
  if (vector === 14) return EXCPT_PF;
  return vector === 0 || (vector >= 10 && vector <= 13) ? EXCPT_CONTRIBUTORY : EXCPT_BENIGN;
}

/** kvm_multiple_exception, reduced: queue (or merge into #DF) an exception for the next entry. */
export function kvm_queue_exception_full(v: KvmVcpu, vector: number, hasError: boolean, error: number,
  hasPayload: boolean, payload: number): void {
  const a = v.arch;
  if (a.exc_pending || a.exc_injected) {
    // A second exception while one is queued: a triple fault after #DF; #DF for contributory on
    // contributory or #PF then #PF/contributory (SDM Table 6-5); otherwise the new one replaces the
    // old, "in a hope that instruction re-execution will regenerate lost exception".
    if (a.exc_vector === 8) { v.requestTripleFault(); return; }
    const c1 = exception_class(a.exc_vector), c2 = exception_class(vector);
    if ((c1 === EXCPT_CONTRIBUTORY && c2 === EXCPT_CONTRIBUTORY) || (c1 === EXCPT_PF && c2 !== EXCPT_BENIGN)) {
      vector = 8; hasError = true; error = 0; hasPayload = false;
    }
  }
  a.exc_pending = true; a.exc_injected = false;
  a.exc_vector = vector; a.exc_has_error = hasError && hasErrorCode(vector); a.exc_error = error | 0;
  a.exc_has_payload = hasPayload; a.exc_payload = payload;
  a.requests |= KVM_REQ_EVENT;
}
export function kvm_queue_exception(v: KvmVcpu, vector: number): void {
  kvm_queue_exception_full(v, vector, false, 0, false, 0);
}
export function kvm_queue_exception_e(v: KvmVcpu, vector: number, error: number): void {
  kvm_queue_exception_full(v, vector, true, error, false, 0);
}
/** kvm_queue_exception_p: #DB (payload = DR6 bits) or #PF (payload = CR2). */
export function kvm_queue_exception_p(v: KvmVcpu, vector: number, payload: number): void {
  kvm_queue_exception_full(v, vector, false, 0, true, payload);
}
export function kvm_inject_gp(v: KvmVcpu, error: number): void { kvm_queue_exception_e(v, GP_VECTOR, error); }
/** kvm_inject_emulated_page_fault. */
export function kvm_inject_page_fault(v: KvmVcpu, addr: number, error: number): void {
  kvm_queue_exception_full(v, PF_VECTOR, true, error, true, addr);
}
/** kvm_handle_invalid_op: #UD, resume. */
export function kvm_handle_invalid_op(v: KvmVcpu): number {
  kvm_queue_exception(v, UD_VECTOR);
  return 1;
}

// ---------------------------------------------------------------- skipping (x86.c)

/** kvm_vcpu_do_singlestep: a #DB trap with DR6.BS after a skipped instruction when RFLAGS.TF. */
function kvm_vcpu_do_singlestep(v: KvmVcpu): number {
  kvm_queue_exception_p(v, DB_VECTOR, 0x4000);
  return 1;
}

/** kvm_skip_emulated_instruction. */
export function kvm_skip_emulated_instruction(v: KvmVcpu): number {
  const rflags = v.ops.get_rflags();
  if (!v.ops.skip_emulated_instruction()) return 0;
  if (rflags & TF) return kvm_vcpu_do_singlestep(v);
  return 1;
}

/** kvm_complete_insn_gp: #GP(0) on error, else skip. */
export function kvm_complete_insn_gp(v: KvmVcpu, err: number): number {
  if (err) { kvm_inject_gp(v, 0); return 1; }
  return kvm_skip_emulated_instruction(v);
}

export function kvm_emulate_as_nop(v: KvmVcpu): number { return kvm_skip_emulated_instruction(v); }
export function kvm_emulate_invd(v: KvmVcpu): number { return kvm_emulate_as_nop(v); }
export function kvm_emulate_wbinvd(v: KvmVcpu): number { return kvm_emulate_as_nop(v); }
/** kvm_emulate_rdpmc: no vPMU in this model: every counter index is invalid (#GP). */
export function kvm_emulate_rdpmc(v: KvmVcpu): number { kvm_inject_gp(v, 0); return 1; }

/** kvm_emulate_monitor_mwait: NOP when the quirk says so or the guest has MONITOR, else #UD. */
export function kvm_emulate_monitor_mwait(v: KvmVcpu): number {
  if (!v.vm.hasQuirk(1 << 6) && !v.guestCpuidHas(1, 'ecx', 3)) return kvm_handle_invalid_op(v);
  return kvm_emulate_as_nop(v);
}

/** kvm_emulate_halt: skip, then halt in the kernel (in-kernel LAPIC) or KVM_EXIT_HLT to userspace. */
export function kvm_emulate_halt(v: KvmVcpu): number {
  const ret = kvm_skip_emulated_instruction(v);
  return kvm_emulate_halt_noskip(v) && ret;
}
export function kvm_emulate_halt_noskip(v: KvmVcpu): number {
  if (v.lapic) { v.arch.mp_state = KVM_MP_STATE_HALTED; return 1; }
  v.kvm_run.exit_reason = KVM_EXIT_HLT;
  return 0;
}

// ---------------------------------------------------------------- control registers (x86.c)

/** kvm_is_valid_cr0. */
export function kvm_is_valid_cr0(cr0: number): boolean {
  if (cr0 & ~X86_CR0_VALID) return false;
  if ((cr0 & CR0_NW) && !(cr0 & CR0_CD)) return false;
  if ((cr0 & CR0_PG) && !(cr0 & CR0_PE)) return false;
  return true;
}

/** load_pdptrs: read the four PAE PDPTEs at CR3 from guest memory; false on reserved bits. */
export function load_pdptrs(v: KvmVcpu, cr3: number): boolean {
  const base = (cr3 >>> 0) & 0xffffffe0;
  const out = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const b = v.vm.bus.read(base + 8 * k, 8);
    const lo = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    const hi = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0;
    if ((lo & 1) && ((lo & 0x1e6) || (hi & 0xfff00000))) return false;
    out[k] = hi * 4294967296 + lo;
  }
  for (let k = 0; k < 4; k++) v.arch.pdptrs[k] = out[k];
  kvm_register_mark_dirty(v, VCPU_EXREG_PDPTR);
  return true;
}

export function is_paging(v: KvmVcpu): boolean { return kvm_read_cr0_bits(v, CR0_PG) !== 0; }
export function is_pae(v: KvmVcpu): boolean { return kvm_read_cr4_bits(v, CR4_PAE) !== 0; }
export function is_long_mode(v: KvmVcpu): boolean { return (v.arch.efer & EFER_LMA) !== 0; }
/** is_64_bit_mode: EFER.LMA and CS.L. */
export function is_64_bit_mode(v: KvmVcpu): boolean {
  if (!is_long_mode(v)) return false;
  return (v.ops.get_cs_db_l_bits() & 2) !== 0;
}

/** kvm_post_set_cr0: MMU reset when paging bits change. */
function kvm_post_set_cr0(v: KvmVcpu, old: number, cr0: number): void {
  if ((cr0 ^ old) & (CR0_PG | CR0_WP | CR0_PE)) v.arch.requests |= KVM_REQ_LOAD_MMU_PGD | KVM_REQ_TLB_FLUSH_GUEST;
}

/** kvm_set_cr0: 0 on success, 1 for #GP. */
export function kvm_set_cr0(v: KvmVcpu, cr0In: number): number {
  const old = kvm_read_cr0(v);
  let cr0 = (cr0In | CR0_ET) >>> 0;
  if (!kvm_is_valid_cr0(cr0)) return 1;
  if ((v.arch.efer & EFER_LME) && !(old & CR0_PG) && (cr0 & CR0_PG)) {
    if (!is_pae(v)) return 1;
    if (v.ops.get_cs_db_l_bits() & 2) return 1;
  }
  if (!(v.arch.efer & EFER_LME) && (cr0 & CR0_PG) && is_pae(v) && ((cr0 ^ old) & (CR0_PG | CR0_CD | CR0_NW)) &&
    !load_pdptrs(v, kvm_read_cr3(v))) return 1;
  if (!(cr0 & CR0_PG) && (is_64_bit_mode(v) || kvm_read_cr4_bits(v, CR4_PCIDE))) return 1;
  v.ops.set_cr0(cr0);
  kvm_post_set_cr0(v, old, cr0);
  return 0;
}

/** kvm_lmsw: only the low four bits, and PE cannot be cleared. */
export function kvm_lmsw(v: KvmVcpu, msw: number): void {
  const old = kvm_read_cr0(v);
  kvm_set_cr0(v, (old & ~0x0e) | (msw & 0x0f) | (old & CR0_PE));
}

/** kvm_is_valid_cr4. */
export function kvm_is_valid_cr4(v: KvmVcpu, cr4: number): boolean {
  // vmx_is_valid_cr4: VMXE only with nested VMX allowed, and kept while in VMX operation.
  const n = v.ops.nested;
  const valid = CR4_GUEST_VALID | (n && n.cr4_vmxe_allowed() ? CR4_VMXE : 0);
  if (n && !n.is_valid_cr4(cr4)) return false;
  return (cr4 & ~valid) === 0 && (cr4 & v.arch.cr4_guest_rsvd_bits) === 0;
}

/** kvm_set_cr4: 0 on success, 1 for #GP. */
export function kvm_set_cr4(v: KvmVcpu, cr4: number): number {
  cr4 >>>= 0;
  const old = kvm_read_cr4(v);
  if (!kvm_is_valid_cr4(v, cr4)) return 1;
  if (is_long_mode(v)) {
    if (!(cr4 & CR4_PAE)) return 1;
  } else if (is_paging(v) && (cr4 & CR4_PAE) && ((cr4 ^ old) & (CR4_PGE | CR4_PSE | CR4_PAE | CR4_SMEP)) &&
    !load_pdptrs(v, kvm_read_cr3(v))) return 1;
  if ((cr4 & CR4_PCIDE) && !(old & CR4_PCIDE)) {
    if ((kvm_read_cr3(v) % 4096) !== 0 || !is_long_mode(v)) return 1;
  }
  v.ops.set_cr4(cr4);
  if ((cr4 ^ old) & (CR4_PGE | CR4_PSE | CR4_PAE | CR4_SMEP | CR4_PCIDE)) v.arch.requests |= KVM_REQ_LOAD_MMU_PGD | KVM_REQ_TLB_FLUSH_GUEST;
  return 0;
}

/** kvm_set_cr3 (only reached with CR3 exiting: unrestricted guest off and paging off). */
export function kvm_set_cr3(v: KvmVcpu, cr3: number): number {
  if (is_long_mode(v) && cr3 >= 2 ** 52) return 1;
  if (is_pae(v) && is_paging(v) && !is_long_mode(v) && !load_pdptrs(v, cr3)) return 1;
  v.arch.cr3 = cr3;
  kvm_register_mark_dirty(v, VCPU_EXREG_CR3);
  v.arch.requests |= KVM_REQ_LOAD_MMU_PGD;
  return 0;
}

export function kvm_set_cr8(v: KvmVcpu, cr8: number): number {
  if (cr8 & ~0xf) return 1;
  v.arch.cr8 = cr8;
  if (v.lapic) v.lapic.setTpr(cr8 << 4);
  return 0;
}
export function kvm_get_cr8(v: KvmVcpu): number {
  return v.lapic ? v.lapic.getTpr() >> 4 : v.arch.cr8;
}

/** kvm_set_dr: 0 ok, 1 for #GP. */
export function kvm_set_dr(v: KvmVcpu, dr: number, val: number): number {
  const a = v.arch;
  switch (dr) {
    case 0: case 1: case 2: case 3: a.db[dr] = val; v.cpu.dr[dr] = val; v.cpu.slow = true; return 0;
    case 4: case 6:
      if (val >= 4294967296) return 1;
      a.dr6 = ((val | 0xffff0ff0) & ~0x1000) >>> 0; v.cpu.dr6 = a.dr6; return 0;
    default:
      if (val >= 4294967296) return 1;
      a.dr7 = ((val | 0x400) & ~0xd800) >>> 0; v.ops.set_dr7(a.dr7); return 0;
  }
}
export function kvm_get_dr(v: KvmVcpu, dr: number): number {
  const a = v.arch;
  switch (dr) {
    case 0: case 1: case 2: case 3: return a.db[dr];
    case 4: case 6: return a.dr6;
    default: return a.dr7;
  }
}

/** __kvm_set_xcr: XCR0 only, x87 set, AVX needs SSE, supported bits x87|SSE. */
export function kvm_set_xcr(v: KvmVcpu, index: number, lo: number, hi: number): number {
  if (index !== 0 || hi !== 0) return 1;
  if (!(lo & 1) || (lo & ~3)) return 1;
  v.arch.xcr0 = lo;
  v.cpu.xcr0 = lo;
  return 0;
}

/** kvm_emulate_xsetbv. */
export function kvm_emulate_xsetbv(v: KvmVcpu): number {
  if (v.ops.get_cpl() !== 0 || kvm_set_xcr(v, kvm_gpr_read32(v, VCPU_REGS_RCX), v.arch.regs[0], v.arch.regs[4])) {
    kvm_inject_gp(v, 0);
    return 1;
  }
  return kvm_skip_emulated_instruction(v);
}

/** kvm_valid_efer + set_efer checks (x86.c __kvm_valid_efer, set_efer). */
export function kvm_set_efer_msr(v: KvmVcpu, efer: number, hostInitiated: boolean): number {
  let valid = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
  if (v.vm.vendor === 'amd') valid |= EFER_SVME;
  if (efer & ~valid) return 1;
  if (!hostInitiated) {
    if ((efer & EFER_LME) && !v.guestCpuidHas(0x80000001, 'edx', 29)) return 1;
    if ((efer & EFER_NXE) && !v.guestCpuidHas(0x80000001, 'edx', 20)) return 1;
    if (is_paging(v) && ((v.arch.efer ^ efer) & EFER_LME)) return 1;
    efer = (efer & ~EFER_LMA) | (v.arch.efer & EFER_LMA);
  }
  const old = v.arch.efer;
  if (v.ops.set_efer(efer)) return 1;
  if ((old ^ efer) & EFER_NXE) v.arch.requests |= KVM_REQ_LOAD_MMU_PGD;
  return 0;
}

/** The guest's linear RIP (kvm_get_linear_rip): CS.base + RIP outside 64-bit mode. */
export function kvm_get_linear_rip(v: KvmVcpu): number {
  const rip = kvm_rip_read(v);
  if (is_64_bit_mode(v)) return rip;
  return (v.cpu.seg[1].base + rip) >>> 0;
}

export { kvm_register_mark_available };
