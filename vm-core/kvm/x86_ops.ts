// The vendor interface of KVM x86 (struct kvm_x86_ops in arch/x86/include/asm/kvm_host.h),
// implemented per vCPU by kvm/vmx/vmx.ts and kvm/svm/svm.ts.

/** A segment as KVM passes it around (struct kvm_segment, numbers only: the hot path). */
export class KvmSegment {
  base = 0; limit = 0; selector = 0; type = 0; present = 0; dpl = 0; db = 0; s = 0; l = 0; g = 0; avl = 0;
  unusable = 0;
}
export interface KvmDtable { base: number; limit: number; }

/** The observer of every control-block access (VMREAD/VMWRITE, VMCB field reads/writes). */
export interface ControlBlockTracer {
  /** Every VMREAD (write=false) and VMWRITE (write=true). */
  access(write: boolean, field: number, value: number): void;
  /** A VMREAD of a field nothing ever wrote. */
  neverWritten(field: number): void;
}

/** One field of the VMCS/VMCB as the debugger shows it. */
export interface ControlBlockField { name: string; encoding?: number; value: number; written: boolean; }

/**
 * What the debugger reads of the vendor's state, side-effect free: no counted VMREAD/VMWRITE or
 * VMCB access, no change to the register cache (reverse execution rebuilds states exactly, and a
 * shown scope must not change what it shows). Everything vendor-specific a view needs is here, so
 * nothing outside kvm/vmx and kvm/svm tests the vendor or casts to its class.
 */
export interface KvmVendorView {
  /** 'Intel (VMX)' / 'AMD (SVM)'. */
  readonly vendorLabel: string;
  /** 'VMCS' / 'VMCB'. */
  readonly controlBlockLabel: string;
  /** What the access counters count: 'VMREADs'/'VMWRITEs' or 'VMCB reads'/'VMCB writes'. */
  readonly readsLabel: string;
  readonly writesLabel: string;
  /** CR0/CR4 as the guest reads them (VMX: the read shadows over the guest/host masks). */
  guestCr0(): number;
  guestCr4(): number;
  /** KVM_X86_SHADOW_INT_* bits, as get_interrupt_shadow would return them. */
  interruptShadow(): number;
  /** The name of a VMCS encoding / VMCB field. */
  fieldName(field: number): string;
  /** The control block's areas in document order (SDM Vol. 3C 24.4-24.9; APM Vol. 2 Appendix B). */
  readonly controlBlockAreas: readonly string[];
  /** The area (one of controlBlockAreas) a field belongs to. */
  controlBlockArea(field: number): string;
  /** Whether GPR `reg` (VCPU_REGS_*) has a control-block field: GUEST_RSP/GUEST_RIP; the VMCB also has RAX. */
  gprInControlBlock(reg: number): boolean;
  /**
   * Why an edit of CS.L/CS.D would make the next VM entry fail in a way the model does not
   * reproduce, or null (VMX models the failed entry; SVM has no VMRUN consistency checks).
   */
  unmodelledEntryFailure(longMode: boolean, cr4Pae: boolean, csL: number, csD: number): string | null;
}

/**
 * struct kvm_x86_nested_ops (kvm_host.h) plus what x86.c asks of nested state: present on VMX
 * vCPUs (kvm/vmx/nested.ts). Everything returns at once when nesting is off.
 */
export interface KvmNestedOps {
  /** is_guest_mode: L2 is running (vmcs02 loaded). */
  is_guest_mode(): boolean;
  /** The level the vCPU runs: 1 or 2. */
  readonly level: number;
  /** kvm_check_nested_events (vmx_check_nested_events): false while events are blocked (nested_run_pending). */
  check_events(): boolean;
  /** nested_ops->triple_fault (nested_vmx_triple_fault): a TRIPLE_FAULT exit to L1. */
  triple_fault(): void;
  /** vmx_leave_nested and free_nested: vCPU RESET / INIT with nested state (seed 001). */
  leave_nested(): void;
  /** vmx_apic_init_signal_blocked: INIT is latched in VMX root operation. */
  init_signal_blocked(): boolean;
  /** IA32_FEATURE_CONTROL and the IA32_VMX_* MSRs (vmx_get_msr / vmx_set_msr); KVM_MSR_RET_*. */
  get_msr(msr: number, hostInitiated: boolean): number;
  set_msr(msr: number, lo: number, hi: number, hostInitiated: boolean): number;
  /** vmx_is_valid_cr4's nested part: VMXE allowed (nested_vmx_allowed) and kept while in VMX operation. */
  cr4_vmxe_allowed(): boolean;
  is_valid_cr4(cr4: number): boolean;
  /** The debugger's side-effect-free view of the nested state. */
  describe(): NestedView;
}

/** What the debugger shows of nested virtualization (no VMREAD counted, nothing changed). */
export interface NestedView {
  enabled: boolean;
  level: number;
  vmxon: boolean;
  vmxonPtr: number;
  currentVmptr: number;
  launched: boolean;
  /** L1's view: the current vmcs12 (supported fields, by encoding), or null without one. */
  vmcs12: ControlBlockField[] | null;
  /** The VMCS the processor runs L2 with, while L2 runs. */
  vmcs02: ControlBlockField[] | null;
  nestedEntries: number;
  /** Exits from L2 by reason name: reflected to L1, handled by L0. */
  reflected: Record<string, number>;
  l0Handled: Record<string, number>;
}

export interface KvmX86Ops {
  readonly name: 'vmx' | 'svm';
  /** Nested virtualization (VMX only). */
  readonly nested?: KvmNestedOps;
  /** The debugger's side-effect-free view of the vendor state. */
  readonly view: KvmVendorView;
  /** Trace every control-block access to the VM's observers (null: no tracing, the fast path). */
  setTracer(tracer: ControlBlockTracer | null): void;
  /** vcpu_after_set_cpuid: vendor state that depends on the guest's CPUID (VMX: CR4 mask, secondary controls). */
  vcpu_after_set_cpuid(): void;
  /** kvm_register_is_available bits the vendor never loads lazily (SVM: RFLAGS lives in the VMCB). */
  readonly alwaysAvailableRegs: number;
  /** vcpu_create: allocate the zeroed VMCS/VMCB. */
  vcpu_create(): void;
  /** vcpu_reset: the vendor part of kvm_vcpu_reset (init_vmcs / init_vmcb). */
  vcpu_reset(initEvent: boolean): void;
  /** cache_reg: fill an unavailable register from the VMCS/VMCB. */
  cache_reg(reg: number): void;
  get_rflags(): number;
  set_rflags(v: number): void;
  set_cr0(v: number): void;
  set_cr4(v: number): void;
  /** Returns 0, or 1 when the value is refused. */
  set_efer(v: number): number;
  get_segment(seg: number, out: KvmSegment): void;
  set_segment(seg: number, s: KvmSegment): void;
  get_cpl(): number;
  /** Bit 0: CS.D, bit 1: CS.L. */
  get_cs_db_l_bits(): number;
  get_idt(): KvmDtable;
  set_idt(d: KvmDtable): void;
  get_gdt(): KvmDtable;
  set_gdt(d: KvmDtable): void;
  set_dr7(v: number): void;
  /** KVM_X86_SHADOW_INT_* bits. */
  get_interrupt_shadow(): number;
  set_interrupt_shadow(mask: number): void;
  /** Program event injection for the next entry (VM_ENTRY_INTR_INFO_FIELD / EVENTINJ). */
  inject_exception(vector: number, hasError: boolean, error: number, insnLen: number): void;
  inject_irq(vector: number): void;
  inject_nmi(): void;
  interrupt_allowed(): boolean;
  /** Exit as soon as the guest can take an interrupt / an NMI (interrupt-window, NMI-window exiting). */
  enable_irq_window(): void;
  /** update_cr8_intercept: make CR8 writes exit while an interrupt is held back by TPR (VMX without a TPR threshold). */
  update_cr8_intercept?(blocked: boolean): void;
  enable_nmi_window(): void;
  nmi_allowed(): boolean;
  update_exception_bitmap(): void;
  /** Sync arch.cr3 into the VMCS/VMCB when KVM_REQ_LOAD_MMU_PGD is pending. */
  load_mmu_pgd(): void;
  /** vcpu_run: VM entry, run the processor for up to `budget` instructions, VM exit bookkeeping. */
  vcpu_run(budget: number): number;
  /** handle_exit: 1 resume the guest, 0 exit to userspace (run filled), < 0 error. */
  handle_exit(): number;
  skip_emulated_instruction(): boolean;
  /** The native hypercall instruction (VMCALL / VMMCALL). */
  patch_hypercall(buf: Uint8Array): void;
  /** VMX: guest state that needs emulation (unrestricted guest off, big real mode). */
  emulation_required(): boolean;
  /** The vendor exit code of the last exit and its name, info1 (qualification), info2. */
  readonly exitCode: number;
  exitName(): string;
  exitInfo1(): number;
  exitInfo2(): number;
  /** VMCS/VMCB field access for the debugger. */
  controlBlock(): ControlBlockField[];
  /** Counters of VMREAD/VMWRITE (VMX) or KVM's VMCB field reads/writes (SVM). */
  readonly reads: number;
  readonly writes: number;
}
