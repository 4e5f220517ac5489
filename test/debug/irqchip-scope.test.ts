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
