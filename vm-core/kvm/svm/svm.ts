// AMD SVM vendor ops (arch/x86/kvm/svm/svm.c): init_vmcb, svm_vcpu_reset, the VMCB-backed
// accessors, svm_vcpu_run with the translation of the processor's (VMX-numbered) exits into SVM
// exit codes and EXITINFO1/2, and svm_exit_handlers[].
import type { KvmVcpu } from '../vcpu';
import { Vmcb, VmcbField as V, arToAttrib } from './vmcb';
import * as S from './svm_codes';
import type { ControlBlockField, ControlBlockTracer, KvmDtable, KvmVendorView, KvmX86Ops } from '../x86_ops';
import { KvmSegment } from '../x86_ops';
import { RUN_EXIT } from '../../cpu/cpu';
import {
  HW_UNEMULATED, HW_EMULATOR_USERSPACE, HW_VMMCALL,
  EXIT_REASON_CPUID, EXIT_REASON_CR_ACCESS, EXIT_REASON_DR_ACCESS, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_HLT, EXIT_REASON_INTERRUPT_WINDOW, EXIT_REASON_INVD, EXIT_REASON_INVLPG, EXIT_REASON_INVPCID, EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_MONITOR_INSTRUCTION, EXIT_REASON_MSR_READ, EXIT_REASON_MSR_WRITE, EXIT_REASON_MWAIT_INSTRUCTION, EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_RDPMC, EXIT_REASON_RDTSC, EXIT_REASON_RDTSCP, EXIT_REASON_TASK_SWITCH, EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_WBINVD, EXIT_REASON_XSETBV,
} from '../../cpu/exits';
import {
  kvm_register_mark_available, VCPU_EXREG_PDPTR, kvm_read_cr3, kvm_rip_write, VCPU_REGS_RIP, VCPU_REGS_RSP, VCPU_REGS_RAX,
  kvm_register_is_dirty, VCPU_EXREG_CR3, VCPU_EXREG_RFLAGS, kvm_register_read, kvm_register_write,
} from '../x86/kvm_cache_regs';
import { CR0_CD, CR0_NW, CR0_PG, CR0_TS, CR0_MP, EFER_LMA, EFER_LME, EFER_SVME, CR4_MCE } from '../../cpu/state';
import { entryInjectEvent, exitCompleteInterrupts, reportUnemulated, syncGprsFromCpu, syncGprsToCpu } from '../x86/vcpu_run_common';
import { KVM_REQ_LOAD_MMU_PGD } from '../vcpu_arch';
import {
  kvm_complete_insn_gp, kvm_emulate_halt, kvm_emulate_invd, kvm_emulate_monitor_mwait, kvm_emulate_rdpmc,
  kvm_emulate_wbinvd, kvm_emulate_xsetbv, kvm_handle_invalid_op, kvm_queue_exception, kvm_queue_exception_e,
  kvm_queue_exception_p, kvm_set_cr0, kvm_set_cr4, kvm_set_cr8, kvm_get_cr8, kvm_skip_emulated_instruction,
  load_pdptrs, is_64_bit_mode, kvm_get_linear_rip,
} from '../x86/x86';
import { kvm_emulate_cpuid } from '../x86/cpuid';
import { kvm_emulate_rdmsr, kvm_emulate_wrmsr } from '../x86/msr';
import { kvm_emulate_hypercall } from '../x86/hypercall';
import { kvm_fast_pio } from '../x86/pio';
import { handle_ud, kvm_emulate_instruction, emulation_failure } from '../x86/emulate';
import { kvm_vcpu_reset } from '../x86/reset';
import {
  KVM_EXIT_SHUTDOWN, KVM_EXIT_INTERNAL_ERROR, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, KVM_EXIT_DEBUG, KVM_EXIT_EXCEPTION,
  KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_HW_BP, KVM_GUESTDBG_USE_SW_BP, KVM_X86_QUIRK_CD_NW_CLEARED, KVM_X86_SHADOW_INT_MOV_SS, KVM_X86_SHADOW_INT_STI, UD_VECTOR, DB_VECTOR, BP_VECTOR, AC_VECTOR, MC_VECTOR,
} from '../uapi';

/** Only the PDPTRs are loaded lazily on SVM (SVM_REGS_LAZY_LOAD_SET). */
export const SVM_REGS_LAZY_LOAD_SET = 1 << VCPU_EXREG_PDPTR;

const SEG_TYPE_LDT = 2, SEG_TYPE_BUSY_TSS16 = 3;
const MSR_PASSTHROUGH_RW = [0xc0000100, 0xc0000101, 0xc0000102, 0x174, 0x175, 0x176];
const MSR_PASSTHROUGH_R = [0x10];

type SvmExitHandler = (v: KvmVcpu, svm: Svm) => number;

/** The debugger's view of an SVM vCPU: VMCB peeks (uncounted) and the processor's state. */
class SvmView implements KvmVendorView {
  readonly vendorLabel = 'AMD (SVM)';
  readonly controlBlockLabel = 'VMCB';
  readonly readsLabel = 'VMCB reads';
  readonly writesLabel = 'VMCB writes';
  constructor(private readonly svm: Svm) {}
  /** SVM has no read shadows: the guest reads the VMCB's CR0/CR4, which are the processor's. */
  guestCr0(): number { return this.svm.v.cpu.cr0; }
  guestCr4(): number { return this.svm.v.cpu.cr4; }
  interruptShadow(): number { return interruptShadowOf(this.svm.vmcb.peek(V.int_state)); }
  fieldName(field: number): string { return this.svm.vmcb.fieldName(field); }
  /** APM Vol. 2 Appendix B: Table B-1 (control area) and Table B-2 (state save area). */
  readonly controlBlockAreas = ['Control area (APM B.1)', 'State save area (APM B.2)'];
  controlBlockArea(field: number): string { return this.controlBlockAreas[this.fieldName(field).startsWith('control.') ? 0 : 1]; }
  /** The state save area holds RAX, RSP and RIP. */
  gprInControlBlock(reg: number): boolean { return reg === VCPU_REGS_RAX || reg === VCPU_REGS_RSP || reg === VCPU_REGS_RIP; }
  /** AMD APM Vol. 2 15.5.1: VMRUN refuses EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D all set; not modelled. */
  unmodelledEntryFailure(longMode: boolean, cr4Pae: boolean, csL: number, csD: number): string | null {
    if (!(longMode && cr4Pae && csL && csD)) return null;
    return 'CS.L = CS.D = 1 in long mode makes VMRUN fail its consistency checks (KVM_EXIT_FAIL_ENTRY, SVM_EXIT_ERR), which the SVM model does not reproduce';
  }
}

/** svm_get_interrupt_shadow: SVM_INTERRUPT_SHADOW_MASK means both STI and MOV SS blocking. */
function interruptShadowOf(intState: number): number {
  return (intState & 1) ? KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS : 0;
}

export class Svm implements KvmX86Ops {
  readonly name = 'svm' as const;
  readonly view: KvmVendorView = new SvmView(this);
  /** svm_get_rflags reads the VMCB: RFLAGS is never lazily loaded. */
  readonly alwaysAvailableRegs = 1 << VCPU_EXREG_RFLAGS;
  vmcb: Vmcb;
  exitCode = 0;
  /** svm->next_rip */
  next_rip = 0;
  drWontExit = false;
  private cr0Intercepted = true;
  /** svm_set_vintr: V_IRQ with the VINTR intercept (interrupt window). */
  private vintr = false;
  private guestDebugBp = false;

  constructor(readonly v: KvmVcpu) { this.vmcb = new Vmcb(v.cpu); }

  get reads(): number { return this.vmcb.reads; }
  get writes(): number { return this.vmcb.writes; }

  vcpu_create(): void { this.vmcb = new Vmcb(this.v.cpu); }

  // ---------------------------------------------------------------- init_vmcb / svm_vcpu_reset

  private init_seg(f: number): void {
    this.vmcb.write(V.es_sel + f, 0);
    this.vmcb.write(V.es_attrib + f, 0x80 | 0x10 | 0x02);
    this.vmcb.write(V.es_limit + f, 0xffff);
    this.vmcb.write(V.es_base + f, 0);
  }
  private init_sys_seg(f: number, type: number): void {
    this.vmcb.write(V.es_sel + f, 0);
    this.vmcb.write(V.es_attrib + f, 0x80 | type);
    this.vmcb.write(V.es_limit + f, 0xffff);
    this.vmcb.write(V.es_base + f, 0);
  }

  private init_vmcb(): void {
    const w = (f: number, val: number) => this.vmcb.write(f, val);
    for (const s of [0, 2, 3, 4, 5]) this.init_seg(s);
    w(V.cs_sel, 0xf000); w(V.cs_base, 0xffff0000);
    w(V.cs_attrib, 0x02 | 0x80 | 0x10 | 0x08); // SVM_SELECTOR_READ | P | S | CODE
    w(V.cs_limit, 0xffff);
    w(V.gdtr_base, 0); w(V.gdtr_limit, 0xffff); w(V.idtr_base, 0); w(V.idtr_limit, 0xffff);
    this.init_sys_seg(6, SEG_TYPE_LDT);
    this.init_sys_seg(7, SEG_TYPE_BUSY_TSS16);
    w(V.nested_ctl, 1); // SVM_NESTED_CTL_NP_ENABLE
    w(V.g_pat, this.v.arch.pat[1] * 4294967296 + (this.v.arch.pat[0] >>> 0));
    w(V.cr3, 0);
    w(V.intercept_exceptions, (1 << 6) | (1 << 18) | (this.v.vm.options.interceptAcDb ? (1 << 17) | (1 << 1) : 0));
    w(V.int_ctl, 1 << 24); // V_INTR_MASKING
    w(V.tsc_offset, 0);
    this.vmcb.controlsDirty = true;
  }

  vcpu_reset(initEvent: boolean): void {
    this.init_vmcb();
    void initEvent;
  }

  // ---------------------------------------------------------------- register cache

  /** svm_cache_reg: only the PDPTRs (load_pdptrs with NPT). */
  cache_reg(reg: number): void {
    kvm_register_mark_available(this.v, reg);
    if (reg === VCPU_EXREG_PDPTR) load_pdptrs(this.v, kvm_read_cr3(this.v));
  }
  staleCheck(): [number, number] | null { return null; }

  get_rflags(): number { return this.vmcb.read(V.rflags); }
  set_rflags(val: number): void { this.vmcb.write(V.rflags, val); }

  /** svm_set_cr0: hcr0 without CD/NW under KVM_X86_QUIRK_CD_NW_CLEARED; CR0 intercepts when they differ. */
  set_cr0(cr0: number): void {
    const v = this.v, a = v.arch;
    if (a.efer & EFER_LME) {
      if (!(a.cr0 & CR0_PG) && (cr0 & CR0_PG)) { a.efer |= EFER_LMA; this.vmcb.write(V.efer, this.vmcb.peek(V.efer) | EFER_LMA | EFER_LME); }
      if ((a.cr0 & CR0_PG) && !(cr0 & CR0_PG)) { a.efer &= ~EFER_LMA; this.vmcb.write(V.efer, this.vmcb.peek(V.efer) & ~(EFER_LMA | EFER_LME)); }
    }
    a.cr0 = cr0 >>> 0;
    let hcr0 = cr0 >>> 0;
    if (v.vm.hasQuirk(KVM_X86_QUIRK_CD_NW_CLEARED)) hcr0 = (hcr0 & ~(CR0_CD | CR0_NW)) >>> 0;
    this.vmcb.write(V.cr0, hcr0);
    this.cr0Intercepted = hcr0 !== (cr0 >>> 0);
    this.vmcb.controlsDirty = true;
  }
  set_cr4(cr4: number): void {
    this.v.arch.cr4 = cr4 >>> 0;
    this.vmcb.write(V.cr4, (cr4 | CR4_MCE) >>> 0);
    this.vmcb.controlsDirty = true;
  }
  set_efer(efer: number): number {
    this.v.arch.efer = efer;
    this.vmcb.write(V.efer, efer | EFER_SVME);
    return 0;
  }

  get_segment(seg: number, out: KvmSegment): void {
    const m = this.vmcb;
    out.selector = m.read(V.es_sel + seg); out.base = m.read(V.es_base + seg); out.limit = m.read(V.es_limit + seg);
    const at = m.read(V.es_attrib + seg);
    out.type = at & 15; out.s = (at >> 4) & 1; out.dpl = (at >> 5) & 3; out.present = (at >> 7) & 1;
    out.avl = (at >> 8) & 1; out.l = (at >> 9) & 1; out.db = (at >> 10) & 1; out.g = (at >> 11) & 1;
    out.unusable = out.present ? 0 : 1;
    if (seg === 7) out.type |= 2; // AMD tracks the TR busy bit in software
    else if (seg !== 1 && seg !== 2 && seg !== 6 && !out.unusable) out.type |= 1; // accessed bit
    else if (seg === 2) { if (out.unusable) out.db = 0; out.dpl = m.read(V.cpl); }
  }
  set_segment(seg: number, s: KvmSegment): void {
    const m = this.vmcb;
    m.write(V.es_base + seg, s.base); m.write(V.es_limit + seg, s.limit >>> 0); m.write(V.es_sel + seg, s.selector);
    const p = s.present && !s.unusable ? 1 : 0;
    m.write(V.es_attrib + seg, (s.type & 15) | (s.s & 1) << 4 | (s.dpl & 3) << 5 | p << 7 | (s.avl & 1) << 8 |
      (s.l & 1) << 9 | (s.db & 1) << 10 | (s.g & 1) << 11);
    if (seg === 2) m.write(V.cpl, s.dpl & 3);
  }
  get_cpl(): number { return this.vmcb.read(V.cpl); }
  get_cs_db_l_bits(): number {
    const at = this.vmcb.read(V.cs_attrib);
    return ((at >> 10) & 1) | (((at >> 9) & 1) << 1);
  }
  get_idt(): KvmDtable { return { base: this.vmcb.read(V.idtr_base), limit: this.vmcb.read(V.idtr_limit) }; }
  set_idt(d: KvmDtable): void { this.vmcb.write(V.idtr_base, d.base); this.vmcb.write(V.idtr_limit, d.limit); }
  get_gdt(): KvmDtable { return { base: this.vmcb.read(V.gdtr_base), limit: this.vmcb.read(V.gdtr_limit) }; }
  set_gdt(d: KvmDtable): void { this.vmcb.write(V.gdtr_base, d.base); this.vmcb.write(V.gdtr_limit, d.limit); }
  set_dr7(val: number): void { this.vmcb.write(V.dr7, val); }
  get_interrupt_shadow(): number { return interruptShadowOf(this.vmcb.read(V.int_state)); }
  setTracer(tracer: ControlBlockTracer | null): void { this.vmcb.tracer = tracer; }
  /** svm_vcpu_after_set_cpuid: nothing the SVM model keeps depends on the guest's CPUID. */
  vcpu_after_set_cpuid(): void { /* the intercepts this model sets are CPUID-independent */ }
  set_interrupt_shadow(mask: number): void {
    const c = this.v.cpu;
    c.stiShadow = (mask & 2) !== 0; c.movSsShadow = (mask & 1) !== 0;
    this.vmcb.write(V.int_state, mask ? 1 : 0);
  }

  inject_exception(vector: number, hasError: boolean, error: number): void {
    this.vmcb.write(V.event_inj, vector | S.SVM_EVTINJ_VALID | (hasError ? S.SVM_EVTINJ_VALID_ERR : 0) | S.SVM_EVTINJ_TYPE_EXEPT);
    this.vmcb.write(V.event_inj_err, error);
  }
  inject_irq(vector: number): void { this.vmcb.write(V.event_inj, vector | S.SVM_EVTINJ_VALID | S.SVM_EVTINJ_TYPE_INTR); }
  inject_nmi(): void { this.vmcb.write(V.event_inj, 2 | S.SVM_EVTINJ_VALID | S.SVM_EVTINJ_TYPE_NMI); }
  /** svm_enable_irq_window: a virtual interrupt with the VINTR intercept exits when the guest can take one. */
  enable_irq_window(): void {
    if (this.vintr) return;
    this.vintr = true;
    this.vmcb.write(V.int_ctl, this.vmcb.peek(V.int_ctl) | (1 << 8)); // V_IRQ
  }
  /** svm_clear_vintr. */
  clear_vintr(): void {
    if (!this.vintr) return;
    this.vintr = false;
    this.vmcb.write(V.int_ctl, this.vmcb.peek(V.int_ctl) & ~(1 << 8));
  }
  /** Without vNMI KVM single-steps out of the NMI handler's IRET; this model re-checks at the next exit. */
  enable_nmi_window(): void { /* not modelled */ }
  interrupt_allowed(): boolean { const c = this.v.cpu; return (this.get_rflags() & 0x200) !== 0 && !c.stiShadow && !c.movSsShadow; }
  nmi_allowed(): boolean { const c = this.v.cpu; return !c.nmiBlocked && !c.stiShadow && !c.movSsShadow; }
  update_exception_bitmap(): void {
    let eb = (1 << 6) | (1 << 18);
    // #AC and #DB are intercepted since CVE-2015-5307 / CVE-2015-8104 (option interceptAcDb).
    if (this.v.vm.options.interceptAcDb || this.v.arch.guest_debug) eb |= 1 << 1;
    if (this.v.vm.options.interceptAcDb) eb |= 1 << 17;
    if ((this.v.arch.guest_debug & 0x10001) === 0x10001) eb |= 1 << 3;
    this.vmcb.write(V.intercept_exceptions, eb);
  }
  load_mmu_pgd(): void { this.vmcb.write(V.cr3, this.v.arch.cr3); }
  emulation_required(): boolean { return false; }
  patch_hypercall(buf: Uint8Array): void { buf[0] = 0x0f; buf[1] = 0x01; buf[2] = 0xd9; }
  setGuestPat(lo: number, hi: number): void { this.vmcb.write(V.g_pat, (hi >>> 0) * 4294967296 + (lo >>> 0)); }
  setTscOffset(o: number): void { this.vmcb.write(V.tsc_offset, o); }

  // ---------------------------------------------------------------- VMRUN / #VMEXIT

  private applyControls(): void {
    const m = this.vmcb, x = this.v.cpu.intercepts;
    x.hlt = x.cpuid = x.invd = x.wbinvd = x.xsetbv = x.io = x.msr = x.tripleFault = x.vmmcall = x.mwait = x.monitor = true;
    x.rdpmc = true; x.init = false; x.vmcall = false; x.vmx = false;
    x.invlpg = false; x.cr3Load = x.cr3Store = false; x.rdtsc = false; x.rdtscp = false; x.pause = false;
    x.rdrand = x.rdseed = false; x.descTable = false; x.cr8Store = false;
    x.movDr = !this.drWontExit;
    x.mmio = true;
    x.exceptionBitmap = m.peek(V.intercept_exceptions) | 0;
    x.interruptWindow = this.vintr;
    if (this.vintr) this.v.cpu.slow = true;
    // init_vmcb: CR0/CR4 read and write intercepts, CR8 write; svm_set_cr0 drops the CR0 ones while
    // hCR0 == CR0 (the selective CR0 write intercept stays). CR3 passes through with NPT.
    x.cr0Mask = 0; x.cr0Shadow = 0; x.cr4Mask = 0; x.cr4Shadow = 0;
    const cr0 = this.cr0Intercepted ? 1 : 0;
    x.crRead = cr0 | (1 << 4);
    x.crWrite = cr0 | (1 << 4) | (1 << 8);
    x.cr0SelectiveWrite = true;
    x.cr8Load = false;
    x.msrPassthroughRead.clear(); x.msrPassthroughWrite.clear();
    for (const msr of MSR_PASSTHROUGH_RW) { x.msrPassthroughRead.add(msr); x.msrPassthroughWrite.add(msr); }
    for (const msr of MSR_PASSTHROUGH_R) x.msrPassthroughRead.add(msr);
    this.v.cpu.tscOffset = m.peek(V.tsc_offset);
    m.controlsDirty = false;
  }

  vcpu_run(budget: number): number {
    const v = this.v, m = this.vmcb, c = v.cpu, a = v.arch;
    if (a.requests & KVM_REQ_LOAD_MMU_PGD) { a.requests &= ~KVM_REQ_LOAD_MMU_PGD; this.load_mmu_pgd(); }
    m.writeRegs(a.regs);
    if (m.controlsDirty) this.applyControls();
    if (m.modeDirty) { c.updateMode(); c.updateAcCheck(); m.modeDirty = false; }
    if (m.tlbDirty) { c.flushTlb(false); m.tlbDirty = false; }
    syncGprsToCpu(v, true);
    const inj = m.peek(V.event_inj) | 0;
    if (inj & S.SVM_EVTINJ_VALID) { entryInjectEvent(v, inj, m.peek(V.event_inj_err) | 0, 0); m.hwSet(V.event_inj, 0); }
    const r = v.runCpu(budget);
    syncGprsFromCpu(v, true);
    this.readBackRegs();
    a.regs_avail &= ~SVM_REGS_LAZY_LOAD_SET;
    this.next_rip = 0;
    // A run cut without #VMEXIT: run.ts's completeInterruptsWithoutExit settles the injected event.
    if (r !== RUN_EXIT) return r;
    this.translateExit();
    return r;
  }

  /** After #VMEXIT: RAX/RSP/RIP (and CR2) copied from the VMCB; CR0/CR3 synced in svm_handle_exit. */
  private readBackRegs(): void {
    const m = this.vmcb, a = this.v.arch;
    m.readRegs(a.regs);
    a.cr2 = m.read(V.cr2);
  }

  /** The processor's exit (VMX numbering) as the SVM exit code and EXITINFO1/2 the hardware writes. */
  private translateExit(): void {
    const e = this.v.cpu.exit, m = this.vmcb;
    let code: number, info1 = 0, info1Hi = 0, info2 = 0, nrip = 0;
    const next = this.v.cpu.rip + e.instrLen;
    switch (e.reason) {
      case EXIT_REASON_EXCEPTION_NMI: {
        const vec = e.intrInfo & 0xff, type = (e.intrInfo >> 8) & 7;
        code = type === 2 ? S.SVM_EXIT_NMI : S.SVM_EXIT_EXCP_BASE + vec;
        info1 = e.intrError; info2 = vec === 14 ? e.qual : 0;
        break;
      }
      case EXIT_REASON_EXTERNAL_INTERRUPT: code = S.SVM_EXIT_INTR; break;
      case EXIT_REASON_TRIPLE_FAULT: code = S.SVM_EXIT_SHUTDOWN; break;
      case EXIT_REASON_INTERRUPT_WINDOW: code = S.SVM_EXIT_VINTR; break;
      case EXIT_REASON_TASK_SWITCH: code = S.SVM_EXIT_TASK_SWITCH; break;
      case EXIT_REASON_CPUID: code = S.SVM_EXIT_CPUID; nrip = next; break;
      case EXIT_REASON_HLT: code = S.SVM_EXIT_HLT; nrip = next; break;
      case EXIT_REASON_INVD: code = S.SVM_EXIT_INVD; nrip = next; break;
      case EXIT_REASON_INVLPG: code = S.SVM_EXIT_INVLPG; info1 = e.qual; nrip = next; break;
      case EXIT_REASON_RDPMC: code = S.SVM_EXIT_RDPMC; nrip = next; break;
      case EXIT_REASON_RDTSC: code = S.SVM_EXIT_RDTSC; nrip = next; break;
      case EXIT_REASON_CR_ACCESS: {
        // CR intercepts (APM Vol. 2 15.9): READ/WRITE_CRn, or CR0_SEL_WRITE when only the selective
        // intercept applied; EXITINFO1 = CR_VALID (bit 63) | GPR for MOV CRx (decode assists), 0 for CLTS/LMSW.
        const cr = e.qual & 15, type = (e.qual >> 4) & 3, x = this.v.cpu.intercepts;
        if (type === 1) code = S.SVM_EXIT_READ_CR0 + cr;
        else if ((x.crWrite >>> cr) & 1) code = S.SVM_EXIT_WRITE_CR0 + cr;
        else code = S.SVM_EXIT_CR0_SEL_WRITE;
        this.crType = type; this.lmswData = (e.qual >>> 16) & 0xffff;
        if (type <= 1) { info1 = (e.qual >> 8) & 15; info1Hi = 0x80000000 | 0; }
        nrip = next;
        break;
      }
      case EXIT_REASON_DR_ACCESS: code = ((e.qual & 16) ? S.SVM_EXIT_READ_DR0 : S.SVM_EXIT_WRITE_DR0) + (e.qual & 7); info1 = (e.qual >> 8) & 15; nrip = next; break;
      case EXIT_REASON_IO_INSTRUCTION: {
        const sz = e.size;
        info1 = (e.isIn ? 1 : 0) | (e.isString ? 4 : 0) | (e.isRep ? 8 : 0) | (1 << (3 + sz)) | ((e.port & 0xffff) << 16);
        if (sz === 4) info1 = (info1 & ~0x70) | 0x40;
        code = S.SVM_EXIT_IOIO; info2 = next; nrip = next;
        break;
      }
      case EXIT_REASON_MSR_READ: code = S.SVM_EXIT_MSR; info1 = 0; nrip = next; break;
      case EXIT_REASON_MSR_WRITE: code = S.SVM_EXIT_MSR; info1 = 1; nrip = next; break;
      case EXIT_REASON_MWAIT_INSTRUCTION: code = S.SVM_EXIT_MWAIT; nrip = next; break;
      case EXIT_REASON_MONITOR_INSTRUCTION: code = S.SVM_EXIT_MONITOR; nrip = next; break;
      case EXIT_REASON_PAUSE_INSTRUCTION: code = S.SVM_EXIT_PAUSE; nrip = next; break;
      case EXIT_REASON_EPT_VIOLATION: code = S.SVM_EXIT_NPF; info1 = ((e.qual & 2) ? 2 : 0) | ((e.qual & 4) ? 16 : 0) | 2 ** 32; info2 = e.gpa; break;
      case EXIT_REASON_RDTSCP: code = S.SVM_EXIT_RDTSCP; nrip = next; break;
      case EXIT_REASON_WBINVD: code = S.SVM_EXIT_WBINVD; nrip = next; break;
      case EXIT_REASON_XSETBV: code = S.SVM_EXIT_XSETBV; nrip = next; break;
      case EXIT_REASON_INVPCID: code = S.SVM_EXIT_INVPCID; nrip = next; break;
      case HW_VMMCALL: code = S.SVM_EXIT_VMMCALL; nrip = next; break;
      case HW_UNEMULATED: case HW_EMULATOR_USERSPACE: code = e.reason; break;
      default: code = S.SVM_EXIT_ERR;
    }
    m.hwSet(V.exit_code, code);
    if (info1Hi) m.hwSet64(V.exit_info_1, info1, info1Hi); else m.hwSet(V.exit_info_1, info1); m.hwSet(V.exit_info_2, info2); m.hwSet(V.next_rip, nrip);
    m.hwSet(V.exit_int_info, e.idtVectoringInfo >>> 0); m.hwSet(V.exit_int_info_err, e.idtVectoringError);
    this.exitCode = m.read(V.exit_code);
    exitCompleteInterrupts(this.v, m.read(V.exit_int_info) | 0, m.peek(V.exit_int_info_err));
  }
  /** The CLTS/LMSW exits' instruction and LMSW source (what KVM's emulator decodes when EXITINFO1 has no CR_VALID). */
  crType = 0;
  lmswData = 0;

  exitName(): string {
    if (this.exitCode === HW_UNEMULATED) return 'UNEMULATED';
    if (this.exitCode === HW_EMULATOR_USERSPACE) return 'EMULATOR_USERSPACE';
    return S.svmExitName(this.exitCode);
  }
  exitInfo1(): number { return this.vmcb.peek(V.exit_info_1); }
  exitInfo2(): number { return this.vmcb.peek(V.exit_info_2); }

  /** svm_handle_exit. */
  handle_exit(): number {
    const v = this.v, code = this.exitCode, a = v.arch;
    if (code === HW_UNEMULATED) return reportUnemulated(v);
    if (code === HW_EMULATOR_USERSPACE) return 0;
    if (!this.cr0Intercepted) a.cr0 = ((a.cr0 & ~(CR0_TS | CR0_MP)) | (this.vmcb.read(V.cr0) & (CR0_TS | CR0_MP))) >>> 0;
    a.cr3 = this.vmcb.read(V.cr3);
    const h = code >= 0 && code < 0x40 ? (code < 0x20 ? cr_interception : dr_interception)
      : code >= 0x40 && code < 0x60 ? exception_interception : code > 0 && code < svmExitHandlers.length ? svmExitHandlers[code] : undefined;
    if (!h) return this.unexpected(code);
    return h(v, this);
  }

  unexpected(code: number): number {
    const run = this.v.kvm_run;
    run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
    run.internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
    run.internal.ndata = 2;
    run.internal.data[0] = BigInt.asUintN(64, BigInt(code));
    run.internal.data[1] = 0n;
    return 0;
  }

  /** __svm_skip_emulated_instruction: next_rip (NRIPS) if the exit provided one, else decode. */
  skip_emulated_instruction(): boolean {
    const nrip = this.vmcb.read(V.next_rip);
    if (nrip !== 0) this.next_rip = nrip;
    if (!this.next_rip) {
      if (!kvm_emulate_instruction(this.v, 1)) return false;
    } else kvm_rip_write(this.v, this.next_rip);
    this.set_interrupt_shadow(0);
    return true;
  }

  emulator_exit(): number {
    this.translateExit();
    return this.handle_exit();
  }

  stopDrExiting(): void { this.drWontExit = true; this.vmcb.controlsDirty = true; }

  controlBlock(): ControlBlockField[] {
    return this.vmcb.fields().map((f) => ({ name: this.vmcb.fieldName(f.field), value: f.value, written: true }));
  }
}

// ---------------------------------------------------------------- svm_exit_handlers[]

function cr_interception(v: KvmVcpu, svm: Svm): number {
  const code = svm.exitCode;
  svm.exitInfo1();
  const reg = svm.vmcb.low32(V.exit_info_1) & 15, crValid = svm.vmcb.high32(V.exit_info_1) < 0;
  if (!crValid) {
    // CLTS or LMSW (no decode assist): KVM emulates the instruction (emulate_on_interception).
    const cr0 = v.arch.cr0;
    if (svm.crType === 3) return kvm_complete_insn_gp(v, kvm_set_cr0(v, (cr0 & ~0x0e) | (svm.lmswData & 0x0f) | (cr0 & 1)));
    v.ops.set_cr0(cr0 & ~CR0_TS);
    return kvm_skip_emulated_instruction(v);
  }
  const cr = code === S.SVM_EXIT_CR0_SEL_WRITE ? 0 : code & 15;
  if (code >= S.SVM_EXIT_WRITE_CR0 || code === S.SVM_EXIT_CR0_SEL_WRITE) {
    let val = kvm_register_read(v, reg);
    if (!is_64_bit_mode(v)) val = val >>> 0;
    switch (cr) {
      case 0: return kvm_complete_insn_gp(v, kvm_set_cr0(v, val));
      case 4: return kvm_complete_insn_gp(v, kvm_set_cr4(v, val));
      case 8: return kvm_complete_insn_gp(v, kvm_set_cr8(v, val));
    }
  } else {
    const val = cr === 0 ? v.arch.cr0 : cr === 4 ? v.arch.cr4 : cr === 3 ? v.arch.cr3 : cr === 8 ? kvm_get_cr8(v) : 0;
    kvm_register_write(v, reg, val);
    return kvm_skip_emulated_instruction(v);
  }
  return svm.unexpected(code);
}

function dr_interception(v: KvmVcpu, svm: Svm): number {
  if (v.arch.guest_debug === 0) {
    const c = v.cpu, a = v.arch;
    for (let k = 0; k < 4; k++) c.dr[k] = a.db[k];
    c.dr6 = a.dr6;
    svm.stopDrExiting();
    return 1;
  }
  return kvm_emulate_instruction(v, 0);
}

/** The exception intercepts (ud_interception, db_interception, bp_interception, ac_interception, ...). */
function exception_interception(v: KvmVcpu, svm: Svm): number {
  const vector = svm.exitCode - S.SVM_EXIT_EXCP_BASE;
  const run = v.kvm_run, gd = v.arch.guest_debug;
  switch (vector) {
    case UD_VECTOR: return handle_ud(v);
    case DB_VECTOR:
      if (!(gd & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))) { kvm_queue_exception_p(v, 1, v.cpu.dr6 & 0x400f); return 1; }
      run.exit_reason = KVM_EXIT_DEBUG; run.debug.arch.exception = 1; run.debug.arch.pc = BigInt(kvm_get_linear_rip(v));
      run.debug.arch.dr6 = BigInt(v.cpu.dr6 >>> 0); run.debug.arch.dr7 = BigInt(v.cpu.dr7 >>> 0);
      return 0;
    case BP_VECTOR:
      if (gd & KVM_GUESTDBG_USE_SW_BP) {
        run.exit_reason = KVM_EXIT_DEBUG; run.debug.arch.exception = 3; run.debug.arch.pc = BigInt(kvm_get_linear_rip(v));
        return 0;
      }
      break;
    case AC_VECTOR: kvm_queue_exception_e(v, AC_VECTOR, svm.exitInfo1()); return 1;
    case MC_VECTOR: return 1;
  }
  run.exit_reason = KVM_EXIT_EXCEPTION; run.ex.exception = vector; run.ex.error_code = svm.exitInfo1();
  return 0;
}

/** shutdown_interception: the VMCB is undefined after SHUTDOWN, so KVM INITs the vCPU, then exits. */
function shutdown_interception(v: KvmVcpu): number {
  kvm_vcpu_reset(v, true);
  v.kvm_run.exit_reason = KVM_EXIT_SHUTDOWN;
  return 0;
}

function io_interception(v: KvmVcpu, svm: Svm): number {
  const io = svm.exitInfo1();
  if (io & S.SVM_IOIO_STR_MASK) return kvm_emulate_instruction(v, 0);
  const size = (io >> 4) & 7;
  svm.next_rip = svm.exitInfo2();
  return kvm_fast_pio(v, size === 1 ? 1 : size === 2 ? 2 : 4, io >>> 16, (io & S.SVM_IOIO_TYPE_MASK) !== 0);
}
function msr_interception(v: KvmVcpu, svm: Svm): number {
  return svm.exitInfo1() ? kvm_emulate_wrmsr(v) : kvm_emulate_rdmsr(v);
}
function npf_interception(v: KvmVcpu, svm: Svm): number {
  v.vm.mmioSptes.add(Math.floor(svm.exitInfo2() / 4096));
  if (svm.exitInfo1() & 16) return emulation_failure(v);
  return kvm_emulate_instruction(v, 0);
}

const svmExitHandlerList: [number, SvmExitHandler][] = [
  [S.SVM_EXIT_INTR, () => 1], [S.SVM_EXIT_NMI, () => 1], [S.SVM_EXIT_VINTR, (v, s) => { s.clear_vintr(); v.requestEvent(); return 1; }],
  [S.SVM_EXIT_CR0_SEL_WRITE, cr_interception],
  [S.SVM_EXIT_CPUID, (v) => kvm_emulate_cpuid(v)], [S.SVM_EXIT_HLT, (v) => kvm_emulate_halt(v)],
  [S.SVM_EXIT_INVD, (v) => kvm_emulate_invd(v)], [S.SVM_EXIT_WBINVD, (v) => kvm_emulate_wbinvd(v)],
  [S.SVM_EXIT_RDPMC, (v) => kvm_emulate_rdpmc(v)], [S.SVM_EXIT_PAUSE, (v) => kvm_skip_emulated_instruction(v)],
  [S.SVM_EXIT_INVLPG, (v, s) => { v.cpu.invlpg(s.exitInfo1()); return kvm_skip_emulated_instruction(v); }],
  [S.SVM_EXIT_IOIO, io_interception], [S.SVM_EXIT_MSR, msr_interception],
  [S.SVM_EXIT_TASK_SWITCH, (v) => emulation_failure(v)], [S.SVM_EXIT_SHUTDOWN, shutdown_interception],
  [S.SVM_EXIT_VMMCALL, (v) => kvm_emulate_hypercall(v)],
  [S.SVM_EXIT_VMRUN, (v) => kvm_handle_invalid_op(v)], [S.SVM_EXIT_VMLOAD, (v) => kvm_handle_invalid_op(v)],
  [S.SVM_EXIT_VMSAVE, (v) => kvm_handle_invalid_op(v)], [S.SVM_EXIT_STGI, (v) => kvm_handle_invalid_op(v)],
  [S.SVM_EXIT_CLGI, (v) => kvm_handle_invalid_op(v)], [S.SVM_EXIT_SKINIT, (v) => kvm_handle_invalid_op(v)],
  [S.SVM_EXIT_MONITOR, (v) => kvm_emulate_monitor_mwait(v)], [S.SVM_EXIT_MWAIT, (v) => kvm_emulate_monitor_mwait(v)],
  [S.SVM_EXIT_XSETBV, (v) => kvm_emulate_xsetbv(v)], [S.SVM_EXIT_RDPRU, (v) => kvm_handle_invalid_op(v)],
  [S.SVM_EXIT_INVPCID, (v) => { kvm_queue_exception(v, UD_VECTOR); return 1; }],
  [S.SVM_EXIT_NPF, npf_interception],
];
/** svm_exit_handlers[]: indexed by exit code (0 ... SVM_EXIT_NPF), as the kernel's array is. */
const svmExitHandlers: (SvmExitHandler | undefined)[] = new Array(S.SVM_EXIT_NPF + 1).fill(undefined);
for (const [code, h] of svmExitHandlerList) svmExitHandlers[code] = h;

export { arToAttrib, VCPU_REGS_RIP, VCPU_REGS_RSP, kvm_register_is_dirty, VCPU_EXREG_CR3 };
