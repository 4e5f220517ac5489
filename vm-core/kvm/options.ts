// Per-VM options of the model, in one place. They select KVM module parameters and behaviours
// that real KVM fixes at load time or that a debugger needs to reproduce a mailing-list thread.
// Documented in kvm/README.md.

export type HypercallPolicy = 'patch' | 'patch-fixed' | 'ud' | 'emulate';

export interface VmOptions {
  /**
   * What KVM does with the other vendor's hypercall instruction (VMMCALL on Intel, VMCALL on AMD),
   * seed 000. Default: follow KVM_X86_QUIRK_FIX_HYPERCALL_INSN ('patch' while the quirk is on,
   * 'ud' once KVM_CAP_DISABLE_QUIRKS(2) cleared it).
   *  - 'patch': mainline: emulated 3-byte write at RIP, re-execute; #PF on a failed write.
   *  - 'patch-fixed': Sean's proposal: #UD instead of #PF, and #UD if the bytes are already native.
   *  - 'ud': quirk off: inject #UD.
   *  - 'emulate': Hou Wenlong's v2: emulate the hypercall without patching.
   */
  hypercallPolicy?: HypercallPolicy;
  /** kvm_intel.unrestricted_guest (default true). Off: big real mode is emulated instruction by instruction. */
  unrestrictedGuest?: boolean;
  /** Reproduce the code before seed 001's fix: CR3 kept across RESET/INIT, GUEST_CR0 read before written. */
  preFixSeed001?: boolean;
  /** Compare cached registers with the VMCS/VMCB on every cached read (stale-cache events). Default true. */
  detectStaleCache?: boolean;
  /** Instructions of emulation at the same RIP before a KVM livelock is reported. Default 10000. */
  livelockThreshold?: number;
  /**
   * Intercept #AC and #DB in the exception bitmap (default true: KVM since the CVE-2015-5307 and
   * CVE-2015-8104 fixes, which turned the guest's endless #AC/#DB delivery loops into an exit storm
   * KVM handles). false models KVM before them, or a guest whose exceptions the VMM cannot see
   * (TDX): such a loop then stays inside the processor, the case Notify VM exits exist for (seed 004).
   */
  interceptAcDb?: boolean;
  /**
   * The virtual TSC frequency in kHz (KVM_SET_TSC_KHZ on the VM, KVM_CAP_VM_TSC_CONTROL); default
   * 2,000,000 (2 GHz). One guest instruction is one TSC cycle, so this sets how much virtual time an
   * instruction takes (0.5 ns at 2 GHz) for kvmclock, the LAPIC timer and Hyper-V reference time.
   */
  tscKhz?: number;
  /**
   * kvm_intel.nested: VMX for the guest (CPUID.1:ECX.VMX in KVM_GET_SUPPORTED_CPUID, IA32_FEATURE_CONTROL,
   * the IA32_VMX_* MSRs, VMXON and the VMX instructions; vmx/nested.ts). Default false, as the
   * module parameter was before Linux 4.20 (it defaults to 1 since); Intel only.
   */
  nested?: boolean;
}

export interface ResolvedVmOptions {
  hypercallPolicy: HypercallPolicy | undefined;
  unrestrictedGuest: boolean;
  preFixSeed001: boolean;
  detectStaleCache: boolean;
  livelockThreshold: number;
  interceptAcDb: boolean;
  tscKhz: number | undefined;
  nested: boolean;
}

export function resolveVmOptions(o: VmOptions = {}): ResolvedVmOptions {
  return {
    hypercallPolicy: o.hypercallPolicy,
    unrestrictedGuest: o.unrestrictedGuest ?? true,
    preFixSeed001: o.preFixSeed001 ?? false,
    detectStaleCache: o.detectStaleCache ?? true,
    livelockThreshold: o.livelockThreshold ?? 10000,
    interceptAcDb: o.interceptAcDb ?? true,
    tscKhz: o.tscKhz,
    nested: o.nested ?? false,
  };
}
