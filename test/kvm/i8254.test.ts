// The in-kernel PIT (i8254.c, KVM_CREATE_PIT2) driven through KVM_PIO_BUS with the VM clock moved
// by hand (clock.advanceTo, what HLT's time skip does): modes 0-5, counter latch and read-back,
// LSB/MSB/word access, channel 0 on GSI 0 with KVM's default reinjection and KVM_REINJECT_CONTROL,
// the periodic clamp, port 0x61 with KVM_PIT_SPEAKER_DUMMY, and KVM_GET/SET_PIT2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm } from './helpers';
import * as U from '../../vm-core/kvm/uapi';
import { KVM_PIT_SPEAKER_DUMMY, KVM_PIT_FREQ } from '../../vm-core/kvm/i8254';
import { MIN_TIMER_PERIOD_NS } from '../../vm-core/kvm/lapic';

function pit(flags = 0) {
  const t = createVm('intel', { irqchip: true });
  assert.equal(t.vm.createPit2({ flags }), 0);
  const out = (port: number, v: number) => assert.equal(t.vm.kvm_io_bus_write(port, 1, v), true);
  const inb = (port: number) => t.vm.kvm_io_bus_read(port, 1)!;
  // The PIC: vectors at 0x20, IRQ0 the only unmasked line.
  out(0x20, 0x11); out(0x21, 0x20); out(0x21, 4); out(0x21, 1); out(0x21, 0xfe);
  const clock = t.vm.clock;
  /** Let `ns` of virtual time pass and run the timers (as the idle skip does). */
  const wait = (ns: number) => { clock.advanceTo(clock.cycles() + clock.nsToCycles(ns)); t.vm.runExpiredTimers(); };
  const load = (ch: number, ctrl: number, count: number) => { out(0x43, ctrl); out(0x40 + ch, count & 0xff); out(0x40 + ch, count >> 8); };
  const latch = (ch: number) => { out(0x43, ch << 6); return inb(0x40 + ch) | (inb(0x40 + ch) << 8); };
  const status = (ch: number) => { out(0x43, 0xe0 | (2 << ch)); return inb(0x40 + ch); };
  return { ...t, p: t.vm.pit!, out, inb, wait, load, latch, status, eoi: () => { t.vm.kvm_pic_read_irq(); out(0x20, 0x20); } };
}
const ticksToNs = (n: number) => Math.ceil((n * 1e9) / KVM_PIT_FREQ);

test('KVM_CREATE_PIT2: -ENOENT without the in-kernel PIC, -EEXIST the second time; the state after reset', () => {
  assert.equal(createVm('intel', {}).vm.createPit2(), -U.ENOENT);
  const t = pit();
  assert.equal(t.vm.createPit2(), -U.EEXIST);
  const s = t.vm.getPit2().state!;
  assert.deepEqual(s.channels.map((c) => [c.mode, c.gate, c.count]), [[0xff, 1, 0x10000], [0xff, 1, 0x10000], [0xff, 0, 0x10000]]);
  assert.equal(createVm('intel', { irqchip: true }).vm.getPit2().r, -U.ENXIO);
});

test('mode 2 (rate generator): channel 0 raises IRQ0 every count; the counter counts down and reloads', () => {
  const t = pit();
  t.load(0, 0x34, 11932); // 100 Hz
  assert.equal(t.p.armed, true);
  const c0 = t.latch(0);
  assert.ok(c0 <= 11932 && c0 > 11900, String(c0));
  t.wait(ticksToNs(5966));
  const half = t.latch(0);
  assert.ok(Math.abs(half - 5966) <= 2, String(half));
  assert.equal(t.vm.pic!.output, 0);
  t.wait(ticksToNs(5966) + 1000);
  assert.equal(t.vm.pic!.output, 1, 'IRQ0 at the terminal count');
  assert.equal(t.p.ticksRaised, 1);
  t.eoi();
  t.wait(ticksToNs(11932));
  assert.equal(t.p.ticksRaised, 2, 'periodic');
  assert.equal(t.status(0) & 0x3f, 0x34, 'read-back status: LSB/MSB, mode 2, binary');
});

test('reinjection (KVM default): ticks the guest has not acknowledged wait, and each EOI releases one; KVM_REINJECT_CONTROL off raises every tick', () => {
  const t = pit();
  t.load(0, 0x34, 1193); // 1 kHz
  t.wait(ticksToNs(1193) * 3 + 1000);
  assert.equal(t.p.expiries, 3);
  assert.equal(t.p.ticksRaised, 1, 'only the first: not acknowledged yet');
  assert.equal(t.p.pending, 3);
  t.eoi(); t.vm.kvm_check_device_timers();
  assert.equal(t.p.ticksRaised, 2, 'the EOI re-raised a missed tick');
  t.eoi(); t.vm.kvm_check_device_timers();
  t.eoi(); t.vm.kvm_check_device_timers();
  assert.equal(t.p.ticksRaised, 3);
  assert.equal(t.p.pending, 0);
  assert.equal(t.vm.reinjectControl({ pit_reinject: 0 }), 0);
  t.wait(ticksToNs(1193) * 3 + 1000);
  assert.equal(t.p.ticksRaised, 6, 'no reinjection: every expiry is an edge (the PIC coalesces them)');
});

test('mode 0 (interrupt on terminal count) is one-shot: OUT low, then high; one interrupt; mode 4 and 1 as KVM counts them', () => {
  const t = pit();
  t.load(0, 0x30, 1000);
  assert.equal(t.status(0) >> 7, 0, 'OUT low while counting');
  t.wait(ticksToNs(1000) + 1000);
  assert.equal(t.status(0) >> 7, 1, 'OUT high at terminal count');
  assert.equal(t.p.ticksRaised, 1);
  t.eoi();
  t.wait(ticksToNs(5000));
  assert.equal(t.p.ticksRaised, 1, 'one-shot');
  assert.equal(t.p.armed, false);
  t.load(1, 0x78, 500); // channel 1, mode 4 (software strobe): OUT pulses at the count
  assert.equal(t.status(1) >> 7, 0);
  t.load(2, 0xb2, 500); // channel 2, mode 1 (gate-triggered one-shot): OUT low while counting
  assert.equal(t.status(2) >> 7, 1);
  t.wait(ticksToNs(600));
  assert.equal(t.status(2) >> 7, 0);
});

test('mode 3 (square wave): OUT high for the first half of each period; mode 5 strobe', () => {
  const t = pit();
  t.load(2, 0xb6, 1000);
  assert.equal(t.status(2) >> 7, 1);
  t.wait(ticksToNs(300));
  assert.equal(t.status(2) >> 7, 1);
  t.wait(ticksToNs(300));
  assert.equal(t.status(2) >> 7, 0, 'second half');
  t.load(1, 0x7a, 100); // mode 5
  assert.equal(t.status(1) & 0x0e, 0x0a);
  assert.equal(t.status(1) >> 7, 0);
});

test('access modes: LSB only, MSB only, latch holds the value until read, read-back latches count and status together', () => {
  const t = pit();
  t.out(0x43, 0x90); t.out(0x42, 0x40); // channel 2, LSB only, mode 0: count 0x40
  assert.equal(t.vm.getPit2().state!.channels[2].count, 0x40);
  t.out(0x43, 0xa0); t.out(0x42, 0x12); // MSB only
  assert.equal(t.vm.getPit2().state!.channels[2].count, 0x1200);
  t.load(1, 0x74, 0x4000); // word, mode 2
  t.out(0x43, 0x40); // latch channel 1
  const lsb = t.inb(0x41);
  t.wait(ticksToNs(0x100));
  const msb = t.inb(0x41);
  assert.equal((msb << 8) | lsb, 0x4000, 'the latched value, not the live one');
  const live = t.latch(1);
  assert.ok(live < 0x4000 - 0xf0, String(live));
  t.out(0x43, 0xc4); // read-back: count and status of channel 1
  assert.equal(t.inb(0x41) & 0x3f, 0x34, 'status first');
  const c = t.inb(0x41) | (t.inb(0x41) << 8);
  assert.ok(c <= live);
  assert.equal(t.inb(0x43), 0, 'the control port reads 0');
  t.load(0, 0x34, 0); // 0 means 0x10000
  assert.equal(t.vm.getPit2().state!.channels[0].count, 0x10000);
});

test('a periodic PIT is never faster than min_timer_period_us (200 us); the first expiry keeps its interval', () => {
  const t = pit();
  t.load(0, 0x34, 2);
  assert.equal(t.p.period, MIN_TIMER_PERIOD_NS);
  t.wait(ticksToNs(2) + 10);
  assert.equal(t.p.expiries, 1);
  t.wait(MIN_TIMER_PERIOD_NS - 100);
  assert.equal(t.p.expiries, 1);
  t.wait(200);
  assert.equal(t.p.expiries, 2);
});

test('port 0x61: in the kernel with KVM_PIT_SPEAKER_DUMMY (gate 2, data on, OUT2, refresh bit); otherwise userspace', () => {
  const none = pit();
  assert.equal(none.vm.kvm_io_bus_read(0x61, 1), null);
  const t = pit(KVM_PIT_SPEAKER_DUMMY);
  t.out(0x61, 0x03);
  assert.equal(t.inb(0x61) & 0x03, 0x03);
  assert.equal(t.vm.getPit2().state!.flags & 2, 2, 'KVM_PIT_FLAGS_SPEAKER_DATA_ON');
  t.load(2, 0xb0, 100); // mode 0
  assert.equal(t.inb(0x61) & 0x20, 0);
  t.wait(ticksToNs(200));
  assert.equal(t.inb(0x61) & 0x20, 0x20, 'OUT2 high after the count');
  const r1 = t.inb(0x61) & 0x10;
  t.wait(16384);
  assert.notEqual(t.inb(0x61) & 0x10, r1, 'refresh toggles every 2^14 ns');
  assert.equal(t.vm.kvm_io_bus_read(0x62, 1), null, 'only 0x61 answers');
});

test('KVM_GET/SET_PIT2: the channels come back and channel 0 restarts with its count', () => {
  const t = pit();
  t.load(0, 0x34, 5000);
  const s = t.vm.getPit2().state!;
  const t2 = pit();
  assert.equal(t2.vm.setPit2(s), 0);
  assert.equal(t2.p.armed, true);
  assert.equal(t2.vm.getPit2().state!.channels[0].mode, 2);
  t2.wait(ticksToNs(5000) + 100);
  assert.equal(t2.p.ticksRaised, 1);
  assert.equal(createVm('intel', { irqchip: true }).vm.setPit2(s), -U.ENXIO);
});

test('the PIT tick reaches the IOAPIC too (GSI 0 -> pin 0 in KVM\'s default routing); unmasking the pin resets the reinjection state', () => {
  const t = pit();
  t.out(0x21, 0xff);
  t.vcpu.lapic!.kvm_lapic_reg_write(0xf0, 0x1ff);
  const io = t.vm.ioapic!;
  t.load(0, 0x34, 1193);
  t.wait(ticksToNs(1193) * 2 + 100);
  assert.equal(t.p.pending, 2);
  io.mmioWrite(0xfec00000, 4, 0x10); io.mmioWrite(0xfec00010, 4, 0x31); // pin 0 unmasked, vector 0x31
  assert.equal(t.p.pending, 0, 'pit_mask_notifier');
  t.wait(ticksToNs(1193));
  assert.deepEqual(t.vcpu.lapic!.vectors(0x200), [0x31]);
});

test('HLT: PIT ticks into a masked PIC do not end the idle skip early; the LAPIC deadline 100 ms later wakes the guest', async () => {
  const { longModeGuest, runOnce } = await import('./helpers');
  const { apicGuest, mapApicPages, COUNTS, u32 } = await import('./apic-guest');
  const t = longModeGuest('intel', apicGuest(`
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    mov al, 0x34
    out 0x43, al
    mov ax, 1193                           ; PIT at 1 kHz
    out 0x40, al
    mov al, ah
    out 0x40, al
    mov dword [rbx + 0xf0], 0x1ff
    mov dword [rbx + 0x3e0], 0xb            ; divide by 1
    mov dword [rbx + 0x320], 0x40           ; one-shot, vector 0x40
    mov dword [rbx + 0x380], 100000000      ; 100 ms
    sti
    hlt
    mov eax, [${COUNTS} + 0x40 * 4]
    out 0xf4, al
`), { irqchip: true });
  mapApicPages(t.mem);
  assert.equal(t.vm.createPit2(), 0);
  assert.equal(runOnce(t.vcpu, 10_000_000), U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
  assert.equal(u32(t.mem, COUNTS + 0x40 * 4), 1);
  assert.ok(t.vm.pit!.expiries >= 99, String(t.vm.pit!.expiries));
});
