// A KVM vCPU (struct kvm_vcpu) and its ioctls (x86.c kvm_arch_vcpu_ioctl): KVM_GET/SET_REGS,
// SREGS, MSRS, CPUID2, FPU, XCRS, VCPU_EVENTS, MP_STATE, SET_GUEST_DEBUG, ENABLE_CAP, RUN; plus what
// KVM lacks and a debugger needs: RESET, INIT/SIPI injection, register-cache and VMCS/VMCB views.
import '../cpu/index'; // installs the instruction handlers
import { Cpu } from '../cpu/cpu';
import type { KvmVm } from './vm';
import { VcpuArch, KVM_REQ_EVENT, KVM_REQ_TRIPLE_FAULT, KVM_REQ_LOAD_MMU_PGD } from './vcpu_arch';
import * as U from './uapi';
import type { KvmX86Ops } from './x86_ops';
import { KvmSegment } from './x86_ops';
import { Vmx } from './vmx/vmx';
import { Svm } from './svm/svm';
import { KvmLapic, MSR_IA32_APICBASE_ENABLE } from './lapic';
import { EmulatorContext } from './x86/emulate';
import { VcpuTrace } from './observers';
import {
  ALL_REGS, kvm_register_read, kvm_register_write, kvm_register_mark_dirty, kvm_read_cr0, kvm_read_cr3, kvm_read_cr4,
  VCPU_REGS_RSP, VCPU_REGS_RIP, VCPU_EXREG_CR3, VCPU_EXREG_RFLAGS, VCPU_EXREG_SEGMENTS, VCPU_EXREG_CR0,
  VCPU_EXREG_CR4, kvm_register_is_dirty, kvm_rip_read, kvm_rsp_read, regBitmapNames,
} from './x86/kvm_cache_regs';
import { kvm_vcpu_reset } from './x86/reset';
import { kvm_synchronize_tsc } from './x86/tsc';
import { kvm_arch_vcpu_ioctl_run, process_nmi } from './x86/run';
import { CpuidMemo, kvm_find_cpuid_entry, kvm_vcpu_after_set_cpuid } from './x86/cpuid';
import { kvm_get_msr, kvm_set_msr } from './x86/msr';
import { kvm_hv_set_enforce_cpuid, kvm_hv_activate_synic, kvm_get_hv_cpuid } from './hyperv';
import { kvm_set_dr, kvm_get_cr8, kvm_set_cr8, kvm_set_xcr, load_pdptrs, kvm_is_valid_cr0, kvm_is_valid_cr4 } from './x86/x86';
import { CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, TF } from '../cpu/state';

const TWO32 = 4294967296;
const u64 = (n: number): bigint => BigInt.asUintN(64, BigInt(Math.trunc(n)));
const num = (b: bigint | number): number => typeof b === 'number' ? b : Number(BigInt.asIntN(64, b) < -(1n << 52n) || BigInt.asIntN(64, b) > (1n << 53n) ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b));

export interface VcpuStats { exits: number; hypercalls: number; userspaceExits: number; notifyWindowExits?: number; }

export class KvmVcpu {
  readonly cpu: Cpu;
  readonly arch = new VcpuArch();
  readonly kvm_run = new U.kvm_run();
  readonly ops: KvmX86Ops & { applyEntryInjectionToCpu?(): void; recheckEmulationRequired?(): void; staleCheck(reg: number): [number, number] | null; emulator_exit(): number; setGuestPat?(lo: number, hi: number): void; setTscOffset?(o: number): void };
  lapic: KvmLapic | null = null;
  readonly emulator: EmulatorContext;
  trace: VcpuTrace | null = null;
  readonly stats: VcpuStats = { exits: 0, hypercalls: 0, userspaceExits: 0 };
  /** Scratch for MSR reads (kvm_get_msr). */
  msrValue = 0;
  /** Set by kvm_get_msr when the value is in msrLo/msrHi exactly (a 64-bit value a double cannot hold). */
  msrExact = false;
  msrLo = 0;
  msrHi = 0;
  /** Writes of the last hypercall patch (seed 000), for tests and the debugger. */
  readonly patchWrites: { gpa: number; bytes: number[] }[] = [];
  /** Instructions retired through the emulator. */
  emulatedInsns = 0;
  /** Last internal-error detail (the unemulated instruction). */
  lastInternalError = '';
  /** The last KVM_RUN returned because the vCPU would block (halted, waiting for SIPI). */
  blocked = false;
  /** The last KVM_RUN returned because the processor's debug hook asked to stop. */
  stoppedByHook = false;
  /**
   * The last KVM_RUN returned after this vCPU sent a fixed, lowest-priority or NMI IPI another vCPU
   * accepted (kvm_vcpu_kick): the
   * target would start running at once on its own CPU, so the one-at-a-time schedule lets it run next.
   */
  kickedOther = false;
  /** A modelled KVM livelock (seed 000's patch loop) was detected. */
  livelocked = false;
  private patchLoopCount = 0;
  private patchLoopIcount = -1;
  private runBudget = Infinity;
  private runStartIcount = 0;
  /** Budget units of this KVM_RUN spent without retiring an instruction (see budgetLeft). */
  stallUnits = 0;
  /**
   * The last KVM_RUN returned -EINTR with its budget spent and not one instruction retired: the
   * vCPU is stuck in event delivery (an endless #AC/#DB chain, seed 004) or an exit storm.
   */
  stalled = false;
  guestDebugHook: ((c: Cpu) => boolean) | null = null;

  constructor(readonly vm: KvmVm, readonly vcpu_id: number) {
    this.cpu = new Cpu(vm.bus);
    this.cpu.vendor = vm.vendor;
    this.emulator = new EmulatorContext(this);
    // kvm_x86_vendor_init: the one place the vendor is chosen; everything else goes through ops.
    this.ops = vm.vendor === 'intel' ? new Vmx(this) : new Svm(this);
    if (vm.irqchip) this.lapic = new KvmLapic(this);
    this.kvm_arch_vcpu_create();
  }

  /** kvm_arch_vcpu_create: regs_avail = regs_dirty = ~0 (after seed 001's fix), RESET. */
  private kvm_arch_vcpu_create(): void {
    const a = this.arch;
    if (!this.vm.options.preFixSeed001) { a.regs_avail = ALL_REGS; a.regs_dirty = ALL_REGS; }
    a.mp_state = !this.vm.irqchip || this.isBsp() ? U.KVM_MP_STATE_RUNNABLE : U.KVM_MP_STATE_UNINITIALIZED;
    this.ops.vcpu_create();
    this.attachTrace();
    kvm_vcpu_reset(this, false);
    kvm_synchronize_tsc(this, null); // kvm_arch_vcpu_postcreate
  }

  isBsp(): boolean { return this.vcpu_id === this.vm.bsp_vcpu_id; }

  attachTrace(): void {
    const on = this.vm.observers.list.length > 0;
    this.trace = on ? new VcpuTrace(this, this.vm.observers) : null;
    const tracer = this.trace;
    this.ops.setTracer(tracer);
  }

  // ---------------------------------------------------------------- helpers used by kvm/x86

  /** cpuid_maxphyaddr: the guest's physical-address width, CPUID 80000008H EAX[7:0] (36 without the leaf). */
  cpuid_maxphyaddr(): number {
    const e = kvm_find_cpuid_entry(this, 0x80000008);
    return e ? e.eax & 0xff : 36;
  }
  guestCpuidHas(leaf: number, reg: 'eax' | 'ebx' | 'ecx' | 'edx', bit: number): boolean {
    const e = kvm_find_cpuid_entry(this, leaf);
    return !!e && ((e[reg] >>> bit) & 1) === 1;
  }
  /** kvm_find_cpuid_entry through an index by function (rebuilt when KVM_SET_CPUID2 replaces the table). */
  lookupCpuid(fn: number, index: number): U.kvm_cpuid_entry2 | undefined {
    if (this.cpuidIndexOf !== this.arch.cpuid) this.indexCpuid();
    fn >>>= 0;
    const low = fn & 0xff, range = fn >>> 8;
    const list = range === 0 ? this.cpuidBasic[low] : range === 0x400000 ? this.cpuidHv[low] : range === 0x800000 ? this.cpuidExt[low]
      : this.cpuidOther.get(fn);
    if (list === undefined) return undefined;
    for (let k = 0; k < list.length; k++) {
      const e = list[k];
      if (!(e.flags & U.KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index === index) return e;
    }
    return undefined;
  }
  /** Entries by function: 0x0-0xff, 0x40000000-0x400000ff, 0x80000000-0x800000ff, and the rest. */
  private readonly cpuidBasic: (U.kvm_cpuid_entry2[] | undefined)[] = new Array(256).fill(undefined);
  private readonly cpuidHv: (U.kvm_cpuid_entry2[] | undefined)[] = new Array(256).fill(undefined);
  private readonly cpuidExt: (U.kvm_cpuid_entry2[] | undefined)[] = new Array(256).fill(undefined);
  private readonly cpuidOther = new Map<number, U.kvm_cpuid_entry2[]>();
  private cpuidIndexOf: U.kvm_cpuid_entry2[] | null = null;
  /** kvm_cpuid's entry per (function, index), valid for the table it was filled from. */
  readonly cpuidMemo = new CpuidMemo();
  private indexCpuid(): void {
    this.cpuidBasic.fill(undefined); this.cpuidHv.fill(undefined); this.cpuidExt.fill(undefined); this.cpuidOther.clear();
    for (const e of this.arch.cpuid) {
      const fn = e.function >>> 0, low = fn & 0xff, range = fn >>> 8;
      const tab = range === 0 ? this.cpuidBasic : range === 0x400000 ? this.cpuidHv : range === 0x800000 ? this.cpuidExt : null;
      const list = tab ? tab[low] : this.cpuidOther.get(fn);
      if (list) list.push(e);
      else if (tab) tab[low] = [e];
      else this.cpuidOther.set(fn, [e]);
    }
    this.cpuidIndexOf = this.arch.cpuid;
  }
  requestEvent(): void { this.arch.requests |= KVM_REQ_EVENT; }
  requestTripleFault(): void { this.arch.requests |= KVM_REQ_TRIPLE_FAULT; }
  kvmSetCr8(v: number): void { kvm_set_cr8(this, v); }
  recheckEmulationRequired(): void { this.ops.recheckEmulationRequired?.(); }
  staleCheck(reg: number): [number, number] | null { return this.ops.staleCheck(reg); }
  fieldName(field: number): string { return this.ops.view.fieldName(field); }
  bugEvent(kind: string, message: string): void { if (this.trace) this.trace.bug(kind, message); this.lastBug = { kind, message }; }
  lastBug: { kind: string; message: string } | null = null;

  /** Seed 000 #4: the native hypercall re-executed under emulation patches itself again forever. */
  notePatchLoop(): void {
    if (this.cpu.icount !== this.patchLoopIcount) { this.patchLoopIcount = this.cpu.icount; this.patchLoopCount = 0; }
    if (++this.patchLoopCount >= this.vm.options.livelockThreshold) {
      this.livelocked = true;
      this.bugEvent('hypercall-patch-livelock', `KVM livelock: the hypercall at RIP 0x${this.cpu.rip.toString(16)} is re-patched ` +
        `and re-emulated forever (invalid guest state, unrestricted_guest=0): ${this.patchLoopCount} iterations`);
    }
  }

  /**
   * IA32_APIC_BASE write (kvm_apic_set_base): reserved bits (0x2ff, EXTD without the x2APIC CPUID
   * bit, above MAXPHYADDR) and EXTD without EN are refused; the guest cannot go from x2APIC back to
   * xAPIC, nor from disabled straight to x2APIC (SDM Vol. 3A 11.12.5).
   */
  setApicBase(val: number, hostInitiated: boolean): number {
    const old = this.arch.apic_base;
    if (old === val) return 0;
    const x2 = 1 << 10, en = 1 << 11;
    const rsvd = 0x2ff | (this.guestCpuidHas(1, 'ecx', 21) ? 0 : x2);
    if ((val % 4096) & rsvd || val >= 2 ** this.cpuid_maxphyaddr() || val < 0) return 1;
    const mode = (b: number) => (b & en) ? ((b & x2) ? 2 : 1) : ((b & x2) ? -1 : 0); // x2APIC, xAPIC, invalid, disabled
    const oldMode = mode(old), newMode = mode(val);
    if (newMode < 0) return 1;
    if (!hostInitiated && ((oldMode === 2 && newMode === 1) || (oldMode === 0 && newMode === 2))) return 1;
    this.setApicBaseRaw(val);
    this.lapic?.baseChanged(old, val);
    return 0;
  }
  setApicBaseRaw(val: number): void { this.arch.apic_base = val; this.cpu.apicBase = val; }

  /** Move KVM's cached registers into the processor before the emulator runs (KVM's emulation ctxt). */
  syncCacheToCpu(): void {
    const a = this.arch, c = this.cpu;
    for (let k = 0; k < 32; k++) if (k !== 8 && k !== 9) c.R[k] = a.regs[k];
    if (kvm_register_is_dirty(this, VCPU_REGS_RSP)) { c.R[8] = a.regs[8]; c.R[9] = a.regs[9]; }
    if (kvm_register_is_dirty(this, VCPU_REGS_RIP)) c.rip = a.regs[33] * TWO32 + (a.regs[32] >>> 0);
  }
  /** The emulator's writeback: GPRs, RIP and RSP written through the cache; lazily loaded state invalidated. */
  syncCacheFromCpu(): void {
    const a = this.arch, c = this.cpu;
    for (let k = 0; k < 32; k++) if (k !== 8 && k !== 9) a.regs[k] = c.R[k];
    a.regs[8] = c.R[8]; a.regs[9] = c.R[9];
    kvm_register_mark_dirty(this, VCPU_REGS_RSP);
    kvm_register_write(this, VCPU_REGS_RIP, c.rip);
    a.regs_avail &= ~((1 << VCPU_EXREG_RFLAGS) | (1 << VCPU_EXREG_SEGMENTS) | (1 << VCPU_EXREG_CR0) | (1 << VCPU_EXREG_CR4));
    a.regs_avail |= this.ops.alwaysAvailableRegs;
  }

  /** Run the processor for the entry (vendor vcpu_run calls this). */
  runCpu(budget: number): number {
    const c = this.cpu;
    c.beforeInsn = this.guestDebugHook ?? this.vm.beforeInsn;
    c.noBoundaryCount = 0; // VM entry starts a new notify window (SDM Vol. 3C 26.2)
    return c.run(budget);
  }

  /**
   * What is left of this KVM_RUN's budget: instructions retired, plus the units spent without
   * retiring any (a hardware exit that retired nothing costs one; a processor slice that ran out
   * its budget in event delivery costs all of it).
   */
  budgetLeft(): number { return this.runBudget - (this.cpu.icount - this.runStartIcount) - this.stallUnits; }

  afterUserspaceExit(r: number): void {
    if (r === 0) {
      this.stats.userspaceExits++;
      if (this.trace) this.trace.userExit();
    }
  }

  // ---------------------------------------------------------------- KVM_RUN

  /**
   * KVM_RUN: 0 with kvm_run.exit_reason set, or -EINTR (immediate_exit, the instruction budget of
   * this call ran out, a debug hook stopped, or the vCPU would block: see `blocked`), -EAGAIN for
   * an AP still waiting for INIT/SIPI. `maxInsns` models the VMM's kick (a signal) after that many
   * guest instructions: KVM_EXIT_INTR.
   */
  run(opts?: { maxInsns?: number }): number {
    this.runBudget = opts?.maxInsns ?? this.vm.defaultRunBudget;
    this.runStartIcount = this.cpu.icount;
    this.livelocked = false;
    this.stallUnits = 0;
    const r = kvm_arch_vcpu_ioctl_run(this);
    this.stalled = r === -U.EINTR && this.cpu.icount === this.runStartIcount && this.stallUnits > 0 &&
      !this.blocked && !this.stoppedByHook && !this.livelocked;
    return r;
  }

  // ---------------------------------------------------------------- KVM_GET/SET_REGS

  getRegs(): U.kvm_regs {
    const g = (r: number) => BigInt.asUintN(64, (BigInt(this.arch.regs[2 * r + 1]) << 32n) | BigInt(this.arch.regs[2 * r] >>> 0));
    const rsp = kvm_rsp_read(this), rip = kvm_rip_read(this);
    void rsp;
    return {
      rax: g(0), rcx: g(1), rdx: g(2), rbx: g(3), rsp: g(4), rbp: g(5), rsi: g(6), rdi: g(7),
      r8: g(8), r9: g(9), r10: g(10), r11: g(11), r12: g(12), r13: g(13), r14: g(14), r15: g(15),
      rip: u64(rip), rflags: u64(this.ops.get_rflags()),
    };
  }

  setRegs(r: U.kvm_regs): number {
    const s = (reg: number, val: bigint) => {
      const x = BigInt.asUintN(64, val);
      this.arch.regs[2 * reg] = Number(x & 0xffffffffn) | 0;
      this.arch.regs[2 * reg + 1] = Number(x >> 32n) | 0;
      kvm_register_mark_dirty(this, reg); // kvm_register_write: every register __set_regs writes is dirty
    };
    s(0, r.rax); s(1, r.rcx); s(2, r.rdx); s(3, r.rbx); s(5, r.rbp); s(6, r.rsi); s(7, r.rdi);
    s(8, r.r8); s(9, r.r9); s(10, r.r10); s(11, r.r11); s(12, r.r12); s(13, r.r13); s(14, r.r14); s(15, r.r15);
    s(4, r.rsp); kvm_register_mark_dirty(this, VCPU_REGS_RSP);
    kvm_register_write(this, VCPU_REGS_RIP, num(r.rip));
    this.ops.set_rflags(Number(BigInt.asUintN(64, r.rflags) & 0x3f7fd7n) | 2);
    this.arch.exc_pending = false; this.arch.exc_injected = false;
    this.requestEvent();
    return 0;
  }

  // ---------------------------------------------------------------- KVM_GET/SET_SREGS

  private segOut(seg: number): U.kvm_segment {
    const s = new KvmSegment();
    this.ops.get_segment(seg, s);
    return { base: u64(s.base), limit: s.limit >>> 0, selector: s.selector, type: s.type, present: s.present, dpl: s.dpl,
      db: s.db, s: s.s, l: s.l, g: s.g, avl: s.avl, unusable: s.unusable, padding: 0 };
  }
  private segIn(seg: number, k: U.kvm_segment): void {
    const s = new KvmSegment();
    s.base = num(k.base); s.limit = k.limit >>> 0; s.selector = k.selector & 0xffff; s.type = k.type; s.present = k.present;
    s.dpl = k.dpl; s.db = k.db; s.s = k.s; s.l = k.l; s.g = k.g; s.avl = k.avl; s.unusable = k.unusable;
    this.ops.set_segment(seg, s);
  }

  getSregs(): U.kvm_sregs {
    const idt = this.ops.get_idt(), gdt = this.ops.get_gdt();
    const bitmap = [0n, 0n, 0n, 0n];
    if (this.arch.intr_injected && !this.arch.intr_soft) bitmap[this.arch.intr_nr >> 6] |= 1n << BigInt(this.arch.intr_nr & 63);
    return {
      cs: this.segOut(1), ds: this.segOut(3), es: this.segOut(0), fs: this.segOut(4), gs: this.segOut(5), ss: this.segOut(2),
      tr: this.segOut(7), ldt: this.segOut(6),
      gdt: { base: u64(gdt.base), limit: gdt.limit }, idt: { base: u64(idt.base), limit: idt.limit },
      cr0: u64(kvm_read_cr0(this)), cr2: u64(this.arch.cr2), cr3: u64(kvm_read_cr3(this)), cr4: u64(kvm_read_cr4(this)),
      cr8: u64(kvm_get_cr8(this)), efer: u64(this.arch.efer), apic_base: u64(this.arch.apic_base), interrupt_bitmap: bitmap,
    };
  }

  /** kvm_is_valid_sregs + __set_sregs. */
  setSregs(s: U.kvm_sregs): number {
    const cr0 = num(s.cr0), cr4 = num(s.cr4), efer = num(s.efer), cr3 = num(s.cr3);
    // kvm_is_valid_sregs: LME with paging means long mode (PAE, LMA, a legal CR3); otherwise neither
    // LMA nor a 64-bit code segment; CR0 and CR4 must be valid for this vCPU.
    if ((efer & EFER_LME) && (cr0 & CR0_PG)) {
      if (!(cr4 & CR4_PAE) || !(efer & EFER_LMA)) return -U.EINVAL;
      if (cr3 >= 2 ** 52) return -U.EINVAL;
    } else if ((efer & EFER_LMA) || s.cs.l) return -U.EINVAL;
    if (cr0 >= 4294967296 || cr4 >= 4294967296 || cr0 < 0 || cr4 < 0) return -U.EINVAL; // bits 63:32 are reserved
    if (!kvm_is_valid_cr4(this, cr4 >>> 0) || !kvm_is_valid_cr0(cr0 >>> 0)) return -U.EINVAL;
    const a = this.arch;
    this.ops.set_idt({ base: num(s.idt.base), limit: s.idt.limit });
    this.ops.set_gdt({ base: num(s.gdt.base), limit: s.gdt.limit });
    a.cr2 = num(s.cr2); this.cpu.cr2 = a.cr2;
    a.cr3 = cr3;
    kvm_register_mark_dirty(this, VCPU_EXREG_CR3);
    kvm_set_cr8(this, num(s.cr8));
    this.ops.set_efer(efer);
    this.ops.set_cr0(cr0);
    this.ops.set_cr4(cr4);
    if (this.vm.irqchip) this.setApicBaseRaw(num(s.apic_base));
    for (const [seg, k] of [[1, s.cs], [3, s.ds], [0, s.es], [4, s.fs], [5, s.gs], [2, s.ss], [7, s.tr], [6, s.ldt]] as const) {
      this.segIn(seg, k);
    }
    if ((cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA)) load_pdptrs(this, cr3);
    a.requests |= KVM_REQ_LOAD_MMU_PGD;
    for (let k = 0; k < 4; k++) {
      const w = s.interrupt_bitmap?.[k] ?? 0n;
      if (w) { const bit = 63 - w.toString(2).length + 1; void bit; a.intr_injected = true; a.intr_nr = k * 64 + (w.toString(2).length - 1); }
    }
    this.requestEvent();
    return 0;
  }

  // ---------------------------------------------------------------- KVM_GET/SET_MSRS

  /** KVM_GET_MSRS: returns the number of MSRs read (stops at the first failure), like the ioctl. */
  getMsrs(entries: U.kvm_msr_entry[]): number {
    let n = 0;
    for (const e of entries) {
      if (kvm_get_msr(this, e.index, true) !== 0) break;
      e.data = this.msrExact ? (BigInt(this.msrHi >>> 0) << 32n) | BigInt(this.msrLo >>> 0) : u64(this.msrValue);
      n++;
    }
    return n;
  }
  setMsrs(entries: U.kvm_msr_entry[]): number {
    let n = 0;
    for (const e of entries) {
      const x = BigInt.asUintN(64, e.data);
      if (kvm_set_msr(this, e.index, Number(x & 0xffffffffn) | 0, Number(x >> 32n) | 0, true) !== 0) break;
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- KVM_SET/GET_CPUID2

  setCpuid2(entries: U.kvm_cpuid_entry2[]): number {
    if (entries.length > 256) return -U.E2BIG;
    this.arch.cpuid = entries.map((e) => ({ ...e, function: e.function >>> 0 }));
    kvm_vcpu_after_set_cpuid(this);
    this.ops.vcpu_after_set_cpuid();
    return 0;
  }
  /** KVM_GET_SUPPORTED_HV_CPUID (the vCPU ioctl: STIMER direct mode only with the in-kernel LAPIC). */
  getSupportedHvCpuid(): U.kvm_cpuid_entry2[] { return kvm_get_hv_cpuid(this.lapic !== null); }
  getCpuid2(max = 256): U.kvm_cpuid_entry2[] | number {
    if (this.arch.cpuid.length > max) return -U.E2BIG;
    return this.arch.cpuid.map((e) => ({ ...e }));
  }

  // ---------------------------------------------------------------- FPU, XCRs

  getFpu(): U.kvm_fpu {
    const c = this.cpu;
    const xmm: Uint8Array[] = [];
    for (let k = 0; k < 16; k++) xmm.push(new Uint8Array(c.xmm.buffer.slice(k * 16, k * 16 + 16)));
    const fx = c.fxArea;
    return { fpr: Array.from({ length: 8 }, (_, k) => fx.slice(32 + 16 * k, 48 + 16 * k)), fcw: fx[0] | (fx[1] << 8),
      fsw: fx[2] | (fx[3] << 8), ftwx: fx[4], last_opcode: fx[6] | (fx[7] << 8), last_ip: 0n, last_dp: 0n, xmm, mxcsr: c.mxcsr };
  }
  setFpu(f: U.kvm_fpu): number {
    const c = this.cpu;
    for (let k = 0; k < 16 && k < f.xmm.length; k++) new Uint8Array(c.xmm.buffer).set(f.xmm[k].subarray(0, 16), k * 16);
    c.mxcsr = f.mxcsr;
    c.fxArea[0] = f.fcw & 0xff; c.fxArea[1] = f.fcw >> 8;
    return 0;
  }
  getXcrs(): U.kvm_xcrs { return { nr_xcrs: 1, flags: 0, xcrs: [{ xcr: 0, value: BigInt(this.arch.xcr0) }] }; }
  setXcrs(x: U.kvm_xcrs): number {
    if (x.flags) return -U.EINVAL;
    for (const e of x.xcrs.slice(0, x.nr_xcrs)) {
      const v = BigInt.asUintN(64, e.value);
      if (kvm_set_xcr(this, e.xcr, Number(v & 0xffffffffn), Number(v >> 32n))) return -U.EINVAL;
    }
    return 0;
  }

  // ---------------------------------------------------------------- KVM_GET/SET_VCPU_EVENTS

  getVcpuEvents(): U.kvm_vcpu_events {
    const a = this.arch;
    process_nmi(this);
    const shadow = this.ops.get_interrupt_shadow();
    return {
      exception: { injected: a.exc_injected ? 1 : 0, nr: a.exc_vector, has_error_code: a.exc_has_error ? 1 : 0,
        pending: a.exc_pending ? 1 : 0, error_code: a.exc_error >>> 0 },
      interrupt: { injected: a.intr_injected ? 1 : 0, nr: a.intr_nr, soft: a.intr_soft ? 1 : 0, shadow },
      nmi: { injected: a.nmi_injected ? 1 : 0, pending: a.nmi_pending ? 1 : 0, masked: this.cpu.nmiBlocked ? 1 : 0, pad: 0 },
      sipi_vector: this.lapic ? this.lapic.sipiVector : 0,
      flags: U.KVM_VCPUEVENT_VALID_NMI_PENDING | U.KVM_VCPUEVENT_VALID_SHADOW | U.KVM_VCPUEVENT_VALID_SMM |
        (this.vm.exceptionPayloadEnabled ? U.KVM_VCPUEVENT_VALID_PAYLOAD : 0) |
        (this.vm.tripleFaultEventEnabled ? U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT : 0),
      smi: { smm: 0, pending: 0, smm_inside_nmi: 0, latched_init: 0 },
      triple_fault: { pending: (a.requests & KVM_REQ_TRIPLE_FAULT) ? 1 : 0 },
      exception_has_payload: a.exc_has_payload ? 1 : 0,
      exception_payload: u64(a.exc_payload),
    };
  }

  /** kvm_vcpu_ioctl_x86_set_vcpu_events. */
  setVcpuEvents(e: U.kvm_vcpu_events): number {
    const valid = U.KVM_VCPUEVENT_VALID_NMI_PENDING | U.KVM_VCPUEVENT_VALID_SIPI_VECTOR | U.KVM_VCPUEVENT_VALID_SHADOW |
      U.KVM_VCPUEVENT_VALID_SMM | U.KVM_VCPUEVENT_VALID_PAYLOAD | U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
    if (e.flags & ~valid) return -U.EINVAL;
    if (e.flags & U.KVM_VCPUEVENT_VALID_PAYLOAD) {
      if (!this.vm.exceptionPayloadEnabled) return -U.EINVAL;
      if (e.exception.pending) e.exception.injected = 0;
      else e.exception_has_payload = 0;
    } else { e.exception.pending = 0; e.exception_has_payload = 0; }
    if ((e.exception.injected || e.exception.pending) && (e.exception.nr > 31 || e.exception.nr === 2)) return -U.EINVAL;
    if ((e.flags & U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && !this.vm.tripleFaultEventEnabled) return -U.EINVAL;
    const a = this.arch;
    a.exc_injected = !!e.exception.injected; a.exc_pending = !!e.exception.pending;
    a.exc_vector = e.exception.nr; a.exc_has_error = !!e.exception.has_error_code; a.exc_error = e.exception.error_code;
    a.exc_has_payload = !!e.exception_has_payload; a.exc_payload = num(e.exception_payload ?? 0n);
    a.intr_injected = !!e.interrupt.injected; a.intr_nr = e.interrupt.nr; a.intr_soft = !!e.interrupt.soft;
    if (e.flags & U.KVM_VCPUEVENT_VALID_SHADOW) this.ops.set_interrupt_shadow(e.interrupt.shadow);
    a.nmi_injected = !!e.nmi.injected;
    if (e.flags & U.KVM_VCPUEVENT_VALID_NMI_PENDING) { a.nmi_pending = 0; a.nmi_queued = e.nmi.pending; this.requestEvent(); }
    this.cpu.nmiBlocked = !!e.nmi.masked;
    if ((e.flags & U.KVM_VCPUEVENT_VALID_SIPI_VECTOR) && this.lapic) this.lapic.sipiVector = e.sipi_vector;
    if (e.flags & U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT) {
      if (e.triple_fault.pending) a.requests |= KVM_REQ_TRIPLE_FAULT; else a.requests &= ~KVM_REQ_TRIPLE_FAULT;
    }
    this.requestEvent();
    return 0;
  }

  // ---------------------------------------------------------------- KVM_GET/SET_LAPIC

  /** KVM_GET_LAPIC: struct kvm_lapic_state (the 1 KiB register page); -ENXIO without the in-kernel LAPIC. */
  getLapic(): U.kvm_lapic_state | number {
    if (!this.lapic) return -U.ENXIO;
    return { regs: this.lapic.kvm_apic_get_state() };
  }
  /** KVM_SET_LAPIC. */
  setLapic(s: U.kvm_lapic_state): number {
    if (!this.lapic) return -U.ENXIO;
    return this.lapic.kvm_apic_set_state(s.regs);
  }

  // ---------------------------------------------------------------- KVM_GET/SET_MP_STATE

  getMpState(): U.kvm_mp_state { return { mp_state: this.arch.mp_state }; }
  setMpState(s: U.kvm_mp_state): number {
    const st = s.mp_state;
    if (st > U.KVM_MP_STATE_SIPI_RECEIVED) return -U.EINVAL;
    if (!this.lapic && st !== U.KVM_MP_STATE_RUNNABLE) return -U.EINVAL;
    if (st === U.KVM_MP_STATE_SIPI_RECEIVED) { this.arch.mp_state = U.KVM_MP_STATE_INIT_RECEIVED; this.lapic!.pendingSipi = true; }
    else this.arch.mp_state = st;
    if (st === U.KVM_MP_STATE_RUNNABLE) this.cpu.halted = false;
    this.requestEvent();
    return 0;
  }

  // ---------------------------------------------------------------- KVM_SET_GUEST_DEBUG

  /**
   * KVM_SET_GUEST_DEBUG: SINGLESTEP sets RFLAGS.TF (hidden from the guest's view as KVM does by
   * intercepting #DB), USE_SW_BP intercepts #BP, USE_HW_BP loads debugreg[0..3,7] into DR0-3/DR7.
   */
  setGuestDebug(d: U.kvm_guest_debug): number {
    if (d.control & ~U.KVM_GUESTDBG_VALID_MASK) return -U.EINVAL;
    const a = this.arch, old = a.guest_debug;
    a.guest_debug = d.control & U.KVM_GUESTDBG_ENABLE ? d.control : 0;
    for (let k = 0; k < 8; k++) a.guest_debug_dr[k] = num(d.arch.debugreg[k] ?? 0n);
    const rflags = this.ops.get_rflags();
    if (a.guest_debug & U.KVM_GUESTDBG_SINGLESTEP) this.ops.set_rflags(rflags | TF);
    else if (old & U.KVM_GUESTDBG_SINGLESTEP) this.ops.set_rflags(rflags & ~TF);
    if (a.guest_debug & U.KVM_GUESTDBG_USE_HW_BP) {
      for (let k = 0; k < 4; k++) this.cpu.dr[k] = a.guest_debug_dr[k];
      this.ops.set_dr7(a.guest_debug_dr[7] | 0x400);
    } else if (old & U.KVM_GUESTDBG_USE_HW_BP) kvm_set_dr(this, 7, a.dr7);
    this.ops.update_exception_bitmap();
    return 0;
  }

  // ---------------------------------------------------------------- KVM_ENABLE_CAP (vCPU)

  enableCap(cap: U.kvm_enable_cap): number {
    if (cap.flags) return -U.EINVAL;
    switch (cap.cap) {
      case U.KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
        this.arch.pv_enforce = BigInt(cap.args?.[0] ?? 0) !== 0n;
        return 0;
      case U.KVM_CAP_HYPERV_ENFORCE_CPUID:
        return kvm_hv_set_enforce_cpuid(this, BigInt(cap.args?.[0] ?? 0) !== 0n);
      case U.KVM_CAP_HYPERV_SYNIC2:
        if (BigInt(cap.args?.[0] ?? 0) !== 0n) return -U.EINVAL;
        return kvm_hv_activate_synic(this, true);
      case U.KVM_CAP_HYPERV_SYNIC:
        return kvm_hv_activate_synic(this);
      case U.KVM_CAP_HYPERV:
        return -U.EINVAL;
    }
    return -U.EINVAL;
  }

  // ---------------------------------------------------------------- beyond KVM: RESET, INIT, SIPI

  /** A RESET of this vCPU (KVM has no such ioctl: seed 001). */
  reset(): void {
    kvm_vcpu_reset(this, false);
    this.arch.complete_userspace_io = null;
    this.arch.mp_state = !this.vm.irqchip || this.isBsp() ? U.KVM_MP_STATE_RUNNABLE : U.KVM_MP_STATE_UNINITIALIZED;
  }
  /** Latch an INIT, as an INIT IPI would (processed at the next KVM_RUN). */
  injectInit(): number {
    if (!this.lapic) return -U.ENXIO;
    this.lapic.pendingInit = true;
    this.requestEvent();
    return 0;
  }
  /** Latch a Startup IPI with `vector`. */
  injectSipi(vector: number): number {
    if (!this.lapic) return -U.ENXIO;
    this.lapic.sipiVector = vector & 0xff;
    this.lapic.pendingSipi = true;
    this.requestEvent();
    return 0;
  }

  // ---------------------------------------------------------------- debugger views

  /** The register cache as the debugger shows it. */
  registerCache(): { avail: number; dirty: number; availNames: string[]; dirtyNames: string[]; reads: number; writes: number } {
    const a = this.arch;
    return { avail: a.regs_avail, dirty: a.regs_dirty, availNames: regBitmapNames(a.regs_avail), dirtyNames: regBitmapNames(a.regs_dirty),
      reads: this.ops.reads, writes: this.ops.writes };
  }
  /** VMCS (Intel) or VMCB (AMD) fields. */
  controlBlock() { return this.ops.controlBlock(); }
  /**
   * RIP as userspace sees it now (what KVM_GET_REGS would return), without touching the cache: the
   * cached value when available (past an instruction KVM skipped before exiting, e.g. HLT), else
   * the guest state's. For exit records and views, which must not count as VMREADs.
   */
  peekRip(): number {
    const a = this.arch;
    return (a.regs_avail >>> VCPU_REGS_RIP) & 1 ? a.regs[33] * TWO32 + (a.regs[32] >>> 0) : this.cpu.rip;
  }
  /** kvm_register_read for the debugger (goes through the cache like KVM would). */
  readRegister(reg: number): number { return kvm_register_read(this, reg); }
}

export { VCPU_EXREG_CR0, VCPU_EXREG_CR4 };
void MSR_IA32_APICBASE_ENABLE;
