// A minimal in-kernel xAPIC (arch/x86/kvm/lapic.c): ID, version, TPR, EOI, SVR, ISR/IRR, the ICR
// for INIT, SIPI and fixed IPIs (physical destination, shorthands), LVTs masked at RESET.
// MMIO at IA32_APIC_BASE (0xFEE00000) is handled here, like the kernel's LAPIC, not by userspace.
import type { KvmVcpu } from './vcpu';

export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
export const MSR_IA32_APICBASE_BSP = 1 << 8, MSR_IA32_APICBASE_ENABLE = 1 << 11;
export const APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TASKPRI = 0x80, APIC_PROCPRI = 0xa0, APIC_EOI = 0xb0,
  APIC_LDR = 0xd0, APIC_DFR = 0xe0, APIC_SPIV = 0xf0, APIC_ISR = 0x100, APIC_TMR = 0x180, APIC_IRR = 0x200,
  APIC_ESR = 0x280, APIC_ICR = 0x300, APIC_ICR2 = 0x310, APIC_LVTT = 0x320, APIC_LVT0 = 0x350, APIC_LVTERR = 0x370;
export const APIC_DM_FIXED = 0x000, APIC_DM_NMI = 0x400, APIC_DM_INIT = 0x500, APIC_DM_STARTUP = 0x600;
const APIC_LVT_MASKED = 1 << 16;

export class KvmLapic {
  readonly regs = new Uint32Array(0x400 / 4);
  pendingInit = false;
  pendingSipi = false;
  sipiVector = 0;
  /** Count of set IRR bits, to make hasInterrupt() cheap. */
  private irrCount = 0;

  constructor(readonly v: KvmVcpu) {}

  private get(off: number): number { return this.regs[off >> 2]; }
  private set(off: number, val: number): void { this.regs[off >> 2] = val >>> 0; }

  /** kvm_lapic_reset. */
  reset(initEvent: boolean, bsp: boolean): void {
    if (!initEvent) {
      this.v.setApicBaseRaw((APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | (bsp ? MSR_IA32_APICBASE_BSP : 0)) >>> 0);
      this.set(APIC_ID, this.v.vcpu_id << 24);
    }
    this.set(APIC_LVR, 0x14 | (5 << 16));
    for (let off = APIC_LVTT; off <= APIC_LVTERR; off += 0x10) this.set(off, APIC_LVT_MASKED);
    this.set(APIC_DFR, 0xffffffff);
    this.set(APIC_SPIV, 0xff);
    this.set(APIC_TASKPRI, 0);
    this.set(APIC_LDR, 0);
    for (let k = 0; k < 8; k++) { this.set(APIC_ISR + 0x10 * k, 0); this.set(APIC_IRR + 0x10 * k, 0); this.set(APIC_TMR + 0x10 * k, 0); }
    this.set(APIC_ICR, 0); this.set(APIC_ICR2, 0);
    this.irrCount = 0;
  }

  get id(): number { return this.get(APIC_ID) >>> 24; }
  get base(): number { return this.v.arch.apic_base - (this.v.arch.apic_base % 4096); }
  get enabled(): boolean { return (this.v.arch.apic_base & MSR_IA32_APICBASE_ENABLE) !== 0; }
  inRange(gpa: number): boolean { return this.enabled && gpa >= this.base && gpa < this.base + 4096; }

  getTpr(): number { return this.get(APIC_TASKPRI) & 0xff; }
  setTpr(v: number): void { this.set(APIC_TASKPRI, v & 0xff); }

  mmioRead(gpa: number, size: number): number {
    const off = (gpa - this.base) & 0xff0;
    const val = off === APIC_PROCPRI ? this.ppr() : this.get(off);
    const shift = (gpa & 3) * 8;
    const x = val >>> shift;
    return size >= 4 ? x >>> 0 : x & ((1 << (8 * size)) - 1);
  }

  mmioWrite(gpa: number, _size: number, val: number): void {
    const off = (gpa - this.base) & 0xff0;
    switch (off) {
      case APIC_ID: this.set(APIC_ID, val & 0xff000000); return;
      case APIC_TASKPRI: this.set(APIC_TASKPRI, val & 0xff); return;
      case APIC_EOI: this.eoi(); return;
      case APIC_LDR: this.set(APIC_LDR, val & 0xff000000); return;
      case APIC_DFR: this.set(APIC_DFR, val | 0x0fffffff); return;
      case APIC_SPIV: this.set(APIC_SPIV, val & 0x13ff); return;
      case APIC_ESR: this.set(APIC_ESR, 0); return;
      case APIC_ICR2: this.set(APIC_ICR2, val & 0xff000000); return;
      case APIC_ICR: this.set(APIC_ICR, val & ~(1 << 12)); this.sendIpi(val, this.get(APIC_ICR2) >>> 24); return;
    }
    if (off >= APIC_LVTT && off <= APIC_LVTERR) this.set(off, val);
  }

  private ppr(): number {
    const isr = this.highest(APIC_ISR);
    const tpr = this.getTpr();
    return (tpr & 0xf0) >= (isr & 0xf0) ? tpr : isr & 0xf0;
  }

  private highest(base: number): number {
    for (let k = 7; k >= 0; k--) {
      const w = this.get(base + 0x10 * k);
      if (w) return k * 32 + 31 - Math.clz32(w);
    }
    return 0;
  }

  /** kvm_apic_send_ipi: destination shorthand (bits 19:18), physical destination ID. */
  private sendIpi(icr: number, dest: number): void {
    const shorthand = (icr >>> 18) & 3;
    for (const t of this.v.vm.vcpus) {
      const l = t.lapic;
      if (!l) continue;
      const self = t === this.v;
      const match = shorthand === 1 ? self : shorthand === 2 ? true : shorthand === 3 ? !self : dest === 0xff || l.id === dest;
      if (match) l.deliver(icr & 0x700, icr & 0xff);
    }
  }

  /** __apic_accept_irq. */
  deliver(mode: number, vector: number): void {
    const v = this.v;
    switch (mode) {
      case APIC_DM_FIXED: this.setIrr(vector); break;
      case APIC_DM_NMI: v.arch.nmi_pending++; break;
      case APIC_DM_INIT: this.pendingInit = true; break;
      case APIC_DM_STARTUP: this.sipiVector = vector; this.pendingSipi = true; break;
    }
    v.requestEvent();
  }

  setIrr(vector: number): void {
    const off = APIC_IRR + 0x10 * (vector >> 5), bit = 1 << (vector & 31);
    if (!(this.get(off) & bit)) { this.set(off, this.get(off) | bit); this.irrCount++; }
  }

  /** An interrupt above the processor priority is pending. */
  hasInterrupt(): boolean {
    if (this.irrCount === 0 || !(this.get(APIC_SPIV) & 0x100)) return false;
    return (this.highest(APIC_IRR) & 0xf0) > (this.ppr() & 0xf0);
  }

  /** kvm_get_apic_interrupt: IRR -> ISR for the highest vector. */
  acceptInterrupt(): number {
    const vec = this.highest(APIC_IRR);
    const off = 0x10 * (vec >> 5), bit = 1 << (vec & 31);
    this.set(APIC_IRR + off, this.get(APIC_IRR + off) & ~bit);
    this.irrCount--;
    this.set(APIC_ISR + off, this.get(APIC_ISR + off) | bit);
    return vec;
  }

  private eoi(): void {
    const vec = this.highest(APIC_ISR);
    if (!vec && !(this.get(APIC_ISR) & 1)) return;
    const off = APIC_ISR + 0x10 * (vec >> 5);
    this.set(off, this.get(off) & ~(1 << (vec & 31)));
    this.v.requestEvent();
  }
}
