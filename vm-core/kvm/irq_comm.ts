// GSI routing (virt/kvm/irqchip.c, arch/x86/kvm/irq_comm.c): the table KVM_CREATE_IRQCHIP installs
// (kvm_setup_default_irq_routing: GSI 0-15 to the PIC pin and the IOAPIC pin of the same number,
// GSI 16-23 to the IOAPIC only), KVM_SET_GSI_ROUTING (irqchip and MSI entries, KVM's validation),
// kvm_set_irq over every entry of a GSI, and the ack / mask notifiers looked up by (irqchip, pin).
import type { KvmVm } from './vm';
import { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC, EINVAL } from './uapi';
import { PIC_NUM_PINS } from './i8259';
import { IOAPIC_NUM_PINS } from './ioapic';

export const KVM_IRQ_ROUTING_IRQCHIP = 1, KVM_IRQ_ROUTING_MSI = 2;
export const KVM_MAX_IRQ_ROUTES = 4096;
export const KVM_MSI_VALID_DEVID = 1 << 0;
/** Interrupt source ids (kvm_host.h): userspace (KVM_IRQ_LINE), irqfd resample, the in-kernel PIT. */
export const KVM_USERSPACE_IRQ_SOURCE_ID = 0, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID = 1, KVM_PIT_IRQ_SOURCE_ID = 2;

/** struct kvm_irq_routing_entry (the irqchip and msi members of its union). */
export interface kvm_irq_routing_entry {
  gsi: number; type: number; flags?: number;
  u: { irqchip?: { irqchip: number; pin: number }; msi?: { address_lo: number; address_hi: number; data: number; devid?: number } };
}

/** struct kvm_kernel_irq_routing_entry: pin is 0-15 for the PIC pair (slave pins 8-15). */
interface KernelEntry { gsi: number; type: number; irqchip: number; pin: number; address_lo: number; address_hi: number; data: number; }

/** default_routing[] (irq_comm.c): ROUTING_ENTRY2(0..15), ROUTING_ENTRY1(16..23). */
export function kvm_default_irq_routing(): kvm_irq_routing_entry[] {
  const out: kvm_irq_routing_entry[] = [];
  for (let gsi = 0; gsi < IOAPIC_NUM_PINS; gsi++) {
    out.push({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, u: { irqchip: { irqchip: KVM_IRQCHIP_IOAPIC, pin: gsi } } });
    if (gsi < PIC_NUM_PINS) {
      out.push({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, u: { irqchip: { irqchip: gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, pin: gsi % 8 } } });
    }
  }
  return out;
}

/** struct kvm_irq_routing_table: entries per GSI and chip[irqchip][pin] -> GSI. */
export class KvmIrqRoutingTable {
  private map: KernelEntry[][] = [];
  private chip: Int32Array[] = [new Int32Array(IOAPIC_NUM_PINS).fill(-1), new Int32Array(IOAPIC_NUM_PINS).fill(-1), new Int32Array(IOAPIC_NUM_PINS).fill(-1)];
  /** kvm_irq_ack_notifier and kvm_irq_mask_notifier, keyed by GSI. */
  readonly ackNotifiers: { gsi: number; irq_acked: () => void }[] = [];
  readonly maskNotifiers: { gsi: number; func: (masked: boolean) => void }[] = [];

  constructor(private readonly vm: KvmVm) {}

  /** kvm_set_irq_routing (KVM_SET_GSI_ROUTING): the whole table is replaced, or nothing changes (-EINVAL). */
  kvm_set_irq_routing(entries: readonly kvm_irq_routing_entry[], flags = 0): number {
    if (flags) return -EINVAL;
    if (entries.length > KVM_MAX_IRQ_ROUTES) return -EINVAL;
    const map: KernelEntry[][] = [];
    const chip = [0, 1, 2].map(() => new Int32Array(IOAPIC_NUM_PINS).fill(-1));
    for (const ue of entries) {
      const f = ue.flags ?? 0;
      if (ue.type === KVM_IRQ_ROUTING_MSI ? (f & ~KVM_MSI_VALID_DEVID) : f) return -EINVAL;
      if (!Number.isInteger(ue.gsi) || ue.gsi < 0 || ue.gsi >= KVM_MAX_IRQ_ROUTES) return -EINVAL;
      const e = kvm_set_routing_entry(ue);
      if (!e) return -EINVAL;
      // setup_routing_entry: a GSI reaches each irqchip at most once, and a non-irqchip route only alone.
      const list = map[ue.gsi] ?? (map[ue.gsi] = []);
      for (const ei of list) if (ei.type !== KVM_IRQ_ROUTING_IRQCHIP || e.type !== KVM_IRQ_ROUTING_IRQCHIP || ei.irqchip === e.irqchip) return -EINVAL;
      list.push(e);
      if (e.type === KVM_IRQ_ROUTING_IRQCHIP) chip[e.irqchip][e.pin] = e.gsi;
    }
    this.map = map; this.chip = chip;
    return 0;
  }

  /** kvm_irq_map_chip_pin: the GSI routed to (irqchip, pin), or -1. */
  kvm_irq_map_chip_pin(irqchip: number, pin: number): number { return this.chip[irqchip]?.[pin] ?? -1; }

  /**
   * kvm_set_irq: every route of the GSI; the status is the sum of what the chips report (1 per chip
   * that took a new interrupt, 0 coalesced), -1 if none took it or the GSI has no route.
   */
  kvm_set_irq(source: number, gsi: number, level: boolean): number {
    const list = this.map[gsi];
    if (!list) return -1;
    let ret = -1;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = this.setOne(list[i], source, level);
      if (r < 0) continue;
      ret = r + (ret < 0 ? 0 : ret);
    }
    return ret;
  }

  private setOne(e: KernelEntry, source: number, level: boolean): number {
    const vm = this.vm;
    if (e.type === KVM_IRQ_ROUTING_MSI) {
      if (!level) return -1; // kvm_set_msi: only the rising edge
      return vm.kvm_set_msi(e.address_lo, e.address_hi, e.data);
    }
    if (e.irqchip === KVM_IRQCHIP_IOAPIC) return vm.ioapic ? vm.ioapic.kvm_ioapic_set_irq(e.pin, level, source) : -1;
    return vm.pic ? vm.pic.kvm_pic_set_irq(e.pin, source, level) : -1;
  }

  /** The routes as KVM_SET_GSI_ROUTING entries (for the debugger and tests). */
  entries(): kvm_irq_routing_entry[] {
    const out: kvm_irq_routing_entry[] = [];
    for (const list of this.map) for (const e of list ?? []) {
      if (e.type === KVM_IRQ_ROUTING_MSI) out.push({ gsi: e.gsi, type: e.type, u: { msi: { address_lo: e.address_lo, address_hi: e.address_hi, data: e.data } } });
      else out.push({ gsi: e.gsi, type: e.type, u: { irqchip: { irqchip: e.irqchip, pin: e.irqchip === KVM_IRQCHIP_PIC_SLAVE ? e.pin - 8 : e.pin } } });
    }
    return out;
  }

  /** kvm_notify_acked_irq: the EOI of (irqchip, pin) reaches the ack notifiers of its GSI. */
  kvm_notify_acked_irq(irqchip: number, pin: number): void {
    const gsi = this.kvm_irq_map_chip_pin(irqchip, pin);
    if (gsi < 0) return;
    for (const n of this.ackNotifiers) if (n.gsi === gsi) n.irq_acked();
  }
  /** kvm_fire_mask_notifiers: (irqchip, pin) was masked or unmasked. */
  kvm_fire_mask_notifiers(irqchip: number, pin: number, masked: boolean): void {
    const gsi = this.kvm_irq_map_chip_pin(irqchip, pin);
    if (gsi < 0) return;
    for (const n of this.maskNotifiers) if (n.gsi === gsi) n.func(masked);
  }
}

/** kvm_set_routing_entry: null for an invalid chip, pin or type. */
function kvm_set_routing_entry(ue: kvm_irq_routing_entry): KernelEntry | null {
  const e: KernelEntry = { gsi: ue.gsi, type: ue.type, irqchip: 0, pin: 0, address_lo: 0, address_hi: 0, data: 0 };
  if (ue.type === KVM_IRQ_ROUTING_IRQCHIP) {
    const c = ue.u.irqchip;
    if (!c) return null;
    e.pin = c.pin;
    switch (c.irqchip) {
      case KVM_IRQCHIP_PIC_SLAVE: case KVM_IRQCHIP_PIC_MASTER:
        if (!(Number.isInteger(c.pin) && c.pin >= 0 && c.pin < PIC_NUM_PINS / 2)) return null;
        if (c.irqchip === KVM_IRQCHIP_PIC_SLAVE) e.pin += PIC_NUM_PINS / 2; // the slave's pins are 8-15
        break;
      case KVM_IRQCHIP_IOAPIC: if (!(Number.isInteger(c.pin) && c.pin >= 0 && c.pin < IOAPIC_NUM_PINS)) return null; break;
      default: return null;
    }
    e.irqchip = c.irqchip;
    return e;
  }
  if (ue.type === KVM_IRQ_ROUTING_MSI) {
    const m = ue.u.msi;
    if (!m) return null;
    e.address_lo = m.address_lo >>> 0; e.address_hi = m.address_hi >>> 0; e.data = m.data >>> 0;
    return e;
  }
  return null;
}
