// struct kvm_vcpu_arch: the x86 part of a vCPU that KVM keeps outside the VMCS/VMCB
// (arch/x86/include/asm/kvm_host.h), reduced to what this model uses.
import type { kvm_cpuid_entry2 } from './uapi';
import { KVM_MP_STATE_RUNNABLE } from './uapi';
import type { KvmVcpu } from './vcpu';
import type { KvmVcpuHv } from './hyperv';
import { NR_VCPU_REGS } from './x86/kvm_cache_regs';
import { KvmClockVcpu } from './x86/kvmclock';

/** KVM_REQ_* bits of this model (vcpu->requests). */
export const KVM_REQ_TRIPLE_FAULT = 1 << 0, KVM_REQ_EVENT = 1 << 1, KVM_REQ_LOAD_MMU_PGD = 1 << 2,
  KVM_REQ_TLB_FLUSH_GUEST = 1 << 3, KVM_REQ_UNHALT = 1 << 4, KVM_REQ_HV_RESET = 1 << 5, KVM_REQ_HV_EXIT = 1 << 6;

/** complete_userspace_io callback: 1 resume the guest, 0 back to userspace, < 0 error. */
export type CompleteUserspaceIo = (v: KvmVcpu) => number;

export class VcpuArch {
  /** vcpu->arch.regs[] as 32-bit halves (regs[2r] low, regs[2r+1] high). */
  readonly regs = new Int32Array(2 * NR_VCPU_REGS);
  /** regs[] as whole 64-bit bit patterns, for the entry/exit GPR copies (see syncGprsToCpu). */
  readonly regs64 = new Float64Array(this.regs.buffer);
  /** High half of the last kvm_register_read_raw. */
  hi = 0;
  regs_avail = 0;
  regs_dirty = 0;
  /** A hardware exit a debugger stopped at (vm.hwExitStop) is handled when KVM_RUN is called again. */
  hw_exit_pending = false;
  cr0 = 0; cr2 = 0; cr3 = 0; cr4 = 0; cr8 = 0;
  efer = 0;
  xcr0 = 1;
  ia32_xss = 0;
  cr0_guest_owned_bits = 0;
  cr4_guest_owned_bits = 0;
  cr4_guest_rsvd_bits = 0;
  /** walk_mmu->pdptrs. */
  readonly pdptrs = [0, 0, 0, 0];
  /** vmx->rflags (VMX's RFLAGS cache). */
  rflags = 0;
  dr6 = 0xffff0ff0;
  dr7 = 0x400;
  readonly db = [0, 0, 0, 0];
  /** IA32_PAT as two halves. */
  readonly pat = [0x00070406, 0x00070406];
  smbase = 0x30000;
  ia32_misc_enable_msr = 0x1800;
  apic_base = 0;
  tsc_offset = 0;
  mp_state = KVM_MP_STATE_RUNNABLE;
  hflags = 0;

  /** vcpu->arch.exception (kvm_queued_exception). */
  exc_pending = false; exc_injected = false; exc_vector = 0; exc_has_error = false; exc_error = 0;
  exc_has_payload = false; exc_payload = 0;
  /** vcpu->arch.interrupt. */
  intr_injected = false; intr_nr = 0; intr_soft = false;
  nmi_pending = 0; nmi_injected = false;
  /** vcpu->arch.nmi_queued: NMIs sent (KVM_REQ_NMI) not yet folded into nmi_pending by process_nmi. */
  nmi_queued = 0;
  /** vcpu->arch.pv.pv_unhalted (KVM_HC_KICK_CPU / APIC_DM_REMRD). */
  pv_unhalted = false;
  /** vcpu->arch.time / pvclock state (kvmclock.ts). */
  kvmclock = new KvmClockVcpu();
  /** MSR_IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3). */
  ia32_tsc_adjust_msr = 0;

  /** vcpu->requests. */
  requests = 0;
  complete_userspace_io: CompleteUserspaceIo | null = null;
  /** vcpu->arch.pio. */
  pio_count = 0; pio_port = 0; pio_size = 0; pio_in = false;
  cui_linear_rip = 0;

  /** KVM_SET_CPUID2 table. */
  cpuid: kvm_cpuid_entry2[] = [];
  /** vcpu->arch.pv_cpuid. */
  pv_enforce = false;
  pv_features = 0;
  /** vcpu->arch.hyperv_enabled (the CPUID has the Hyper-V signature) and the Hyper-V context (hyperv.ts). */
  hyperv_enabled = false;
  hyperv: KvmVcpuHv | null = null;
  /** KVM PV MSR values (kvmclock, async PF, steal time, PV EOI, poll control, migration). */
  readonly pv_msrs = new Map<number, number>();
  /** Other MSRs KVM accepts and stores (MTRRs, ucode rev, ...). */
  readonly msrs = new Map<number, number>();

  /** VMX: vmx->exit_qualification / exit_intr_info (EXIT_INFO_1/2 caches). */
  exit_qualification = 0;
  exit_intr_info = 0;

  /** vcpu->guest_debug and the breakpoint addresses (KVM_SET_GUEST_DEBUG). */
  guest_debug = 0;
  readonly guest_debug_dr = [0, 0, 0, 0, 0, 0, 0, 0];
}
