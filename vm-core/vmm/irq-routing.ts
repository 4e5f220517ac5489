// The VMM's GSI routing and in-kernel timer, as QEMU's pc machine sets them up with
// kernel-irqchip=on (kvm_pc_setup_irq_routing, kvm_pit_realizefn): ISA IRQ n is GSI n; GSI 0-7
// (but 2, the cascade) go to the master PIC, 8-15 to the slave, and every GSI but 2 to the IOAPIC
// pin of the same number, except GSI 0 (the PIT) which goes to pin 2 (isaIrqToGsi: the interrupt
// source override the MADT and MP table describe). KVM_CREATE_PIT2 without KVM_PIT_SPEAKER_DUMMY:
// port 0x61 stays with the VMM (pcspk.ts).
import type { KvmVm } from '../kvm/vm';
import * as U from '../kvm/uapi';
import { KVM_IRQ_ROUTING_IRQCHIP, type kvm_irq_routing_entry } from '../kvm/irq_comm';
import { isaIrqToGsi } from './acpi';

/** kvm_pc_setup_irq_routing: the KVM_SET_GSI_ROUTING table. */
export function pcIrqRouting(): kvm_irq_routing_entry[] {
  const e: kvm_irq_routing_entry[] = [];
  const route = (gsi: number, irqchip: number, pin: number) => e.push({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, u: { irqchip: { irqchip, pin } } });
  for (let i = 0; i < 8; i++) if (i !== 2) route(i, U.KVM_IRQCHIP_PIC_MASTER, i);
  for (let i = 8; i < 16; i++) route(i, U.KVM_IRQCHIP_PIC_SLAVE, i - 8);
  for (let i = 0; i < 24; i++) if (i !== 2) route(i, U.KVM_IRQCHIP_IOAPIC, isaIrqToGsi(i));
  return e;
}

/** After KVM_CREATE_IRQCHIP: QEMU's routing and the in-kernel PIT. Returns 0 or the failing ioctl's -errno. */
export function setupPcIrqchip(vm: KvmVm): number {
  const r = vm.setGsiRouting({ entries: pcIrqRouting() });
  if (r < 0) return r;
  return vm.createPit2({ flags: 0 });
}

/**
 * The 8259 state a multiboot kernel finds after the firmware (SeaBIOS pic_reset(0x08, 0x70)):
 * ICW1-4 done, IRQ0-7 at vector 0x08, IRQ8-15 at 0x70, everything masked but the cascade (IR2).
 * Set with KVM_SET_IRQCHIP, as QEMU restores device state. Returns 0 or -errno.
 */
export function firmwarePicSetup(vm: KvmVm): number {
  for (const [chip, base, imr] of [[U.KVM_IRQCHIP_PIC_MASTER, 0x08, 0xfb], [U.KVM_IRQCHIP_PIC_SLAVE, 0x70, 0xff]] as const) {
    const g = vm.getIrqchip(chip);
    if (!g.pic) return g.r;
    const r = vm.setIrqchip(chip, { ...g.pic, irq_base: base, imr, init_state: 0, init4: 1 });
    if (r < 0) return r;
  }
  return 0;
}
