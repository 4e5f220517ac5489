// The in-kernel 8259A pair (arch/x86/kvm/i8259.c, created by KVM_CREATE_IRQCHIP): master at
// 0x20/0x21, slave at 0xA0/0xA1 cascaded on master IR2, the ELCR at 0x4D0/0x4D1. ICW1-ICW4, OCW1
// (IMR), OCW2 (non-specific/specific EOI, rotate), OCW3 (read IRR/ISR, poll, special mask), auto-EOI
// and rotate-on-auto-EOI, special fully nested mode, KVM_GET/SET_IRQCHIP's struct kvm_pic_state.
// The master's INT output reaches a vCPU through LINT0 in ExtINT mode or with its APIC disabled
// (kvm_apic_accept_pic_intr); the INTA cycle is kvm_pic_read_irq.
// As in KVM, the special-mask bit is kept (OCW3, state) but does not change the priority logic,
// and single mode / level-triggered ICW1 bits are not supported (ignored, ELCR decides the trigger).
import type { KvmVm } from './vm';
import { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE } from './uapi';

export const PIC_NUM_PINS = 16;
/** struct kvm_pic_state (asm/kvm.h): KVM_GET/SET_IRQCHIP for chips 0 (master) and 1 (slave). */
export interface kvm_pic_state {
  last_irr: number; irr: number; imr: number; isr: number; priority_add: number; irq_base: number;
  read_reg_select: number; poll: number; special_mask: number; init_state: number; auto_eoi: number;
  rotate_on_auto_eoi: number; special_fully_nested_mode: number; init4: number; elcr: number; elcr_mask: number;
}
const STATE_FIELDS = ['last_irr', 'irr', 'imr', 'isr', 'priority_add', 'irq_base', 'read_reg_select', 'poll', 'special_mask',
  'init_state', 'auto_eoi', 'rotate_on_auto_eoi', 'special_fully_nested_mode', 'init4', 'elcr', 'elcr_mask'] as const;

/** struct kvm_kpic_state: one 8259A (u8 fields). */
export class KvmKpicState implements kvm_pic_state {
  last_irr = 0; irr = 0; imr = 0; isr = 0; priority_add = 0; irq_base = 0; read_reg_select = 0; poll = 0;
  special_mask = 0; init_state = 0; auto_eoi = 0; rotate_on_auto_eoi = 0; special_fully_nested_mode = 0; init4 = 0;
  elcr = 0;
  constructor(readonly pics_state: KvmPic, readonly index: 0 | 1, public elcr_mask: number) {}
  get isMaster(): boolean { return this.index === 0; }
}

/** __kvm_irq_line_state: the line is the OR of every source's level. */
function __kvm_irq_line_state(states: Uint32Array, pin: number, source: number, level: boolean): number {
  if (level) states[pin] |= 1 << source; else states[pin] &= ~(1 << source);
  return states[pin] ? 1 : 0;
}

/** get_priority: the highest priority (0 = highest) set in mask, rotated by priority_add; 8 if none. */
function get_priority(s: KvmKpicState, mask: number): number {
  if (mask === 0) return 8;
  let priority = 0;
  while ((mask & (1 << ((priority + s.priority_add) & 7))) === 0) priority++;
  return priority;
}

/** pic_set_irq1: edge (rising edge sets IRR) or level (IRR follows the line, ELCR bit set); -1 masked, 0 coalesced, 1 new. */
function pic_set_irq1(s: KvmKpicState, irq: number, level: number): number {
  const mask = 1 << irq;
  let ret = 1;
  if (s.elcr & mask) {
    if (level) { ret = (s.irr & mask) ? 0 : 1; s.irr |= mask; s.last_irr |= mask; }
    else { s.irr &= ~mask; s.last_irr &= ~mask; }
  } else if (level) {
    if ((s.last_irr & mask) === 0) { ret = (s.irr & mask) ? 0 : 1; s.irr |= mask; }
    s.last_irr |= mask;
  } else s.last_irr &= ~mask;
  return (s.imr & mask) ? -1 : ret;
}

/** pic_get_irq: the IR line to signal (above everything in service), or -1. */
function pic_get_irq(s: KvmKpicState): number {
  const priority = get_priority(s, s.irr & ~s.imr);
  if (priority === 8) return -1;
  // Special fully nested mode: the slave's in-service IR2 does not block the slave's higher requests.
  let mask = s.isr;
  if (s.special_fully_nested_mode && s.isMaster) mask &= ~(1 << 2);
  const cur_priority = get_priority(s, mask);
  return priority < cur_priority ? (priority + s.priority_add) & 7 : -1;
}

export class KvmPic {
  readonly pics: [KvmKpicState, KvmKpicState];
  /** The master's INT line (kvm_pic output). */
  output = 0;
  /** irq_states[pin]: per-source line levels (bit = irq source id). */
  readonly irq_states = new Uint32Array(PIC_NUM_PINS);
  /** Interrupts acknowledged by an INTA cycle, per pin 0-15 (for the debugger). */
  readonly acked = new Uint32Array(PIC_NUM_PINS);
  /** Set when the output rose: the vCPU that accepts PIC interrupts gets KVM_REQ_EVENT (pic_unlock). */
  private wakeup_needed = false;

  constructor(private readonly vm: KvmVm) {
    this.pics = [new KvmKpicState(this, 0, 0xf8), new KvmKpicState(this, 1, 0xde)];
  }

  /** pic_unlock: the kick of the first vCPU that accepts PIC interrupts when the output rose. */
  private pic_unlock(): void {
    if (!this.wakeup_needed) return;
    this.wakeup_needed = false;
    for (const v of this.vm.vcpus) {
      if (v.lapic && v.lapic.kvm_apic_accept_pic_intr()) { v.requestEvent(); return; }
    }
  }

  /** pic_irq_request: the master's INT output. */
  private pic_irq_request(level: number): void {
    if (!this.output && level) this.wakeup_needed = true;
    this.output = level;
  }

  /** pic_update_irq: a slave request pulses master IR2; the master's highest request drives INT. */
  private pic_update_irq(): void {
    const irq2 = pic_get_irq(this.pics[1]);
    if (irq2 >= 0) { pic_set_irq1(this.pics[0], 2, 1); pic_set_irq1(this.pics[0], 2, 0); }
    this.pic_irq_request(pic_get_irq(this.pics[0]) >= 0 ? 1 : 0);
  }
  kvm_pic_update_irq(): void { this.pic_update_irq(); this.pic_unlock(); }

  /** pic_clear_isr: end of interrupt; the ack notifiers run for the pin (the PIT's reinjection). */
  private pic_clear_isr(s: KvmKpicState, irq: number): void {
    s.isr &= ~(1 << irq);
    const pin = s.isMaster ? irq : irq + 8;
    this.vm.kvm_notify_acked_irq(pin < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, pin);
  }

  /** kvm_pic_set_irq: routing entry set() for PIC pin 0-15 (slave pins 8-15); -1 masked, 0 coalesced, 1 new. */
  kvm_pic_set_irq(irq: number, source: number, level: boolean): number {
    if (irq < 0 || irq >= PIC_NUM_PINS) return -1;
    const irq_level = __kvm_irq_line_state(this.irq_states, irq, source, level);
    const ret = pic_set_irq1(this.pics[irq >> 3], irq & 7, irq_level);
    this.pic_update_irq();
    this.pic_unlock();
    return ret;
  }

  /** kvm_pic_clear_all: an irq source goes away (its lines drop). */
  kvm_pic_clear_all(source: number): void {
    for (let i = 0; i < PIC_NUM_PINS; i++) this.irq_states[i] &= ~(1 << source);
  }

  /** pic_intack: IR -> ISR (edge requests leave IRR); auto-EOI retires it at once, with rotation if asked. */
  private pic_intack(s: KvmKpicState, irq: number): void {
    s.isr |= 1 << irq;
    if (!(s.elcr & (1 << irq))) s.irr &= ~(1 << irq);
    if (s.auto_eoi) {
      if (s.rotate_on_auto_eoi) s.priority_add = (irq + 1) & 7;
      this.pic_clear_isr(s, irq);
    }
  }

  /** kvm_pic_read_irq: the INTA cycle; returns the vector (IRQ 7 / 15 of the base when spurious). */
  kvm_pic_read_irq(): number {
    this.output = 0;
    const [m, sl] = this.pics;
    let intno: number;
    const irq = pic_get_irq(m);
    if (irq >= 0) {
      this.pic_intack(m, irq);
      if (irq === 2) {
        let irq2 = pic_get_irq(sl);
        if (irq2 >= 0) { this.pic_intack(sl, irq2); this.acked[8 + irq2]++; }
        else irq2 = 7; // spurious IRQ on the slave
        intno = sl.irq_base + irq2;
      } else { intno = m.irq_base + irq; this.acked[irq]++; }
    } else intno = m.irq_base + 7; // spurious IRQ on the master
    this.pic_update_irq();
    this.pic_unlock();
    return intno & 0xff;
  }

  /** kvm_pic_reset (ICW1): edge requests are dropped (their ISR bits cleared if a vCPU takes PIC interrupts). */
  private kvm_pic_reset(s: KvmKpicState): void {
    const edge_irr = s.irr & ~s.elcr;
    s.last_irr = 0;
    s.irr &= s.elcr;
    s.imr = 0;
    s.priority_add = 0;
    s.special_mask = 0;
    s.read_reg_select = 0;
    if (!s.init4) { s.special_fully_nested_mode = 0; s.auto_eoi = 0; }
    s.init_state = 1;
    if (!this.vm.vcpus.some((v) => v.lapic !== null && v.lapic.kvm_apic_accept_pic_intr())) return;
    for (let irq = 0; irq < 8; irq++) if (edge_irr & (1 << irq)) this.pic_clear_isr(s, irq);
  }

  /** pic_ioport_write: ICW1/OCW2/OCW3 at the even port, OCW1 (IMR) or ICW2-4 at the odd port. */
  private pic_ioport_write(s: KvmKpicState, addr: number, val: number): void {
    if ((addr & 1) === 0) {
      if (val & 0x10) { // ICW1 (bit 1 single mode and bit 3 level-triggered are not supported)
        s.init4 = val & 1;
        this.kvm_pic_reset(s);
      } else if (val & 0x08) { // OCW3
        if (val & 0x04) s.poll = 1;
        if (val & 0x02) s.read_reg_select = val & 1;
        if (val & 0x40) s.special_mask = (val >> 5) & 1;
      } else { // OCW2
        const cmd = val >> 5;
        switch (cmd) {
          case 0: case 4: s.rotate_on_auto_eoi = cmd >> 2; break;
          case 1: case 5: { // non-specific EOI (5: and rotate)
            const priority = get_priority(s, s.isr);
            if (priority !== 8) {
              const irq = (priority + s.priority_add) & 7;
              if (cmd === 5) s.priority_add = (irq + 1) & 7;
              this.pic_clear_isr(s, irq);
              this.pic_update_irq();
            }
            break;
          }
          case 3: this.pic_clear_isr(s, val & 7); this.pic_update_irq(); break; // specific EOI
          case 6: s.priority_add = (val + 1) & 7; this.pic_update_irq(); break; // set priority
          case 7: { // rotate on specific EOI
            const irq = val & 7;
            s.priority_add = (irq + 1) & 7;
            this.pic_clear_isr(s, irq);
            this.pic_update_irq();
            break;
          }
        }
      }
      return;
    }
    switch (s.init_state) {
      case 0: { // OCW1: the IMR; mask changes reach the mask notifiers
        const diff = s.imr ^ val, off = s.isMaster ? 0 : 8;
        s.imr = val;
        for (let irq = 0; irq < 8; irq++) {
          if (diff & (1 << irq)) this.vm.kvm_fire_mask_notifiers(s.isMaster ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq + off, (s.imr & (1 << irq)) !== 0);
        }
        this.pic_update_irq();
        break;
      }
      case 1: s.irq_base = val & 0xf8; s.init_state = 2; break; // ICW2
      case 2: s.init_state = s.init4 ? 3 : 0; break; // ICW3
      case 3: s.special_fully_nested_mode = (val >> 4) & 1; s.auto_eoi = (val >> 1) & 1; s.init_state = 0; break; // ICW4
    }
  }

  /** pic_poll_read: OCW3 poll: the highest request is acknowledged and EOIed; bit 7 says one was there. */
  private pic_poll_read(s: KvmKpicState, addr1: number): number {
    let ret = pic_get_irq(s);
    if (ret >= 0) {
      if (addr1 >> 7) { this.pics[0].isr &= ~(1 << 2); this.pics[0].irr &= ~(1 << 2); }
      s.irr &= ~(1 << ret);
      this.pic_clear_isr(s, ret);
      if (addr1 >> 7 || ret !== 2) this.pic_update_irq();
      ret |= 0x80;
    } else {
      ret = 0x07;
      this.pic_update_irq();
    }
    return ret;
  }

  /** pic_ioport_read: poll byte, IRR or ISR (OCW3 selects) at the even port, IMR at the odd port. */
  private pic_ioport_read(s: KvmKpicState, addr: number): number {
    if (s.poll) {
      const r = this.pic_poll_read(s, addr);
      s.poll = 0;
      return r;
    }
    if ((addr & 1) === 0) return s.read_reg_select ? s.isr : s.irr;
    return s.imr;
  }

  /** picdev_write: byte accesses only (others are dropped, as KVM logs "non byte write"); true if the port is the PIC's. */
  picdev_write(addr: number, len: number, val: number): boolean {
    if (!picdev_in_range(addr)) return false;
    if (len !== 1) return true;
    const data = val & 0xff;
    if (addr === 0x4d0 || addr === 0x4d1) { const s = this.pics[addr & 1]; s.elcr = data & s.elcr_mask; } // elcr_ioport_write
    else this.pic_ioport_write(this.pics[addr >> 7], addr, data);
    this.pic_unlock();
    return true;
  }
  /** picdev_read: the byte, 0 for a wider access; null if the port is not the PIC's. */
  picdev_read(addr: number, len: number): number | null {
    if (!picdev_in_range(addr)) return null;
    if (len !== 1) return 0;
    const r = addr === 0x4d0 || addr === 0x4d1 ? this.pics[addr & 1].elcr : this.pic_ioport_read(this.pics[addr >> 7], addr);
    this.pic_unlock();
    return r & 0xff;
  }

  /** KVM_GET_IRQCHIP (chip 0 or 1): a copy of the state. */
  getState(chip: 0 | 1): kvm_pic_state {
    const s = this.pics[chip], o = {} as kvm_pic_state;
    for (const f of STATE_FIELDS) o[f] = s[f];
    return o;
  }
  /** KVM_SET_IRQCHIP (chip 0 or 1): the state as given (KVM copies every u8 field, elcr_mask too), then kvm_pic_update_irq. */
  setState(chip: 0 | 1, st: kvm_pic_state): void {
    const s = this.pics[chip];
    for (const f of STATE_FIELDS) s[f] = (st[f] ?? 0) & 0xff;
    this.kvm_pic_update_irq();
  }
}

/** The ports the PIC device claims on the PIO bus. */
export function picdev_in_range(addr: number): boolean {
  return addr === 0x20 || addr === 0x21 || addr === 0xa0 || addr === 0xa1 || addr === 0x4d0 || addr === 0x4d1;
}
