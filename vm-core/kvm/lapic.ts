// The in-kernel local APIC (arch/x86/kvm/lapic.c): every xAPIC register through the MMIO page at
// IA32_APIC_BASE (relocatable, hardware and software enable), x2APIC through MSRs 0x800-0x8ff
// (kvm_x2apic_msr_read/write and their #GP rules), IRR/ISR/TMR, TPR/PPR (CR8), EOI with the
// broadcast to the IOAPIC for level-triggered vectors, LVTs with masking, the timer in one-shot,
// periodic and TSC-deadline modes on the VM's virtual clock (clock.ts), IPIs with every delivery
// mode, shorthand and destination mode (kvm_irq_delivery_to_apic, kvm_apic_match_dest), and
// KVM's PV EOI. Times are host cycles of the VM clock; "ns" are its nanoseconds.
import type { KvmVcpu } from './vcpu';
import { KVM_X86_QUIRK_LINT0_REENABLED } from './uapi';
import { kvm_hv_synic_auto_eoi_set, kvm_hv_synic_send_eoi } from './hyperv';

export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
export const MSR_IA32_APICBASE_BSP = 1 << 8, X2APIC_ENABLE = 1 << 10, MSR_IA32_APICBASE_ENABLE = 1 << 11;
export const APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TASKPRI = 0x80, APIC_ARBPRI = 0x90, APIC_PROCPRI = 0xa0,
  APIC_EOI = 0xb0, APIC_RRR = 0xc0, APIC_LDR = 0xd0, APIC_DFR = 0xe0, APIC_SPIV = 0xf0, APIC_ISR = 0x100,
  APIC_TMR = 0x180, APIC_IRR = 0x200, APIC_ESR = 0x280, APIC_LVTCMCI = 0x2f0, APIC_ICR = 0x300, APIC_ICR2 = 0x310,
  APIC_LVTT = 0x320, APIC_LVTTHMR = 0x330, APIC_LVTPC = 0x340, APIC_LVT0 = 0x350, APIC_LVT1 = 0x360,
  APIC_LVTERR = 0x370, APIC_TMICT = 0x380, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0, APIC_SELF_IPI = 0x3f0;
export const APIC_DM_FIXED = 0x000, APIC_DM_LOWEST = 0x100, APIC_DM_SMI = 0x200, APIC_DM_REMRD = 0x300,
  APIC_DM_NMI = 0x400, APIC_DM_INIT = 0x500, APIC_DM_STARTUP = 0x600, APIC_DM_EXTINT = 0x700;
export const APIC_DEST_PHYSICAL = 0, APIC_DEST_LOGICAL = 0x800;
export const APIC_DEST_NOSHORT = 0, APIC_DEST_SELF = 0x40000, APIC_DEST_ALLINC = 0x80000, APIC_DEST_ALLBUT = 0xc0000;
export const APIC_LVT_MASKED = 1 << 16, APIC_LVT_TIMER_ONESHOT = 0, APIC_LVT_TIMER_PERIODIC = 1 << 17,
  APIC_LVT_TIMER_TSCDEADLINE = 2 << 17, APIC_SPIV_APIC_ENABLED = 1 << 8, APIC_ICR_BUSY = 1 << 12,
  APIC_INT_ASSERT = 1 << 14, APIC_INT_LEVELTRIG = 1 << 15, APIC_DFR_FLAT = 0xffffffff, APIC_DFR_CLUSTER = 0x0fffffff;
export const APIC_BROADCAST = 0xff, X2APIC_BROADCAST = 0xffffffff;
/** MSR_IA32_TSC_DEADLINE, and the x2APIC MSR range (SDM Vol. 3A 11.12.1.2). */
export const MSR_IA32_TSCDEADLINE = 0x6e0, APIC_BASE_MSR = 0x800;
/** kvm->arch.apic_bus_cycle_ns: KVM's APIC bus runs at 1 GHz. */
export const APIC_BUS_CYCLE_NS = 1;
/** x86.c min_timer_period_us: a periodic LAPIC timer is never faster than this (KVM's default). */
export const MIN_TIMER_PERIOD_NS = 200_000;
/** KVM_APIC_PV_EOI_PENDING in the guest's PV EOI word. */
const KVM_PV_EOI_ENABLED = 1;

const LVT_MASK = APIC_LVT_MASKED | APIC_ICR_BUSY | 0xff;
const LINT_MASK = LVT_MASK | 0x700 | (1 << 13) | (1 << 14) | (1 << 15);
/** apic_lvt_mask: the writable bits of LVTT, LVTTHMR, LVTPC, LVT0, LVT1, LVTERR (no CMCI: 6 entries). */
const apic_lvt_mask = [LVT_MASK, LVT_MASK | 0x700, LVT_MASK | 0x700, LINT_MASK, LINT_MASK, LVT_MASK];
const NR_LVT_ENTRIES = 6;
/** X2APIC_ICR_RESERVED_BITS, low half (bits 31:20, 17:16, 13). */
const X2APIC_ICR_RESERVED_LO = 0xfff00000 | (3 << 16) | (1 << 13);

/** struct kvm_lapic_irq. */
export interface KvmLapicIrq {
  vector: number; delivery_mode: number; dest_mode: number; level: boolean; trig_mode: number;
  shorthand: number; dest_id: number;
}

export class KvmLapic {
  /** apic->regs: the 1 KiB of registers the xAPIC page decodes (offsets 0-0x3f0). */
  readonly regs = new Uint32Array(0x400 / 4);
  /** apic->pending_events (KVM_APIC_INIT / KVM_APIC_SIPI) and sipi_vector. */
  pendingInit = false;
  pendingSipi = false;
  sipiVector = 0;
  sw_enabled = false;
  divide_count = 2;
  lvt0_in_nmi_mode = false;
  /** struct kvm_timer: mode, period (ns), target expiration (VM ns), TSC deadline (guest TSC). */
  timer_mode = 0;
  period = 0;
  target_expiration = 0;
  tscdeadline = 0;
  /** lapic_timer.pending: expirations not yet injected (0 or 1). */
  pending = 0;
  /** The hrtimer: host cycles at which apic_timer_fn runs (Infinity: not armed). */
  expireCycles = Infinity;
  /** Timer expirations and EOIs seen (statistics for the debugger). */
  timerFired = 0;
  eois = 0;
  /** vcpu->arch.pv_eoi.msr_val and whether the PV EOI bit was set at the last entry. */
  pv_eoi_msr = 0;
  pvEoiPending = false;
  /** Last vector injected into the processor (for the debugger). */
  lastInjected = -1;

  constructor(readonly v: KvmVcpu) {}

  get(off: number): number { return this.regs[off >> 2]; }
  private set(off: number, val: number): void { this.regs[off >> 2] = val >>> 0; }

  // ---------------------------------------------------------------- state queries

  get id(): number { return this.x2apicMode ? this.get(APIC_ID) : this.get(APIC_ID) >>> 24; }
  get base(): number { return this.v.arch.apic_base - (this.v.arch.apic_base % 4096); }
  /** kvm_apic_hw_enabled: IA32_APIC_BASE.EN. */
  get hwEnabled(): boolean { return (this.v.arch.apic_base & MSR_IA32_APICBASE_ENABLE) !== 0; }
  get enabled(): boolean { return this.hwEnabled; }
  /** apic_x2apic_mode. */
  get x2apicMode(): boolean { return (this.v.arch.apic_base & X2APIC_ENABLE) !== 0; }
  /** apic_enabled: hardware and software enabled. */
  apicEnabled(): boolean { return this.sw_enabled && this.hwEnabled; }
  /** The xAPIC MMIO page decodes this GPA (hardware enabled, not x2APIC). */
  inRange(gpa: number): boolean { return this.hwEnabled && !this.x2apicMode && gpa >= this.base && gpa < this.base + 4096; }

  getTpr(): number { return this.get(APIC_TASKPRI) & 0xff; }
  setTpr(v: number): void { this.apic_set_tpr(v & 0xff); }

  // ---------------------------------------------------------------- RESET (kvm_lapic_reset)

  reset(initEvent: boolean, bsp: boolean): void {
    const v = this.v;
    if (!initEvent) {
      v.setApicBaseRaw((APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | (bsp ? MSR_IA32_APICBASE_BSP : 0)) >>> 0);
      this.set(APIC_ID, v.vcpu_id << 24);
    }
    this.cancel_apic_timer();
    this.set(APIC_LVR, 0x14 | ((NR_LVT_ENTRIES - 1) << 16));
    for (let i = 0; i < NR_LVT_ENTRIES; i++) this.set(APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
    this.apic_update_lvtt();
    // KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 is ExtINT, unmasked (the PIC reaches it).
    if (bsp && v.vm.hasQuirk(KVM_X86_QUIRK_LINT0_REENABLED)) this.set(APIC_LVT0, APIC_DM_EXTINT);
    this.lvt0_in_nmi_mode = false;
    this.set(APIC_DFR, 0xffffffff);
    this.apic_set_spiv(0xff);
    this.set(APIC_TASKPRI, 0);
    if (!this.x2apicMode) this.set(APIC_LDR, 0);
    this.set(APIC_ESR, 0);
    this.set(APIC_ICR, 0); this.set(APIC_ICR2, 0);
    this.set(APIC_TDCR, 0); this.set(APIC_TMICT, 0);
    for (let k = 0; k < 8; k++) { this.set(APIC_ISR + 0x10 * k, 0); this.set(APIC_IRR + 0x10 * k, 0); this.set(APIC_TMR + 0x10 * k, 0); }
    this.update_divide_count();
    this.pending = 0;
    this.pv_eoi_msr = 0; this.pvEoiPending = false;
    this.apic_update_ppr();
  }

  // ---------------------------------------------------------------- vectors, priorities

  private static find(regs: Uint32Array, base: number): number {
    for (let k = 7; k >= 0; k--) {
      const w = regs[(base >> 2) + 4 * k];
      if (w) return k * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }
  /** apic_find_highest_irr / apic_find_highest_isr (-1: none). */
  apic_find_highest_irr(): number { return KvmLapic.find(this.regs, APIC_IRR); }
  apic_find_highest_isr(): number { return KvmLapic.find(this.regs, APIC_ISR); }
  testVector(base: number, vec: number): boolean { return ((this.regs[(base >> 2) + 4 * (vec >> 5)] >>> (vec & 31)) & 1) !== 0; }
  private setVector(base: number, vec: number): void { this.regs[(base >> 2) + 4 * (vec >> 5)] |= 1 << (vec & 31); }
  private clearVector(base: number, vec: number): void { this.regs[(base >> 2) + 4 * (vec >> 5)] &= ~(1 << (vec & 31)); }
  /** The vectors set in IRR, ISR or TMR (for the debugger). */
  vectors(base: number): number[] {
    const out: number[] = [];
    for (let vec = 0; vec < 256; vec++) if (this.testVector(base, vec)) out.push(vec);
    return out;
  }

  /** __apic_update_ppr: PPR from TPR and the highest in-service vector; true if it dropped. */
  private __apic_update_ppr(): boolean {
    const old = this.get(APIC_PROCPRI);
    const tpr = this.get(APIC_TASKPRI);
    const isr = this.apic_find_highest_isr();
    const isrv = isr !== -1 ? isr : 0;
    const ppr = (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0;
    if (ppr !== old) this.set(APIC_PROCPRI, ppr);
    return ppr < old;
  }
  /** apic_update_ppr: a lower PPR may unblock a pending interrupt (KVM_REQ_EVENT). */
  apic_update_ppr(): void {
    if (this.__apic_update_ppr() && this.apic_has_interrupt_for_ppr(this.get(APIC_PROCPRI)) !== -1) this.v.requestEvent();
  }
  private apic_has_interrupt_for_ppr(ppr: number): number {
    const irr = this.apic_find_highest_irr();
    return irr === -1 || (irr & 0xf0) <= ppr ? -1 : irr;
  }
  /** apic_set_tpr. */
  apic_set_tpr(tpr: number): void {
    this.set(APIC_TASKPRI, tpr);
    this.v.cpu.cr8 = (tpr >> 4) & 0xf;
    this.apic_update_ppr();
  }

  /** kvm_apic_has_interrupt: the vector the processor would take next, or -1. */
  kvm_apic_has_interrupt(): number {
    if (!this.hwEnabled) return -1;
    this.__apic_update_ppr();
    return this.apic_has_interrupt_for_ppr(this.get(APIC_PROCPRI));
  }
  hasInterrupt(): boolean { return this.kvm_apic_has_interrupt() !== -1; }

  /** kvm_get_apic_interrupt: IRR -> ISR for the highest vector. */
  kvm_get_apic_interrupt(): number {
    const vec = this.kvm_apic_has_interrupt();
    if (vec === -1) return -1;
    this.clearVector(APIC_IRR, vec);
    // A Hyper-V SynIC AutoEOI vector never enters ISR (kvm_hv_synic_auto_eoi_set).
    if (this.v.arch.hyperv !== null && kvm_hv_synic_auto_eoi_set(this.v, vec)) this.apic_update_ppr();
    else { this.setVector(APIC_ISR, vec); this.__apic_update_ppr(); }
    this.lastInjected = vec;
    return vec;
  }
  acceptInterrupt(): number { return this.kvm_get_apic_interrupt(); }

  /** A fixed interrupt in IRR (kvm_apic_set_irr). */
  setIrr(vector: number): void { this.setVector(APIC_IRR, vector & 0xff); }

  /** apic_set_eoi: retire the highest in-service vector; level-triggered ones are EOIed at the IOAPIC. */
  apic_set_eoi(): number {
    const vector = this.apic_find_highest_isr();
    if (vector === -1) return -1;
    this.clearVector(APIC_ISR, vector);
    this.apic_update_ppr();
    this.eois++;
    if (this.v.arch.hyperv !== null) kvm_hv_synic_send_eoi(this.v, vector);
    this.kvm_ioapic_send_eoi(vector);
    this.v.requestEvent();
    return vector;
  }
  /** kvm_ioapic_send_eoi: the trigger mode comes from TMR. */
  private kvm_ioapic_send_eoi(vector: number): void {
    const trig = this.testVector(APIC_TMR, vector) ? 1 : 0;
    this.v.vm.kvm_ioapic_update_eoi(this.v, vector, trig);
    if (this.v.vm.eoiObserver) this.v.vm.eoiObserver(this.v, vector, trig);
  }

  // ---------------------------------------------------------------- register reads

  /** kvm_lapic_readable_reg_mask as a predicate. */
  private readable(off: number): boolean {
    switch (off) {
      case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_PROCPRI: case APIC_LDR: case APIC_SPIV: case APIC_ESR:
      case APIC_ICR: case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
      case APIC_TMICT: case APIC_TMCCT: case APIC_TDCR:
        return true;
      case APIC_ARBPRI: case APIC_DFR: case APIC_ICR2: return !this.x2apicMode;
    }
    return off >= APIC_ISR && off < APIC_IRR + 0x80;
  }

  /** __apic_read. */
  private __apic_read(off: number): number {
    switch (off) {
      case APIC_ARBPRI: return 0;
      case APIC_TMCCT: return this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE ? 0 : this.apic_get_tmcct();
      case APIC_PROCPRI: this.__apic_update_ppr(); return this.get(off);
    }
    return this.get(off);
  }

  /** kvm_lapic_reg_read: 1 for an unreadable register or a bad size/alignment. */
  kvm_lapic_reg_read(offset: number, len: number): number | null {
    const align = offset & 0xf;
    if (align + len > 4) return null;
    const off = offset & ~0xf;
    if (offset > 0x3f0 || !this.readable(off)) return null;
    const val = this.__apic_read(off);
    const x = val >>> (align * 8);
    return len >= 4 ? x >>> 0 : x & ((1 << (8 * len)) - 1);
  }

  /** apic_mmio_read: a disabled or x2APIC-mode APIC is not decoded (the caller never routes those here). */
  mmioRead(gpa: number, size: number): number {
    const r = this.kvm_lapic_reg_read(gpa - this.base, size);
    return r ?? 0;
  }

  /** apic_mmio_write: only aligned 32-bit writes reach the registers (SDM 11.4.1). */
  mmioWrite(gpa: number, size: number, val: number): void {
    const off = gpa - this.base;
    if (size !== 4 || (off & 0xf)) return;
    this.kvm_lapic_reg_write(off & 0xff0, val >>> 0);
  }

  // ---------------------------------------------------------------- register writes

  /** apic_set_spiv: software enable (bit 8). */
  private apic_set_spiv(val: number): void {
    this.set(APIC_SPIV, val);
    this.sw_enabled = (val & APIC_SPIV_APIC_ENABLED) !== 0;
  }

  /** kvm_lapic_reg_write: 0 done, 1 the access faults (x2APIC #GP). */
  kvm_lapic_reg_write(reg: number, val: number): number {
    val >>>= 0;
    let ret = 0;
    switch (reg) {
      case APIC_ID:
        if (!this.x2apicMode) this.set(APIC_ID, (val >>> 24) << 24);
        else ret = 1;
        break;
      case APIC_TASKPRI: this.apic_set_tpr(val & 0xff); break;
      case APIC_EOI: this.apic_set_eoi(); break;
      case APIC_LDR:
        if (!this.x2apicMode) this.set(APIC_LDR, val & 0xff000000); else ret = 1;
        break;
      case APIC_DFR:
        if (!this.x2apicMode) this.set(APIC_DFR, val | 0x0fffffff); else ret = 1;
        break;
      case APIC_SPIV:
        this.apic_set_spiv(val & 0x3ff);
        if (!(val & APIC_SPIV_APIC_ENABLED)) {
          // A software-disabled APIC masks every LVT (SDM 11.4.7.2).
          for (let i = 0; i < NR_LVT_ENTRIES; i++) this.set(APIC_LVTT + 0x10 * i, this.get(APIC_LVTT + 0x10 * i) | APIC_LVT_MASKED);
          this.apic_update_lvtt();
          this.pending = 0;
        }
        break;
      case APIC_ICR:
        val &= ~APIC_ICR_BUSY;
        this.kvm_apic_send_ipi(val, this.get(APIC_ICR2));
        this.set(APIC_ICR, val);
        break;
      case APIC_ICR2:
        if (this.x2apicMode) ret = 1; else this.set(APIC_ICR2, val & 0xff000000);
        break;
      case APIC_LVT0: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT1: case APIC_LVTERR: {
        if (reg === APIC_LVT0) this.lvt0_in_nmi_mode = (val & (0x700 | APIC_LVT_MASKED)) === APIC_DM_NMI;
        const index = (reg - APIC_LVTT) >> 4;
        if (!this.sw_enabled) val |= APIC_LVT_MASKED;
        this.set(reg, val & apic_lvt_mask[index]);
        break;
      }
      case APIC_LVTT:
        if (!this.sw_enabled) val |= APIC_LVT_MASKED;
        this.set(APIC_LVTT, val & (apic_lvt_mask[0] | this.timer_mode_mask()));
        this.apic_update_lvtt();
        break;
      case APIC_TMICT:
        if (this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE) break;
        this.cancel_apic_timer();
        this.set(APIC_TMICT, val);
        this.start_apic_timer();
        break;
      case APIC_TDCR: {
        const old = this.divide_count;
        this.set(APIC_TDCR, val & 0xb);
        this.update_divide_count();
        if (this.divide_count !== old && this.period) {
          this.update_target_expiration(old);
          this.restart_apic_timer();
        }
        break;
      }
      case APIC_ESR:
        if (this.x2apicMode && val !== 0) ret = 1;
        break;
      case APIC_SELF_IPI:
        // Self-IPI exists only in x2APIC mode; bits 7:0 are the vector, the rest is reserved.
        if (!this.x2apicMode || (val & ~0xff)) ret = 1;
        else this.kvm_apic_send_ipi(APIC_DEST_SELF | val, 0);
        break;
      default:
        ret = 1;
    }
    return ret;
  }

  /** The timer mode bits LVTT accepts: TSC-deadline only when the guest CPUID has it (CPUID.1:ECX[24]). */
  private timer_mode_mask(): number {
    return this.v.guestCpuidHas(1, 'ecx', 24) ? 3 << 17 : 1 << 17;
  }

  // ---------------------------------------------------------------- x2APIC MSRs

  /** kvm_x2apic_msr_read: null for #GP. */
  kvm_x2apic_msr_read(msr: number): number | null {
    if (!this.x2apicMode) return null;
    const reg = (msr - APIC_BASE_MSR) << 4;
    if (reg === APIC_DFR) return null;
    if (reg === APIC_ICR) return (this.get(APIC_ICR2) >>> 0) * 4294967296 + this.get(APIC_ICR);
    return this.kvm_lapic_reg_read(reg, 4);
  }

  /** kvm_x2apic_msr_write: 1 for #GP. */
  kvm_x2apic_msr_write(msr: number, lo: number, hi: number): number {
    if (!this.x2apicMode) return 1;
    const reg = (msr - APIC_BASE_MSR) << 4;
    if (reg === APIC_ICR) {
      if (lo & X2APIC_ICR_RESERVED_LO) return 1;
      lo &= ~APIC_ICR_BUSY;
      this.kvm_apic_send_ipi(lo >>> 0, hi >>> 0);
      this.set(APIC_ICR, lo); this.set(APIC_ICR2, hi);
      return 0;
    }
    if (hi !== 0) return 1;
    // x2APIC: EOI takes only 0 (SDM 11.12.1.2 note), read-only registers #GP.
    if (reg === APIC_EOI && lo !== 0) return 1;
    if (reg === APIC_LVR || reg === APIC_PROCPRI || reg === APIC_TMCCT || reg === APIC_ISR || (reg >= APIC_ISR && reg < APIC_IRR + 0x80)) return 1;
    return this.kvm_lapic_reg_write(reg, lo >>> 0);
  }

  /** kvm_apic_set_base side effects on the APIC (__kvm_apic_set_base): IDs follow the mode. */
  baseChanged(old: number, val: number): void {
    if ((old ^ val) & MSR_IA32_APICBASE_ENABLE) {
      if (val & MSR_IA32_APICBASE_ENABLE) this.set(APIC_ID, this.v.vcpu_id << 24);
    }
    if ((old ^ val) & X2APIC_ENABLE) {
      if (val & X2APIC_ENABLE) {
        // kvm_apic_set_x2apic_id: ID = vcpu_id, LDR = cluster << 16 | 1 << (id & 15).
        const id = this.v.vcpu_id;
        this.set(APIC_ID, id);
        this.set(APIC_LDR, ((id >>> 4) << 16) | (1 << (id & 0xf)));
      } else if (val & MSR_IA32_APICBASE_ENABLE) this.set(APIC_ID, this.v.vcpu_id << 24);
    }
  }

  // ---------------------------------------------------------------- interrupt acceptance and IPIs

  /** __apic_accept_irq: 1 if the interrupt was accepted. */
  __apic_accept_irq(delivery_mode: number, vector: number, level: boolean, trig_mode: number): number {
    const v = this.v;
    switch (delivery_mode) {
      case APIC_DM_LOWEST: case APIC_DM_FIXED:
        if (trig_mode && !level) return 0;
        if (!this.apicEnabled()) return 0;
        if (trig_mode) this.setVector(APIC_TMR, vector); else this.clearVector(APIC_TMR, vector);
        this.setVector(APIC_IRR, vector);
        v.requestEvent();
        return 1;
      case APIC_DM_REMRD:
        v.arch.pv_unhalted = true; v.requestEvent();
        return 1;
      case APIC_DM_SMI: return 0; // SMM is not modelled
      case APIC_DM_NMI:
        v.arch.nmi_queued++; v.requestEvent(); // kvm_inject_nmi: KVM_REQ_NMI
        return 1;
      case APIC_DM_INIT:
        if (!trig_mode || level) { this.pendingInit = true; v.requestEvent(); return 1; }
        return 0;
      case APIC_DM_STARTUP:
        this.sipiVector = vector; this.pendingSipi = true; v.requestEvent();
        return 1;
      case APIC_DM_EXTINT: return 0; // handled by kvm_apic_accept_pic_intr
    }
    return 0;
  }

  /** kvm_apic_set_irq. */
  kvm_apic_set_irq(irq: KvmLapicIrq): number {
    return this.__apic_accept_irq(irq.delivery_mode, irq.vector, irq.level, irq.trig_mode);
  }

  /** Old entry point (fixed/NMI/INIT/SIPI by mode), kept for the hypercalls. */
  deliver(mode: number, vector: number): void { this.__apic_accept_irq(mode, vector, true, 0); }

  /** kvm_apic_match_physical_addr. */
  private matchPhysical(mda: number): boolean {
    if (this.x2apicMode ? mda === X2APIC_BROADCAST : mda === APIC_BROADCAST) return true;
    if (this.x2apicMode || mda > 0xff) return mda === this.v.vcpu_id;
    return mda === this.get(APIC_ID) >>> 24;
  }
  /** kvm_apic_match_logical_addr: flat or cluster model (DFR), x2APIC clusters. */
  private matchLogical(mda: number): boolean {
    if (this.x2apicMode ? mda === X2APIC_BROADCAST : mda === APIC_BROADCAST) return true;
    let ldr = this.get(APIC_LDR);
    if (this.x2apicMode) return (ldr >>> 16) === (mda >>> 16) && (ldr & mda & 0xffff) !== 0;
    ldr >>>= 24;
    switch (this.get(APIC_DFR)) {
      case APIC_DFR_FLAT: return (ldr & mda) !== 0;
      case APIC_DFR_CLUSTER: return (ldr >> 4) === (mda >> 4) && (ldr & mda & 0xf) !== 0;
    }
    return false;
  }
  /** kvm_apic_match_dest (kvm_apic_mda: an IOAPIC/MSI 0xff reaches every x2APIC). */
  kvm_apic_match_dest(source: KvmLapic | null, shorthand: number, dest: number, dest_mode: number): boolean {
    const mda = source === null && dest === APIC_BROADCAST && this.x2apicMode ? X2APIC_BROADCAST : dest >>> 0;
    switch (shorthand) {
      case APIC_DEST_NOSHORT: return dest_mode === APIC_DEST_PHYSICAL ? this.matchPhysical(mda) : this.matchLogical(mda);
      case APIC_DEST_SELF: return source === this;
      case APIC_DEST_ALLINC: return true;
      case APIC_DEST_ALLBUT: return source !== this;
    }
    return false;
  }

  /** kvm_apic_send_ipi (kvm_icr_to_lapic_irq + kvm_irq_delivery_to_apic). */
  kvm_apic_send_ipi(icr_low: number, icr_high: number): void {
    const irq: KvmLapicIrq = {
      vector: icr_low & 0xff, delivery_mode: icr_low & 0x700, dest_mode: icr_low & APIC_DEST_LOGICAL,
      level: (icr_low & APIC_INT_ASSERT) !== 0, trig_mode: icr_low & APIC_INT_LEVELTRIG, shorthand: icr_low & 0xc0000,
      dest_id: this.x2apicMode ? icr_high >>> 0 : icr_high >>> 24,
    };
    if (this.v.vm.ipiObserver) this.v.vm.ipiObserver(this.v, irq);
    const dm = irq.delivery_mode;
    if (kvm_irq_delivery_to_apic(this.v.vm.vcpus, this, irq) > 0 && irq.shorthand !== APIC_DEST_SELF &&
      (dm === APIC_DM_FIXED || dm === APIC_DM_LOWEST || dm === APIC_DM_NMI)) {
      // kvm_vcpu_kick of another vCPU with an interrupt to handle: the sender's turn ends (see
      // KvmVcpu.kickedOther). INIT and SIPI do not: an INIT-SIPI-SIPI sequence stays in the sender's turn.
      for (const o of this.v.vm.vcpus) if (o !== this.v && o.lapic && o.lapic.kvm_apic_match_dest(this, irq.shorthand, irq.dest_id, irq.dest_mode)) { this.v.kickedOther = true; break; }
    }
  }

  // ---------------------------------------------------------------- local interrupts (LVT)

  /** kvm_apic_local_deliver: the LVT entry's interrupt, unless masked. */
  kvm_apic_local_deliver(lvt: number): number {
    const reg = this.get(lvt);
    if (this.hwEnabled && !(reg & APIC_LVT_MASKED)) {
      const r = this.__apic_accept_irq(reg & 0x700, reg & 0xff, true, reg & APIC_INT_LEVELTRIG);
      if (r && lvt === APIC_LVTPC) this.set(APIC_LVTPC, reg | APIC_LVT_MASKED);
      return r;
    }
    return 0;
  }

  /** kvm_apic_accept_pic_intr: the PIC's INTR reaches this vCPU (LINT0 ExtINT unmasked, or APIC disabled). */
  kvm_apic_accept_pic_intr(): boolean {
    const lvt0 = this.get(APIC_LVT0);
    if (!this.hwEnabled) return true;
    return (lvt0 & APIC_LVT_MASKED) === 0 && (lvt0 & 0x700) === APIC_DM_EXTINT;
  }

  // ---------------------------------------------------------------- timer

  private update_divide_count(): void {
    const tdcr = this.get(APIC_TDCR) & 0xf;
    const t = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;
    this.divide_count = 1 << (t & 7);
  }

  private cancel_apic_timer(): void { this.expireCycles = Infinity; this.pending = 0; }

  /** apic_update_lvtt: a change to or from TSC-deadline mode stops the timer. */
  private apic_update_lvtt(): void {
    const mode = this.get(APIC_LVTT) & (3 << 17);
    if (this.timer_mode !== mode) {
      if ((this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE) !== (mode === APIC_LVT_TIMER_TSCDEADLINE)) {
        this.cancel_apic_timer();
        this.set(APIC_TMICT, 0);
        this.period = 0; this.tscdeadline = 0;
      }
      this.timer_mode = mode;
      this.limit_periodic_timer_frequency();
    }
  }

  private limit_periodic_timer_frequency(): void {
    if (this.timer_mode === APIC_LVT_TIMER_PERIODIC && this.period && this.period < MIN_TIMER_PERIOD_NS) this.period = MIN_TIMER_PERIOD_NS;
  }

  private tmict_to_ns(tmict: number): number { return tmict * APIC_BUS_CYCLE_NS * this.divide_count; }

  private get clock() { return this.v.vm.clock; }
  /** kvm_read_l1_tsc at the current host cycle count. */
  private guestTsc(): number { return this.clock.cycles() + this.v.arch.tsc_offset; }

  /** apic_get_tmcct: what is left of the period, in bus cycles divided. */
  private apic_get_tmcct(): number {
    if (this.get(APIC_TMICT) === 0 || this.period === 0) return 0;
    let remaining = this.target_expiration - this.clock.nowNs();
    if (remaining < 0) remaining = 0;
    const ns = remaining % this.period;
    return Math.floor(ns / (APIC_BUS_CYCLE_NS * this.divide_count));
  }

  /**
   * set_target_expiration: one-shot and periodic modes count TMICT bus cycles from now (or the
   * restored current count, count_reg = TMCCT, after KVM_SET_LAPIC).
   */
  private set_target_expiration(countReg = APIC_TMICT): boolean {
    const now = this.clock.nowNs();
    this.period = this.tmict_to_ns(this.get(APIC_TMICT));
    if (!this.period) { this.tscdeadline = 0; return false; }
    this.limit_periodic_timer_frequency();
    let deadline = this.period;
    if (countReg !== APIC_TMICT) {
      deadline = this.tmict_to_ns(this.get(countReg));
      if (deadline <= 0) deadline = this.timer_mode === APIC_LVT_TIMER_PERIODIC ? this.period : 0;
      else if (deadline > this.period) { this.set(countReg, 0); deadline = this.period; }
    }
    this.tscdeadline = this.guestTsc() + this.clock.nsToCycles(deadline);
    this.target_expiration = now + deadline;
    return true;
  }

  /** update_target_expiration: a new divide value rescales what is left. */
  private update_target_expiration(oldDivisor: number): void {
    this.period = this.tmict_to_ns(this.get(APIC_TMICT));
    this.limit_periodic_timer_frequency();
    const now = this.clock.nowNs();
    let remOld = this.target_expiration - now;
    if (remOld < 0) remOld = 0;
    const remNew = Math.floor((remOld * this.divide_count) / oldDivisor);
    this.tscdeadline += this.clock.nsToCycles(remNew) - this.clock.nsToCycles(remOld);
    this.target_expiration = now + remNew;
  }

  /** advance_periodic_target_expiration: next period, never in the past. */
  private advance_periodic_target_expiration(): void {
    const now = this.clock.nowNs();
    this.target_expiration += this.period;
    if (this.target_expiration < now) this.target_expiration = now;
    this.tscdeadline = this.guestTsc() + this.clock.nsToCycles(this.target_expiration - now);
  }

  /** start_sw_period / start_sw_tscdeadline: arm the (virtual) hrtimer. */
  private restart_apic_timer(): void {
    if (this.timer_mode !== APIC_LVT_TIMER_PERIODIC && this.pending) return;
    if (this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE) {
      const dl = this.tscdeadline;
      if (!dl) return;
      const tsc = this.guestTsc();
      if (dl > tsc) this.expireCycles = dl - this.v.arch.tsc_offset; // the TSC runs at the host's rate
      else this.apic_timer_expired();
      return;
    }
    if (!this.period) return;
    if (this.clock.nowNs() >= this.target_expiration) {
      this.apic_timer_expired();
      if (this.timer_mode === APIC_LVT_TIMER_ONESHOT) return;
      this.advance_periodic_target_expiration();
    }
    this.expireCycles = this.clock.nsToCycles(this.target_expiration);
  }

  /** __start_apic_timer. */
  private start_apic_timer(countReg = APIC_TMICT): void {
    this.pending = 0;
    if (this.timer_mode !== APIC_LVT_TIMER_TSCDEADLINE && !this.set_target_expiration(countReg)) return;
    this.restart_apic_timer();
  }

  // ---------------------------------------------------------------- KVM_GET/SET_LAPIC

  /** kvm_apic_get_state: the register page (struct kvm_lapic_state), TMCCT as read now; an x2APIC ID in the legacy format (ID << 24). */
  kvm_apic_get_state(): Uint8Array {
    const out = new Uint8Array(0x400);
    const dv = new DataView(out.buffer);
    for (let k = 0; k < 0x100; k++) dv.setUint32(4 * k, this.regs[k], true);
    dv.setUint32(APIC_TMCCT, this.__apic_read(APIC_TMCCT), true);
    if (this.x2apicMode) dv.setUint32(APIC_ID, (this.v.vcpu_id << 24) >>> 0, true);
    return out;
  }

  /** kvm_apic_set_state: -EINVAL for a short buffer or an x2APIC ID other than the vCPU's; derived state and the timer follow the registers. */
  kvm_apic_set_state(regs: Uint8Array): number {
    if (regs.length < 0x400) return -22;
    const dv = new DataView(regs.buffer, regs.byteOffset, 0x400);
    if (this.x2apicMode && (dv.getUint32(APIC_ID, true) >>> 24) !== (this.v.vcpu_id & 0xff)) return -22;
    for (let k = 0; k < 0x100; k++) this.regs[k] = dv.getUint32(4 * k, true);
    if (this.x2apicMode) {
      const id = this.v.vcpu_id;
      this.set(APIC_ID, id);
      this.set(APIC_LDR, ((id >>> 4) << 16) | (1 << (id & 0xf)));
    }
    this.set(APIC_LVR, 0x14 | ((NR_LVT_ENTRIES - 1) << 16));
    this.apic_set_spiv(this.get(APIC_SPIV));
    this.v.cpu.cr8 = (this.get(APIC_TASKPRI) >> 4) & 0xf;
    this.apic_update_ppr();
    this.cancel_apic_timer();
    this.timer_mode = -1;
    this.apic_update_lvtt();
    this.lvt0_in_nmi_mode = (this.get(APIC_LVT0) & (0x700 | APIC_LVT_MASKED)) === APIC_DM_NMI;
    this.update_divide_count();
    this.start_apic_timer(APIC_TMCCT);
    this.set(APIC_TMCCT, 0);
    this.v.requestEvent();
    return 0;
  }

  /** apic_timer_expired: one pending expiration (KVM coalesces: never more than one). */
  private apic_timer_expired(): void {
    if (this.pending) return;
    this.pending = 1;
    this.timerFired++;
    this.v.requestEvent();
  }

  /** apic_timer_fn: the hrtimer fired (the VM clock reached expireCycles). */
  apic_timer_fn(): void {
    this.expireCycles = Infinity;
    this.apic_timer_expired();
    if (this.timer_mode === APIC_LVT_TIMER_PERIODIC && this.period) {
      this.advance_periodic_target_expiration();
      this.expireCycles = this.clock.nsToCycles(this.target_expiration);
    }
  }

  /** Run the hrtimer if the clock has reached it (the host's timer interrupt, at a deterministic point). */
  checkTimer(now: number): void {
    if (now >= this.expireCycles) this.apic_timer_fn();
  }

  /** kvm_inject_apic_timer_irqs (kvm_apic_inject_pending_timer_irqs). */
  kvm_inject_apic_timer_irqs(): void {
    if (this.pending <= 0) return;
    this.kvm_apic_local_deliver(APIC_LVTT);
    if (this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE) this.tscdeadline = 0;
    else if (this.timer_mode === APIC_LVT_TIMER_ONESHOT) { this.tscdeadline = 0; this.target_expiration = 0; }
    this.pending = 0;
    if (this.v.vm.timerObserver) this.v.vm.timerObserver(this.v, this.get(APIC_LVTT));
  }

  /** kvm_get_lapic_tscdeadline_msr. */
  getTscDeadline(): number {
    return this.hwEnabled && this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE ? this.tscdeadline : 0;
  }
  /** kvm_set_lapic_tscdeadline_msr: ignored unless LVTT is in TSC-deadline mode. */
  setTscDeadline(data: number): void {
    if (!this.hwEnabled || this.timer_mode !== APIC_LVT_TIMER_TSCDEADLINE) return;
    this.expireCycles = Infinity;
    this.tscdeadline = data;
    this.start_apic_timer();
  }

  /** The timer is re-evaluated after the TSC offset moved (IA32_TSC / TSC_ADJUST writes). */
  tscOffsetChanged(): void {
    if (this.timer_mode === APIC_LVT_TIMER_TSCDEADLINE && this.tscdeadline && !this.pending) {
      this.expireCycles = Infinity;
      this.restart_apic_timer();
    }
  }

  // ---------------------------------------------------------------- PV EOI (MSR_KVM_PV_EOI_EN)

  /** kvm_lapic_set_pv_eoi: bit 0 enables, bits 63:2 the 4-byte aligned GPA. */
  kvm_lapic_set_pv_eoi(val: number): number {
    if (val % 4 & 2) return 1;
    this.pv_eoi_msr = val;
    return 0;
  }
  private pvEoiGpa(): number { return this.pv_eoi_msr - (this.pv_eoi_msr % 4); }
  pvEoiEnabled(): boolean { return (this.pv_eoi_msr % 2) === KVM_PV_EOI_ENABLED; }

  /**
   * apic_sync_pv_eoi_to_guest (at entry): with one in-service edge vector and nothing in IRR, the
   * guest may skip its EOI write by clearing the word's bit 0.
   */
  kvm_lapic_sync_to_vapic(): void {
    if (!this.pvEoiEnabled()) return;
    const isr = this.apic_find_highest_isr();
    const ok = this.apic_find_highest_irr() === -1 && isr !== -1 && !this.testVector(APIC_TMR, isr);
    if (!ok) return;
    this.writeGuest32(this.pvEoiGpa(), 1);
    this.pvEoiPending = true;
  }
  /** apic_sync_pv_eoi_from_guest (at exit): a cleared bit is the guest's EOI. */
  kvm_lapic_sync_from_vapic(): void {
    if (!this.pvEoiPending) return;
    this.pvEoiPending = false;
    const word = this.readGuest32(this.pvEoiGpa());
    if (word & 1) { this.writeGuest32(this.pvEoiGpa(), word & ~1); return; }
    this.apic_set_eoi();
  }
  /** kvm_read_guest / kvm_write_guest of one little-endian word (no allocation: runs at every entry). */
  private readGuest32(gpa: number): number {
    const b = this.v.vm.bus;
    let x = 0;
    for (let k = 3; k >= 0; k--) x = (x << 8) | (b.readByte(gpa + k) & 0xff);
    return x >>> 0;
  }
  private writeGuest32(gpa: number, val: number): void {
    const b = this.v.vm.bus;
    for (let k = 0; k < 4; k++) b.writeByte(gpa + k, (val >>> (8 * k)) & 0xff);
  }
}

/** kvm_vector_to_index: the (vector mod n)-th candidate (vector hashing, KVM's default for lowest priority). */
function kvm_vector_to_index<T>(vector: number, cands: T[]): T { return cands[vector % cands.length]; }

/** kvm_irq_delivery_to_apic: every matching APIC, or one of them for lowest priority; the count accepted (-1: none matched). */
export function kvm_irq_delivery_to_apic(vcpus: readonly KvmVcpu[], src: KvmLapic | null, irq: KvmLapicIrq): number {
  let r = -1;
  if (irq.dest_mode === APIC_DEST_PHYSICAL && irq.dest_id === 0xff && irq.delivery_mode === APIC_DM_LOWEST) irq.delivery_mode = APIC_DM_FIXED;
  const lowest: KvmLapic[] = [];
  for (const v of vcpus) {
    const l = v.lapic;
    if (!l || !l.hwEnabled) continue;
    if (!l.kvm_apic_match_dest(src, irq.shorthand, irq.dest_id, irq.dest_mode)) continue;
    if (irq.delivery_mode !== APIC_DM_LOWEST) {
      if (r < 0) r = 0;
      r += l.kvm_apic_set_irq(irq);
    } else if (l.sw_enabled) lowest.push(l);
  }
  if (lowest.length) r = kvm_vector_to_index(irq.vector, lowest).kvm_apic_set_irq(irq);
  return r;
}
