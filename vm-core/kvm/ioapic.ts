// The in-kernel I/O APIC (arch/x86/kvm/ioapic.c, an 82093AA at 0xFEC00000 with 24 pins): the
// IOREGSEL/IOWIN window, the ID, version (0x00170011) and arbitration registers, the redirection
// table with its read-only bits (delivery status, Remote IRR), edge and level pins with KVM's
// coalescing rules, and the EOI broadcast from the LAPICs (kvm_ioapic_update_eoi).
import type { KvmVm } from './vm';
import { kvm_irq_delivery_to_apic, APIC_DEST_LOGICAL, APIC_DEST_PHYSICAL, type KvmLapicIrq } from './lapic';
import { KVM_IRQCHIP_IOAPIC } from './uapi';

export const IOAPIC_DEFAULT_BASE_ADDRESS = 0xfec00000, IOAPIC_MEM_LENGTH = 0x100, IOAPIC_NUM_PINS = 24;
export const IOAPIC_VERSION_ID = 0x11, IOAPIC_REG_SELECT = 0x00, IOAPIC_REG_WINDOW = 0x10;
export const IOAPIC_REG_APIC_ID = 0x00, IOAPIC_REG_VERSION = 0x01, IOAPIC_REG_ARB_ID = 0x02;
export const IOAPIC_EDGE_TRIG = 0, IOAPIC_LEVEL_TRIG = 1;
/** Redirection entry fields (low word; the destination is bits 63:56). */
export const RTE_MASK = 1 << 16, RTE_TRIG_LEVEL = 1 << 15, RTE_REMOTE_IRR = 1 << 14, RTE_DELIVERY_STATUS = 1 << 12,
  RTE_DEST_LOGICAL = 1 << 11;

/** struct kvm_ioapic_state (KVM_GET/SET_IRQCHIP, chip KVM_IRQCHIP_IOAPIC). */
export interface kvm_ioapic_state {
  base_address: number; ioregsel: number; id: number; irr: number;
  /** Each entry as [low, high] 32-bit halves. */
  redirtbl: [number, number][];
}

export class KvmIoapic {
  base_address = IOAPIC_DEFAULT_BASE_ADDRESS;
  ioregsel = 0;
  id = 0;
  irr = 0;
  irr_delivered = 0;
  /** redirtbl[] as 32-bit halves: lo[pin] (vector .. mask), hi[pin] (destination in 31:24). */
  readonly lo = new Uint32Array(IOAPIC_NUM_PINS);
  readonly hi = new Uint32Array(IOAPIC_NUM_PINS);
  /** irq_states[pin]: the line level per interrupt source (bit = source id), ORed. */
  readonly irq_states = new Uint32Array(IOAPIC_NUM_PINS);
  /** Interrupts sent to the LAPICs, per pin (for the debugger). */
  readonly delivered = new Uint32Array(IOAPIC_NUM_PINS);

  constructor(private readonly vm: KvmVm) { this.kvm_ioapic_reset(); }

  /** kvm_ioapic_reset: every entry masked, ID 0. */
  kvm_ioapic_reset(): void {
    this.base_address = IOAPIC_DEFAULT_BASE_ADDRESS;
    this.ioregsel = 0; this.id = 0; this.irr = 0; this.irr_delivered = 0;
    this.lo.fill(RTE_MASK); this.hi.fill(0); this.irq_states.fill(0);
  }

  inRange(gpa: number): boolean { return gpa >= this.base_address && gpa < this.base_address + IOAPIC_MEM_LENGTH; }

  /** ioapic_read_indirect. */
  private ioapic_read_indirect(): number {
    switch (this.ioregsel) {
      case IOAPIC_REG_VERSION: return (((IOAPIC_NUM_PINS - 1) & 0xff) << 16) | IOAPIC_VERSION_ID;
      case IOAPIC_REG_APIC_ID: case IOAPIC_REG_ARB_ID: return ((this.id & 0xf) << 24) >>> 0;
    }
    const index = (this.ioregsel - 0x10) >> 1;
    if (this.ioregsel < 0x10 || index >= IOAPIC_NUM_PINS) return 0xffffffff;
    return (this.ioregsel & 1) ? this.hi[index] : this.lo[index];
  }

  /** ioapic_write_indirect: the ID's 4 bits; redirection entries keep delivery status and Remote IRR. */
  private ioapic_write_indirect(val: number): void {
    switch (this.ioregsel) {
      case IOAPIC_REG_VERSION: return;
      case IOAPIC_REG_APIC_ID: this.id = (val >>> 24) & 0xf; return;
      case IOAPIC_REG_ARB_ID: return;
    }
    if (this.ioregsel < 0x10) return;
    const index = (this.ioregsel - 0x10) >> 1;
    if (index >= IOAPIC_NUM_PINS) return;
    if (this.ioregsel & 1) { this.hi[index] = val >>> 0; return; }
    const maskBefore = this.lo[index] & RTE_MASK;
    const keep = this.lo[index] & (RTE_REMOTE_IRR | RTE_DELIVERY_STATUS);
    let e = ((val & ~(RTE_REMOTE_IRR | RTE_DELIVERY_STATUS)) | keep) >>> 0;
    // Linux and Xen expect Remote IRR to clear when the entry becomes edge-triggered.
    if (!(e & RTE_TRIG_LEVEL)) e &= ~RTE_REMOTE_IRR;
    this.lo[index] = e >>> 0;
    if (maskBefore !== (e & RTE_MASK)) this.vm.kvm_fire_mask_notifiers(KVM_IRQCHIP_IOAPIC, index, (e & RTE_MASK) !== 0);
    // A level line still asserted is delivered once the entry is unmasked (and not waiting for an EOI).
    if ((e & RTE_TRIG_LEVEL) && (this.irr & (1 << index)) && !(e & RTE_MASK) && !(e & RTE_REMOTE_IRR)) this.ioapic_service(index);
  }

  /** ioapic_mmio_read: IOREGSEL at +0, IOWIN at +0x10. */
  mmioRead(gpa: number, size: number): number {
    const addr = (gpa - this.base_address) & 0xff;
    let r = 0;
    if (addr === IOAPIC_REG_SELECT) r = this.ioregsel;
    else if (addr >= IOAPIC_REG_WINDOW && addr < IOAPIC_REG_WINDOW + 4) r = this.ioapic_read_indirect() >>> (8 * (addr - IOAPIC_REG_WINDOW));
    return size >= 4 ? r >>> 0 : r & ((1 << (8 * size)) - 1);
  }
  /** ioapic_mmio_write: IOREGSEL is 8 bits. */
  mmioWrite(gpa: number, size: number, val: number): void {
    const addr = (gpa - this.base_address) & 0xff;
    const data = size >= 4 ? val >>> 0 : val & ((1 << (8 * size)) - 1);
    if (addr === IOAPIC_REG_SELECT) this.ioregsel = data & 0xff;
    else if (addr === IOAPIC_REG_WINDOW) this.ioapic_write_indirect(data);
  }

  /** ioapic_service: deliver the pin's interrupt unless masked or waiting for its EOI; level sets Remote IRR. */
  private ioapic_service(pin: number): number {
    const e = this.lo[pin];
    const level = (e & RTE_TRIG_LEVEL) !== 0;
    if ((e & RTE_MASK) || (level && (e & RTE_REMOTE_IRR))) return -1;
    const irq: KvmLapicIrq = {
      vector: e & 0xff, delivery_mode: e & 0x700, dest_mode: (e & RTE_DEST_LOGICAL) ? APIC_DEST_LOGICAL : APIC_DEST_PHYSICAL,
      level: true, trig_mode: level ? 1 << 15 : 0, shorthand: 0, dest_id: this.hi[pin] >>> 24,
    };
    if (!level) { this.irr_delivered |= 1 << pin; this.irr &= ~(1 << pin); }
    const ret = kvm_irq_delivery_to_apic(this.vm.vcpus, null, irq);
    if (ret > 0) this.delivered[pin]++;
    if (ret && level) this.lo[pin] |= RTE_REMOTE_IRR;
    return ret;
  }

  /**
   * ioapic_set_irq (kvm_ioapic_set_irq): 1 delivered, 0 coalesced (an edge still pending behind a
   * mask, a level waiting for its EOI), -1 nobody took it. `source` is the irq source id.
   */
  kvm_ioapic_set_irq(pin: number, level: boolean, source = 0): number {
    if (pin < 0 || pin >= IOAPIC_NUM_PINS) return -1;
    const bit = 1 << source;
    if (level) this.irq_states[pin] |= bit; else this.irq_states[pin] &= ~bit;
    const mask = 1 << pin;
    if (!this.irq_states[pin]) { this.irr &= ~mask; return 1; }
    const e = this.lo[pin], edge = !(e & RTE_TRIG_LEVEL);
    const old = this.irr;
    this.irr |= mask;
    if (edge) this.irr_delivered &= ~mask;
    if ((edge && old === this.irr) || (!edge && (e & RTE_REMOTE_IRR))) return 0;
    return this.ioapic_service(pin);
  }

  /** kvm_ioapic_update_eoi: an EOI for `vector` clears Remote IRR of its level pins and re-delivers a line still high. */
  kvm_ioapic_update_eoi(vector: number, trig: number): void {
    for (let pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
      if ((this.lo[pin] & 0xff) !== vector) continue;
      this.vm.kvm_notify_acked_irq(KVM_IRQCHIP_IOAPIC, pin);
      if (trig !== IOAPIC_LEVEL_TRIG) continue;
      this.lo[pin] &= ~RTE_REMOTE_IRR;
      // A line still asserted is delivered again (KVM defers this by 10 ms after 10000 in a row, an
      // interrupt storm; not modelled: the model re-delivers at once).
      if (!(this.lo[pin] & RTE_MASK) && (this.irr & (1 << pin))) this.ioapic_service(pin);
    }
  }

  getState(): kvm_ioapic_state {
    return { base_address: this.base_address, ioregsel: this.ioregsel, id: this.id, irr: this.irr,
      redirtbl: Array.from(this.lo, (l, k) => [l, this.hi[k]] as [number, number]) };
  }
  /** kvm_set_ioapic: the state as given; level lines are re-evaluated (kvm_ioapic_inject_all). */
  setState(s: kvm_ioapic_state): void {
    this.base_address = s.base_address; this.ioregsel = s.ioregsel & 0xff; this.id = s.id & 0xf; this.irr = s.irr >>> 0;
    for (let k = 0; k < IOAPIC_NUM_PINS; k++) { this.lo[k] = s.redirtbl[k]?.[0] ?? RTE_MASK; this.hi[k] = s.redirtbl[k]?.[1] ?? 0; }
    this.irr_delivered = 0;
    for (let k = 0; k < IOAPIC_NUM_PINS; k++) if (this.irr & (1 << k)) this.ioapic_service(k);
  }
}
