// Nested VMX (arch/x86/kvm/vmx/nested.c): VMX for an L1 hypervisor. VMXON/VMXOFF, the current
// vmcs12 (VMPTRLD/VMCLEAR/VMPTRST/VMREAD/VMWRITE), VMLAUNCH/VMRESUME with KVM's consistency
// checks, vmcs02 built from vmcs01 and vmcs12 (prepare_vmcs02), L2 running on the same processor,
// and exits from L2 either handled by L0 or reflected to L1 (nested_vmx_reflect_vmexit,
// nested_vmx_vmexit, prepare_vmcs12, load_vmcs12_host_state). vmcs01 is the VMCS L0 runs L1 with;
// while L2 runs, vmcs02 is current and vmcs01's guest state (L1's) rests in its own store.
import type { KvmVcpu } from '../vcpu';
import type { Vmx } from './vmx';
import type { KvmNestedOps, NestedView, ControlBlockField } from '../x86_ops';
import { vmcsFieldName } from './vmcs_names';
import * as F from './vmcs_fields';
import { Vmcs } from './vmcs';
import { Vmcs12, VMCS12_REVISION, VMCS12_SIZE, VMCS12_LAUNCH_STATE_OFFSET, VMCS12_FIELDS, vmcs12FieldSlot } from './vmcs12';
import {
  nested_vmx_setup_ctls_msrs, vmx_get_vmx_msr, vmx_control_verify, fixed_bits_valid, MSR_IA32_FEAT_CTL,
  FEAT_CTL_LOCKED, FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX, FEAT_CTL_VMX_ENABLED_INSIDE_SMX, VM_EXIT_ACK_INTR_ON_EXIT,
  VM_ENTRY_LOAD_DEBUG_CONTROLS, SECONDARY_EXEC_DESC, SECONDARY_EXEC_RDRAND_EXITING, SECONDARY_EXEC_RDSEED_EXITING,
  SECONDARY_EXEC_WBINVD_EXITING, type NestedVmxMsrs, type MsrHalves,
} from './nested_msrs';
import { vmxExitHandlers } from './vmx_exit_handlers';
import {
  EXIT_REASON_CPUID, EXIT_REASON_CR_ACCESS, EXIT_REASON_DR_ACCESS, EXIT_REASON_EPT_MISCONFIG, EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_GDTR_IDTR, EXIT_REASON_HLT,
  EXIT_REASON_INIT_SIGNAL, EXIT_REASON_INTERRUPT_WINDOW, EXIT_REASON_INVALID_STATE, EXIT_REASON_INVD,
  EXIT_REASON_INVEPT, EXIT_REASON_INVLPG, EXIT_REASON_INVVPID, EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_LDTR_TR,
  EXIT_REASON_MCE_DURING_VMENTRY, EXIT_REASON_MONITOR_INSTRUCTION, EXIT_REASON_MONITOR_TRAP_FLAG, EXIT_REASON_MSR_LOAD_FAIL,
  EXIT_REASON_MSR_READ, EXIT_REASON_MSR_WRITE, EXIT_REASON_MWAIT_INSTRUCTION, EXIT_REASON_NMI_WINDOW,
  EXIT_REASON_NOTIFY, EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_RDPMC, EXIT_REASON_RDRAND, EXIT_REASON_RDSEED,
  EXIT_REASON_RDTSC, EXIT_REASON_RDTSCP, EXIT_REASON_TASK_SWITCH, EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_VMCALL,
  EXIT_REASON_VMCLEAR, EXIT_REASON_VMFUNC, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMOFF, EXIT_REASON_VMON,
  EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE,
  EXIT_REASON_WBINVD, EXIT_REASON_XSETBV, EXIT_REASON_NAMES, HW_UNEMULATED, HW_EMULATOR_USERSPACE,
} from '../../cpu/exits';
import {
  kvm_queue_exception, kvm_inject_gp, kvm_inject_page_fault, kvm_skip_emulated_instruction, is_64_bit_mode,
  is_long_mode, load_pdptrs,
} from '../x86/x86';
import {
  kvm_register_read, kvm_register_write_raw, kvm_read_cr0, kvm_read_cr4, kvm_rip_write, kvm_rsp_write, kvm_rip_read,
  kvm_rsp_read, kvm_register_mark_available, VCPU_EXREG_CR3, VCPU_EXREG_SEGMENTS, KVM_POSSIBLE_CR0_GUEST_BITS,
  KVM_POSSIBLE_CR4_GUEST_BITS, kvm_read_cr3,
} from '../x86/kvm_cache_regs';
import { kvm_get_msr, kvm_set_msr } from '../x86/msr';
import { ACC_USER, ACC_WRITE } from '../../cpu/mmu';
import { CR0_PG, CR4_PAE, CR4_VMXE, EFER_LMA, EFER_LME } from '../../cpu/state';
import { UD_VECTOR } from '../uapi';
import { kvm_cpu_has_interrupt } from '../x86/run';

const TWO32 = 4294967296;
const INVALID_GPA = -1;
const MSR_IA32_DEBUGCTLMSR = 0x1d9;
/** Exit-log bounds: reasons counted (76: NOTIFY is 75) and exits kept. */
const EXIT_LOG_REASONS = 76, EXIT_LOG_SIZE = 1024;
/** kvm_valid_efer on Intel: SCE, LME, LMA, NXE. */
const EFER_VALID = 0x1 | 0x100 | 0x400 | 0x800;

/** VM-instruction error numbers (SDM Vol. 3C 31.4; asm/vmx.h enum vm_instruction_error_number). */
export const VMXERR_VMCLEAR_INVALID_ADDRESS = 2, VMXERR_VMCLEAR_VMXON_POINTER = 3, VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4,
  VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5, VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7, VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8,
  VMXERR_VMPTRLD_INVALID_ADDRESS = 9, VMXERR_VMPTRLD_VMXON_POINTER = 10, VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID = 11,
  VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12, VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT = 13,
  VMXERR_VMXON_IN_VMX_ROOT_OPERATION = 15, VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26;
/** Exit qualifications of a failed VM entry (SDM 27.8): default, VMCS link pointer. */
const ENTRY_FAIL_DEFAULT = 0, ENTRY_FAIL_PDPTE = 2, ENTRY_FAIL_VMCS_LINK_PTR = 4;
/** RFLAGS arithmetic flags VMsucceed/VMfail set or clear: CF PF AF ZF SF OF. */
const X86_EFLAGS_CF = 0x1, X86_EFLAGS_ZF = 0x40, VMX_FLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800;

/** kvm_pat_valid: every entry of a PAT value is a memory type (0, 1, 4, 5, 6 or 7). */
function pat_valid(c12: Vmcs12, enc: number): boolean {
  const s = vmcs12FieldSlot(enc)!.slot;
  for (const half of [c12.lo[s], c12.hi[s]]) {
    for (let k = 0; k < 4; k++) { const t = (half >>> (8 * k)) & 0xff; if (t === 2 || t === 3 || t > 7) return false; }
  }
  return true;
}

/** Per-level exit statistics (the debugger's split). */
export interface NestedStats {
  /** VM entries to L2 (VMLAUNCH/VMRESUME that entered). */
  nestedEntries: number;
  /** Exits from L2 reflected to L1, and handled by L0, by basic exit reason name. */
  reflected: Record<string, number>;
  l0Handled: Record<string, number>;
}

/** struct nested_vmx. */
export class NestedVmx implements KvmNestedOps {
  vmxon = false;
  vmxon_ptr = INVALID_GPA;
  current_vmptr = INVALID_GPA;
  cached_vmcs12: Vmcs12 | null = null;
  guest_mode = false;
  nested_run_pending = false;
  /** vmx->msr_ia32_feature_control and its valid bits. */
  msr_ia32_feature_control = 0;
  readonly msrs: NestedVmxMsrs = nested_vmx_setup_ctls_msrs();
  vmcs02: Vmcs | null = null;
  /** L1's CR0/CR4 guest-owned bits while L2 runs (restored at nested VM exit). */
  private l1Cr0Owned = 0;
  private l1Cr4Owned = 0;
  private nestedEntries = 0;
  /** Exits from L2 by basic reason: reflected to L1 / handled by L0 (typed arrays: no allocation per exit). */
  private readonly reflectedCount = new Uint32Array(EXIT_LOG_REASONS);
  private readonly l0Count = new Uint32Array(EXIT_LOG_REASONS);
  /** The last EXIT_LOG_SIZE exits from L2: basic reason, bit 15 set when reflected to L1 (a ring). */
  private readonly ring = new Uint16Array(EXIT_LOG_SIZE);
  private ringNext = 0;
  private ringCount = 0;

  constructor(readonly vmx: Vmx) {}

  get v(): KvmVcpu { return this.vmx.v; }
  get enabled(): boolean { return this.v.vm.options.nested; }
  is_guest_mode(): boolean { return this.guest_mode; }
  get level(): number { return this.guest_mode ? 2 : 1; }
  private vmcs12(): Vmcs12 { return this.cached_vmcs12 as Vmcs12; }

  // ------------------------------------------------------------------ MSRs, CR4

  /** nested_vmx_allowed: nested on and VMX in the guest's CPUID. */
  nested_vmx_allowed(): boolean { return this.enabled && this.v.guestCpuidHas(1, 'ecx', 5); }
  cr4_vmxe_allowed(): boolean { return this.nested_vmx_allowed(); }
  /** vmx_is_valid_cr4: in VMX operation CR4 must keep the fixed bits (VMXE). */
  is_valid_cr4(cr4: number): boolean {
    if (this.vmxon && !fixed_bits_valid(cr4, this.msrs.cr4_fixed0, this.msrs.cr4_fixed1)) return false;
    return true;
  }

  private readonly halves: MsrHalves = { lo: 0, hi: 0 };
  get_msr(msr: number, hostInitiated: boolean): number {
    const v = this.v;
    if (msr === MSR_IA32_FEAT_CTL) {
      if (!hostInitiated && !this.nested_vmx_allowed()) return 1;
      v.msrValue = this.msr_ia32_feature_control;
      return 0;
    }
    // vmx_get_msr: the VMX capability MSRs exist only for a guest with VMX in its CPUID.
    if (!this.nested_vmx_allowed() && !(hostInitiated && this.enabled)) return 1;
    if (!vmx_get_vmx_msr(this.msrs, msr, this.halves)) return 1;
    v.msrExact = true; v.msrLo = this.halves.lo; v.msrHi = this.halves.hi;
    v.msrValue = this.halves.hi * TWO32 + this.halves.lo;
    return 0;
  }
  set_msr(msr: number, lo: number, hi: number, hostInitiated: boolean): number {
    if (msr === MSR_IA32_FEAT_CTL) {
      // vmx_feature_control_msr_valid: only the bits KVM lets the guest set; locked is read-only to it.
      const valid = FEAT_CTL_LOCKED | (this.nested_vmx_allowed() ? FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX | FEAT_CTL_VMX_ENABLED_INSIDE_SMX : 0);
      if (hi !== 0 || (lo & ~valid)) return 1;
      if (!hostInitiated && (this.msr_ia32_feature_control & FEAT_CTL_LOCKED)) return 1;
      this.msr_ia32_feature_control = lo >>> 0;
      if (hostInitiated && lo === 0) this.leave_nested();
      return 0;
    }
    // The capability MSRs are read-only to the guest; userspace may only restore the same values.
    if (!hostInitiated) return 1;
    if (!vmx_get_vmx_msr(this.msrs, msr, this.halves)) return 1;
    return this.halves.lo === (lo >>> 0) && this.halves.hi === (hi >>> 0) ? 0 : 1;
  }

  // ------------------------------------------------------------------ VMsucceed / VMfail

  private setFlags(set: number): void {
    const ops = this.vmx;
    ops.set_rflags(((ops.get_rflags() & ~VMX_FLAGS) | set) >>> 0);
  }
  /** nested_vmx_succeed. */
  nested_vmx_succeed(): number { this.setFlags(0); return kvm_skip_emulated_instruction(this.v); }
  /** nested_vmx_failInvalid: CF. */
  nested_vmx_failInvalid(): number { this.setFlags(X86_EFLAGS_CF); return kvm_skip_emulated_instruction(this.v); }
  /** nested_vmx_failValid: ZF and VM_INSTRUCTION_ERROR in the current vmcs12. */
  nested_vmx_failValid(err: number): number {
    this.setFlags(X86_EFLAGS_ZF);
    this.vmcs12().set(F.VM_INSTRUCTION_ERROR, err);
    return kvm_skip_emulated_instruction(this.v);
  }
  /** nested_vmx_fail: failInvalid without a current VMCS, else failValid. */
  nested_vmx_fail(err: number): number {
    return this.current_vmptr === INVALID_GPA ? this.nested_vmx_failInvalid() : this.nested_vmx_failValid(err);
  }

  // ------------------------------------------------------------------ operands

  private maxPhyAddr(): number { return this.v.cpuid_maxphyaddr(); }
  /** page_address_valid: 4 KiB aligned and below MAXPHYADDR. */
  private page_address_valid(gpa: number): boolean {
    return gpa >= 0 && gpa % 4096 === 0 && gpa < 2 ** this.maxPhyAddr();
  }

  /** get_vmx_mem_address: the linear address of a VMX instruction's memory operand (SDM 28.2.5). */
  private get_vmx_mem_address(qual: number, info: number): number {
    const v = this.v;
    const scaling = info & 3, addrSize = (info >> 7) & 7, seg = (info >> 15) & 7;
    const index = (info >> 18) & 15, indexInvalid = (info >> 22) & 1, base = (info >> 23) & 15, baseInvalid = (info >> 27) & 1;
    let off = qual;
    if (!baseInvalid) off += kvm_register_read(v, base);
    if (!indexInvalid) off += kvm_register_read(v, index) * (1 << scaling);
    if (addrSize === 1) off = off >>> 0;
    else if (addrSize === 0) off &= 0xffff;
    else if (off < 0) off += 2 ** 64;
    else if (off >= 2 ** 64) off -= 2 ** 64;
    // 64-bit mode: only FS and GS have a base; elsewhere the segment base applies.
    if (!is_64_bit_mode(v) || seg === 4 || seg === 5) off += v.cpu.seg[seg].base;
    if (!is_64_bit_mode(v)) off = off >>> 0;
    return off;
  }

  /** Read or write `len` bytes at a linear address through L1's page tables; false after injecting #PF. */
  private guestAccess(lin: number, buf: Uint8Array, write: boolean): boolean {
    const c = this.v.cpu;
    const acc = (write ? ACC_WRITE : 0) | (c.cpl === 3 ? ACC_USER : 0);
    for (let k = 0; k < buf.length; k++) {
      const gpa = c.tryTranslate(lin + k, acc);
      if (gpa < 0) { kvm_inject_page_fault(this.v, c.pfAddr, c.pfError); return false; }
      if (write) this.v.vm.bus.writeByte(gpa, buf[k]); else buf[k] = this.v.vm.bus.readByte(gpa);
    }
    return true;
  }
  /** nested_vmx_get_vmptr: the 64-bit operand of VMXON/VMPTRLD/VMCLEAR; null after an exception. */
  private nested_vmx_get_vmptr(): number | null {
    const m = this.vmx.vmcs;
    const lin = this.get_vmx_mem_address(this.vmx.get_exit_qual(), m.read(F.VMX_INSTRUCTION_INFO) | 0);
    const b = new Uint8Array(8);
    if (!this.guestAccess(lin, b, false)) return null;
    const dv = new DataView(b.buffer);
    return dv.getUint32(4, true) * TWO32 + dv.getUint32(0, true);
  }

  /** nested_vmx_check_permission: #UD outside VMX operation, #GP(0) at CPL > 0. */
  private nested_vmx_check_permission(): boolean {
    if (!this.vmxon) { kvm_queue_exception(this.v, UD_VECTOR); return false; }
    if (this.vmx.get_cpl() > 0) { kvm_inject_gp(this.v, 0); return false; }
    return true;
  }

  // ------------------------------------------------------------------ VMXON / VMXOFF

  /** handle_vmxon. */
  handle_vmxon(): number {
    const v = this.v;
    if (!(kvm_read_cr4(v) & CR4_VMXE)) { kvm_queue_exception(v, UD_VECTOR); return 1; }
    // CR0/CR4 must satisfy the VMX fixed bits (CR0.NE, PE, PG; CR4.VMXE) else #GP.
    if (!fixed_bits_valid(kvm_read_cr0(v), this.msrs.cr0_fixed0, this.msrs.cr0_fixed1) ||
      !fixed_bits_valid(kvm_read_cr4(v), this.msrs.cr4_fixed0, this.msrs.cr4_fixed1)) { kvm_inject_gp(v, 0); return 1; }
    if (this.vmx.get_cpl() > 0) { kvm_inject_gp(v, 0); return 1; }
    if (this.vmxon) return this.nested_vmx_fail(VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
    const need = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
    if ((this.msr_ia32_feature_control & need) !== need) { kvm_inject_gp(v, 0); return 1; }
    const vmptr = this.nested_vmx_get_vmptr();
    if (vmptr === null) return 1;
    if (!this.page_address_valid(vmptr)) return this.nested_vmx_failInvalid();
    const rev = this.v.vm.bus.read(vmptr, 4);
    if (((rev[0] | (rev[1] << 8) | (rev[2] << 16) | (rev[3] << 24)) >>> 0) !== VMCS12_REVISION) return this.nested_vmx_failInvalid();
    // enter_vmx_operation: vmcs02 is allocated now.
    this.vmcs02 = new Vmcs(v.cpu);
    this.vmxon = true;
    this.vmxon_ptr = vmptr;
    return this.nested_vmx_succeed();
  }

  /** handle_vmxoff: free_nested, then VMsucceed. */
  handle_vmxoff(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    this.free_nested();
    // An INIT latched in VMX root operation is processed now (kvm_apic_has_pending_init_or_sipi).
    if (this.v.lapic && (this.v.lapic.pendingInit || this.v.lapic.pendingSipi)) this.v.requestEvent();
    return this.nested_vmx_succeed();
  }

  /** nested_release_vmcs12: write the cached vmcs12 back to L1's memory and forget it. */
  nested_release_vmcs12(): void {
    if (this.current_vmptr === INVALID_GPA || !this.cached_vmcs12) return;
    this.v.vm.bus.write(this.current_vmptr, this.cached_vmcs12.toBytes(), false);
    this.current_vmptr = INVALID_GPA;
    this.cached_vmcs12 = null;
  }

  /** free_nested. */
  free_nested(): void {
    if (!this.vmxon) return;
    this.vmxon = false;
    this.vmxon_ptr = INVALID_GPA;
    this.nested_release_vmcs12();
    this.vmcs02 = null;
  }

  // ------------------------------------------------------------------ VMCLEAR / VMPTRLD / VMPTRST

  /** handle_vmclear. */
  handle_vmclear(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    const vmptr = this.nested_vmx_get_vmptr();
    if (vmptr === null) return 1;
    if (!this.page_address_valid(vmptr)) return this.nested_vmx_fail(VMXERR_VMCLEAR_INVALID_ADDRESS);
    if (vmptr === this.vmxon_ptr) return this.nested_vmx_fail(VMXERR_VMCLEAR_VMXON_POINTER);
    if (vmptr === this.current_vmptr) this.nested_release_vmcs12();
    // launch_state = 0 in L1's copy (kvm_vcpu_write_guest of the launch_state offset).
    this.v.vm.bus.write(vmptr + VMCS12_LAUNCH_STATE_OFFSET, new Uint8Array(4), false);
    return this.nested_vmx_succeed();
  }

  /** handle_vmptrld. */
  handle_vmptrld(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    const vmptr = this.nested_vmx_get_vmptr();
    if (vmptr === null) return 1;
    if (!this.page_address_valid(vmptr)) return this.nested_vmx_fail(VMXERR_VMPTRLD_INVALID_ADDRESS);
    if (vmptr === this.vmxon_ptr) return this.nested_vmx_fail(VMXERR_VMPTRLD_VMXON_POINTER);
    if (vmptr !== this.current_vmptr) {
      const bytes = this.v.vm.bus.read(vmptr, VMCS12_SIZE);
      const next = Vmcs12.fromBytes(bytes);
      if (next.revisionId !== VMCS12_REVISION) return this.nested_vmx_fail(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
      this.nested_release_vmcs12();
      this.current_vmptr = vmptr;
      this.cached_vmcs12 = next;
    }
    return this.nested_vmx_succeed();
  }

  /** handle_vmptrst: store current_vmptr (all ones without one). */
  handle_vmptrst(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    const lin = this.get_vmx_mem_address(this.vmx.get_exit_qual(), this.vmx.vmcs.read(F.VMX_INSTRUCTION_INFO) | 0);
    const b = new Uint8Array(8), dv = new DataView(b.buffer);
    const p = this.current_vmptr;
    dv.setUint32(0, p === INVALID_GPA ? 0xffffffff : p >>> 0, true);
    dv.setUint32(4, p === INVALID_GPA ? 0xffffffff : Math.floor(p / TWO32) >>> 0, true);
    if (!this.guestAccess(lin, b, true)) return 1;
    return this.nested_vmx_succeed();
  }

  // ------------------------------------------------------------------ VMREAD / VMWRITE

  /** handle_vmread. */
  handle_vmread(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    const v = this.v, info = this.vmx.vmcs.read(F.VMX_INSTRUCTION_INFO) | 0;
    if (this.current_vmptr === INVALID_GPA) return this.nested_vmx_failInvalid();
    const enc = kvm_register_read(v, (info >>> 28) & 15);
    const loc = enc < TWO32 ? vmcs12FieldSlot(enc) : null;
    if (!loc) return this.nested_vmx_failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
    const c12 = this.vmcs12();
    const lo = loc.high ? c12.hi[loc.slot] : c12.lo[loc.slot];
    let hi = loc.high ? 0 : c12.hi[loc.slot];
    if (!is_64_bit_mode(v)) hi = 0;
    if (info & (1 << 10)) {
      kvm_register_write_raw(v, (info >> 3) & 15, lo | 0, hi | 0);
    } else {
      const len = is_64_bit_mode(v) ? 8 : 4;
      const b = new Uint8Array(len), dv = new DataView(b.buffer);
      dv.setUint32(0, lo >>> 0, true);
      if (len === 8) dv.setUint32(4, hi >>> 0, true);
      if (!this.guestAccess(this.get_vmx_mem_address(this.vmx.get_exit_qual(), info), b, true)) return 1;
    }
    return this.nested_vmx_succeed();
  }

  /** handle_vmwrite. */
  handle_vmwrite(): number {
    if (!this.nested_vmx_check_permission()) return 1;
    const v = this.v, info = this.vmx.vmcs.read(F.VMX_INSTRUCTION_INFO) | 0;
    if (this.current_vmptr === INVALID_GPA) return this.nested_vmx_failInvalid();
    let lo: number, hi: number;
    if (info & (1 << 10)) {
      const r = (info >> 3) & 15;
      lo = v.arch.regs[2 * r] >>> 0; hi = v.arch.regs[2 * r + 1] >>> 0;
      if (r === 4) { const x = kvm_register_read(v, 4); lo = x >>> 0; hi = Math.floor(x / TWO32) >>> 0; }
    } else {
      const len = is_64_bit_mode(v) ? 8 : 4;
      const b = new Uint8Array(len), dv = new DataView(b.buffer);
      if (!this.guestAccess(this.get_vmx_mem_address(this.vmx.get_exit_qual(), info), b, false)) return 1;
      lo = dv.getUint32(0, true); hi = len === 8 ? dv.getUint32(4, true) : 0;
    }
    if (!is_64_bit_mode(v)) hi = 0;
    const enc = kvm_register_read(v, (info >>> 28) & 15);
    const loc = enc < TWO32 ? vmcs12FieldSlot(enc) : null;
    if (!loc) return this.nested_vmx_failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
    // Exit-information fields are read-only: IA32_VMX_MISC bit 29 (VMWRITE to any field) is not advertised.
    if (F.isExitInfoField(enc)) return this.nested_vmx_failValid(VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
    const c12 = this.vmcs12();
    if (loc.high) c12.hi[loc.slot] = lo >>> 0;
    else c12.setHalves(loc.slot, enc & ~1, lo, hi);
    return this.nested_vmx_succeed();
  }

  // ------------------------------------------------------------------ VMLAUNCH / VMRESUME

  /** nested_vmx_check_controls (and the entry-control part of nested_check_vm_entry_controls). */
  private nested_vmx_check_controls(c12: Vmcs12): boolean {
    const m = this.msrs;
    const pin = c12.get32(F.PIN_BASED_VM_EXEC_CONTROL), exec = c12.get32(F.CPU_BASED_VM_EXEC_CONTROL);
    if (!vmx_control_verify(pin, m.pinbased_ctls_low, m.pinbased_ctls_high)) return false;
    if (!vmx_control_verify(exec, m.procbased_ctls_low, m.procbased_ctls_high)) return false;
    if (exec & F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
      if (!vmx_control_verify(c12.get32(F.SECONDARY_VM_EXEC_CONTROL), m.secondary_ctls_low, m.secondary_ctls_high)) return false;
    }
    if (c12.get32(F.CR3_TARGET_COUNT) > 4) return false;
    if ((exec & F.CPU_BASED_USE_IO_BITMAPS) &&
      (!this.page_address_valid(c12.get(F.IO_BITMAP_A)) || !this.page_address_valid(c12.get(F.IO_BITMAP_B)))) return false;
    if ((exec & F.CPU_BASED_USE_MSR_BITMAPS) && !this.page_address_valid(c12.get(F.MSR_BITMAP))) return false;
    // nested_vmx_check_nmi_controls: virtual NMIs need NMI exiting; NMI-window exiting needs virtual NMIs.
    if (!(pin & F.PIN_BASED_NMI_EXITING) && (pin & F.PIN_BASED_VIRTUAL_NMIS)) return false;
    if (!(pin & F.PIN_BASED_VIRTUAL_NMIS) && (exec & F.CPU_BASED_NMI_WINDOW_EXITING)) return false;
    // nested_check_vm_exit_controls / nested_check_vm_entry_controls.
    if (!vmx_control_verify(c12.get32(F.VM_EXIT_CONTROLS), m.exit_ctls_low, m.exit_ctls_high)) return false;
    if (!vmx_control_verify(c12.get32(F.VM_ENTRY_CONTROLS), m.entry_ctls_low, m.entry_ctls_high)) return false;
    // nested_vmx_check_msr_switch: the MSR areas are 16-byte aligned (and below MAXPHYADDR).
    for (const [cnt, addr] of [[F.VM_EXIT_MSR_STORE_COUNT, F.VM_EXIT_MSR_STORE_ADDR], [F.VM_EXIT_MSR_LOAD_COUNT, F.VM_EXIT_MSR_LOAD_ADDR],
      [F.VM_ENTRY_MSR_LOAD_COUNT, F.VM_ENTRY_MSR_LOAD_ADDR]]) {
      const n = c12.get32(cnt), a = c12.get(addr);
      if (n && (a % 16 !== 0 || a + 16 * n > 2 ** this.maxPhyAddr())) return false;
    }
    return this.nested_check_entry_event(c12);
  }

  /** The VM-entry interruption-information checks (SDM 27.2.1.3). */
  private nested_check_entry_event(c12: Vmcs12): boolean {
    const info = c12.get32(F.VM_ENTRY_INTR_INFO_FIELD);
    if (!(info & 0x80000000)) return true;
    const vector = info & 0xff, type = (info >> 8) & 7, hasError = (info & F.INTR_INFO_DELIVER_CODE_MASK) !== 0;
    if (info & 0x7ffff000) return false;
    if (type === 1 || type === 7) return false;
    if (type === 2 && vector !== 2) return false;
    if (type === 3 && vector > 31) return false;
    // should_have_error_code: (!unrestricted guest || CR0.PE) and a hardware exception that pushes one;
    // unrestricted guest is not offered to L1, so protected mode is implied.
    const errVector = vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21;
    if (hasError !== (type === 3 && errVector)) return false;
    if (hasError && (c12.get32(F.VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff8000)) return false;
    if ((type === 4 || type === 5 || type === 6) && (c12.get32(F.VM_ENTRY_INSTRUCTION_LEN) > 15 ||
      (c12.get32(F.VM_ENTRY_INSTRUCTION_LEN) === 0))) return false;
    return true;
  }

  private canonical(x: number): boolean { return x < 2 ** 47 || (x >= 2 ** 64 - 2 ** 47); }

  /** nested_vmx_check_host_state. */
  private nested_vmx_check_host_state(c12: Vmcs12): boolean {
    const m = this.msrs, exitCtl = c12.get32(F.VM_EXIT_CONTROLS);
    const hi = (f: number) => c12.hi[vmcs12FieldSlot(f)!.slot];
    if (!fixed_bits_valid(c12.get32(F.HOST_CR0), m.cr0_fixed0, m.cr0_fixed1) || hi(F.HOST_CR0)) return false;
    if (!fixed_bits_valid(c12.get32(F.HOST_CR4), m.cr4_fixed0, m.cr4_fixed1) || c12.hi[vmcs12FieldSlot(F.HOST_CR4)!.slot]) return false;
    if (c12.get(F.HOST_CR3) >= 2 ** this.maxPhyAddr()) return false;
    const ia32e = (exitCtl & F.VM_EXIT_HOST_ADDR_SPACE_SIZE) !== 0;
    if (ia32e !== is_long_mode(this.v)) return false;
    if (ia32e && !(c12.get32(F.HOST_CR4) & CR4_PAE)) return false;
    if (!ia32e && (c12.get32(F.VM_ENTRY_CONTROLS) & F.VM_ENTRY_IA32E_MODE)) return false;
    for (const f of [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR,
      F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR]) if (c12.get32(f) & 7) return false;
    if (c12.get32(F.HOST_CS_SELECTOR) === 0 || c12.get32(F.HOST_TR_SELECTOR) === 0) return false;
    if (!ia32e && c12.get32(F.HOST_SS_SELECTOR) === 0) return false;
    for (const f of [F.HOST_FS_BASE, F.HOST_GS_BASE, F.HOST_GDTR_BASE, F.HOST_IDTR_BASE, F.HOST_TR_BASE,
      F.HOST_IA32_SYSENTER_ESP, F.HOST_IA32_SYSENTER_EIP, F.HOST_RIP]) if (!this.canonical(c12.get(f))) return false;
    if ((exitCtl & F.VM_EXIT_LOAD_IA32_PAT) && !pat_valid(c12, F.HOST_IA32_PAT)) return false;
    if (exitCtl & F.VM_EXIT_LOAD_IA32_EFER) {
      const efer = c12.get(F.HOST_IA32_EFER);
      if ((efer & ~EFER_VALID) || hi(F.HOST_IA32_EFER)) return false;
      if (((efer & EFER_LMA) !== 0) !== ia32e || ((efer & EFER_LME) !== 0) !== ia32e) return false;
    }
    return true;
  }

  /** nested_vmx_check_guest_state: 0 ok, else the exit qualification of the failed entry + 1. */
  private nested_vmx_check_guest_state(c12: Vmcs12): number {
    const m = this.msrs, entry = c12.get32(F.VM_ENTRY_CONTROLS);
    const cr0 = c12.get32(F.GUEST_CR0), cr4 = c12.get32(F.GUEST_CR4);
    if (!fixed_bits_valid(cr0, m.cr0_fixed0, m.cr0_fixed1) || !fixed_bits_valid(cr4, m.cr4_fixed0, m.cr4_fixed1)) return ENTRY_FAIL_DEFAULT + 1;
    if (c12.hi[vmcs12FieldSlot(F.GUEST_CR0)!.slot] || c12.hi[vmcs12FieldSlot(F.GUEST_CR4)!.slot]) return ENTRY_FAIL_DEFAULT + 1;
    // nested_vmx_check_vmcs_link_ptr: without shadow VMCS the link pointer must be all ones.
    const s = vmcs12FieldSlot(F.VMCS_LINK_POINTER)!.slot;
    if (c12.lo[s] !== 0xffffffff || c12.hi[s] !== 0xffffffff) return ENTRY_FAIL_VMCS_LINK_PTR + 1;
    const ia32e = (entry & F.VM_ENTRY_IA32E_MODE) !== 0;
    if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE))) return ENTRY_FAIL_DEFAULT + 1;
    if ((entry & F.VM_ENTRY_LOAD_IA32_PAT) && !pat_valid(c12, F.GUEST_IA32_PAT)) return ENTRY_FAIL_DEFAULT + 1;
    if ((entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) && c12.hi[vmcs12FieldSlot(F.GUEST_DR7)!.slot]) return ENTRY_FAIL_DEFAULT + 1;
    if (!this.canonical(c12.get(F.GUEST_SYSENTER_ESP)) || !this.canonical(c12.get(F.GUEST_SYSENTER_EIP))) return ENTRY_FAIL_DEFAULT + 1;
    if (entry & F.VM_ENTRY_LOAD_IA32_EFER) {
      const efer = c12.get(F.GUEST_IA32_EFER);
      if ((efer & ~EFER_VALID) || c12.hi[vmcs12FieldSlot(F.GUEST_IA32_EFER)!.slot]) return ENTRY_FAIL_DEFAULT + 1;
      if (((efer & EFER_LMA) !== 0) !== ia32e) return ENTRY_FAIL_DEFAULT + 1;
      if ((cr0 & CR0_PG) && ((efer & EFER_LMA) !== 0) !== ((efer & EFER_LME) !== 0)) return ENTRY_FAIL_DEFAULT + 1;
    }
    const act = c12.get32(F.GUEST_ACTIVITY_STATE);
    if (act !== F.GUEST_ACTIVITY_ACTIVE && act !== F.GUEST_ACTIVITY_HLT) return ENTRY_FAIL_DEFAULT + 1;
    if (!this.canonical(c12.get(F.GUEST_RIP)) && ia32e) return ENTRY_FAIL_DEFAULT + 1;
    if ((c12.get32(F.GUEST_RFLAGS) & 2) === 0 || c12.hi[vmcs12FieldSlot(F.GUEST_RFLAGS)!.slot]) return ENTRY_FAIL_DEFAULT + 1;
    if (!this.check_guest_segments(c12, ia32e)) return ENTRY_FAIL_DEFAULT + 1;
    // nested_vmx_load_cr3: CR3 within MAXPHYADDR; with PAE paging outside long mode the PDPTEs must be valid.
    const cr3 = c12.get(F.GUEST_CR3);
    if (cr3 >= 2 ** this.maxPhyAddr()) return ENTRY_FAIL_DEFAULT + 1;
    if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !ia32e && !this.pdptes_valid(cr3)) return ENTRY_FAIL_PDPTE + 1;
    return 0;
  }

  /** The four PAE PDPTEs at CR3: present entries have no reserved bits (SDM 4.4.1). */
  private pdptes_valid(cr3: number): boolean {
    const b = this.v.vm.bus.read((cr3 >>> 0) & 0xffffffe0, 32), dv = new DataView(b.buffer, b.byteOffset, 32);
    const hiMask = ~((2 ** (this.maxPhyAddr() - 32)) - 1);
    for (let k = 0; k < 4; k++) {
      const lo = dv.getUint32(8 * k, true), hi = dv.getUint32(8 * k + 4, true);
      if ((lo & 1) && ((lo & 0x1e6) || (hi & hiMask))) return false;
    }
    return true;
  }

  /**
   * The segment-register and descriptor-table checks of SDM 27.3.1.2-27.3.1.3 (the processor makes
   * them on vmcs02 in KVM; this model's processor does not, so they are made here).
   */
  private check_guest_segments(c12: Vmcs12, ia32e: boolean): boolean {
    const sel = (s: number) => c12.get32(F.SEG_SELECTOR[s]), ar = (s: number) => c12.get32(F.SEG_AR[s]);
    const baseHi = (s: number) => c12.hi[vmcs12FieldSlot(F.SEG_BASE[s])!.slot];
    const usable = (s: number) => (ar(s) & 0x10000) === 0;
    const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
    // Selectors: TR and a usable LDTR in the GDT; SS.RPL = CS.RPL (no unrestricted guest).
    if (sel(TR) & 4) return false;
    if (usable(LDTR) && (sel(LDTR) & 4)) return false;
    if ((sel(SS) & 3) !== (sel(CS) & 3)) return false;
    // Bases: TR, FS, GS, a usable LDTR canonical; CS and usable SS/DS/ES bits 63:32 clear.
    for (const s of [TR, FS, GS]) if (!this.canonical(c12.get(F.SEG_BASE[s]))) return false;
    if (usable(LDTR) && !this.canonical(c12.get(F.SEG_BASE[LDTR]))) return false;
    if (baseHi(CS)) return false;
    for (const s of [SS, DS, ES]) if (usable(s) && baseHi(s)) return false;
    // Access rights and limits of usable segments.
    const limitOk = (s: number) => {
      const l = c12.get32(F.SEG_LIMIT[s]) >>> 0, g = (ar(s) >> 15) & 1;
      return ((l & 0xfff) === 0xfff || !g) && ((l >>> 20) === 0 || g === 1);
    };
    for (const s of [ES, CS, SS, DS, FS, GS]) {
      if (!usable(s) && s !== CS) continue;
      const a = ar(s);
      if ((a & 0xf00) || (a & 0xfffe0000) || !(a & 0x10) || !(a & 0x80) || !limitOk(s)) return false;
    }
    const cs = ar(CS), csType = cs & 15;
    if (csType !== 9 && csType !== 11 && csType !== 13 && csType !== 15) return false;
    if (ia32e && (cs & 0x2000) && (cs & 0x4000)) return false;
    const tr = ar(TR);
    if (!usable(TR) || (tr & 0x10) || !(tr & 0x80) || (tr & 0xf00) || (tr & 0xfffe0000) || !limitOk(TR)) return false;
    if ((tr & 15) !== 11 && (ia32e || (tr & 15) !== 3)) return false;
    if (usable(LDTR)) {
      const l = ar(LDTR);
      if ((l & 15) !== 2 || (l & 0x10) || !(l & 0x80) || (l & 0xf00) || (l & 0xfffe0000) || !limitOk(LDTR)) return false;
    }
    // GDTR/IDTR: canonical bases, limits up to 0xffff.
    if (!this.canonical(c12.get(F.GUEST_GDTR_BASE)) || !this.canonical(c12.get(F.GUEST_IDTR_BASE))) return false;
    if ((c12.get32(F.GUEST_GDTR_LIMIT) >>> 16) || (c12.get32(F.GUEST_IDTR_LIMIT) >>> 16)) return false;
    return true;
  }

  /** handle_vmlaunch / handle_vmresume: nested_vmx_run. */
  nested_vmx_run(launch: boolean): number {
    if (!this.nested_vmx_check_permission()) return 1;
    if (this.current_vmptr === INVALID_GPA) return this.nested_vmx_failInvalid();
    const c12 = this.vmcs12();
    if (this.vmx.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) & F.GUEST_INTR_STATE_MOV_SS) {
      return this.nested_vmx_failValid(VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
    }
    if (launch && c12.launchState) return this.nested_vmx_failValid(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
    if (!launch && !c12.launchState) return this.nested_vmx_failValid(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
    if (!this.nested_vmx_check_controls(c12)) return this.nested_vmx_failValid(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
    if (!this.nested_vmx_check_host_state(c12)) return this.nested_vmx_failValid(VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
    const g = this.nested_vmx_check_guest_state(c12);
    if (g) {
      // A VM exit for a failed entry: L1 continues at its host RIP (nested_vmx_enter_non_root_mode's vmentry_fail_vmexit).
      this.load_vmcs12_host_state(c12);
      c12.set(F.VM_EXIT_REASON, (EXIT_REASON_INVALID_STATE | F.VMX_EXIT_REASONS_FAILED_VMENTRY) >>> 0);
      c12.set(F.EXIT_QUALIFICATION, g - 1);
      this.logExit(2, EXIT_REASON_INVALID_STATE, 'L1');
      return 1;
    }
    this.nested_vmx_enter_non_root_mode(c12);
    // nested_vmx_load_msr: the VM-entry MSR-load area; a failure is a failed entry (SDM 27.4).
    const failed = this.nested_vmx_load_msr(c12.get(F.VM_ENTRY_MSR_LOAD_ADDR), c12.get32(F.VM_ENTRY_MSR_LOAD_COUNT));
    if (failed) {
      this.logExit(2, EXIT_REASON_MSR_LOAD_FAIL, 'L1');
      this.nested_vmx_vmexit((EXIT_REASON_MSR_LOAD_FAIL | F.VMX_EXIT_REASONS_FAILED_VMENTRY) >>> 0, 0, failed);
      return 1;
    }
    if (launch) c12.launchState = 1;
    this.nested_run_pending = true;
    this.nestedEntries++;
    return 1;
  }

  /** nested_vmx_enter_non_root_mode: switch to vmcs02 and load L2's state. */
  private nested_vmx_enter_non_root_mode(c12: Vmcs12): void {
    const vmx = this.vmx, a = this.v.arch;
    const vmcs01 = vmx.vmcs;
    this.l1Cr0Owned = a.cr0_guest_owned_bits;
    this.l1Cr4Owned = a.cr4_guest_owned_bits;
    if (!this.vmcs02) this.vmcs02 = new Vmcs(this.v.cpu);
    const vmcs02 = this.vmcs02;
    this.prepare_vmcs02_early(vmcs01, vmcs02, c12);
    vmcs02.inheritGuestState(vmcs01);
    vmx.switch_vmcs(vmcs02);
    this.guest_mode = true;
    this.prepare_vmcs02(vmcs02, c12);
  }

  /** nested_vmx_load_msr: 0, or the 1-based index of the entry that failed. */
  private nested_vmx_load_msr(gpa: number, count: number): number {
    const bus = this.v.vm.bus;
    for (let k = 0; k < count; k++) {
      const e = bus.read(gpa + 16 * k, 16), dv = new DataView(e.buffer, e.byteOffset, 16);
      const index = dv.getUint32(0, true);
      // nested_vmx_msr_check_common: reserved field, x2APIC MSRs, FS/GS base and SMM monitor are refused.
      if (dv.getUint32(4, true) !== 0 || (index >>> 8) === 0x8 || index === 0xc0000100 || index === 0xc0000101 ||
        index === 0x9b || kvm_set_msr(this.v, index, dv.getUint32(8, true), dv.getUint32(12, true), false) !== 0) return k + 1;
    }
    return 0;
  }
  /** nested_vmx_store_msr: the VM-exit MSR-store area (entries that cannot be read are left). */
  private nested_vmx_store_msr(gpa: number, count: number): void {
    const bus = this.v.vm.bus, v = this.v;
    for (let k = 0; k < count; k++) {
      const e = bus.read(gpa + 16 * k, 8), index = new DataView(e.buffer, e.byteOffset, 8).getUint32(0, true);
      if (kvm_get_msr(v, index, true) !== 0) continue;
      const b = new Uint8Array(8), dv = new DataView(b.buffer);
      dv.setUint32(0, v.msrExact ? v.msrLo : v.msrValue >>> 0, true);
      dv.setUint32(4, v.msrExact ? v.msrHi : Math.floor(v.msrValue / TWO32) >>> 0, true);
      bus.write(gpa + 16 * k + 8, b, false);
    }
  }

  /** prepare_vmcs02_early / prepare_vmcs02_constant_state: the controls of vmcs02. */
  private prepare_vmcs02_early(vmcs01: Vmcs, vmcs02: Vmcs, c12: Vmcs12): void {
    const w = (f: number, val: number) => vmcs02.write(f, val);
    w(F.VMCS_LINK_POINTER, -1);
    w(F.PIN_BASED_VM_EXEC_CONTROL, (vmcs01.peek(F.PIN_BASED_VM_EXEC_CONTROL) | c12.get32(F.PIN_BASED_VM_EXEC_CONTROL)) >>> 0);
    let exec = vmcs01.peek(F.CPU_BASED_VM_EXEC_CONTROL) | 0;
    exec &= ~(F.CPU_BASED_INTR_WINDOW_EXITING | F.CPU_BASED_NMI_WINDOW_EXITING | F.CPU_BASED_TPR_SHADOW);
    // L0 always exits on I/O and takes every MSR access (L1's bitmaps are consulted on the exit).
    exec &= ~(F.CPU_BASED_USE_IO_BITMAPS | F.CPU_BASED_USE_MSR_BITMAPS);
    exec |= F.CPU_BASED_UNCOND_IO_EXITING;
    exec |= c12.get32(F.CPU_BASED_VM_EXEC_CONTROL) & ~(F.CPU_BASED_USE_IO_BITMAPS | F.CPU_BASED_USE_MSR_BITMAPS);
    exec |= F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    w(F.CPU_BASED_VM_EXEC_CONTROL, exec >>> 0);
    let sec = vmcs01.peek(F.SECONDARY_VM_EXEC_CONTROL) | 0;
    sec &= ~(F.SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_DESC | SECONDARY_EXEC_WBINVD_EXITING);
    if (c12.get32(F.CPU_BASED_VM_EXEC_CONTROL) & F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
      const s12 = c12.get32(F.SECONDARY_VM_EXEC_CONTROL);
      sec |= s12 & (SECONDARY_EXEC_DESC | SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_RDRAND_EXITING | SECONDARY_EXEC_RDSEED_EXITING);
      if (!(s12 & F.SECONDARY_EXEC_ENABLE_RDTSCP)) sec &= ~F.SECONDARY_EXEC_ENABLE_RDTSCP;
    } else sec &= ~F.SECONDARY_EXEC_ENABLE_RDTSCP;
    w(F.SECONDARY_VM_EXEC_CONTROL, sec >>> 0);
    // The notify window L0 set for L1 applies to L2 too (seed 004: L1 must not escape it by creating an L2).
    if (sec & F.SECONDARY_EXEC_NOTIFY_VM_EXITING) w(F.NOTIFY_WINDOW, vmcs01.peek(F.NOTIFY_WINDOW));
    w(F.EXCEPTION_BITMAP, (vmcs01.peek(F.EXCEPTION_BITMAP) | c12.get32(F.EXCEPTION_BITMAP)) >>> 0);
    w(F.PAGE_FAULT_ERROR_CODE_MASK, c12.get32(F.PAGE_FAULT_ERROR_CODE_MASK));
    w(F.PAGE_FAULT_ERROR_CODE_MATCH, c12.get32(F.PAGE_FAULT_ERROR_CODE_MATCH));
    w(F.MSR_BITMAP, vmcs01.peek(F.MSR_BITMAP));
    w(F.EPT_POINTER, vmcs01.peek(F.EPT_POINTER));
    w(F.VIRTUAL_PROCESSOR_ID, vmcs01.peek(F.VIRTUAL_PROCESSOR_ID));
    let tsc = vmcs01.peek(F.TSC_OFFSET);
    if (c12.get32(F.CPU_BASED_VM_EXEC_CONTROL) & F.CPU_BASED_USE_TSC_OFFSETTING) tsc += c12.get(F.TSC_OFFSET);
    w(F.TSC_OFFSET, tsc);
    w(F.VM_EXIT_CONTROLS, vmcs01.peek(F.VM_EXIT_CONTROLS));
    w(F.VM_ENTRY_CONTROLS, (F.VM_ENTRY_LOAD_IA32_PAT | F.VM_ENTRY_LOAD_IA32_EFER |
      (c12.get32(F.VM_ENTRY_CONTROLS) & F.VM_ENTRY_IA32E_MODE)) >>> 0);
    // Event injection L1 asked for (nested_run_pending): vmcs12's entry interruption fields.
    w(F.VM_ENTRY_INTR_INFO_FIELD, c12.get32(F.VM_ENTRY_INTR_INFO_FIELD));
    w(F.VM_ENTRY_EXCEPTION_ERROR_CODE, c12.get32(F.VM_ENTRY_EXCEPTION_ERROR_CODE));
    w(F.VM_ENTRY_INSTRUCTION_LEN, c12.get32(F.VM_ENTRY_INSTRUCTION_LEN));
    w(F.CR3_TARGET_COUNT, 0);
    for (const f of [F.HOST_CR0, F.HOST_CR3, F.HOST_CR4, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_TR_SELECTOR, F.HOST_RIP]) w(f, vmcs01.peek(f));
  }

  /** prepare_vmcs02: L2's guest state from vmcs12 into vmcs02 (the processor). */
  private prepare_vmcs02(m: Vmcs, c12: Vmcs12): void {
    const vmx = this.vmx, v = this.v, a = v.arch;
    for (let s = 0; s < 8; s++) {
      m.write(F.SEG_SELECTOR[s], c12.get32(F.SEG_SELECTOR[s]));
      m.write(F.SEG_BASE[s], c12.get(F.SEG_BASE[s]));
      m.write(F.SEG_LIMIT[s], c12.get32(F.SEG_LIMIT[s]));
      m.write(F.SEG_AR[s], c12.get32(F.SEG_AR[s]));
    }
    m.write(F.GUEST_GDTR_BASE, c12.get(F.GUEST_GDTR_BASE)); m.write(F.GUEST_GDTR_LIMIT, c12.get32(F.GUEST_GDTR_LIMIT));
    m.write(F.GUEST_IDTR_BASE, c12.get(F.GUEST_IDTR_BASE)); m.write(F.GUEST_IDTR_LIMIT, c12.get32(F.GUEST_IDTR_LIMIT));
    m.write(F.GUEST_SYSENTER_CS, c12.get32(F.GUEST_SYSENTER_CS));
    m.write(F.GUEST_SYSENTER_ESP, c12.get(F.GUEST_SYSENTER_ESP));
    m.write(F.GUEST_SYSENTER_EIP, c12.get(F.GUEST_SYSENTER_EIP));
    const entry = c12.get32(F.VM_ENTRY_CONTROLS);
    if (entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) {
      m.write(F.GUEST_DR7, c12.get(F.GUEST_DR7));
      m.write(F.GUEST_IA32_DEBUGCTL, c12.get(F.GUEST_IA32_DEBUGCTL));
      a.msrs.set(MSR_IA32_DEBUGCTLMSR, c12.get(F.GUEST_IA32_DEBUGCTL));
    }
    if (entry & F.VM_ENTRY_LOAD_IA32_PAT) {
      const s = vmcs12FieldSlot(F.GUEST_IA32_PAT)!.slot;
      a.pat[0] = c12.lo[s] | 0; a.pat[1] = c12.hi[s] | 0;
      m.write(F.GUEST_IA32_PAT, c12.get(F.GUEST_IA32_PAT));
    }
    m.write(F.GUEST_INTERRUPTIBILITY_INFO, c12.get32(F.GUEST_INTERRUPTIBILITY_INFO));
    m.write(F.GUEST_PENDING_DBG_EXCEPTIONS, c12.get(F.GUEST_PENDING_DBG_EXCEPTIONS));
    m.write(F.GUEST_ACTIVITY_STATE, c12.get32(F.GUEST_ACTIVITY_STATE));
    // nested_vmx_calc_efer.
    let efer = a.efer;
    if (entry & F.VM_ENTRY_LOAD_IA32_EFER) efer = c12.get(F.GUEST_IA32_EFER);
    else efer = (entry & F.VM_ENTRY_IA32E_MODE) ? efer | EFER_LMA | EFER_LME : efer & ~(EFER_LMA | EFER_LME);
    vmx.set_efer(efer);
    // CR0/CR4: L2's own values; the read shadows show what L1 asked L2 to see; bits L1 owns exit.
    a.cr0_guest_owned_bits = KVM_POSSIBLE_CR0_GUEST_BITS & ~c12.get32(F.CR0_GUEST_HOST_MASK);
    m.write(F.CR0_GUEST_HOST_MASK, ~a.cr0_guest_owned_bits);
    vmx.set_cr0(c12.get32(F.GUEST_CR0));
    m.write(F.CR0_READ_SHADOW, this.nested_read_cr0(c12) >>> 0);
    a.cr4_guest_owned_bits = KVM_POSSIBLE_CR4_GUEST_BITS & ~a.cr4_guest_rsvd_bits & ~c12.get32(F.CR4_GUEST_HOST_MASK);
    m.write(F.CR4_GUEST_HOST_MASK, ~a.cr4_guest_owned_bits);
    vmx.set_cr4(c12.get32(F.GUEST_CR4));
    m.write(F.CR4_READ_SHADOW, this.nested_read_cr4(c12) >>> 0);
    // nested_vmx_load_cr3.
    a.cr3 = c12.get(F.GUEST_CR3);
    m.write(F.GUEST_CR3, a.cr3);
    kvm_register_mark_available(v, VCPU_EXREG_CR3);
    if ((c12.get32(F.GUEST_CR0) & CR0_PG) && (c12.get32(F.GUEST_CR4) & CR4_PAE) && !(efer & EFER_LMA)) {
      if (load_pdptrs(v, a.cr3)) for (let k = 0; k < 4; k++) m.write(F.GUEST_PDPTR0 + 2 * k, a.pdptrs[k]);
    }
    vmx.set_rflags(c12.get(F.GUEST_RFLAGS));
    kvm_rsp_write(v, c12.get(F.GUEST_RSP));
    kvm_rip_write(v, c12.get(F.GUEST_RIP));
    m.markGuestStateSaved();
    a.regs_avail &= ~(1 << VCPU_EXREG_SEGMENTS);
    // Events L0 had queued for L1 wait until L1 runs again.
    a.exc_injected = false; a.nmi_injected = false; a.intr_injected = false;
  }

  /** nested_read_cr0 / nested_read_cr4: what L2 reads. */
  private nested_read_cr0(c12: Vmcs12): number {
    const mask = c12.get32(F.CR0_GUEST_HOST_MASK);
    return (c12.get32(F.GUEST_CR0) & ~mask) | (c12.get32(F.CR0_READ_SHADOW) & mask);
  }
  private nested_read_cr4(c12: Vmcs12): number {
    const mask = c12.get32(F.CR4_GUEST_HOST_MASK);
    return (c12.get32(F.GUEST_CR4) & ~mask) | (c12.get32(F.CR4_READ_SHADOW) & mask);
  }

  // ------------------------------------------------------------------ nested VM exit

  /**
   * nested_vmx_vmexit: prepare_vmcs12 (unless reason is -1: leaving nested without an exit), switch
   * back to vmcs01 and load L1's state from vmcs12's host-state area.
   */
  nested_vmx_vmexit(reason: number, intrInfo: number, qual: number): void {
    const vmx = this.vmx, v = this.v, c12 = this.vmcs12();
    const m02 = vmx.vmcs;
    if (reason !== -1) this.prepare_vmcs12(c12, m02, reason, intrInfo, qual);
    vmx.switch_vmcs(vmx.vmcs01);
    this.guest_mode = false;
    this.nested_run_pending = false;
    v.arch.cr0_guest_owned_bits = this.l1Cr0Owned;
    v.arch.cr4_guest_owned_bits = this.l1Cr4Owned;
    // Events L0 had for L2 went to vmcs12's IDT-vectoring information (vmcs12_save_pending_event).
    v.arch.exc_injected = false; v.arch.exc_pending = false; v.arch.nmi_injected = false; v.arch.intr_injected = false;
    this.load_vmcs12_host_state(c12);
    // VM_EXIT_ACK_INTR_ON_EXIT: the interrupt is acknowledged and its vector reported.
    if (reason === EXIT_REASON_EXTERNAL_INTERRUPT && (c12.get32(F.VM_EXIT_CONTROLS) & VM_EXIT_ACK_INTR_ON_EXIT) && v.lapic) {
      const vec = v.lapic.kvm_get_apic_interrupt();
      if (vec >= 0) c12.set(F.VM_EXIT_INTR_INFO, (vec | F.INTR_TYPE_EXT_INTR | F.INTR_INFO_VALID_MASK) >>> 0);
    }
    v.requestEvent();
  }

  /** prepare_vmcs12 / sync_vmcs02_to_vmcs12: L2's state and the exit information into vmcs12. */
  private prepare_vmcs12(c12: Vmcs12, m: Vmcs, reason: number, intrInfo: number, qual: number): void {
    const v = this.v;
    for (let s = 0; s < 8; s++) {
      c12.set(F.SEG_SELECTOR[s], m.peek(F.SEG_SELECTOR[s]));
      c12.set(F.SEG_BASE[s], m.peek(F.SEG_BASE[s]));
      c12.set(F.SEG_LIMIT[s], m.peek(F.SEG_LIMIT[s]));
      c12.set(F.SEG_AR[s], m.peek(F.SEG_AR[s]));
    }
    for (const f of [F.GUEST_GDTR_BASE, F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_BASE, F.GUEST_IDTR_LIMIT, F.GUEST_SYSENTER_CS,
      F.GUEST_SYSENTER_ESP, F.GUEST_SYSENTER_EIP, F.GUEST_PENDING_DBG_EXCEPTIONS, F.GUEST_INTERRUPTIBILITY_INFO]) c12.set(f, m.peek(f));
    // vmcs12_guest_cr0/cr4: L1-owned bits keep what L1 wrote in vmcs12.
    const cr0 = kvm_read_cr0(v), cr4 = kvm_read_cr4(v);
    const m0 = c12.get32(F.CR0_GUEST_HOST_MASK), m4 = c12.get32(F.CR4_GUEST_HOST_MASK);
    c12.set(F.GUEST_CR0, ((cr0 & ~m0) | (c12.get32(F.GUEST_CR0) & m0)) >>> 0);
    c12.set(F.GUEST_CR4, ((cr4 & ~m4) | (c12.get32(F.GUEST_CR4) & m4)) >>> 0);
    c12.set(F.GUEST_CR3, kvm_read_cr3(v));
    c12.set(F.GUEST_RSP, kvm_rsp_read(v));
    c12.set(F.GUEST_RIP, kvm_rip_read(v));
    c12.set(F.GUEST_RFLAGS, this.vmx.get_rflags());
    const act = v.cpu.halted ? F.GUEST_ACTIVITY_HLT : F.GUEST_ACTIVITY_ACTIVE;
    c12.set(F.GUEST_ACTIVITY_STATE, act);
    if (c12.get32(F.VM_EXIT_CONTROLS) & 0x4 /* SAVE_DEBUG_CONTROLS */) c12.set(F.GUEST_DR7, m.peek(F.GUEST_DR7));
    if (c12.get32(F.VM_EXIT_CONTROLS) & F.VM_EXIT_SAVE_IA32_PAT) c12.set(F.GUEST_IA32_PAT, m.peek(F.GUEST_IA32_PAT));
    if (c12.get32(F.VM_EXIT_CONTROLS) & F.VM_EXIT_SAVE_IA32_EFER) c12.set(F.GUEST_IA32_EFER, v.arch.efer);
    // The IA-32e mode guest entry control follows EFER.LMA (SDM 28.2).
    const ec = c12.get32(F.VM_ENTRY_CONTROLS);
    c12.set(F.VM_ENTRY_CONTROLS, (v.arch.efer & EFER_LMA) ? ec | F.VM_ENTRY_IA32E_MODE : ec & ~F.VM_ENTRY_IA32E_MODE);
    // Exit information.
    c12.set(F.VM_EXIT_REASON, reason >>> 0);
    c12.set(F.EXIT_QUALIFICATION, qual);
    c12.set(F.VM_EXIT_INTR_INFO, intrInfo >>> 0);
    const hw = (reason & 0xffff) === (this.vmx.exitReason & 0xffff) && !(reason & F.VMX_EXIT_REASONS_FAILED_VMENTRY);
    c12.set(F.VM_EXIT_INTR_ERROR_CODE, hw && (intrInfo & F.INTR_INFO_DELIVER_CODE_MASK) ? m.peek(F.VM_EXIT_INTR_ERROR_CODE) : 0);
    c12.set(F.VM_EXIT_INSTRUCTION_LEN, hw ? m.peek(F.VM_EXIT_INSTRUCTION_LEN) : 0);
    c12.set(F.VMX_INSTRUCTION_INFO, hw ? m.peek(F.VMX_INSTRUCTION_INFO) : 0);
    c12.set(F.GUEST_PHYSICAL_ADDRESS, 0);
    c12.set(F.GUEST_LINEAR_ADDRESS, hw ? m.peek(F.GUEST_LINEAR_ADDRESS) : 0);
    // vmcs12_save_pending_event: an event L0 was delivering to L2 (re-queued in arch) goes to IDT-vectoring info.
    const a = v.arch;
    let idt = 0, idtErr = 0;
    if (a.exc_injected) {
      idt = a.exc_vector | F.INTR_TYPE_HARD_EXCEPTION | F.INTR_INFO_VALID_MASK;
      if (a.exc_has_error) { idt |= F.INTR_INFO_DELIVER_CODE_MASK; idtErr = a.exc_error; }
    } else if (a.nmi_injected) idt = 2 | F.INTR_TYPE_NMI_INTR | F.INTR_INFO_VALID_MASK;
    else if (a.intr_injected) idt = a.intr_nr | (a.intr_soft ? F.INTR_TYPE_SOFT_INTR : F.INTR_TYPE_EXT_INTR) | F.INTR_INFO_VALID_MASK;
    c12.set(F.IDT_VECTORING_INFO_FIELD, idt >>> 0);
    c12.set(F.IDT_VECTORING_ERROR_CODE, idtErr);
    // The processor clears the valid bit of the VM-entry interruption information on VM exit.
    c12.set(F.VM_ENTRY_INTR_INFO_FIELD, c12.get32(F.VM_ENTRY_INTR_INFO_FIELD) & ~F.INTR_INFO_VALID_MASK);
    if (c12.get32(F.VM_EXIT_CONTROLS) & 0x4 /* SAVE_DEBUG_CONTROLS */) c12.set(F.GUEST_IA32_DEBUGCTL, v.arch.msrs.get(MSR_IA32_DEBUGCTLMSR) ?? 0);
    this.nested_vmx_store_msr(c12.get(F.VM_EXIT_MSR_STORE_ADDR), c12.get32(F.VM_EXIT_MSR_STORE_COUNT));
  }

  /** load_vmcs12_host_state (SDM 28.5): L1's state after a nested VM exit. */
  load_vmcs12_host_state(c12: Vmcs12): void {
    const vmx = this.vmx, v = this.v, m = vmx.vmcs, exitCtl = c12.get32(F.VM_EXIT_CONTROLS);
    const ia32e = (exitCtl & F.VM_EXIT_HOST_ADDR_SPACE_SIZE) !== 0;
    let efer = v.arch.efer;
    if (exitCtl & F.VM_EXIT_LOAD_IA32_EFER) efer = c12.get(F.HOST_IA32_EFER);
    else efer = ia32e ? efer | EFER_LMA | EFER_LME : efer & ~(EFER_LMA | EFER_LME);
    vmx.set_efer(efer);
    vmx.set_cr0(c12.get32(F.HOST_CR0));
    vmx.set_cr4(c12.get32(F.HOST_CR4));
    v.arch.cr3 = c12.get(F.HOST_CR3);
    m.write(F.GUEST_CR3, v.arch.cr3);
    kvm_register_mark_available(v, VCPU_EXREG_CR3);
    m.write(F.GUEST_DR7, 0x400);
    m.write(F.GUEST_IA32_DEBUGCTL, 0);
    v.arch.msrs.set(MSR_IA32_DEBUGCTLMSR, 0);
    m.write(F.GUEST_SYSENTER_CS, c12.get32(F.HOST_IA32_SYSENTER_CS));
    m.write(F.GUEST_SYSENTER_ESP, c12.get(F.HOST_IA32_SYSENTER_ESP));
    m.write(F.GUEST_SYSENTER_EIP, c12.get(F.HOST_IA32_SYSENTER_EIP));
    m.write(F.GUEST_IDTR_BASE, c12.get(F.HOST_IDTR_BASE)); m.write(F.GUEST_IDTR_LIMIT, 0xffff);
    m.write(F.GUEST_GDTR_BASE, c12.get(F.HOST_GDTR_BASE)); m.write(F.GUEST_GDTR_LIMIT, 0xffff);
    if (exitCtl & F.VM_EXIT_LOAD_IA32_PAT) {
      const s = vmcs12FieldSlot(F.HOST_IA32_PAT)!.slot;
      v.arch.pat[0] = c12.lo[s] | 0; v.arch.pat[1] = c12.hi[s] | 0;
      m.write(F.GUEST_IA32_PAT, c12.get(F.HOST_IA32_PAT));
    }
    // Segments (SDM 28.5.2): CS a flat code segment, data segments flat or unusable when null.
    const seg = (s: number, sel: number, base: number, limit: number, ar: number) => {
      m.write(F.SEG_SELECTOR[s], sel); m.write(F.SEG_BASE[s], base); m.write(F.SEG_LIMIT[s], limit); m.write(F.SEG_AR[s], ar);
    };
    seg(1, c12.get32(F.HOST_CS_SELECTOR), 0, 0xffffffff, 0xb | 0x10 | 0x80 | 0x8000 | (ia32e ? 0x2000 : 0x4000));
    const data: [number, number, number][] = [[0, F.HOST_ES_SELECTOR, 0], [2, F.HOST_SS_SELECTOR, 0], [3, F.HOST_DS_SELECTOR, 0],
      [4, F.HOST_FS_SELECTOR, c12.get(F.HOST_FS_BASE)], [5, F.HOST_GS_SELECTOR, c12.get(F.HOST_GS_BASE)]];
    for (const [s, f, base] of data) {
      const sel = c12.get32(f);
      const usable = sel !== 0 || s === 2;
      seg(s, sel, base, 0xffffffff, usable ? 0x3 | 0x10 | 0x80 | 0x4000 | 0x8000 : 0x10000 | 0x3 | 0x10 | 0x4000 | 0x8000);
    }
    seg(7, c12.get32(F.HOST_TR_SELECTOR), c12.get(F.HOST_TR_BASE), 0x67, 0xb | 0x80);
    seg(6, 0, 0, 0, 0x10000);
    kvm_rsp_write(v, c12.get(F.HOST_RSP));
    kvm_rip_write(v, c12.get(F.HOST_RIP));
    vmx.set_rflags(0x2);
    m.write(F.GUEST_INTERRUPTIBILITY_INFO, 0);
    m.write(F.GUEST_ACTIVITY_STATE, F.GUEST_ACTIVITY_ACTIVE);
    m.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
    v.arch.regs_avail &= ~(1 << VCPU_EXREG_SEGMENTS);
    // The VM-exit MSR-load area; a failure is a VMX abort (nested_vmx_abort: a triple fault of L1).
    if (this.nested_vmx_load_msr(c12.get(F.VM_EXIT_MSR_LOAD_ADDR), c12.get32(F.VM_EXIT_MSR_LOAD_COUNT))) v.requestTripleFault();
  }

  // ------------------------------------------------------------------ reflecting exits

  /** Count and log an exit: from `level`, handled by `to`. */
  logExit(level: 2, reason: number, to: 'L0' | 'L1'): void {
    const basic = (reason & 0xffff) < EXIT_LOG_REASONS ? reason & 0xffff : EXIT_LOG_REASONS - 1;
    (to === 'L1' ? this.reflectedCount : this.l0Count)[basic]++;
    this.ring[this.ringNext] = basic | (to === 'L1' ? 0x8000 : 0);
    this.ringNext = (this.ringNext + 1) % EXIT_LOG_SIZE;
    if (this.ringCount < EXIT_LOG_SIZE) this.ringCount++;
  }

  /** Exit statistics split by who handled the exit from L2 (built on request). */
  get stats(): NestedStats {
    const rec = (a: Uint32Array) => {
      const out: Record<string, number> = {};
      a.forEach((n, r) => { if (n) out[EXIT_REASON_NAMES[r] ?? String(r)] = n; });
      return out;
    };
    return { nestedEntries: this.nestedEntries, reflected: rec(this.reflectedCount), l0Handled: rec(this.l0Count) };
  }
  /** The last exits from L2 in order, oldest first (for tests and the debugger). */
  get exitLog(): { level: 2; reason: string; to: 'L0' | 'L1' }[] {
    const out: { level: 2; reason: string; to: 'L0' | 'L1' }[] = [];
    for (let k = 0; k < this.ringCount; k++) {
      const e = this.ring[(this.ringNext - this.ringCount + k + EXIT_LOG_SIZE) % EXIT_LOG_SIZE];
      out.push({ level: 2, reason: EXIT_REASON_NAMES[e & 0x7fff] ?? String(e & 0x7fff), to: e & 0x8000 ? 'L1' : 'L0' });
    }
    return out;
  }

  /**
   * nested_vmx_reflect_vmexit: true when the exit from L2 went to L1 (nested_vmx_vmexit done),
   * false when L0 handles it itself with its normal handlers.
   */
  nested_vmx_reflect_vmexit(): boolean {
    const vmx = this.vmx, reason = vmx.exitReason;
    this.nested_run_pending = false;
    if (reason >= HW_UNEMULATED || reason === HW_EMULATOR_USERSPACE) return false;
    if (reason & F.VMX_EXIT_REASONS_FAILED_VMENTRY) {
      this.logExit(2, reason, 'L1');
      this.nested_vmx_vmexit(reason, 0, 0);
      return true;
    }
    const basic = reason & 0xffff;
    if (this.nested_vmx_l0_wants_exit(basic) || !this.nested_vmx_l1_wants_exit(basic)) {
      this.logExit(2, basic, 'L0');
      return false;
    }
    const intrInfo = basic === EXIT_REASON_EXCEPTION_NMI ? vmx.get_intr_info() : 0;
    const qual = vmx.get_exit_qual();
    this.logExit(2, basic, 'L1');
    this.nested_vmx_vmexit(basic, intrInfo, qual);
    return true;
  }

  /** nested_vmx_l0_wants_exit. */
  private nested_vmx_l0_wants_exit(basic: number): boolean {
    switch (basic) {
      case EXIT_REASON_EXCEPTION_NMI: {
        const info = this.vmx.get_intr_info(), vector = info & 0xff, type = (info >> 8) & 7;
        if (type === 2) return true;
        const gd = this.v.arch.guest_debug;
        if ((vector === 1 || vector === 3) && gd) return true;
        return false;
      }
      case EXIT_REASON_EXTERNAL_INTERRUPT: case EXIT_REASON_MCE_DURING_VMENTRY: return true;
      case EXIT_REASON_EPT_VIOLATION: case EXIT_REASON_EPT_MISCONFIG: return true;
      // Notify VM exits are not exposed to L1 (seed 004).
      case EXIT_REASON_NOTIFY: return true;
    }
    return false;
  }

  /** nested_vmx_l1_wants_exit. */
  private nested_vmx_l1_wants_exit(basic: number): boolean {
    const c12 = this.vmcs12();
    const exec = c12.get32(F.CPU_BASED_VM_EXEC_CONTROL), pin = c12.get32(F.PIN_BASED_VM_EXEC_CONTROL);
    const sec = (exec & F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? c12.get32(F.SECONDARY_VM_EXEC_CONTROL) : 0;
    switch (basic) {
      case EXIT_REASON_EXCEPTION_NMI: {
        const info = this.vmx.get_intr_info(), vector = info & 0xff, type = (info >> 8) & 7;
        if (type === 2) return (pin & F.PIN_BASED_NMI_EXITING) !== 0;
        if (vector === 14) {
          const err = this.vmx.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE);
          const bit = (c12.get32(F.EXCEPTION_BITMAP) >> 14) & 1;
          const match = (err & c12.get32(F.PAGE_FAULT_ERROR_CODE_MASK)) === c12.get32(F.PAGE_FAULT_ERROR_CODE_MATCH);
          return (bit === 1) === match;
        }
        return ((c12.get32(F.EXCEPTION_BITMAP) >>> vector) & 1) !== 0;
      }
      case EXIT_REASON_EXTERNAL_INTERRUPT: return (pin & F.PIN_BASED_EXT_INTR_MASK) !== 0;
      case EXIT_REASON_TRIPLE_FAULT: case EXIT_REASON_INIT_SIGNAL: case EXIT_REASON_TASK_SWITCH:
      case EXIT_REASON_CPUID: case EXIT_REASON_INVD: case EXIT_REASON_VMCALL: case EXIT_REASON_VMCLEAR:
      case EXIT_REASON_VMLAUNCH: case EXIT_REASON_VMPTRLD: case EXIT_REASON_VMPTRST: case EXIT_REASON_VMREAD:
      case EXIT_REASON_VMRESUME: case EXIT_REASON_VMWRITE: case EXIT_REASON_VMOFF: case EXIT_REASON_VMON:
      case EXIT_REASON_INVEPT: case EXIT_REASON_INVVPID: case EXIT_REASON_XSETBV: case EXIT_REASON_INVALID_STATE:
        return true;
      case EXIT_REASON_INTERRUPT_WINDOW: return (exec & F.CPU_BASED_INTR_WINDOW_EXITING) !== 0;
      case EXIT_REASON_NMI_WINDOW: return (exec & F.CPU_BASED_NMI_WINDOW_EXITING) !== 0;
      case EXIT_REASON_HLT: return (exec & F.CPU_BASED_HLT_EXITING) !== 0;
      case EXIT_REASON_INVLPG: return (exec & F.CPU_BASED_INVLPG_EXITING) !== 0;
      case EXIT_REASON_RDPMC: return (exec & F.CPU_BASED_RDPMC_EXITING) !== 0;
      case EXIT_REASON_RDRAND: return (sec & SECONDARY_EXEC_RDRAND_EXITING) !== 0;
      case EXIT_REASON_RDSEED: return (sec & SECONDARY_EXEC_RDSEED_EXITING) !== 0;
      case EXIT_REASON_RDTSC: case EXIT_REASON_RDTSCP: return (exec & F.CPU_BASED_RDTSC_EXITING) !== 0;
      case EXIT_REASON_CR_ACCESS: return this.nested_vmx_exit_handled_cr(c12, exec);
      case EXIT_REASON_DR_ACCESS: return (exec & F.CPU_BASED_MOV_DR_EXITING) !== 0;
      case EXIT_REASON_IO_INSTRUCTION: return this.nested_vmx_exit_handled_io(c12, exec);
      case EXIT_REASON_GDTR_IDTR: case EXIT_REASON_LDTR_TR: return (sec & SECONDARY_EXEC_DESC) !== 0;
      case EXIT_REASON_MSR_READ: case EXIT_REASON_MSR_WRITE:
        return this.nested_vmx_exit_handled_msr(c12, exec, basic === EXIT_REASON_MSR_WRITE);
      case EXIT_REASON_MWAIT_INSTRUCTION: return (exec & F.CPU_BASED_MWAIT_EXITING) !== 0;
      case EXIT_REASON_MONITOR_TRAP_FLAG: return (exec & F.CPU_BASED_MONITOR_TRAP_FLAG) !== 0;
      case EXIT_REASON_MONITOR_INSTRUCTION: return (exec & F.CPU_BASED_MONITOR_EXITING) !== 0;
      case EXIT_REASON_PAUSE_INSTRUCTION: return (exec & F.CPU_BASED_PAUSE_EXITING) !== 0;
      case EXIT_REASON_WBINVD: return (sec & SECONDARY_EXEC_WBINVD_EXITING) !== 0;
      case EXIT_REASON_VMFUNC: return false;
    }
    return false;
  }

  /** nested_vmx_exit_handled_io: unconditional I/O exiting, or a set bit of L1's I/O bitmaps. */
  private nested_vmx_exit_handled_io(c12: Vmcs12, exec: number): boolean {
    if (!(exec & F.CPU_BASED_USE_IO_BITMAPS)) return (exec & F.CPU_BASED_UNCOND_IO_EXITING) !== 0;
    const q = this.vmx.get_exit_qual();
    let port = (q >>> 16) & 0xffff;
    const size = (q & 7) + 1;
    for (let k = 0; k < size; k++, port++) {
      if (port > 0xffff) return true;
      const bitmap = c12.get(port < 0x8000 ? F.IO_BITMAP_A : F.IO_BITMAP_B);
      const b = this.v.vm.bus.readByte(bitmap + ((port & 0x7fff) >> 3));
      if ((b >> (port & 7)) & 1) return true;
    }
    return false;
  }

  /** nested_vmx_exit_handled_msr: L1's MSR bitmap (read low/high, write low/high; SDM 25.6.9). */
  private nested_vmx_exit_handled_msr(c12: Vmcs12, exec: number, write: boolean): boolean {
    if (!(exec & F.CPU_BASED_USE_MSR_BITMAPS)) return true;
    let msr = this.v.arch.regs[2] >>> 0; // ECX
    let base = c12.get(F.MSR_BITMAP) + (write ? 0x800 : 0);
    if (msr >= 0xc0000000) { msr -= 0xc0000000; base += 0x400; }
    if (msr >= 0x2000) return true;
    return ((this.v.vm.bus.readByte(base + (msr >> 3)) >> (msr & 7)) & 1) !== 0;
  }

  /** nested_vmx_exit_handled_cr: MOV to CR0/CR4 changing an L1-owned bit, CR3/CR8 exiting, CLTS, LMSW. */
  private nested_vmx_exit_handled_cr(c12: Vmcs12, exec: number): boolean {
    const q = this.vmx.get_exit_qual(), cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    const m0 = c12.get32(F.CR0_GUEST_HOST_MASK), s0 = c12.get32(F.CR0_READ_SHADOW);
    switch (type) {
      case 0: {
        // Only the low 32 bits matter against the masks (exact: a 64-bit value may not fit a double).
        const val = reg === 4 ? kvm_register_read(this.v, reg) >>> 0 : this.v.arch.regs[2 * reg] >>> 0;
        if (cr === 0) return (m0 & ((val ^ s0) | 0)) !== 0;
        if (cr === 3) return (exec & F.CPU_BASED_CR3_LOAD_EXITING) !== 0;
        if (cr === 4) return (c12.get32(F.CR4_GUEST_HOST_MASK) & ((val ^ c12.get32(F.CR4_READ_SHADOW)) | 0)) !== 0;
        if (cr === 8) return (exec & F.CPU_BASED_CR8_LOAD_EXITING) !== 0;
        return false;
      }
      case 1:
        if (cr === 3) return (exec & F.CPU_BASED_CR3_STORE_EXITING) !== 0;
        if (cr === 8) return (exec & F.CPU_BASED_CR8_STORE_EXITING) !== 0;
        return false;
      case 2: return (m0 & 8) !== 0 && (s0 & 8) !== 0;
      case 3: {
        const val = (q >>> 16) & 0xf;
        if (m0 & 0xe & (val ^ s0)) return true;
        return (m0 & 1) !== 0 && !(s0 & 1) && (val & 1) !== 0;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ events, triple fault, RESET

  /**
   * vmx_check_nested_events: an INIT, an exception L1 intercepts, an NMI or an external interrupt
   * L1 takes exits become nested VM exits. False while events are blocked (nested_run_pending).
   */
  check_events(): boolean {
    if (!this.guest_mode) return true;
    const v = this.v, a = v.arch, c12 = this.vmcs12();
    if (this.nested_run_pending) {
      // KVM answers -EBUSY and requests an immediate exit: L2 runs no instruction before the event
      // exits to L1. With nothing to inject at entry that is the same as exiting now.
      if ((this.vmx.vmcs.peek(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID_MASK) || !this.l1_event_pending(c12)) return false;
      this.nested_run_pending = false;
    }
    if (v.lapic && v.lapic.pendingInit) {
      v.lapic.pendingInit = false;
      this.logExit(2, EXIT_REASON_INIT_SIGNAL, 'L1');
      this.nested_vmx_vmexit(EXIT_REASON_INIT_SIGNAL, 0, 0);
      return true;
    }
    if (a.exc_pending && ((c12.get32(F.EXCEPTION_BITMAP) >>> a.exc_vector) & 1)) {
      let info = a.exc_vector | F.INTR_TYPE_HARD_EXCEPTION | F.INTR_INFO_VALID_MASK;
      if (a.exc_has_error) info |= F.INTR_INFO_DELIVER_CODE_MASK;
      const qual = a.exc_has_payload ? a.exc_payload : 0;
      const err = a.exc_error;
      a.exc_pending = false;
      this.logExit(2, EXIT_REASON_EXCEPTION_NMI, 'L1');
      this.nested_vmx_vmexit(EXIT_REASON_EXCEPTION_NMI, info >>> 0, qual);
      this.vmcs12().set(F.VM_EXIT_INTR_ERROR_CODE, err);
      return true;
    }
    if (a.nmi_pending > 0 && (c12.get32(F.PIN_BASED_VM_EXEC_CONTROL) & F.PIN_BASED_NMI_EXITING)) {
      a.nmi_pending--;
      this.logExit(2, EXIT_REASON_EXCEPTION_NMI, 'L1');
      this.nested_vmx_vmexit(EXIT_REASON_EXCEPTION_NMI, (2 | F.INTR_TYPE_NMI_INTR | F.INTR_INFO_VALID_MASK) >>> 0, 0);
      return true;
    }
    if ((c12.get32(F.PIN_BASED_VM_EXEC_CONTROL) & F.PIN_BASED_EXT_INTR_MASK) && kvm_cpu_has_interrupt(v)) {
      this.logExit(2, EXIT_REASON_EXTERNAL_INTERRUPT, 'L1');
      this.nested_vmx_vmexit(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
      return true;
    }
    return true;
  }

  /** An event that would exit to L1 now: INIT, NMI with NMI exiting, an interrupt with external-interrupt exiting. */
  private l1_event_pending(c12: Vmcs12): boolean {
    const v = this.v, pin = c12.get32(F.PIN_BASED_VM_EXEC_CONTROL);
    if (v.lapic && v.lapic.pendingInit) return true;
    if (v.arch.nmi_pending > 0 && (pin & F.PIN_BASED_NMI_EXITING)) return true;
    return (pin & F.PIN_BASED_EXT_INTR_MASK) !== 0 && kvm_cpu_has_interrupt(v);
  }

  /** nested_vmx_triple_fault: a shutdown while L2 runs is a TRIPLE_FAULT exit to L1 (seed 004). */
  triple_fault(): void {
    this.logExit(2, EXIT_REASON_TRIPLE_FAULT, 'L1');
    this.nested_vmx_vmexit(EXIT_REASON_TRIPLE_FAULT, 0, 0);
  }

  /** vmx_leave_nested: leave guest mode without an exit to L1, then free_nested (vCPU RESET; seed 001). */
  leave_nested(): void {
    if (this.guest_mode) {
      this.nested_run_pending = false;
      this.nested_vmx_vmexit(-1, 0, 0);
    }
    this.free_nested();
  }

  describe(): NestedView {
    const c12 = this.cached_vmcs12;
    const vmcs12: ControlBlockField[] | null = c12 ? VMCS12_FIELDS.map((f, k) => ({
      name: vmcsFieldName(f), encoding: f, value: c12.hi[k] * TWO32 + c12.lo[k], written: true,
    })) : null;
    const vmcs02 = this.guest_mode && this.vmcs02
      ? this.vmcs02.fields().map((f) => ({ name: vmcsFieldName(f.field), encoding: f.field, value: f.value, written: true })) : null;
    return {
      enabled: this.enabled, level: this.level, vmxon: this.vmxon, vmxonPtr: this.vmxon_ptr, currentVmptr: this.current_vmptr,
      launched: c12 ? c12.launchState !== 0 : false, vmcs12, vmcs02, ...this.stats,
    };
  }

  /** vmx_apic_init_signal_blocked: INIT stays latched in VMX root operation. */
  init_signal_blocked(): boolean { return this.vmxon && !this.guest_mode; }
}

// ---------------------------------------------------------------------- exit handlers (nested_vmx_hardware_setup)

type NestedHandler = (n: NestedVmx) => number;
function nestedHandler(h: NestedHandler): (v: KvmVcpu, vmx: Vmx) => number {
  return (v, vmx) => {
    // kvm_intel.nested=0: the VMX instructions are #UD (handle_vmx_instruction).
    if (!vmx.nested.enabled) { kvm_queue_exception(v, UD_VECTOR); return 1; }
    return h(vmx.nested);
  };
}
const H = vmxExitHandlers;
H[EXIT_REASON_VMON] = nestedHandler((n) => n.handle_vmxon());
H[EXIT_REASON_VMOFF] = nestedHandler((n) => n.handle_vmxoff());
H[EXIT_REASON_VMCLEAR] = nestedHandler((n) => n.handle_vmclear());
H[EXIT_REASON_VMPTRLD] = nestedHandler((n) => n.handle_vmptrld());
H[EXIT_REASON_VMPTRST] = nestedHandler((n) => n.handle_vmptrst());
H[EXIT_REASON_VMREAD] = nestedHandler((n) => n.handle_vmread());
H[EXIT_REASON_VMWRITE] = nestedHandler((n) => n.handle_vmwrite());
H[EXIT_REASON_VMLAUNCH] = nestedHandler((n) => n.nested_vmx_run(true));
H[EXIT_REASON_VMRESUME] = nestedHandler((n) => n.nested_vmx_run(false));
// INVEPT/INVVPID/VMFUNC: EPT, VPID and VM functions are not advertised to L1, so they are #UD.
export { INVALID_GPA };
