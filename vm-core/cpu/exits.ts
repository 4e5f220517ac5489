// Hardware exits: what the processor reports to the hypervisor when an intercepted event happens.
// Reasons use the VMX basic exit reason numbers (SDM Vol. 3D Appendix C); the SVM layer of kvm/
// translates them into SVM exit codes. The processor is vendor-neutral.

export const EXIT_REASON_EXCEPTION_NMI = 0, EXIT_REASON_EXTERNAL_INTERRUPT = 1, EXIT_REASON_TRIPLE_FAULT = 2,
  EXIT_REASON_INIT_SIGNAL = 3, EXIT_REASON_SIPI_SIGNAL = 4, EXIT_REASON_INTERRUPT_WINDOW = 7,
  EXIT_REASON_NMI_WINDOW = 8, EXIT_REASON_TASK_SWITCH = 9, EXIT_REASON_CPUID = 10, EXIT_REASON_HLT = 12,
  EXIT_REASON_INVD = 13, EXIT_REASON_INVLPG = 14, EXIT_REASON_RDPMC = 15, EXIT_REASON_RDTSC = 16,
  EXIT_REASON_VMCALL = 18, EXIT_REASON_VMCLEAR = 19, EXIT_REASON_VMLAUNCH = 20, EXIT_REASON_VMPTRLD = 21,
  EXIT_REASON_VMPTRST = 22, EXIT_REASON_VMREAD = 23, EXIT_REASON_VMRESUME = 24, EXIT_REASON_VMWRITE = 25,
  EXIT_REASON_VMOFF = 26, EXIT_REASON_VMON = 27, EXIT_REASON_CR_ACCESS = 28, EXIT_REASON_DR_ACCESS = 29,
  EXIT_REASON_IO_INSTRUCTION = 30, EXIT_REASON_MSR_READ = 31, EXIT_REASON_MSR_WRITE = 32,
  EXIT_REASON_INVALID_STATE = 33, EXIT_REASON_MSR_LOAD_FAIL = 34, EXIT_REASON_MWAIT_INSTRUCTION = 36,
  EXIT_REASON_MONITOR_TRAP_FLAG = 37, EXIT_REASON_MONITOR_INSTRUCTION = 39, EXIT_REASON_PAUSE_INSTRUCTION = 40,
  EXIT_REASON_MCE_DURING_VMENTRY = 41, EXIT_REASON_TPR_BELOW_THRESHOLD = 43, EXIT_REASON_APIC_ACCESS = 44,
  EXIT_REASON_EOI_INDUCED = 45, EXIT_REASON_GDTR_IDTR = 46, EXIT_REASON_LDTR_TR = 47,
  EXIT_REASON_EPT_VIOLATION = 48, EXIT_REASON_EPT_MISCONFIG = 49, EXIT_REASON_INVEPT = 50,
  EXIT_REASON_RDTSCP = 51, EXIT_REASON_PREEMPTION_TIMER = 52, EXIT_REASON_INVVPID = 53, EXIT_REASON_WBINVD = 54,
  EXIT_REASON_XSETBV = 55, EXIT_REASON_APIC_WRITE = 56, EXIT_REASON_RDRAND = 57, EXIT_REASON_INVPCID = 58,
  EXIT_REASON_VMFUNC = 59, EXIT_REASON_ENCLS = 60, EXIT_REASON_RDSEED = 61, EXIT_REASON_PML_FULL = 62,
  EXIT_REASON_XSAVES = 63, EXIT_REASON_XRSTORS = 64, EXIT_REASON_UMWAIT = 67, EXIT_REASON_TPAUSE = 68,
  EXIT_REASON_BUS_LOCK = 74, EXIT_REASON_NOTIFY = 75;

/**
 * Not a VMX exit: the processor met an instruction it does not emulate (or VMMCALL, which has
 * no VMX exit). kvm/ maps it: VMMCALL on Intel is a #UD intercept; anything else becomes
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION naming the instruction.
 */
export const HW_UNEMULATED = 0x10000;
export const HW_VMMCALL = 0x10001;
/** Not a VMX exit: an emulator hook (EmulatorHooks) needs userspace to complete the instruction. */
export const HW_EMULATOR_USERSPACE = 0x10002;

export const EXIT_REASON_NAMES: Record<number, string> = {};
{
  const src: Record<string, number> = {
    EXCEPTION_NMI: 0, EXTERNAL_INTERRUPT: 1, TRIPLE_FAULT: 2, INIT_SIGNAL: 3, SIPI_SIGNAL: 4, INTERRUPT_WINDOW: 7,
    NMI_WINDOW: 8, TASK_SWITCH: 9, CPUID: 10, HLT: 12, INVD: 13, INVLPG: 14, RDPMC: 15, RDTSC: 16, VMCALL: 18,
    VMCLEAR: 19, VMLAUNCH: 20, VMPTRLD: 21, VMPTRST: 22, VMREAD: 23, VMRESUME: 24, VMWRITE: 25, VMOFF: 26,
    VMON: 27, CR_ACCESS: 28, DR_ACCESS: 29, IO_INSTRUCTION: 30, MSR_READ: 31, MSR_WRITE: 32, INVALID_STATE: 33,
    MSR_LOAD_FAIL: 34, MWAIT_INSTRUCTION: 36, MONITOR_TRAP_FLAG: 37, MONITOR_INSTRUCTION: 39,
    PAUSE_INSTRUCTION: 40, MCE_DURING_VMENTRY: 41, TPR_BELOW_THRESHOLD: 43, APIC_ACCESS: 44, EOI_INDUCED: 45,
    GDTR_IDTR: 46, LDTR_TR: 47, EPT_VIOLATION: 48, EPT_MISCONFIG: 49, INVEPT: 50, RDTSCP: 51,
    PREEMPTION_TIMER: 52, INVVPID: 53, WBINVD: 54, XSETBV: 55, APIC_WRITE: 56, RDRAND: 57, INVPCID: 58,
    VMFUNC: 59, ENCLS: 60, RDSEED: 61, PML_FULL: 62, XSAVES: 63, XRSTORS: 64, UMWAIT: 67, TPAUSE: 68,
    BUS_LOCK: 74, NOTIFY: 75,
  };
  for (const [k, v] of Object.entries(src)) EXIT_REASON_NAMES[v] = k;
  EXIT_REASON_NAMES[HW_UNEMULATED] = 'UNEMULATED';
  EXIT_REASON_NAMES[HW_VMMCALL] = 'VMMCALL';
  EXIT_REASON_NAMES[HW_EMULATOR_USERSPACE] = 'EMULATOR_USERSPACE';
}

// VM-exit interruption information (SDM Vol. 3C 24.9.2): vector 7:0, type 10:8, error code valid 11,
// NMI unblocking 12, valid 31. Types:
export const INTR_TYPE_EXT_INTR = 0, INTR_TYPE_NMI = 2, INTR_TYPE_HARD_EXCEPTION = 3, INTR_TYPE_SOFT_INTR = 4,
  INTR_TYPE_PRIV_SW_EXCEPTION = 5, INTR_TYPE_SOFT_EXCEPTION = 6;
export const INTR_INFO_VALID = 0x80000000 | 0, INTR_INFO_DELIVER_CODE = 0x800;

/** Exit qualification of an EPT violation (SDM Vol. 3C Table 28-7): bit 0 read, 1 write, 2 fetch. */
export const EPT_VIOLATION_READ = 1, EPT_VIOLATION_WRITE = 2, EPT_VIOLATION_FETCH = 4;

/** The record the processor fills on every hardware exit (the VMCS exit-information fields). */
export class HwExitInfo {
  reason = 0;
  /** Exit qualification (a number; bit layouts per exit reason as in the SDM). */
  qual = 0;
  /** VM-exit instruction length. */
  instrLen = 0;
  /** VM-exit interruption information and error code (exception exits). */
  intrInfo = 0;
  intrError = 0;
  /** IDT-vectoring information: the event whose delivery the exit interrupted (SDM 27.2.4). */
  idtVectoringInfo = 0;
  idtVectoringError = 0;
  /** Guest-physical and guest-linear address (EPT violations, MMIO). */
  gpa = 0;
  gla = 0;
  /** I/O and string I/O details, MSR number, CR/DR access: decoded for convenience. */
  port = 0;
  size = 0;
  isIn = false;
  isString = false;
  isRep = false;
  msr = 0;
  /** VM-exit instruction information (SDM Vol. 3C 28.2.5): the VMX instructions' operands. */
  insnInfo = 0;
  /** Human-readable detail (the instruction for UNEMULATED). */
  message = '';
  /** Raw bytes of the instruction that exited, when it was one. */
  insnBytes: Uint8Array = new Uint8Array(0);

  reset(): void {
    this.reason = 0; this.qual = 0; this.instrLen = 0; this.intrInfo = 0; this.intrError = 0;
    this.idtVectoringInfo = 0; this.idtVectoringError = 0; this.gpa = 0; this.gla = 0; this.port = 0;
    this.size = 0; this.isIn = false; this.isString = false; this.isRep = false; this.msr = 0; this.insnInfo = 0; this.message = '';
  }
}
