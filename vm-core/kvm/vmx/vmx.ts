// Intel VMX vendor ops (arch/x86/kvm/vmx/vmx.c): VMCS setup (init_vmcs), RESET (vmx_vcpu_reset),
// the register cache fill (vmx_cache_reg), CR/EFER/segment/RFLAGS accessors through the VMCS,
// event injection, VM entry/exit (vmx_vcpu_run) and the exit handler table (vmx_handle_exit).
import type { KvmVcpu } from '../vcpu';
import { Vmcs } from './vmcs';
import * as F from './vmcs_fields';
import { vmcsFieldName, vmcsArea, VMCS_AREAS } from './vmcs_names';
import type { ControlBlockField, ControlBlockTracer, KvmDtable, KvmVendorView, KvmX86Ops } from '../x86_ops';
import { readCr0Guest, readCr4Guest } from '../../cpu/exec/system';
import { KvmSegment } from '../x86_ops';
import { RUN_EXIT } from '../../cpu/cpu';
import {
  EXIT_REASON_NAMES, HW_UNEMULATED, HW_EMULATOR_USERSPACE, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EPT_MISCONFIG,
  EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_PML_FULL, EXIT_REASON_APIC_ACCESS, EXIT_REASON_TASK_SWITCH, EXIT_REASON_NOTIFY,
} from '../../cpu/exits';
import {
  kvm_register_mark_available, kvm_register_is_available, kvm_register_is_dirty, kvm_register_read_raw,
  kvm_register_write, kvm_read_cr0_bits, kvm_read_cr4, VCPU_REGS_RSP, VCPU_REGS_RIP, VCPU_EXREG_PDPTR,
  VCPU_EXREG_CR0, VCPU_EXREG_CR3, VCPU_EXREG_CR4, VCPU_EXREG_RFLAGS, VCPU_EXREG_SEGMENTS, VCPU_EXREG_EXIT_INFO_1,
  VCPU_EXREG_EXIT_INFO_2, KVM_POSSIBLE_CR0_GUEST_BITS, KVM_POSSIBLE_CR4_GUEST_BITS, kvm_rip_read, kvm_rip_write,
  kvm_register_test_and_mark_available,
} from '../x86/kvm_cache_regs';
import { CR0_CD, CR0_NE, CR0_NW, CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, CR4_MCE, CR4_VMXE } from '../../cpu/state';
import { vmxExitHandlers } from './vmx_exit_handlers';
import {
  KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, KVM_INTERNAL_ERROR_DELIVERY_EV, KVM_EXIT_FAIL_ENTRY,
  KVM_X86_SHADOW_INT_MOV_SS, KVM_X86_SHADOW_INT_STI,
} from '../uapi';
import { entryInjectEvent, exitCompleteInterrupts, reportUnemulated, syncGprsToCpu, syncGprsFromCpu } from '../x86/vcpu_run_common';
import { KVM_REQ_LOAD_MMU_PGD } from '../vcpu_arch';
import { kvm_emulate_instruction } from '../x86/emulate';
import { kvm_notify_vmexit_enabled } from './notify';
import { NestedVmx } from './nested';

/** Registers the VMX exit path makes unavailable (VMX_REGS_LAZY_LOAD_SET). */
export const VMX_REGS_LAZY_LOAD_SET = (1 << VCPU_REGS_RIP) | (1 << VCPU_REGS_RSP) | (1 << VCPU_EXREG_RFLAGS) |
  (1 << VCPU_EXREG_PDPTR) | (1 << VCPU_EXREG_SEGMENTS) | (1 << VCPU_EXREG_CR0) | (1 << VCPU_EXREG_CR3) |
  (1 << VCPU_EXREG_CR4) | (1 << VCPU_EXREG_EXIT_INFO_1) | (1 << VCPU_EXREG_EXIT_INFO_2);

/** KVM_VM_CR0_ALWAYS_OFF / ALWAYS_ON_UNRESTRICTED_GUEST; KVM_VM_CR4_ALWAYS_ON_UNRESTRICTED_GUEST. */
const KVM_VM_CR0_ALWAYS_OFF = CR0_NW | CR0_CD;
const KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_GUEST = CR0_NE;
const KVM_VM_CR4_ALWAYS_ON_UNRESTRICTED_GUEST = CR4_VMXE;
/** The host's CR4.MCE, which hw_cr4 inherits (cr4_read_shadow() & X86_CR4_MCE). */
const HOST_CR4_MCE = CR4_MCE;

/** MSRs whose accesses pass through (vmx_vcpu_create: vmx_disable_intercept_for_msr). */
const MSR_PASSTHROUGH_RW = [0xc0000100, 0xc0000101, 0xc0000102, 0x174, 0x175, 0x176];
const MSR_PASSTHROUGH_R = [0x10];

/** Segment-cache field kinds (vmx_segment_cache_test_set). */
const SEG_FIELD_SEL = 0, SEG_FIELD_BASE = 1, SEG_FIELD_LIMIT = 2, SEG_FIELD_AR = 3;

/** vmx_get_interrupt_shadow: GUEST_INTERRUPTIBILITY_INFO as KVM_X86_SHADOW_INT_* bits. */
function interruptShadowOf(i: number): number {
  return ((i & F.GUEST_INTR_STATE_STI) ? KVM_X86_SHADOW_INT_STI : 0) | ((i & F.GUEST_INTR_STATE_MOV_SS) ? KVM_X86_SHADOW_INT_MOV_SS : 0);
}

/** The debugger's view of a VMX vCPU: VMCS peeks (uncounted) and the processor's state. */
class VmxView implements KvmVendorView {
  readonly vendorLabel = 'Intel (VMX)';
  readonly controlBlockLabel = 'VMCS';
  readonly readsLabel = 'VMREADs';
  readonly writesLabel = 'VMWRITEs';
  constructor(private readonly vmx: Vmx) {}
  guestCr0(): number { return readCr0Guest(this.vmx.v.cpu); }
  guestCr4(): number { return readCr4Guest(this.vmx.v.cpu); }
  /** vmx_get_interrupt_shadow over GUEST_INTERRUPTIBILITY_INFO, peeked. */
  interruptShadow(): number { return interruptShadowOf(this.vmx.vmcs.peek(F.GUEST_INTERRUPTIBILITY_INFO)); }
  fieldName(field: number): string { return vmcsFieldName(field); }
  readonly controlBlockAreas = VMCS_AREAS;
  controlBlockArea(field: number): string { return vmcsArea(field); }
  /** SDM 24.4.1: of the GPRs only RSP and RIP are guest-state fields. */
  gprInControlBlock(reg: number): boolean { return reg === VCPU_REGS_RSP || reg === VCPU_REGS_RIP; }
  /** The VMX model fails the entry itself (KVM_EXIT_FAIL_ENTRY): nothing is refused. */
  unmodelledEntryFailure(): string | null { return null; }
}

export class Vmx implements KvmX86Ops {
  readonly name = 'vmx' as const;
  readonly view: KvmVendorView = new VmxView(this);
  readonly alwaysAvailableRegs = 0;
  /** The current VMCS (vmx->loaded_vmcs): vmcs01, or the nested vmcs02 while L2 runs. */
  vmcs: Vmcs;
  /** The VMCS L0 runs L1 with. */
  vmcs01: Vmcs;
  /** struct nested_vmx (nested.ts). */
  readonly nested: NestedVmx = new NestedVmx(this);
  /** vmx->exit_reason.full */
  exitReason = 0;
  /** vmx->idt_vectoring_info */
  idtVectoringInfo = 0;
  exitCode = 0;
  /** vmx->emulation_required */
  emulationRequiredFlag = false;
  /** Guest debug of the MOV-DR exiting optimisation (KVM_DEBUGREG_WONT_EXIT). */
  drWontExit = false;
  private segCache = new Float64Array(32);
  private segCacheMask = 0;
  private entryControlsShadow = 0;
  private execControlsShadow = 0;
  private guestEferLoaded = -1;
  private firstExitDone = false;
  /** gfns with an MMIO SPTE: further accesses are EPT misconfigurations. */
  private readonly mmioSptes: Set<number>;

  constructor(readonly v: KvmVcpu) {
    this.vmcs = new Vmcs(v.cpu);
    this.vmcs01 = this.vmcs;
    this.mmioSptes = v.vm.mmioSptes;
  }

  get reads(): number { return this.vmcs.vmreads; }
  get writes(): number { return this.vmcs.vmwrites; }

  vcpu_create(): void {
    this.vmcs = new Vmcs(this.v.cpu);
    this.vmcs01 = this.vmcs;
    // Before seed 001's series, init_vmcs ran at vCPU creation (vmx_create_vcpu).
    if (this.v.vm.options.preFixSeed001) this.init_vmcs();
  }

  // ---------------------------------------------------------------- setup (init_vmcs)

  private exec_control(): number {
    let c = F.CPU_BASED_HLT_EXITING | F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_USE_MSR_BITMAPS |
      F.CPU_BASED_MWAIT_EXITING | F.CPU_BASED_MONITOR_EXITING | F.CPU_BASED_RDPMC_EXITING |
      F.CPU_BASED_USE_TSC_OFFSETTING | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    if (!this.drWontExit) c |= F.CPU_BASED_MOV_DR_EXITING;
    return c;
  }
  private secondary_exec_control(): number {
    let c = F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_ENABLE_RDTSCP | F.SECONDARY_EXEC_ENABLE_VPID |
      F.SECONDARY_EXEC_ENABLE_INVPCID | F.SECONDARY_EXEC_XSAVES;
    if (this.v.vm.options.unrestrictedGuest) c |= F.SECONDARY_EXEC_UNRESTRICTED_GUEST;
    // vmx_adjust_sec_exec_exiting: exit on RDRAND/RDSEED the guest's CPUID does not advertise.
    if (!this.v.guestCpuidHas(1, 'ecx', 30)) c |= F.SECONDARY_EXEC_RDRAND_EXITING;
    if (!this.v.guestCpuidHas(7, 'ebx', 18)) c |= F.SECONDARY_EXEC_RDSEED_EXITING;
    if (kvm_notify_vmexit_enabled(this.v)) c |= F.SECONDARY_EXEC_NOTIFY_VM_EXITING;
    return c;
  }

  /** init_vmcs (vmx.c). */
  init_vmcs(): void {
    const w = (f: number, val: number) => this.vmcs.write(f, val);
    const a = this.v.arch;
    w(F.VMCS_LINK_POINTER, -1);
    w(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_BASED_EXT_INTR_MASK | F.PIN_BASED_NMI_EXITING | F.PIN_BASED_VIRTUAL_NMIS);
    this.execControlsShadow = this.exec_control();
    w(F.CPU_BASED_VM_EXEC_CONTROL, this.execControlsShadow);
    w(F.SECONDARY_VM_EXEC_CONTROL, this.secondary_exec_control());
    w(F.MSR_BITMAP, 0x1000);
    w(F.PAGE_FAULT_ERROR_CODE_MASK, 0);
    w(F.PAGE_FAULT_ERROR_CODE_MATCH, 0);
    w(F.CR3_TARGET_COUNT, 0);
    w(F.HOST_CR0, 0x80050033); w(F.HOST_CR4, 0x3706f0); w(F.HOST_CR3, 0x1000000);
    w(F.HOST_CS_SELECTOR, 0x10); w(F.HOST_DS_SELECTOR, 0); w(F.HOST_ES_SELECTOR, 0);
    w(F.HOST_SS_SELECTOR, 0x18); w(F.HOST_TR_SELECTOR, 0x40); w(F.HOST_RIP, -0x7e000000);
    w(F.HOST_IA32_SYSENTER_CS, 0);
    w(F.VM_EXIT_MSR_STORE_COUNT, 0); w(F.VM_EXIT_MSR_LOAD_COUNT, 0); w(F.VM_ENTRY_MSR_LOAD_COUNT, 0);
    w(F.GUEST_IA32_PAT, a.pat[1] * 4294967296 + (a.pat[0] >>> 0));
    w(F.GUEST_IA32_DEBUGCTL, 0);
    w(F.VM_EXIT_CONTROLS, F.VM_EXIT_HOST_ADDR_SPACE_SIZE | F.VM_EXIT_SAVE_IA32_PAT | F.VM_EXIT_LOAD_IA32_PAT |
      F.VM_EXIT_SAVE_IA32_EFER | F.VM_EXIT_LOAD_IA32_EFER);
    this.entryControlsShadow = F.VM_ENTRY_LOAD_IA32_PAT | F.VM_ENTRY_LOAD_IA32_EFER;
    w(F.VM_ENTRY_CONTROLS, this.entryControlsShadow);
    a.cr0_guest_owned_bits = KVM_POSSIBLE_CR0_GUEST_BITS;
    w(F.CR0_GUEST_HOST_MASK, ~a.cr0_guest_owned_bits);
    this.set_cr4_guest_host_mask();
    w(F.TSC_OFFSET, 0);
    w(F.EPT_POINTER, 0x2000 | 0x5e);
    if (kvm_notify_vmexit_enabled(this.v)) w(F.NOTIFY_WINDOW, this.v.vm.notifyWindow);
    w(F.VIRTUAL_PROCESSOR_ID, this.v.vcpu_id + 1);
    this.update_exception_bitmap();
    this.guestEferLoaded = -1;
  }

  setTracer(tracer: ControlBlockTracer | null): void { this.vmcs.tracer = tracer; }

  /** vmx_vcpu_after_set_cpuid: the CR4 guest/host mask and the secondary controls follow the guest's CPUID. */
  vcpu_after_set_cpuid(): void {
    this.set_cr4_guest_host_mask();
    // vmx_secondary_exec_control again: RDRAND/RDSEED exiting follow the new CPUID (vmx_adjust_sec_exec_exiting).
    this.vmcs.write(F.SECONDARY_VM_EXEC_CONTROL, this.secondary_exec_control());
  }

  /** set_cr4_guest_host_mask: guest-owned CR4 bits minus those the guest's CPUID reserves. */
  set_cr4_guest_host_mask(): void {
    const a = this.v.arch;
    a.cr4_guest_owned_bits = KVM_POSSIBLE_CR4_GUEST_BITS & ~a.cr4_guest_rsvd_bits;
    this.vmcs.write(F.CR4_GUEST_HOST_MASK, ~a.cr4_guest_owned_bits);
  }

  /** vmx_update_exception_bitmap: #UD #MC #DB #AC always; #BP with software-breakpoint guest debug. */
  update_exception_bitmap(): void {
    let eb = (1 << 6) | (1 << 18);
    // #DB and #AC are intercepted since CVE-2015-8104 / CVE-2015-5307 (option interceptAcDb).
    if (this.v.vm.options.interceptAcDb) eb |= (1 << 1) | (1 << 17);
    const gd = this.v.arch.guest_debug;
    if (gd) eb |= 1 << 1;
    if ((gd & 0x10001) === 0x10001) eb |= 1 << 3;
    // #PF is intercepted only without EPT (vmx_need_pf_intercept); EPT is always on here.
    this.vmcs.write(F.EXCEPTION_BITMAP, eb);
  }

  // ---------------------------------------------------------------- RESET (vmx_vcpu_reset)

  private seg_setup(seg: number): void {
    this.vmcs.write(F.SEG_SELECTOR[seg], 0);
    this.vmcs.write(F.SEG_BASE[seg], 0);
    this.vmcs.write(F.SEG_LIMIT[seg], 0xffff);
    this.vmcs.write(F.SEG_AR[seg], seg === 1 ? 0x93 | 0x08 : 0x93);
  }

  vcpu_reset(initEvent: boolean): void {
    const w = (f: number, val: number) => this.vmcs.write(f, val);
    if (!initEvent && !this.v.vm.options.preFixSeed001) this.init_vmcs();
    this.segment_cache_clear();
    this.v.kvmSetCr8(0);
    this.seg_setup(1);
    w(F.GUEST_CS_SELECTOR, 0xf000);
    w(F.GUEST_CS_BASE, 0xffff0000);
    for (const s of [3, 0, 4, 5, 2]) this.seg_setup(s);
    w(F.GUEST_TR_SELECTOR, 0); w(F.GUEST_TR_BASE, 0); w(F.GUEST_TR_LIMIT, 0xffff); w(F.GUEST_TR_AR_BYTES, 0x8b);
    w(F.GUEST_LDTR_SELECTOR, 0); w(F.GUEST_LDTR_BASE, 0); w(F.GUEST_LDTR_LIMIT, 0xffff); w(F.GUEST_LDTR_AR_BYTES, 0x82);
    w(F.GUEST_GDTR_BASE, 0); w(F.GUEST_GDTR_LIMIT, 0xffff);
    w(F.GUEST_IDTR_BASE, 0); w(F.GUEST_IDTR_LIMIT, 0xffff);
    w(F.GUEST_ACTIVITY_STATE, F.GUEST_ACTIVITY_ACTIVE);
    w(F.GUEST_INTERRUPTIBILITY_INFO, 0);
    w(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
    w(F.VM_ENTRY_INTR_INFO_FIELD, 0);
    if (this.v.vm.options.preFixSeed001) kvm_register_mark_available(this.v, VCPU_EXREG_SEGMENTS);
  }

  // ---------------------------------------------------------------- register cache (vmx_cache_reg)

  cache_reg(reg: number): void {
    const v = this.v, a = v.arch;
    kvm_register_mark_available(v, reg);
    if (reg === VCPU_REGS_RIP) {
      const rip = this.vmcs.read(F.GUEST_RIP);
      a.regs[32] = rip | 0; a.regs[33] = Math.floor(rip / 4294967296) | 0;
    } else if (reg === VCPU_REGS_RSP) {
      this.vmcs.readRspHalves(); a.regs[8] = this.vmcs.lo; a.regs[9] = this.vmcs.hi;
    } else this.cache_exreg(reg);
  }
  /** vmx_cache_reg for the extended registers (PDPTRs, CR0, CR3, CR4). */
  private cache_exreg(reg: number): void {
    const v = this.v, a = v.arch;
    switch (reg) {
      case VCPU_EXREG_PDPTR:
        if (kvm_read_cr0_bits(v, CR0_PG) && (kvm_read_cr4(v) & CR4_PAE) && !(a.efer & EFER_LMA)) {
          for (let k = 0; k < 4; k++) a.pdptrs[k] = this.vmcs.read(F.GUEST_PDPTR0 + 2 * k);
        }
        break;
      case VCPU_EXREG_CR0: {
        const owned = a.cr0_guest_owned_bits;
        a.cr0 = ((a.cr0 & ~owned) | (this.vmcs.read(F.GUEST_CR0) & owned)) >>> 0;
        break;
      }
      case VCPU_EXREG_CR3:
        if (!(this.execControlsShadow & F.CPU_BASED_CR3_LOAD_EXITING)) a.cr3 = this.vmcs.read(F.GUEST_CR3);
        break;
      case VCPU_EXREG_CR4: {
        const owned = a.cr4_guest_owned_bits;
        a.cr4 = ((a.cr4 & ~owned) | (this.vmcs.read(F.GUEST_CR4) & owned)) >>> 0;
        break;
      }
    }
  }

  /** For the stale-cache check: [cached, vmcs] when they disagree, else null (VMCS read uncounted). */
  staleCheck(reg: number): [number, number] | null {
    const a = this.v.arch, m = this.vmcs;
    const dirty = kvm_register_is_dirty(this.v, reg);
    let cached: number, actual: number;
    switch (reg) {
      case VCPU_REGS_RSP: if (dirty) return null; cached = a.regs[9] * 4294967296 + (a.regs[8] >>> 0); actual = m.peek(F.GUEST_RSP); break;
      case VCPU_REGS_RIP: if (dirty) return null; cached = a.regs[33] * 4294967296 + (a.regs[32] >>> 0); actual = m.peek(F.GUEST_RIP); break;
      case VCPU_EXREG_RFLAGS: cached = a.rflags; actual = m.peek(F.GUEST_RFLAGS); break;
      case VCPU_EXREG_CR0: cached = a.cr0 & a.cr0_guest_owned_bits; actual = m.peek(F.GUEST_CR0) & a.cr0_guest_owned_bits; break;
      case VCPU_EXREG_CR4: cached = a.cr4 & a.cr4_guest_owned_bits; actual = m.peek(F.GUEST_CR4) & a.cr4_guest_owned_bits; break;
      case VCPU_EXREG_CR3: if (dirty) return null; cached = a.cr3; actual = m.peek(F.GUEST_CR3); break;
      default: return null;
    }
    if (!m.wasWritten(reg === VCPU_EXREG_RFLAGS ? F.GUEST_RFLAGS : reg === VCPU_EXREG_CR0 ? F.GUEST_CR0 :
      reg === VCPU_EXREG_CR4 ? F.GUEST_CR4 : reg === VCPU_EXREG_CR3 ? F.GUEST_CR3 : reg === VCPU_REGS_RSP ? F.GUEST_RSP : F.GUEST_RIP)) actual = 0;
    return (cached >>> 0) === (actual >>> 0) && Math.floor(cached / 4294967296) === Math.floor(actual / 4294967296) ? null : [cached, actual];
  }

  // ---------------------------------------------------------------- RFLAGS (vmx_get_rflags / vmx_set_rflags)

  get_rflags(): number {
    const v = this.v;
    if (!kvm_register_is_available(v, VCPU_EXREG_RFLAGS)) {
      kvm_register_mark_available(v, VCPU_EXREG_RFLAGS);
      v.arch.rflags = this.vmcs.read(F.GUEST_RFLAGS);
    } else if (v.trace) v.trace.checkStale(VCPU_EXREG_RFLAGS);
    return v.arch.rflags;
  }
  set_rflags(val: number): void {
    const v = this.v;
    if (!v.vm.options.unrestrictedGuest) this.get_rflags();
    kvm_register_mark_available(v, VCPU_EXREG_RFLAGS);
    v.arch.rflags = val;
    this.vmcs.write(F.GUEST_RFLAGS, val);
    if (!v.vm.options.unrestrictedGuest) this.emulationRequiredFlag = this.vmx_emulation_required();
  }

  // ---------------------------------------------------------------- CR0/CR4/EFER

  set_cr0(cr0: number): void {
    const v = this.v, a = v.arch;
    const oldPg = kvm_read_cr0_bits(v, CR0_PG);
    let hw = (cr0 & ~KVM_VM_CR0_ALWAYS_OFF) | KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_GUEST;
    hw >>>= 0;
    this.vmcs.write(F.CR0_READ_SHADOW, cr0 >>> 0);
    this.vmcs.write(F.GUEST_CR0, hw);
    a.cr0 = cr0 >>> 0;
    kvm_register_mark_available(v, VCPU_EXREG_CR0);
    if (a.efer & EFER_LME) {
      if (!oldPg && (cr0 & CR0_PG)) this.enter_lmode();
      else if (oldPg && !(cr0 & CR0_PG)) this.set_efer(a.efer & ~EFER_LMA);
    }
    if (!v.vm.options.unrestrictedGuest) {
      // ept_update_paging_mode_cr0: CR3 exiting while guest paging is off.
      const want = (cr0 & CR0_PG) ? 0 : F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING;
      const next = (this.execControlsShadow & ~(F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING)) | want;
      if (next !== this.execControlsShadow) {
        if (want && !kvm_register_is_available(v, VCPU_EXREG_CR3)) this.cache_reg(VCPU_EXREG_CR3);
        this.execControlsShadow = next;
        this.vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, next);
      }
      this.emulationRequiredFlag = this.vmx_emulation_required();
    }
  }

  private enter_lmode(): void {
    const ar = this.vmcs.read(F.GUEST_TR_AR_BYTES);
    if ((ar & 0xf) !== 0xb) this.vmcs.write(F.GUEST_TR_AR_BYTES, (ar & ~0xf) | 0xb);
    this.set_efer(this.v.arch.efer | EFER_LMA);
  }

  set_cr4(cr4: number): void {
    const v = this.v, a = v.arch;
    let hw = ((HOST_CR4_MCE) | (cr4 & ~CR4_MCE)) >>> 0;
    hw |= KVM_VM_CR4_ALWAYS_ON_UNRESTRICTED_GUEST;
    a.cr4 = cr4 >>> 0;
    kvm_register_mark_available(v, VCPU_EXREG_CR4);
    this.vmcs.write(F.CR4_READ_SHADOW, cr4 >>> 0);
    this.vmcs.write(F.GUEST_CR4, hw >>> 0);
  }

  set_efer(efer: number): number {
    const a = this.v.arch;
    a.efer = efer;
    const ctl = (efer & EFER_LMA) ? this.entryControlsShadow | F.VM_ENTRY_IA32E_MODE : this.entryControlsShadow & ~F.VM_ENTRY_IA32E_MODE;
    if (ctl !== this.entryControlsShadow) { this.entryControlsShadow = ctl; this.vmcs.write(F.VM_ENTRY_CONTROLS, ctl); }
    // update_transition_efer: the guest EFER is loaded through VM_ENTRY_LOAD_IA32_EFER.
    if (efer !== this.guestEferLoaded) { this.guestEferLoaded = efer; this.vmcs.write(F.GUEST_IA32_EFER, efer); }
    return 0;
  }

  // ---------------------------------------------------------------- segments (vmx_get_segment / vmx_set_segment)

  private segment_cache_clear(): void { this.segCacheMask = 0; }
  private segCacheTestSet(seg: number, field: number): boolean {
    const bit = 1 << (seg * 4 + field);
    if (!kvm_register_is_available(this.v, VCPU_EXREG_SEGMENTS)) {
      kvm_register_mark_available(this.v, VCPU_EXREG_SEGMENTS);
      this.segCacheMask = 0;
    }
    const hit = (this.segCacheMask & bit) !== 0;
    this.segCacheMask |= bit;
    return hit;
  }
  private readSeg(seg: number, field: number, enc: number): number {
    const k = seg * 4 + field;
    if (!this.segCacheTestSet(seg, field)) this.segCache[k] = this.vmcs.read(enc);
    return this.segCache[k];
  }
  read_guest_seg_ar(seg: number): number { return this.readSeg(seg, SEG_FIELD_AR, F.SEG_AR[seg]); }

  get_segment(seg: number, out: KvmSegment): void {
    out.selector = this.readSeg(seg, SEG_FIELD_SEL, F.SEG_SELECTOR[seg]);
    out.base = this.readSeg(seg, SEG_FIELD_BASE, F.SEG_BASE[seg]);
    out.limit = this.readSeg(seg, SEG_FIELD_LIMIT, F.SEG_LIMIT[seg]);
    const ar = this.read_guest_seg_ar(seg);
    out.unusable = (ar >> 16) & 1;
    out.type = ar & 15; out.s = (ar >> 4) & 1; out.dpl = (ar >> 5) & 3;
    out.present = out.unusable ? 0 : 1;
    out.avl = (ar >> 12) & 1; out.l = (ar >> 13) & 1; out.db = (ar >> 14) & 1; out.g = (ar >> 15) & 1;
  }

  /** vmx_segment_access_rights. */
  static access_rights(s: KvmSegment): number {
    if (s.unusable || !s.present) return 1 << 16;
    return (s.type & 15) | (s.s & 1) << 4 | (s.dpl & 3) << 5 | (s.present & 1) << 7 | (s.avl & 1) << 12 |
      (s.l & 1) << 13 | (s.db & 1) << 14 | (s.g & 1) << 15;
  }

  set_segment(seg: number, s: KvmSegment): void {
    this.segment_cache_clear();
    this.vmcs.write(F.SEG_BASE[seg], s.base);
    this.vmcs.write(F.SEG_LIMIT[seg], s.limit >>> 0);
    this.vmcs.write(F.SEG_SELECTOR[seg], s.selector);
    this.vmcs.write(F.SEG_AR[seg], Vmx.access_rights(s));
    if (!this.v.vm.options.unrestrictedGuest) this.emulationRequiredFlag = this.vmx_emulation_required();
  }

  get_cpl(): number {
    return (this.read_guest_seg_ar(2) >> 5) & 3;
  }
  get_cs_db_l_bits(): number {
    const ar = this.read_guest_seg_ar(1);
    return ((ar >> 14) & 1) | (((ar >> 13) & 1) << 1);
  }
  get_idt(): KvmDtable { return { base: this.vmcs.read(F.GUEST_IDTR_BASE), limit: this.vmcs.read(F.GUEST_IDTR_LIMIT) }; }
  set_idt(d: KvmDtable): void { this.vmcs.write(F.GUEST_IDTR_LIMIT, d.limit); this.vmcs.write(F.GUEST_IDTR_BASE, d.base); }
  get_gdt(): KvmDtable { return { base: this.vmcs.read(F.GUEST_GDTR_BASE), limit: this.vmcs.read(F.GUEST_GDTR_LIMIT) }; }
  set_gdt(d: KvmDtable): void { this.vmcs.write(F.GUEST_GDTR_LIMIT, d.limit); this.vmcs.write(F.GUEST_GDTR_BASE, d.base); }
  set_dr7(val: number): void { this.vmcs.write(F.GUEST_DR7, val); }

  get_interrupt_shadow(): number { return interruptShadowOf(this.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO)); }
  set_interrupt_shadow(mask: number): void {
    const old = this.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO);
    let i = old & ~(F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS);
    if (mask & 1) i |= F.GUEST_INTR_STATE_MOV_SS;
    else if (mask & 2) i |= F.GUEST_INTR_STATE_STI;
    if (i !== old) this.vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, i);
  }

  // ---------------------------------------------------------------- invalid guest state (vmx_emulation_required)

  /** guest_state_valid, real-mode part: segments must look like vm86 (base = sel << 4, limit 0xffff). */
  private vmx_emulation_required(): boolean {
    if (this.v.vm.options.unrestrictedGuest) return false;
    const c = this.v.cpu;
    if (c.cr0 & CR0_PE) return false;
    for (const s of [0, 1, 2, 3, 4, 5]) {
      const g = c.seg[s];
      if (g.base !== g.selector * 16 || g.limit !== 0xffff) return true;
    }
    return false;
  }
  emulation_required(): boolean { return this.emulationRequiredFlag; }
  /** Re-evaluated after the guest ran (it may have reloaded segments). */
  recheckEmulationRequired(): void { this.emulationRequiredFlag = this.vmx_emulation_required(); }

  // ---------------------------------------------------------------- events

  inject_exception(vector: number, hasError: boolean, error: number, insnLen: number): void {
    let info = vector | F.INTR_INFO_VALID_MASK;
    if (hasError) { this.vmcs.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, error); info |= F.INTR_INFO_DELIVER_CODE_MASK; }
    if (vector === 3 || vector === 4) { this.vmcs.write(F.VM_ENTRY_INSTRUCTION_LEN, insnLen); info |= F.INTR_TYPE_SOFT_EXCEPTION; }
    else info |= F.INTR_TYPE_HARD_EXCEPTION;
    this.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
  }
  inject_irq(vector: number): void {
    this.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, vector | F.INTR_TYPE_EXT_INTR | F.INTR_INFO_VALID_MASK);
  }
  inject_nmi(): void {
    this.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, 2 | F.INTR_TYPE_NMI_INTR | F.INTR_INFO_VALID_MASK);
  }
  interrupt_allowed(): boolean {
    return (this.get_rflags() & 0x200) !== 0 &&
      (this.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) & (F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS)) === 0;
  }
  nmi_allowed(): boolean {
    return (this.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) &
      (F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS | F.GUEST_INTR_STATE_NMI)) === 0;
  }

  /** vmx_enable_irq_window / vmx_enable_nmi_window: interrupt-window / NMI-window exiting. */
  enable_irq_window(): void { this.exec_controls_setbit(F.CPU_BASED_INTR_WINDOW_EXITING); }
  enable_nmi_window(): void { this.exec_controls_setbit(F.CPU_BASED_NMI_WINDOW_EXITING); }
  update_cr8_intercept(blocked: boolean): void {
    if (blocked) this.exec_controls_setbit(F.CPU_BASED_CR8_LOAD_EXITING);
    else this.exec_controls_clearbit(F.CPU_BASED_CR8_LOAD_EXITING);
  }
  exec_controls_setbit(bit: number): void {
    if (this.execControlsShadow & bit) return;
    this.execControlsShadow |= bit;
    this.vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, this.execControlsShadow);
  }
  exec_controls_clearbit(bit: number): void {
    if (!(this.execControlsShadow & bit)) return;
    this.execControlsShadow &= ~bit;
    this.vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, this.execControlsShadow);
  }

  /** vmx_load_mmu_pgd: GUEST_CR3 from arch.cr3 when it is dirty; PDPTRs (ept_load_pdptrs). */
  load_mmu_pgd(): void {
    const v = this.v, a = v.arch;
    if (kvm_register_is_dirty(v, VCPU_EXREG_CR3)) this.vmcs.write(F.GUEST_CR3, a.cr3);
    if (kvm_register_is_dirty(v, VCPU_EXREG_PDPTR)) {
      for (let k = 0; k < 4; k++) this.vmcs.write(F.GUEST_PDPTR0 + 2 * k, a.pdptrs[k]);
    }
  }

  // ---------------------------------------------------------------- VM entry / exit (vmx_vcpu_run)

  /** Apply the VMCS execution controls to the processor (what VMLAUNCH/VMRESUME loads). */
  private applyControls(): void {
    const m = this.vmcs, x = this.v.cpu.intercepts;
    const exec = m.peek(F.CPU_BASED_VM_EXEC_CONTROL) | 0, sec = m.peek(F.SECONDARY_VM_EXEC_CONTROL) | 0;
    x.hlt = (exec & F.CPU_BASED_HLT_EXITING) !== 0;
    x.invlpg = (exec & F.CPU_BASED_INVLPG_EXITING) !== 0;
    x.mwait = (exec & F.CPU_BASED_MWAIT_EXITING) !== 0;
    x.monitor = (exec & F.CPU_BASED_MONITOR_EXITING) !== 0;
    x.rdpmc = (exec & F.CPU_BASED_RDPMC_EXITING) !== 0;
    x.rdtsc = (exec & F.CPU_BASED_RDTSC_EXITING) !== 0;
    x.cr3Load = (exec & F.CPU_BASED_CR3_LOAD_EXITING) !== 0;
    x.cr3Store = (exec & F.CPU_BASED_CR3_STORE_EXITING) !== 0;
    x.cr8Load = (exec & F.CPU_BASED_CR8_LOAD_EXITING) !== 0;
    x.cr8Store = (exec & F.CPU_BASED_CR8_STORE_EXITING) !== 0;
    x.movDr = (exec & F.CPU_BASED_MOV_DR_EXITING) !== 0;
    x.io = (exec & (F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_USE_IO_BITMAPS)) !== 0;
    x.msr = true; // without MSR bitmaps every RDMSR/WRMSR exits; with them, the passthrough sets apply
    x.pause = (exec & F.CPU_BASED_PAUSE_EXITING) !== 0;
    x.interruptWindow = (exec & F.CPU_BASED_INTR_WINDOW_EXITING) !== 0;
    x.nmiWindow = (exec & F.CPU_BASED_NMI_WINDOW_EXITING) !== 0;
    if (x.interruptWindow || x.nmiWindow) this.v.cpu.slow = true;
    x.monitorTrapFlag = (exec & F.CPU_BASED_MONITOR_TRAP_FLAG) !== 0;
    x.descTable = (sec & F.SECONDARY_EXEC_DESC) !== 0;
    x.rdrand = (sec & F.SECONDARY_EXEC_RDRAND_EXITING) !== 0;
    x.rdseed = (sec & F.SECONDARY_EXEC_RDSEED_EXITING) !== 0;
    x.wbinvd = (sec & F.SECONDARY_EXEC_WBINVD_EXITING) !== 0;
    // SDM 25.3: with "enable RDTSCP" clear RDTSCP is #UD; set, it exits with RDTSC exiting.
    x.rdtscpUd = (sec & F.SECONDARY_EXEC_ENABLE_RDTSCP) === 0;
    x.rdtscp = !x.rdtscpUd && x.rdtsc;
    x.mmio = (sec & F.SECONDARY_EXEC_ENABLE_EPT) !== 0;
    x.exceptionBitmap = m.peek(F.EXCEPTION_BITMAP) | 0;
    x.cr0Mask = m.peek(F.CR0_GUEST_HOST_MASK) | 0;
    x.cr0Shadow = m.peek(F.CR0_READ_SHADOW) | 0;
    x.cr4Mask = m.peek(F.CR4_GUEST_HOST_MASK) | 0;
    x.cr4Shadow = m.peek(F.CR4_READ_SHADOW) | 0;
    x.crRead = 0; x.crWrite = 0; x.cr0SelectiveWrite = false;
    x.notify = (sec & F.SECONDARY_EXEC_NOTIFY_VM_EXITING) !== 0;
    x.notifyWindow = x.notify ? m.peek(F.NOTIFY_WINDOW) >>> 0 : 0;
    // Unconditional in VMX non-root operation (SDM Vol. 3C 25.1.2).
    x.cpuid = x.invd = x.xsetbv = x.vmx = x.vmcall = x.tripleFault = x.init = true;
    x.vmmcall = false;
    x.msrPassthroughRead.clear(); x.msrPassthroughWrite.clear();
    if (exec & F.CPU_BASED_USE_MSR_BITMAPS) {
      for (const msr of MSR_PASSTHROUGH_RW) { x.msrPassthroughRead.add(msr); x.msrPassthroughWrite.add(msr); }
      for (const msr of MSR_PASSTHROUGH_R) x.msrPassthroughRead.add(msr);
    }
    this.v.cpu.tscOffset = m.peek(F.TSC_OFFSET);
    m.controlsDirty = false;
  }

  /** VM-entry checks on guest state this model can get wrong through KVM_SET_SREGS (SDM 27.3.1). */
  private entryCheck(): boolean {
    const c = this.v.cpu;
    const lma = (c.efer & EFER_LMA) !== 0;
    if (lma !== ((this.entryControlsShadow & F.VM_ENTRY_IA32E_MODE) !== 0)) return false;
    if ((c.cr0 & CR0_PG) && !(c.cr0 & CR0_PE)) return false;
    if (lma && (!(c.cr0 & CR0_PG) || !(c.cr4 & CR4_PAE))) return false;
    if (lma && (c.seg[1].ar & 0x2000) && (c.seg[1].ar & 0x4000)) return false;
    return true;
  }

  vcpu_run(budget: number): number {
    const v = this.v, m = this.vmcs, a = v.arch;
    if (a.requests & KVM_REQ_LOAD_MMU_PGD) { a.requests &= ~KVM_REQ_LOAD_MMU_PGD; this.load_mmu_pgd(); }
    if (a.regs_dirty & ((1 << VCPU_REGS_RSP) | (1 << VCPU_REGS_RIP))) this.write_dirty_rsp_rip();
    a.regs_dirty = 0;
    if ((m.controlsDirty || m.modeDirty || m.tlbDirty) && !this.load_guest_state()) return this.failEntry();
    syncGprsToCpu(v, false);
    const entryInfo = m.peek(F.VM_ENTRY_INTR_INFO_FIELD) | 0;
    if (entryInfo & F.INTR_INFO_VALID_MASK) this.inject_at_entry(entryInfo);
    const r = v.runCpu(budget);
    syncGprsFromCpu(v, false);
    a.regs_avail &= ~VMX_REGS_LAZY_LOAD_SET;
    if (!this.firstExitDone) { m.markGuestStateSaved(); this.firstExitDone = true; }
    // The processor clears the valid bit of the VM-entry interruption information on VM exit.
    if (entryInfo & F.INTR_INFO_VALID_MASK) m.hwSet(F.VM_ENTRY_INTR_INFO_FIELD, entryInfo & ~F.INTR_INFO_VALID_MASK);
    // A run cut without a VM exit: run.ts's completeInterruptsWithoutExit settles the injected event.
    if (r !== RUN_EXIT) return r;
    this.recordExit();
    return r;
  }

  /**
   * vmx_switch_vmcs: make `target` the current VMCS. Dirty RSP/RIP go to the old one first; its
   * guest state is saved off the processor and the target's loaded; the register and segment
   * caches are reset (vmx_register_cache_reset) and the control shadows re-read.
   */
  switch_vmcs(target: Vmcs): void {
    if (target === this.vmcs) return;
    const a = this.v.arch;
    if (a.regs_dirty & ((1 << VCPU_REGS_RSP) | (1 << VCPU_REGS_RIP))) this.write_dirty_rsp_rip();
    a.regs_dirty = 0;
    this.vmcs.detach();
    target.tracer = this.vmcs.tracer;
    this.vmcs = target;
    target.attach();
    target.modeDirty = true; target.tlbDirty = true; target.controlsDirty = true;
    a.regs_avail &= ~VMX_REGS_LAZY_LOAD_SET;
    this.segment_cache_clear();
    this.execControlsShadow = target.peek(F.CPU_BASED_VM_EXEC_CONTROL) | 0;
    this.entryControlsShadow = target.peek(F.VM_ENTRY_CONTROLS) | 0;
    this.guestEferLoaded = -1;
  }

  /** vmx_vcpu_run: RSP and RIP are written back to the VMCS only when dirty. */
  private write_dirty_rsp_rip(): void {
    const v = this.v, m = this.vmcs, a = v.arch;
    if (kvm_register_is_dirty(v, VCPU_REGS_RSP)) m.write(F.GUEST_RSP, a.regs[9] * 4294967296 + (a.regs[8] >>> 0));
    if (kvm_register_is_dirty(v, VCPU_REGS_RIP)) m.write(F.GUEST_RIP, a.regs[33] * 4294967296 + (a.regs[32] >>> 0));
  }

  /** VM entry loads changed controls, mode and paging state into the processor; false if the entry checks fail. */
  private load_guest_state(): boolean {
    const m = this.vmcs, c = this.v.cpu;
    if (m.controlsDirty) this.applyControls();
    if (m.modeDirty) {
      c.efer = (c.efer & ~EFER_LMA) | ((this.entryControlsShadow & F.VM_ENTRY_IA32E_MODE) ? EFER_LMA : 0);
      if (!this.entryCheck()) return false;
      c.updateMode(); c.updateAcCheck(); m.modeDirty = false;
    }
    if (m.tlbDirty) { c.flushTlb(false); m.tlbDirty = false; }
    return true;
  }

  /** Event injection through the VM-entry interruption-information field. */
  private inject_at_entry(entryInfo: number): void {
    const m = this.vmcs;
    entryInjectEvent(this.v, entryInfo, m.peek(F.VM_ENTRY_EXCEPTION_ERROR_CODE) | 0, m.peek(F.VM_ENTRY_INSTRUCTION_LEN) | 0);
  }

  /**
   * VM entry failed its guest-state checks (SDM Vol. 3C 27.8): the processor exits with bit 31 of
   * the exit reason set and a 0 exit qualification; vmx_vcpu_run still drops the lazily loaded
   * registers and VMREADs the exit reason, then returns before vmx_complete_interrupts.
   */
  private failEntry(): number {
    const m = this.vmcs;
    m.hwSet(F.VM_EXIT_REASON, (33 | F.VMX_EXIT_REASONS_FAILED_VMENTRY) >>> 0);
    m.hwSet(F.EXIT_QUALIFICATION, 0);
    this.v.arch.regs_avail &= ~VMX_REGS_LAZY_LOAD_SET;
    this.exitReason = m.read(F.VM_EXIT_REASON) >>> 0;
    this.exitCode = this.exitReason;
    return RUN_EXIT;
  }

  /** The exit-information fields the processor writes, then KVM's unconditional VMREADs. */
  private recordExit(): void {
    const m = this.vmcs, e = this.v.cpu.exit;
    let reason = e.reason;
    if (reason >= HW_UNEMULATED) { this.exitReason = reason; this.exitCode = reason; this.idtVectoringInfo = 0; return; }
    if (reason === EXIT_REASON_EPT_VIOLATION && this.mmioSptes.has(Math.floor(e.gpa / 4096))) reason = EXIT_REASON_EPT_MISCONFIG;
    m.saveExitInfo(reason, e);
    this.exitReason = m.read(F.VM_EXIT_REASON) >>> 0;
    this.exitCode = this.exitReason;
    this.idtVectoringInfo = m.read(F.IDT_VECTORING_INFO_FIELD) | 0;
    exitCompleteInterrupts(this.v, this.idtVectoringInfo, e.idtVectoringError);
  }

  /** vmx_get_exit_qual (EXIT_INFO_1). */
  get_exit_qual(): number {
    const v = this.v;
    if (!kvm_register_test_and_mark_available(v, VCPU_EXREG_EXIT_INFO_1)) v.arch.exit_qualification = this.vmcs.read(F.EXIT_QUALIFICATION);
    return v.arch.exit_qualification;
  }
  /** vmx_get_intr_info (EXIT_INFO_2). */
  get_intr_info(): number {
    const v = this.v;
    if (!kvm_register_test_and_mark_available(v, VCPU_EXREG_EXIT_INFO_2)) v.arch.exit_intr_info = this.vmcs.read(F.VM_EXIT_INTR_INFO) | 0;
    return v.arch.exit_intr_info;
  }

  exitName(): string {
    if (this.exitReason & F.VMX_EXIT_REASONS_FAILED_VMENTRY) return 'EXIT_REASON_INVALID_STATE (VM-entry failure)';
    const n = EXIT_REASON_NAMES[this.exitReason & 0xffff];
    return this.exitReason >= HW_UNEMULATED ? n ?? 'UNEMULATED' : 'EXIT_REASON_' + (n ?? String(this.exitReason));
  }
  exitInfo1(): number { return this.vmcs.peek(F.EXIT_QUALIFICATION); }
  exitInfo2(): number { return this.vmcs.peek(F.VM_EXIT_INTR_INFO); }

  /** __vmx_handle_exit. */
  handle_exit(): number {
    const v = this.v, reason = this.exitReason;
    // nested_vmx_reflect_vmexit: an exit from L2 that L1 asked for goes to L1.
    if (this.nested.guest_mode && this.nested.nested_vmx_reflect_vmexit()) return 1;
    if (reason === HW_UNEMULATED) return reportUnemulated(v);
    if (reason === HW_EMULATOR_USERSPACE) return 0;
    if (reason & F.VMX_EXIT_REASONS_FAILED_VMENTRY) {
      const run = v.kvm_run;
      run.exit_reason = KVM_EXIT_FAIL_ENTRY;
      run.fail_entry.hardware_entry_failure_reason = BigInt(reason >>> 0);
      run.fail_entry.cpu = 0;
      return 0;
    }
    const basic = reason & 0xffff;
    if ((this.idtVectoringInfo & F.INTR_INFO_VALID_MASK) && basic !== EXIT_REASON_EXCEPTION_NMI &&
      basic !== EXIT_REASON_EPT_VIOLATION && basic !== EXIT_REASON_PML_FULL && basic !== EXIT_REASON_APIC_ACCESS &&
      basic !== EXIT_REASON_TASK_SWITCH && basic !== EXIT_REASON_NOTIFY) {
      const run = v.kvm_run;
      run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
      run.internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
      run.internal.ndata = 4;
      run.internal.data[0] = BigInt(this.idtVectoringInfo >>> 0);
      run.internal.data[1] = BigInt(reason);
      run.internal.data[2] = BigInt(this.get_exit_qual());
      run.internal.data[3] = 0n;
      return 0;
    }
    const h = vmxExitHandlers[basic];
    if (!h) return this.unexpected_vmexit();
    return h(v, this);
  }

  unexpected_vmexit(): number {
    const run = this.v.kvm_run;
    run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
    run.internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
    run.internal.ndata = 2;
    run.internal.data[0] = BigInt(this.exitReason >>> 0);
    run.internal.data[1] = 0n;
    return 0;
  }

  /** skip_emulated_instruction (vmx.c). */
  skip_emulated_instruction(): boolean {
    if ((this.exitReason & 0xffff) === EXIT_REASON_EPT_MISCONFIG) return this.skip_by_emulation();
    const v = this.v;
    const len = this.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN);
    let rip = kvm_rip_read(v) + len;
    // Outside 64-bit mode a RIP carried past 4 GiB wraps (vmx.c: ((rip ^ orig_rip) >> 31) == 3).
    if (rip >= 4294967296 && !(v.arch.efer & EFER_LMA)) rip = rip >>> 0;
    kvm_rip_write(v, rip);
    this.set_interrupt_shadow(0);
    return true;
  }
  /** EPT misconfig exits have no instruction length: the emulator decodes the instruction to skip it. */
  private skip_by_emulation(): boolean {
    if (!kvm_emulate_instruction(this.v, 1 /* EMULTYPE_SKIP */)) return false;
    this.set_interrupt_shadow(0);
    return true;
  }

  patch_hypercall(buf: Uint8Array): void { buf[0] = 0x0f; buf[1] = 0x01; buf[2] = 0xc1; }

  /** An exit the processor took while KVM emulated an instruction (invalid guest state, MMIO). */
  emulator_exit(): number {
    // A new exit: EXIT_QUALIFICATION / INTR_INFO are read again (the lazily cached ones belong to the exit that started the emulation).
    this.v.arch.regs_avail &= ~((1 << VCPU_EXREG_EXIT_INFO_1) | (1 << VCPU_EXREG_EXIT_INFO_2));
    this.recordExit();
    if (this.v.trace) this.v.trace.hwExit();
    return this.handle_exit();
  }

  /** Invalid guest state: the emulator delivers the event programmed for VM entry. */
  applyEntryInjectionToCpu(): void {
    const m = this.vmcs, info = m.peek(F.VM_ENTRY_INTR_INFO_FIELD) | 0;
    if (!(info & F.INTR_INFO_VALID_MASK)) return;
    entryInjectEvent(this.v, info, m.peek(F.VM_ENTRY_EXCEPTION_ERROR_CODE) | 0, m.peek(F.VM_ENTRY_INSTRUCTION_LEN) | 0);
    m.hwSet(F.VM_ENTRY_INTR_INFO_FIELD, 0);
  }

  setGuestPat(lo: number, hi: number): void { this.vmcs.write(F.GUEST_IA32_PAT, (hi >>> 0) * 4294967296 + (lo >>> 0)); }
  setTscOffset(o: number): void { this.vmcs.write(F.TSC_OFFSET, o); }

  /** vmx_set_dr handling for MOV-DR exiting: stop exiting once the guest uses its DRs (KVM_DEBUGREG_WONT_EXIT). */
  stopDrExiting(): void {
    this.drWontExit = true;
    this.exec_controls_clearbit(F.CPU_BASED_MOV_DR_EXITING);
  }

  controlBlock(): ControlBlockField[] {
    return this.vmcs.fields().map((f) => ({ name: vmcsFieldName(f.field), encoding: f.field, value: f.value, written: true }));
  }
}

export { kvm_register_read_raw, kvm_register_write };
