// The in-kernel IOAPIC (ioapic.c) driven like a selftest: register window, read-only bits,
// edge/level delivery with Remote IRR and coalescing, KVM_IRQ_LINE / KVM_SIGNAL_MSI /
// KVM_GET/SET_IRQCHIP; and a guest that routes a level-triggered interrupt, EOIs it and sees the
// line re-delivered while the device keeps it asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, longModeGuest, runOnce } from './helpers';
import { apicGuest, mapApicPages, COUNTS, u32 } from './apic-guest';
import * as U from '../../vm-core/kvm/uapi';
import { APIC_IRR, APIC_TMR, APIC_EOI } from '../../vm-core/kvm/lapic';
import type { KvmVcpu } from '../../vm-core/kvm/vcpu';

const IO = 0xfec00000;
function vm(n = 1) {
  const t = createVm('intel', { irqchip: true, vcpus: n });
  const io = t.vm.ioapic!;
  // Mask both 8259s (OCW1), as guests that use the IOAPIC do: KVM's default routing also sends GSI 0-15 to the PIC.
  t.vm.kvm_io_bus_write(0x21, 1, 0xff); t.vm.kvm_io_bus_write(0xa1, 1, 0xff);
  for (const v of t.vm.vcpus as KvmVcpu[]) v.lapic!.mmioWrite(0xfee000f0, 4, 0x1ff);
  const sel = (r: number) => io.mmioWrite(IO, 4, r);
  return {
    ...t, io, l: (k: number) => (t.vm.vcpus[k] as KvmVcpu).lapic!,
    rd: (r: number) => { sel(r); return io.mmioRead(IO + 0x10, 4); },
    wr: (r: number, v: number) => { sel(r); io.mmioWrite(IO + 0x10, 4, v); },
  };
}

test('registers: version 0x00170011, ID bits 27:24 only, arbitration read-only, entries masked at reset, IOREGSEL 8 bits', () => {
  const t = vm();
  assert.equal(t.rd(1), 0x00170011);
  t.wr(0, 0xffffffff); assert.equal(t.rd(0), 0x0f000000);
  assert.equal(t.rd(2), 0x0f000000, 'arbitration ID reads the ID');
  t.wr(2, 0); assert.equal(t.rd(2), 0x0f000000);
  t.wr(1, 0); assert.equal(t.rd(1), 0x00170011);
  for (let pin = 0; pin < 24; pin++) assert.equal(t.rd(0x10 + 2 * pin), 0x10000);
  assert.equal(t.rd(0x10 + 2 * 24), 0xffffffff, 'beyond pin 23');
  t.io.mmioWrite(IO, 4, 0x1234);
  assert.equal(t.io.mmioRead(IO, 4), 0x34);
});

test('edge pin: delivered once per rising edge, coalesced behind a mask and delivered at unmask only for level', () => {
  const t = vm();
  t.wr(0x10 + 2 * 3, 0x31); t.wr(0x11 + 2 * 3, 0);
  assert.deepEqual(t.vm.irqLine({ irq: 3, level: 1 }), { r: 0, status: 1 });
  assert.deepEqual(t.l(0).vectors(APIC_IRR), [0x31]);
  assert.deepEqual(t.l(0).vectors(APIC_TMR), []);
  t.vm.irqLine({ irq: 3, level: 0 });
  t.wr(0x10 + 2 * 3, 0x10031);
  assert.equal(t.vm.irqLine({ irq: 3, level: 1 }).status, -1, 'masked: not delivered');
  t.vm.irqLine({ irq: 3, level: 0 });
  assert.equal(t.vm.irqLine({ irq: 3, level: 1 }).status, -1);
  assert.deepEqual(t.vm.irqLine({ irq: 24, level: 1 }), { r: 0, status: -1 }, 'a GSI with no route: nobody took it');
});

test('level pin: Remote IRR set on delivery and read-only, coalesced until the EOI, re-delivered after it while the line is high, cleared when switched to edge', () => {
  const t = vm(), l = t.l(0);
  t.wr(0x10 + 2 * 9, 0x8000 | 0x49);
  assert.equal(t.vm.irqLine({ irq: 9, level: 1 }).status, 1);
  assert.equal(t.rd(0x10 + 2 * 9) & 0x4000, 0x4000, 'Remote IRR');
  assert.deepEqual(l.vectors(APIC_TMR), [0x49]);
  t.wr(0x10 + 2 * 9, 0x8000 | 0x49); // the guest rewrites the entry: Remote IRR is kept
  assert.equal(t.rd(0x10 + 2 * 9) & 0x4000, 0x4000);
  assert.equal(t.vm.irqLine({ irq: 9, level: 1 }).status, 0, 'coalesced while waiting for the EOI');
  assert.equal(l.kvm_get_apic_interrupt(), 0x49);
  l.mmioWrite(0xfee00000 + APIC_EOI, 4, 0);
  assert.deepEqual(l.vectors(APIC_IRR), [0x49], 'the line is still high: delivered again');
  assert.equal(t.rd(0x10 + 2 * 9) & 0x4000, 0x4000);
  t.vm.irqLine({ irq: 9, level: 0 });
  l.kvm_get_apic_interrupt();
  l.mmioWrite(0xfee00000 + APIC_EOI, 4, 0);
  assert.equal(t.rd(0x10 + 2 * 9) & 0x4000, 0, 'EOI cleared Remote IRR');
  assert.deepEqual(l.vectors(APIC_IRR), []);
  t.vm.irqLine({ irq: 9, level: 1 });
  t.wr(0x10 + 2 * 9, 0x49);
  assert.equal(t.rd(0x10 + 2 * 9) & 0x4000, 0, 'edge entries have no Remote IRR');
});

test('destinations: logical flat to two CPUs; KVM_GET/SET_IRQCHIP round trip; KVM_SIGNAL_MSI', () => {
  const t = vm(2);
  t.l(0).mmioWrite(0xfee000d0, 4, 1 << 24); t.l(1).mmioWrite(0xfee000d0, 4, 2 << 24);
  t.wr(0x10, 0x800 | 0x51); t.wr(0x11, 3 << 24);
  t.vm.irqLine({ irq: 0, level: 1 });
  assert.deepEqual([t.l(0).vectors(APIC_IRR), t.l(1).vectors(APIC_IRR)], [[0x51], [0x51]]);
  const g = t.vm.getIrqchip(U.KVM_IRQCHIP_IOAPIC);
  assert.equal(g.r, 0);
  assert.deepEqual(g.ioapic!.redirtbl[0], [0x851, 3 << 24]);
  const t2 = vm(2);
  assert.equal(t2.vm.setIrqchip(U.KVM_IRQCHIP_IOAPIC, g.ioapic!), 0);
  assert.equal(t2.rd(0x11), 3 << 24);
  assert.equal(t2.vm.getIrqchip(U.KVM_IRQCHIP_PIC_MASTER).pic!.imr, 0xff);
  assert.equal(t2.vm.getIrqchip(3).r, -U.EINVAL);
  assert.equal(t.vm.signalMsi({ address_lo: 0xfee01000, address_hi: 0, data: 0x4062 }), 1, 'MSI to APIC ID 1');
  assert.deepEqual(t.l(1).vectors(APIC_IRR), [0x51, 0x62]);
  assert.equal(t.vm.signalMsi({ address_lo: 0xfed00000, address_hi: 0, data: 0x62 }), -U.EINVAL);
  const none = createVm('intel', {});
  assert.equal(none.vm.irqLine({ irq: 1, level: 1 }).r, -U.ENXIO);
});

test('guest: a level-triggered IOAPIC interrupt is taken, its EOI clears Remote IRR, and a line still high comes back', () => {
  const t = longModeGuest('intel', apicGuest(`
    mov dword [rbx + 0xf0], 0x1ff
    mov al, 0xff                           ; mask the 8259s
    out 0x21, al
    out 0xa1, al
    mov eax, 0xfec00000
    mov dword [rax], 0x10 + 2 * 10         ; RTE 10: level, vector 0x90, physical destination 0
    mov dword [rax + 0x10], 0x8090
    mov dword [rax], 0x11 + 2 * 10
    mov dword [rax + 0x10], 0
    out 0xe9, al                           ; ready
    sti
wait:
    hlt
    cmp dword [${COUNTS} + 0x90 * 4], 2
    jb wait
    mov eax, 0xfec00000
    mov dword [rax], 0x10 + 2 * 10
    mov ecx, [rax + 0x10]
    mov [0x201000], ecx
    out 0xf4, al
`, { preEoi: '    cmp dword [0x200808], 0x90\n    jne .no\n    out 0xe8, al\n.no:' }), { irqchip: true });
  mapApicPages(t.mem);
  const ports: number[] = [];
  let r = runOnce(t.vcpu);
  assert.equal(r, U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0xe9);
  assert.equal(t.vm.irqLine({ irq: 10, level: 1 }).status, 1);
  for (let k = 0; k < 10; k++) {
    r = runOnce(t.vcpu);
    assert.equal(r, U.KVM_EXIT_IO, `exit ${r}`);
    const port: number = (t.vcpu.kvm_run as { io: { port: number } }).io.port;
    ports.push(port);
    if (port === 0xf4) break;
    // The device drops its line at the second acknowledgement.
    if (port === 0xe8 && ports.filter((p) => p === 0xe8).length === 2) t.vm.irqLine({ irq: 10, level: 0 });
  }
  assert.deepEqual(ports, [0xe8, 0xe8, 0xf4]);
  assert.equal(u32(t.mem, COUNTS + 0x90 * 4), 2);
  assert.equal(u32(t.mem, 0x201000) & 0x4000, 0, 'Remote IRR clear after the last EOI');
});
