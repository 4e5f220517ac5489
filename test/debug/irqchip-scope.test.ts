// The "Interrupt controllers & time" scope decodes the LAPIC (vector lists, LVTs, the armed timer
// with its deadline in cycles and ns) and the IOAPIC redirection table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm } from '../kvm/helpers';
import { interruptControllerNodes } from '../../vm-core/debug/irqchip-scope';
import type { KvmVcpu } from '../../vm-core/kvm/vcpu';

test('LAPIC and IOAPIC nodes: IRR/ISR lists, timer deadline, redirection entries', () => {
  const t = createVm('intel', { irqchip: true });
  const v = t.vcpu as KvmVcpu, l = v.lapic!;
  const w = (off: number, val: number) => l.mmioWrite(0xfee00000 + off, 4, val);
  w(0xf0, 0x1ff); w(0x3e0, 0xb); w(0x320, 0x20040); w(0x380, 500_000);
  l.__apic_accept_irq(0, 0x41, true, 0x8000);
  l.__apic_accept_irq(0, 0x33, true, 0);
  l.kvm_get_apic_interrupt();
  const io = t.vm.ioapic!;
  io.mmioWrite(0xfec00000, 4, 0x10 + 2 * 5); io.mmioWrite(0xfec00010, 4, 0x8000 | 0x61);
  const nodes = interruptControllerNodes(v);
  const get = (ns: typeof nodes, name: string) => ns.find((n) => n.name === name)!;
  assert.match(get(nodes, 'VM clock').value, /0 cycles = 0 ns at 2000000 kHz/);
  assert.equal(get(nodes, 'LAPIC').value, 'IRR 0x33, ISR 0x41');
  const lapic = get(nodes, 'LAPIC').children!();
  assert.equal(get(lapic, 'TMR').value, '0x41');
  assert.match(get(lapic, 'LVT timer').value, /vector=0x40 periodic/);
  assert.match(get(lapic, 'timer').value, /periodic, fires in 1000000 cycles/);
  assert.equal(get(get(lapic, 'timer').children!(), 'deadline (VM ns)').value, '500000');
  const pins = get(nodes, 'IOAPIC').children!();
  assert.match(get(pins, 'pin 5').value, /vector=0x61 Fixed level dest=0x0/);
  assert.match(get(pins, 'pin 0').value, /masked/);
});

test('PIC and PIT nodes: IRR/ISR/IMR as IRQ lists, init state, channel modes, the armed timer and reinjection', () => {
  const t = createVm('intel', { irqchip: true });
  assert.equal(t.vm.createPit2(), 0);
  const out = (p: number, v: number) => t.vm.kvm_io_bus_write(p, 1, v);
  out(0x20, 0x11); out(0x21, 0x20); out(0x21, 4); out(0x21, 3); out(0x21, 0xf8);
  out(0xa0, 0x11); out(0xa1, 0x28);
  out(0x4d1, 0x02);
  t.vm.irqLine({ irq: 1, level: 1 });
  out(0x43, 0x34); out(0x40, 0xa9); out(0x40, 0x04); // mode 2, count 1193
  const nodes = interruptControllerNodes(t.vcpu as KvmVcpu);
  const get = (ns: typeof nodes, name: string) => ns.find((n) => n.name === name)!;
  assert.equal(get(nodes, 'PIC (8259)').value, 'INT high, IMR 0xf8/0x0');
  const pic = get(nodes, 'PIC (8259)').children!();
  assert.equal(get(pic, 'master (0x20)').value, 'IRR IRQ1, ISR none');
  const master = get(pic, 'master (0x20)').children!();
  assert.equal(get(master, 'IMR').value, '0xf8 masked: IRQ3 IRQ4 IRQ5 IRQ6 IRQ7');
  assert.match(get(master, 'modes').value, /^auto-EOI/);
  assert.equal(get(master, 'vector base (ICW2)').value, '0x20');
  const slave = get(pic, 'slave (0xA0)').children!();
  assert.equal(get(slave, 'initialization').value, 'waiting for ICW3');
  assert.equal(get(slave, 'ELCR (level)').value, 'IRQ9');
  assert.match(get(nodes, 'PIT (8254)').value, /^channel 0 fires in \d+ cycles$/);
  const pit = get(nodes, 'PIT (8254)').children!();
  assert.match(get(pit, 'channel 0 timer').value, /^periodic 999847 ns/);
  assert.match(get(pit, 'reinjection').value, /^on: 0 tick/);
  assert.match(get(pit, 'channel 0').value, /^mode 2 rate generator, count 1193, now 1193, OUT 0, gate 1, LSB then MSB$/);
  assert.match(get(pit, 'channel 2').value, /^not programmed, count 65536/);
});
