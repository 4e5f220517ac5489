// The in-kernel 8259A pair (i8259.c) driven through KVM_PIO_BUS and KVM_IRQ_LINE like a selftest:
// ICW1-4, priorities and cascade, EOI flavours and rotation, auto-EOI, OCW3 (IRR/ISR, poll, special
// mask), ELCR, IMR and the mask/ack notifiers, KVM_GET/SET_IRQCHIP, and LINT0 ExtINT acceptance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm } from './helpers';
import * as U from '../../vm-core/kvm/uapi';
import { APIC_LVT0, APIC_LVT_MASKED } from '../../vm-core/kvm/lapic';
import { kvm_cpu_has_interrupt } from '../../vm-core/kvm/x86/run';

function pic(opts: { icw4?: number; noInit?: boolean } = {}) {
  const t = createVm('intel', { irqchip: true });
  const out = (port: number, v: number) => assert.equal(t.vm.kvm_io_bus_write(port, 1, v), true);
  const inb = (port: number) => t.vm.kvm_io_bus_read(port, 1)!;
  if (!opts.noInit) {
    // ICW1 (ICW4 needed), ICW2 (vector base), ICW3 (cascade on IR2 / slave ID 2), ICW4.
    out(0x20, 0x11); out(0x21, 0x20); out(0x21, 0x04); out(0x21, opts.icw4 ?? 0x01);
    out(0xa0, 0x11); out(0xa1, 0x28); out(0xa1, 0x02); out(0xa1, opts.icw4 ?? 0x01);
  }
  const p = t.vm.pic!;
  return { ...t, p, out, inb, line: (irq: number, level: number) => t.vm.irqLine({ irq, level }).status, inta: () => t.vm.kvm_pic_read_irq() };
}
const pulse = (t: ReturnType<typeof pic>, irq: number) => { const s = t.line(irq, 1); t.line(irq, 0); return s; };

test('ICW1-4 program the vector bases; an edge on IR1 raises INT, INTA gives base + 1 and moves IRR to ISR', () => {
  const t = pic();
  assert.equal(t.p.output, 0);
  assert.equal(pulse(t, 1), 1, 'KVM_IRQ_LINE status: the PIC took it (IOAPIC pin 1 is masked at reset: -1, not counted)');
  assert.equal(t.p.output, 1);
  assert.equal(t.inb(0x20), 0x02, 'OCW3 default: IRR');
  assert.equal(t.inta(), 0x21);
  assert.equal(t.p.output, 0);
  t.out(0x20, 0x0b); assert.equal(t.inb(0x20), 0x02, 'OCW3 read ISR');
  t.out(0x20, 0x0a); assert.equal(t.inb(0x20), 0x00, 'IRR cleared: edge');
  t.out(0x20, 0x20); // non-specific EOI
  t.out(0x20, 0x0b); assert.equal(t.inb(0x20), 0);
  assert.equal(t.inta(), 0x27, 'nothing requested: spurious IRQ 7');
  assert.equal(t.vm.getIrqchip(U.KVM_IRQCHIP_PIC_MASTER).pic!.irq_base, 0x20);
});

test('priorities: IR1 before IR3; IR3 waits while IR1 is in service; the slave comes through master IR2', () => {
  const t = pic();
  pulse(t, 3); pulse(t, 1);
  assert.equal(t.inta(), 0x21);
  assert.equal(t.p.output, 0, 'IR3 is lower than IR1 in service');
  t.out(0x20, 0x20);
  assert.equal(t.p.output, 1);
  assert.equal(t.inta(), 0x23);
  t.out(0x20, 0x20);
  pulse(t, 10);
  assert.equal(t.p.output, 1, 'slave IR2 -> master IR2');
  assert.equal(t.inta(), 0x2a);
  t.out(0xa0, 0x0b); assert.equal(t.inb(0xa0), 0x04);
  t.out(0x20, 0x0b); assert.equal(t.inb(0x20), 0x04, 'master IR2 in service too');
  pulse(t, 8);
  assert.equal(t.p.output, 0, 'fully nested: master IR2 in service blocks the slave');
  t.out(0xa0, 0x20); t.out(0x20, 0x20);
  assert.equal(t.inta(), 0x28);
});

test('special fully nested mode (ICW4 bit 4): a higher slave request passes the master IR2 in service', () => {
  const t = pic({ icw4: 0x11 });
  pulse(t, 10);
  assert.equal(t.inta(), 0x2a);
  pulse(t, 8);
  assert.equal(t.p.output, 1);
  assert.equal(t.inta(), 0x28);
});

test('OCW2: specific EOI, rotate on non-specific EOI, set priority, rotate on specific EOI', () => {
  const t = pic();
  pulse(t, 0); assert.equal(t.inta(), 0x20);
  t.out(0x20, 0xa0); // rotate on non-specific EOI: IR0 becomes the lowest
  assert.equal(t.vm.getIrqchip(0).pic!.priority_add, 1);
  pulse(t, 0); pulse(t, 5);
  assert.equal(t.inta(), 0x25, 'IR5 now beats IR0');
  t.out(0x20, 0x65); // specific EOI for IR5
  assert.equal(t.inta(), 0x20);
  t.out(0x20, 0xe0); // rotate on specific EOI of IR0
  assert.equal(t.vm.getIrqchip(0).pic!.priority_add, 1);
  t.out(0x20, 0xc3); // set priority: IR3 lowest
  assert.equal(t.vm.getIrqchip(0).pic!.priority_add, 4);
  pulse(t, 3); pulse(t, 6);
  assert.equal(t.inta(), 0x26);
});

test('auto-EOI (ICW4 bit 1): nothing stays in service; rotate in auto-EOI mode (OCW2 0x80) rotates at INTA', () => {
  const t = pic({ icw4: 0x03 });
  pulse(t, 4);
  assert.equal(t.inta(), 0x24);
  t.out(0x20, 0x0b); assert.equal(t.inb(0x20), 0);
  t.out(0x20, 0x80);
  assert.equal(t.vm.getIrqchip(0).pic!.rotate_on_auto_eoi, 1);
  pulse(t, 4); t.inta();
  assert.equal(t.vm.getIrqchip(0).pic!.priority_add, 5);
});

test('OCW3 poll: the highest request is acknowledged and retired (bit 7 set); none: 0x07; special mask is kept', () => {
  const t = pic();
  pulse(t, 6);
  t.out(0x20, 0x0c);
  assert.equal(t.inb(0x20), 0x86);
  t.out(0x20, 0x0b); assert.equal(t.inb(0x20), 0, 'not in service after the poll');
  t.out(0x20, 0x0c);
  assert.equal(t.inb(0x20), 0x07);
  t.out(0x20, 0x68); assert.equal(t.vm.getIrqchip(0).pic!.special_mask, 1);
  t.out(0x20, 0x48); assert.equal(t.vm.getIrqchip(0).pic!.special_mask, 0);
});

test('ELCR 0x4D0/0x4D1 (masks 0xf8 / 0xde): a level pin keeps IRR while the line is high, also after INTA', () => {
  const t = pic();
  t.out(0x4d0, 0xff); assert.equal(t.inb(0x4d0), 0xf8);
  t.out(0x4d1, 0xff); assert.equal(t.inb(0x4d1), 0xde);
  t.out(0x4d0, 0x08);
  assert.equal(t.line(3, 1) >= 1, true);
  assert.equal(t.inta(), 0x23);
  t.out(0x20, 0x0a); assert.equal(t.inb(0x20) & 0x08, 0x08, 'level: IRR kept');
  t.out(0x20, 0x20);
  assert.equal(t.p.output, 1, 'still requested after the EOI');
  t.line(3, 0);
  assert.equal(t.inb(0x20) & 0x08, 0, 'line low: IRR clear');
  assert.equal(t.p.output, 0);
});

test('IMR (OCW1): a masked pin is -1 for its chip and raises no INT; mask changes fire the mask notifiers; ICW1 drops edge requests', () => {
  const t = pic();
  const seen: boolean[] = [];
  t.vm.irqRouting.maskNotifiers.push({ gsi: 5, func: (m) => seen.push(m) });
  t.out(0x21, 0x20);
  assert.equal(t.inb(0x21), 0x20);
  assert.equal(t.p.kvm_pic_set_irq(5, 0, true), -1);
  assert.equal(t.p.output, 0);
  t.out(0x21, 0x00);
  assert.equal(t.p.output, 1, 'unmasked: the pending request raises INT');
  assert.deepEqual(seen, [true, false]);
  t.out(0x20, 0x11); // ICW1 again: the edge request is dropped
  assert.equal(t.vm.getIrqchip(0).pic!.irr, 0);
  assert.equal(t.vm.getIrqchip(0).pic!.init_state, 1);
});

test('accesses: only byte accesses act; a 2-byte access inside the device is swallowed, one that leaves it goes to userspace', () => {
  const t = pic();
  assert.equal(t.vm.kvm_io_bus_write(0x20, 2, 0x11), true);
  assert.equal(t.vm.getIrqchip(0).pic!.init_state, 0, 'ignored');
  assert.equal(t.vm.kvm_io_bus_read(0x20, 2), 0);
  assert.equal(t.vm.kvm_io_bus_read(0x21, 2), null, '0x21-0x22 is not the PIC\'s range');
  assert.equal(t.vm.kvm_io_bus_read(0x20, 4), null);
});

test('EOI of IR0 reaches the ack notifiers of GSI 0 through the routing table', () => {
  const t = pic();
  let acks = 0;
  t.vm.irqRouting.ackNotifiers.push({ gsi: 0, irq_acked: () => acks++ });
  pulse(t, 0); t.inta();
  t.out(0x20, 0x20);
  assert.equal(acks, 1);
});

test('KVM_GET/SET_IRQCHIP for both chips: a restored request raises INT; chip 3 is -EINVAL', () => {
  const t = pic();
  pulse(t, 11);
  const m = t.vm.getIrqchip(U.KVM_IRQCHIP_PIC_MASTER).pic!, s = t.vm.getIrqchip(U.KVM_IRQCHIP_PIC_SLAVE).pic!;
  assert.equal(s.irr, 0x08);
  assert.equal(s.elcr_mask, 0xde);
  const t2 = pic({ noInit: true });
  assert.equal(t2.vm.setIrqchip(U.KVM_IRQCHIP_PIC_MASTER, m), 0);
  assert.equal(t2.vm.setIrqchip(U.KVM_IRQCHIP_PIC_SLAVE, s), 0);
  assert.equal(t2.p.output, 1);
  assert.equal(t2.inta(), 0x2b);
  assert.equal(t2.vm.setIrqchip(U.KVM_IRQCHIP_PIC_MASTER, t.vm.getIrqchip(U.KVM_IRQCHIP_IOAPIC).ioapic!), -U.EINVAL);
  const none = createVm('intel', {});
  assert.equal(none.vm.getIrqchip(0).r, -U.ENXIO);
});

test('kvm_apic_accept_pic_intr: the BSP takes INT through LINT0 ExtINT (unmasked at RESET by the quirk), not when LINT0 is masked, always with the APIC disabled', () => {
  const t = pic();
  const l = t.vcpu.lapic!;
  pulse(t, 1);
  assert.equal(kvm_cpu_has_interrupt(t.vcpu), true);
  l.kvm_lapic_reg_write(0xf0, 0x1ff);
  l.kvm_lapic_reg_write(APIC_LVT0, APIC_LVT_MASKED | 0x700);
  assert.equal(kvm_cpu_has_interrupt(t.vcpu), false);
  assert.equal(t.vcpu.setApicBase(0, true), 0);
  assert.equal(kvm_cpu_has_interrupt(t.vcpu), true, 'APIC disabled: the PIC is wired straight to INTR');
});
