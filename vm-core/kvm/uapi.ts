// KVM's userspace ABI for x86: the names and numbers of include/uapi/linux/kvm.h,
// arch/x86/include/uapi/asm/kvm.h, include/uapi/linux/kvm_para.h and asm/kvm_para.h.
// Struct field names follow the uapi structs; 64-bit values are BigInt at this boundary only.

// ---------------------------------------------------------------- errno (include/uapi/asm-generic/errno-base.h)
export const EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
  EFAULT = 14, EBUSY = 16, EEXIST = 17, ENXIO = 6, EINVAL = 22, ENOSPC = 28, ENOSYS = 38, EOPNOTSUPP = 95;

// ---------------------------------------------------------------- KVM_EXIT_* (kvm.h)
export const KVM_EXIT_UNKNOWN = 0, KVM_EXIT_EXCEPTION = 1, KVM_EXIT_IO = 2, KVM_EXIT_HYPERCALL = 3,
  KVM_EXIT_DEBUG = 4, KVM_EXIT_HLT = 5, KVM_EXIT_MMIO = 6, KVM_EXIT_IRQ_WINDOW_OPEN = 7, KVM_EXIT_SHUTDOWN = 8,
  KVM_EXIT_FAIL_ENTRY = 9, KVM_EXIT_INTR = 10, KVM_EXIT_SET_TPR = 11, KVM_EXIT_TPR_ACCESS = 12, KVM_EXIT_NMI = 16,
  KVM_EXIT_INTERNAL_ERROR = 17, KVM_EXIT_SYSTEM_EVENT = 24, KVM_EXIT_IOAPIC_EOI = 26, KVM_EXIT_HYPERV = 27,
  KVM_EXIT_X86_RDMSR = 29, KVM_EXIT_X86_WRMSR = 30, KVM_EXIT_DIRTY_RING_FULL = 31, KVM_EXIT_AP_RESET_HOLD = 32,
  KVM_EXIT_X86_BUS_LOCK = 33, KVM_EXIT_XEN = 34, KVM_EXIT_NOTIFY = 37, KVM_EXIT_MEMORY_FAULT = 39;

export const KVM_EXIT_NAMES: Record<number, string> = {
  0: 'KVM_EXIT_UNKNOWN', 1: 'KVM_EXIT_EXCEPTION', 2: 'KVM_EXIT_IO', 3: 'KVM_EXIT_HYPERCALL', 4: 'KVM_EXIT_DEBUG',
  5: 'KVM_EXIT_HLT', 6: 'KVM_EXIT_MMIO', 7: 'KVM_EXIT_IRQ_WINDOW_OPEN', 8: 'KVM_EXIT_SHUTDOWN',
  9: 'KVM_EXIT_FAIL_ENTRY', 10: 'KVM_EXIT_INTR', 11: 'KVM_EXIT_SET_TPR', 12: 'KVM_EXIT_TPR_ACCESS',
  16: 'KVM_EXIT_NMI', 17: 'KVM_EXIT_INTERNAL_ERROR', 24: 'KVM_EXIT_SYSTEM_EVENT', 26: 'KVM_EXIT_IOAPIC_EOI',
  27: 'KVM_EXIT_HYPERV', 29: 'KVM_EXIT_X86_RDMSR', 30: 'KVM_EXIT_X86_WRMSR', 31: 'KVM_EXIT_DIRTY_RING_FULL',
  32: 'KVM_EXIT_AP_RESET_HOLD', 33: 'KVM_EXIT_X86_BUS_LOCK', 34: 'KVM_EXIT_XEN', 37: 'KVM_EXIT_NOTIFY',
  39: 'KVM_EXIT_MEMORY_FAULT',
};

/** KVM_EXIT_IO directions. */
export const KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;

/** run->internal.suberror for KVM_EXIT_INTERNAL_ERROR. */
export const KVM_INTERNAL_ERROR_EMULATION = 1, KVM_INTERNAL_ERROR_SIMUL_EX = 2, KVM_INTERNAL_ERROR_DELIVERY_EV = 3,
  KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;
/** KVM_INTERNAL_ERROR_EMULATION: run->emulation_failure.flags bit: insn_bytes valid. */
export const KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

/** run->system_event.type. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1, KVM_SYSTEM_EVENT_RESET = 2, KVM_SYSTEM_EVENT_CRASH = 3,
  KVM_SYSTEM_EVENT_WAKEUP = 4, KVM_SYSTEM_EVENT_SUSPEND = 5, KVM_SYSTEM_EVENT_SEV_TERM = 6;

/** run->hyperv.type. OVERLAY is seed 002's proposal (never in mainline). */
export const KVM_EXIT_HYPERV_SYNIC = 1, KVM_EXIT_HYPERV_HCALL = 2, KVM_EXIT_HYPERV_SYNDBG = 3,
  KVM_EXIT_HYPERV_OVERLAY = 4;

/** run->msr.reason for KVM_EXIT_X86_RDMSR/WRMSR (KVM_CAP_X86_USER_SPACE_MSR). */
export const KVM_MSR_EXIT_REASON_INVAL = 1 << 0, KVM_MSR_EXIT_REASON_UNKNOWN = 1 << 1,
  KVM_MSR_EXIT_REASON_FILTER = 1 << 2;
export const KVM_MSR_EXIT_REASON_VALID_MASK = 7;

/** run->notify.flags. */
export const KVM_NOTIFY_CONTEXT_INVALID = 1 << 0;

/** run->hypercall.flags bit 0 (KVM_EXIT_HYPERCALL_LONG_MODE). */
export const KVM_EXIT_HYPERCALL_LONG_MODE = 1n << 0n;

// ---------------------------------------------------------------- KVM_CAP_* (kvm.h)
export const KVM_CAP_IRQCHIP = 0, KVM_CAP_HLT = 1, KVM_CAP_USER_MEMORY = 3, KVM_CAP_SET_TSS_ADDR = 4,
  KVM_CAP_EXT_CPUID = 7, KVM_CAP_NR_VCPUS = 9, KVM_CAP_NR_MEMSLOTS = 10, KVM_CAP_MP_STATE = 14,
  KVM_CAP_SYNC_MMU = 16, KVM_CAP_IMMEDIATE_EXIT = 136, KVM_CAP_SET_GUEST_DEBUG = 23, KVM_CAP_VCPU_EVENTS = 41,
  KVM_CAP_HYPERV = 44, KVM_CAP_DEBUGREGS = 50, KVM_CAP_XSAVE = 55, KVM_CAP_XCRS = 56,
  KVM_CAP_READONLY_MEM = 81, KVM_CAP_MAX_VCPUS = 66, KVM_CAP_DISABLE_QUIRKS = 116,
  KVM_CAP_X86_USER_SPACE_MSR = 188, KVM_CAP_X86_MSR_FILTER = 189, KVM_CAP_ENFORCE_PV_FEATURE_CPUID = 190,
  KVM_CAP_HYPERV_ENFORCE_CPUID = 199, KVM_CAP_EXIT_HYPERCALL = 201, KVM_CAP_DISABLE_QUIRKS2 = 213,
  KVM_CAP_X86_TRIPLE_FAULT_EVENT = 218, KVM_CAP_X86_NOTIFY_VMEXIT = 219,
  KVM_CAP_HYPERV_VP_INDEX = 149, KVM_CAP_HYPERV_CPUID = 167, KVM_CAP_SYS_HYPERV_CPUID = 191,
  KVM_CAP_HYPERV_SYNIC = 123, KVM_CAP_HYPERV_SYNIC2 = 148,
  KVM_CAP_REINJECT_CONTROL = 24, KVM_CAP_IRQ_ROUTING = 25, KVM_CAP_IRQ_INJECT_STATUS = 26, KVM_CAP_PIT2 = 33,
  KVM_CAP_PIT_STATE2 = 35, KVM_CAP_SIGNAL_MSI = 77;
/**
 * Seed 002's KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE never reached mainline (the patch used 195, which
 * upstream gave to KVM_CAP_SET_GUEST_DEBUG2): this model's own number, 0x10000 + 195, outside the
 * range upstream allocates from. A VM cap: the HV_X64_MSR_HYPERCALL write exits to userspace.
 */
export const KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE = 0x10000 + 195;
/** Bytes of code/data an OVERLAY exit carries (KVM_EXIT_HV_OVERLAY_DATA_SIZE, seed 002). */
export const KVM_EXIT_HV_OVERLAY_DATA_SIZE = 64;

// ---------------------------------------------------------------- quirks (asm/kvm.h)
export const KVM_X86_QUIRK_LINT0_REENABLED = 1 << 0, KVM_X86_QUIRK_CD_NW_CLEARED = 1 << 1,
  KVM_X86_QUIRK_LAPIC_MMIO_HOLE = 1 << 2, KVM_X86_QUIRK_OUT_7E_INC_RIP = 1 << 3,
  KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT = 1 << 4, KVM_X86_QUIRK_FIX_HYPERCALL_INSN = 1 << 5,
  KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS = 1 << 6, KVM_X86_QUIRK_SLOT_ZAP_ALL = 1 << 7,
  KVM_X86_QUIRK_STUFF_FEATURE_MSRS = 1 << 8, KVM_X86_QUIRK_IGNORE_GUEST_PAT = 1 << 9;
/** KVM_X86_VALID_QUIRKS: every quirk this model knows. */
export const KVM_X86_VALID_QUIRKS = 0x3ff;

// ---------------------------------------------------------------- memory slots (kvm.h)
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0, KVM_MEM_READONLY = 1 << 1, KVM_MEM_GUEST_MEMFD = 1 << 2;
/** KVM_USER_MEM_SLOTS on x86 (KVM_MAX_NR_ADDRESS_SPACES=1 here). */
export const KVM_USER_MEM_SLOTS = 32764;

// ---------------------------------------------------------------- MP states (kvm.h)
export const KVM_MP_STATE_RUNNABLE = 0, KVM_MP_STATE_UNINITIALIZED = 1, KVM_MP_STATE_INIT_RECEIVED = 2,
  KVM_MP_STATE_HALTED = 3, KVM_MP_STATE_SIPI_RECEIVED = 4, KVM_MP_STATE_STOPPED = 5,
  KVM_MP_STATE_CHECK_STOP = 6, KVM_MP_STATE_OPERATING = 7, KVM_MP_STATE_LOAD = 8,
  KVM_MP_STATE_AP_RESET_HOLD = 9, KVM_MP_STATE_SUSPENDED = 10;
export const KVM_MP_STATE_NAMES = ['RUNNABLE', 'UNINITIALIZED', 'INIT_RECEIVED', 'HALTED', 'SIPI_RECEIVED',
  'STOPPED', 'CHECK_STOP', 'OPERATING', 'LOAD', 'AP_RESET_HOLD', 'SUSPENDED'];

// ---------------------------------------------------------------- kvm_vcpu_events flags (asm/kvm.h)
export const KVM_VCPUEVENT_VALID_NMI_PENDING = 0x1, KVM_VCPUEVENT_VALID_SIPI_VECTOR = 0x2,
  KVM_VCPUEVENT_VALID_SHADOW = 0x4, KVM_VCPUEVENT_VALID_SMM = 0x8, KVM_VCPUEVENT_VALID_PAYLOAD = 0x10,
  KVM_VCPUEVENT_VALID_TRIPLE_FAULT = 0x20;
export const KVM_X86_SHADOW_INT_MOV_SS = 0x1, KVM_X86_SHADOW_INT_STI = 0x2;

// ---------------------------------------------------------------- guest debug (asm/kvm.h, kvm.h)
export const KVM_GUESTDBG_ENABLE = 0x1, KVM_GUESTDBG_SINGLESTEP = 0x2, KVM_GUESTDBG_USE_SW_BP = 0x10000,
  KVM_GUESTDBG_USE_HW_BP = 0x20000, KVM_GUESTDBG_INJECT_DB = 0x40000, KVM_GUESTDBG_INJECT_BP = 0x80000,
  KVM_GUESTDBG_BLOCKIRQ = 0x100000;
export const KVM_GUESTDBG_VALID_MASK = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP |
  KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_BLOCKIRQ;

// ---------------------------------------------------------------- KVM_CAP_X86_NOTIFY_VMEXIT flags
export const KVM_X86_NOTIFY_VMEXIT_ENABLED = 1 << 0, KVM_X86_NOTIFY_VMEXIT_USER = 1 << 1;

// ---------------------------------------------------------------- hypercalls (kvm_para.h)
export const KVM_ENOSYS = 1000, KVM_EFAULT = EFAULT, KVM_EINVAL = EINVAL, KVM_E2BIG = E2BIG, KVM_EPERM = EPERM,
  KVM_EOPNOTSUPP = 95;
export const KVM_HC_VAPIC_POLL_IRQ = 1, KVM_HC_MMU_OP = 2, KVM_HC_FEATURES = 3, KVM_HC_PPC_MAP_MAGIC_PAGE = 4,
  KVM_HC_KICK_CPU = 5, KVM_HC_MIPS_GET_CLOCK_FREQ = 6, KVM_HC_MIPS_EXIT_VM = 7, KVM_HC_MIPS_CONSOLE_OUTPUT = 8,
  KVM_HC_CLOCK_PAIRING = 9, KVM_HC_SEND_IPI = 10, KVM_HC_SCHED_YIELD = 11, KVM_HC_MAP_GPA_RANGE = 12;
/** KVM_CAP_EXIT_HYPERCALL: the hypercalls that can exit to userspace (KVM_EXIT_HYPERCALL_VALID_MASK). */
export const KVM_EXIT_HYPERCALL_VALID_MASK = 1 << KVM_HC_MAP_GPA_RANGE;
/** KVM_HC_MAP_GPA_RANGE attributes (asm/kvm_para.h). */
export const KVM_MAP_GPA_RANGE_PAGE_SZ_4K = 0, KVM_MAP_GPA_RANGE_PAGE_SZ_2M = 1, KVM_MAP_GPA_RANGE_PAGE_SZ_1G = 2,
  KVM_MAP_GPA_RANGE_ENCRYPTED = 1 << 4, KVM_MAP_GPA_RANGE_DECRYPTED = 0;

// ---------------------------------------------------------------- PV CPUID and MSRs (asm/kvm_para.h)
export const KVM_CPUID_SIGNATURE = 0x40000000, KVM_CPUID_FEATURES = 0x40000001;
export const KVM_FEATURE_CLOCKSOURCE = 0, KVM_FEATURE_NOP_IO_DELAY = 1, KVM_FEATURE_MMU_OP = 2,
  KVM_FEATURE_CLOCKSOURCE2 = 3, KVM_FEATURE_ASYNC_PF = 4, KVM_FEATURE_STEAL_TIME = 5, KVM_FEATURE_PV_EOI = 6,
  KVM_FEATURE_PV_UNHALT = 7, KVM_FEATURE_PV_TLB_FLUSH = 9, KVM_FEATURE_ASYNC_PF_VMEXIT = 10,
  KVM_FEATURE_PV_SEND_IPI = 11, KVM_FEATURE_POLL_CONTROL = 12, KVM_FEATURE_PV_SCHED_YIELD = 13,
  KVM_FEATURE_ASYNC_PF_INT = 14, KVM_FEATURE_MSI_EXT_DEST_ID = 15, KVM_FEATURE_HC_MAP_GPA_RANGE = 16,
  KVM_FEATURE_MIGRATION_CONTROL = 17, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;
export const MSR_KVM_WALL_CLOCK = 0x11, MSR_KVM_SYSTEM_TIME = 0x12, MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00,
  MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01, MSR_KVM_ASYNC_PF_EN = 0x4b564d02, MSR_KVM_STEAL_TIME = 0x4b564d03,
  MSR_KVM_PV_EOI_EN = 0x4b564d04, MSR_KVM_POLL_CONTROL = 0x4b564d05, MSR_KVM_ASYNC_PF_INT = 0x4b564d06,
  MSR_KVM_ASYNC_PF_ACK = 0x4b564d07, MSR_KVM_MIGRATION_CONTROL = 0x4b564d08;

// ---------------------------------------------------------------- exception vectors
export const DE_VECTOR = 0, DB_VECTOR = 1, NMI_VECTOR = 2, BP_VECTOR = 3, OF_VECTOR = 4, BR_VECTOR = 5,
  UD_VECTOR = 6, NM_VECTOR = 7, DF_VECTOR = 8, TS_VECTOR = 10, NP_VECTOR = 11, SS_VECTOR = 12, GP_VECTOR = 13,
  PF_VECTOR = 14, MF_VECTOR = 16, AC_VECTOR = 17, MC_VECTOR = 18, XM_VECTOR = 19, VE_VECTOR = 20, CP_VECTOR = 21;

// ---------------------------------------------------------------- structs (asm/kvm.h)

/** struct kvm_regs. */
export interface kvm_regs {
  rax: bigint; rbx: bigint; rcx: bigint; rdx: bigint; rsi: bigint; rdi: bigint; rsp: bigint; rbp: bigint;
  r8: bigint; r9: bigint; r10: bigint; r11: bigint; r12: bigint; r13: bigint; r14: bigint; r15: bigint;
  rip: bigint; rflags: bigint;
}
/** struct kvm_segment. */
export interface kvm_segment {
  base: bigint; limit: number; selector: number; type: number; present: number; dpl: number; db: number;
  s: number; l: number; g: number; avl: number; unusable: number; padding: number;
}
/** struct kvm_dtable. */
export interface kvm_dtable { base: bigint; limit: number; }
/** struct kvm_sregs. */
export interface kvm_sregs {
  cs: kvm_segment; ds: kvm_segment; es: kvm_segment; fs: kvm_segment; gs: kvm_segment; ss: kvm_segment;
  tr: kvm_segment; ldt: kvm_segment; gdt: kvm_dtable; idt: kvm_dtable;
  cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint; cr8: bigint; efer: bigint; apic_base: bigint;
  interrupt_bitmap: bigint[];
}
/** struct kvm_msr_entry. */
export interface kvm_msr_entry { index: number; reserved?: number; data: bigint; }
/** struct kvm_cpuid_entry2. */
export interface kvm_cpuid_entry2 {
  function: number; index: number; flags: number; eax: number; ebx: number; ecx: number; edx: number;
}
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1 << 0;
/** struct kvm_fpu (x87 state is not emulated; xmm and mxcsr are). */
export interface kvm_fpu {
  fpr: Uint8Array[]; fcw: number; fsw: number; ftwx: number; last_opcode: number; last_ip: bigint;
  last_dp: bigint; xmm: Uint8Array[]; mxcsr: number;
}
/** struct kvm_xcrs. */
export interface kvm_xcrs { nr_xcrs: number; flags: number; xcrs: { xcr: number; value: bigint }[]; }
/** struct kvm_vcpu_events. */
export interface kvm_vcpu_events {
  exception: { injected: number; nr: number; has_error_code: number; pending: number; error_code: number };
  interrupt: { injected: number; nr: number; soft: number; shadow: number };
  nmi: { injected: number; pending: number; masked: number; pad: number };
  sipi_vector: number;
  flags: number;
  smi: { smm: number; pending: number; smm_inside_nmi: number; latched_init: number };
  triple_fault: { pending: number };
  exception_has_payload: number;
  exception_payload: bigint;
}
/** struct kvm_mp_state. */
export interface kvm_mp_state { mp_state: number; }
/** struct kvm_guest_debug (arch: debugreg[8]). */
export interface kvm_guest_debug { control: number; pad?: number; arch: { debugreg: bigint[] }; }
/** struct kvm_userspace_memory_region. */
export interface kvm_userspace_memory_region {
  slot: number; flags: number; guest_phys_addr: bigint | number; memory_size: bigint | number;
  /** The host memory (userspace_addr in the uapi): a buffer at least memory_size long. */
  userspace_addr: Uint8Array | null;
}
/** struct kvm_enable_cap. */
export interface kvm_enable_cap { cap: number; flags?: number; args?: (bigint | number)[]; }

/**
 * struct kvm_run: the shared page between KVM and userspace. One instance per vCPU, reused for
 * every exit (no per-exit allocation). Only the union member named by exit_reason is meaningful.
 */
export class kvm_run {
  /** in */
  request_interrupt_window = 0;
  immediate_exit = 0;
  /** out */
  exit_reason = KVM_EXIT_UNKNOWN;
  ready_for_interrupt_injection = 0;
  if_flag = 0;
  flags = 0;
  cr8 = 0n;
  apic_base = 0n;

  /** KVM_EXIT_UNKNOWN */
  readonly hw = { hardware_exit_reason: 0n };
  /** KVM_EXIT_FAIL_ENTRY */
  readonly fail_entry = { hardware_entry_failure_reason: 0n, cpu: 0 };
  /** KVM_EXIT_EXCEPTION */
  readonly ex = { exception: 0, error_code: 0 };
  /** KVM_EXIT_IO: data lives in `data` at data_offset (the run page). */
  readonly io = { direction: 0, size: 0, port: 0, count: 0, data_offset: 0 };
  /** KVM_EXIT_DEBUG (struct kvm_debug_exit_arch). */
  readonly debug = { arch: { exception: 0, pad: 0, pc: 0n, dr6: 0n, dr7: 0n } };
  /** KVM_EXIT_MMIO */
  readonly mmio = { phys_addr: 0n, data: new Uint8Array(8), len: 0, is_write: 0 };
  /** KVM_EXIT_HYPERCALL: flags bit 0 = long mode (the old `longmode` field). */
  readonly hypercall = { nr: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n], ret: 0n, flags: 0n };
  /** KVM_EXIT_INTERNAL_ERROR (data holds instruction bytes for EMULATION, packed 8 per u64). */
  readonly internal = { suberror: 0, ndata: 0, data: [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] };
  /** KVM_EXIT_INTERNAL_ERROR / EMULATION with the instruction bytes (struct emulation_failure). */
  readonly emulation_failure = { suberror: 0, ndata: 0, flags: 0n, insn_size: 0, insn_bytes: new Uint8Array(15) };
  /** KVM_EXIT_SYSTEM_EVENT */
  readonly system_event = { type: 0, ndata: 0, data: [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] };
  /** KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR */
  readonly msr = { error: 0, pad: 0, reason: 0, index: 0, data: 0n };
  /**
   * KVM_EXIT_HYPERV (struct kvm_hyperv_exit): HCALL, and seed 002's OVERLAY {msr, data_len, gpa,
   * data[64]} where gpa is the MSR value written (bit 0 = enable) and data_len 0 asks userspace to
   * remove the overlay.
   */
  readonly hyperv = { type: 0, u: {
    hcall: { input: 0n, result: 0n, params: [0n, 0n] },
    overlay: { msr: 0, data_len: 0, gpa: 0n, data: new Uint8Array(KVM_EXIT_HV_OVERLAY_DATA_SIZE) },
    synic: { msr: 0, control: 0n, evt_page: 0n, msg_page: 0n },
  } };
  /** KVM_EXIT_NOTIFY */
  readonly notify = { flags: 0 };
  /** KVM_EXIT_MEMORY_FAULT */
  readonly memory_fault = { flags: 0n, gpa: 0n, size: 0n };

  /**
   * The vCPU's mmap as bytes: the run page (struct fields above, not mirrored here) and the PIO
   * page after it. KVM_EXIT_IO data is at data[io.data_offset ...] (KVM_PIO_PAGE_OFFSET * 4096).
   */
  readonly data = new Uint8Array(8192);
  readonly dataView = new DataView(this.data.buffer);

  /** Name of the current exit reason (not uapi; for logs). */
  get exitName(): string {
    return KVM_EXIT_NAMES[this.exit_reason] ?? `KVM_EXIT_${this.exit_reason}`;
  }
}

/** Offset of the I/O data area inside the run page, as KVM_EXIT_IO reports it (KVM_PIO_PAGE_OFFSET * PAGE_SIZE). */
export const KVM_PIO_DATA_OFFSET = 4096;

// ---------------------------------------------------------------- KVM_GET/SET_CLOCK (linux/kvm.h)

export const KVM_CLOCK_TSC_STABLE = 2, KVM_CLOCK_REALTIME = 1 << 2, KVM_CLOCK_HOST_TSC = 1 << 3;
export const KVM_CLOCK_VALID_FLAGS = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
/** struct kvm_clock_data (realtime and host_tsc are not modelled: no wall clock reaches the guest). */
export interface kvm_clock_data { clock: bigint; flags: number; }

/** KVM_GET/SET_IRQCHIP chip ids (asm/kvm.h). */
export const KVM_IRQCHIP_PIC_MASTER = 0, KVM_IRQCHIP_PIC_SLAVE = 1, KVM_IRQCHIP_IOAPIC = 2;

/** struct kvm_lapic_state: KVM_APIC_REG_SIZE (0x400) bytes of registers. */
export const KVM_APIC_REG_SIZE = 0x400;
export interface kvm_lapic_state { regs: Uint8Array; }
