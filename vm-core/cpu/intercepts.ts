// What the hypervisor asks the processor to intercept: the VMX execution controls / SVM intercept
// vectors in vendor-neutral form. kvm/vmx and kvm/svm fill this the way KVM's setup does
// (init_vmcs / init_vmcb); a bare processor (no hypervisor) intercepts nothing.

export class Intercepts {
  /** Bit n: exception vector n causes a hardware exit instead of being delivered. */
  exceptionBitmap = 0;
  hlt = false;
  invlpg = false;
  rdtsc = false;
  rdtscp = false;
  /** RDTSCP is #UD (VMX "enable RDTSCP" clear, SDM Vol. 3C 25.3). */
  rdtscpUd = false;
  rdpmc = false;
  mwait = false;
  monitor = false;
  pause = false;
  /** CPUID, INVD, XSETBV, GETSEC and the VMX instructions always exit in VMX non-root operation. */
  cpuid = false;
  invd = false;
  wbinvd = false;
  xsetbv = false;
  rdrand = false;
  rdseed = false;
  vmx = false;
  vmcall = false;
  vmmcall = false;
  /** Unconditional I/O exiting. */
  io = false;
  /** MSR exiting; MSRs in `msrPassthrough` (read/write sets) don't exit. */
  msr = false;
  readonly msrPassthroughRead = new Set<number>();
  readonly msrPassthroughWrite = new Set<number>();
  /** CR0/CR4 guest/host masks and read shadows (SDM Vol. 3C 25.6.6). */
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  /**
   * SVM CR intercepts (APM Vol. 2 15.9), which masks cannot express: bit n of crRead / crWrite makes
   * every MOV from / to CRn exit (CLTS and LMSW are CR0 writes); cr0SelectiveWrite makes MOV to CR0
   * and LMSW exit when they change a bit other than CR0.TS and CR0.MP (CR0_SEL_WRITE).
   */
  crRead = 0;
  crWrite = 0;
  cr0SelectiveWrite = false;
  cr3Load = false;
  cr3Store = false;
  cr8Load = false;
  cr8Store = false;
  movDr = false;
  /** Descriptor-table exiting (LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR). */
  descTable = false;
  /** Guest-physical accesses outside RAM exit (EPT violation / NPF) instead of reading all ones. */
  mmio = false;
  /** Triple fault exits (always, in VMX non-root operation); otherwise the processor enters shutdown. */
  tripleFault = false;
  /** Interrupt-window and NMI-window exiting; monitor trap flag. */
  interruptWindow = false;
  nmiWindow = false;
  monitorTrapFlag = false;
  /**
   * Notify VM exits (SDM Vol. 3C 26.2): with `notify`, more than notifyWindow (+ the processor's
   * internal threshold) units without an instruction boundary cause EXIT_REASON_NOTIFY (events.ts).
   */
  notify = false;
  notifyWindow = 0;
  /** INIT signals cause an exit instead of resetting the processor (always in VMX non-root). */
  init = false;
}
