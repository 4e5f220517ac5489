// The platform devices one by one, through their port/MMIO interfaces as the VMM drives them:
// fw_cfg (selector/data, file directory, DMA), pc-testdev, the 16550 UART (registers, interrupt
// identification and the IRQ line, loopback), CMOS/RTC on virtual time (BCD/binary, 12/24 h, NMI
// bit, setting the clock), the reset ports, the PCI host bridge and the ACPI PM block; and through a
// guest: a reset request ends the run (or resets the VM with reboot on), the UART's output and input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FwCfg, FW_CFG_PORT_SEL, FW_CFG_PORT_DATA, FW_CFG_PORT_DMA } from '../../vm-core/vmm/fw-cfg';
import { PcTestdev } from '../../vm-core/vmm/pc-testdev';
import { Uart16550, UART_BACKLOG_LIMIT } from '../../vm-core/vmm/uart16550';
import { join } from 'node:path';
import { Cmos } from '../../vm-core/vmm/cmos';
import { SystemReset } from '../../vm-core/vmm/system-reset';
import { PciHost } from '../../vm-core/vmm/pci-host';
import { AcpiPm, PM_TIMER_FREQUENCY } from '../../vm-core/vmm/acpi-pm';
import { e820Map } from '../../vm-core/vmm/e820';
import { Machine } from '../../vm-core/vmm/machine';
import { assemble } from '../../vm-core/loader/assemble';

function fwcfg(mem = new Uint8Array(1 << 20)) {
  return new FwCfg({ ramSize: 256 << 20, cpus: 3, e820: e820Map(256 << 20), cmdline: { addr: 0, text: 'hello' } }, mem);
}
function readItem(f: FwCfg, key: number, n: number): number[] {
  f.portWrite(FW_CFG_PORT_SEL, 2, key);
  return Array.from({ length: n }, () => f.portRead(FW_CFG_PORT_DATA, 1));
}

test('fw_cfg: signature, ID, RAM_SIZE, NB/MAX_CPUS, cmdline, invalid keys and reads past the end are 0, 8-bit selector writes ignored', () => {
  const f = fwcfg();
  assert.equal(String.fromCharCode(...readItem(f, 0, 4)), 'QEMU');
  assert.deepEqual(readItem(f, 1, 4), [3, 0, 0, 0]);
  assert.deepEqual(readItem(f, 3, 8), [0, 0, 0, 0x10, 0, 0, 0, 0]);
  assert.deepEqual(readItem(f, 5, 2), [3, 0]);
  assert.deepEqual(readItem(f, 0x0f, 2), [3, 0]);
  assert.deepEqual(readItem(f, 0x14, 4), [6, 0, 0, 0]);
  assert.equal(String.fromCharCode(...readItem(f, 0x15, 7)), 'hello\0\0');
  assert.deepEqual(readItem(f, 0x11, 8), [0, 0, 0, 0, 0, 0, 0, 0], 'MAX_RAM for kvm-unit-tests: no cap');
  assert.deepEqual(readItem(f, 0x3fff, 2), [0, 0]);
  f.portWrite(FW_CFG_PORT_SEL, 1, 0); // ignored: still on key 0x3FFF
  assert.equal(f.portRead(FW_CFG_PORT_DATA, 1), 0);
});

test('fw_cfg: the file directory lists etc/e820 (big-endian) and its item holds the e820 map', () => {
  const f = fwcfg();
  const dir = readItem(f, 0x19, 4 + 64);
  const dv = new DataView(Uint8Array.from(dir).buffer);
  assert.equal(dv.getUint32(0, false), 1);
  const size = dv.getUint32(4, false), key = dv.getUint16(8, false);
  assert.equal(String.fromCharCode(...dir.slice(12, 20)), 'etc/e820');
  const map = e820Map(256 << 20);
  assert.equal(size, 20 * map.length);
  const e = Uint8Array.from(readItem(f, key, size));
  const ev = new DataView(e.buffer);
  assert.deepEqual(map.map((_, k) => [Number(ev.getBigUint64(20 * k, true)), Number(ev.getBigUint64(20 * k + 8, true)), ev.getUint32(20 * k + 16, true)]), map.map((x) => [x.addr, x.size, x.type]));
});

test('fw_cfg DMA: signature read-back, select + read into guest memory, skip, write refused with the error bit', () => {
  const mem = new Uint8Array(1 << 20);
  const f = fwcfg(mem);
  assert.equal(f.portRead(FW_CFG_PORT_DMA, 4), 0x554d4551, '"QEMU" in guest byte order');
  const dv = new DataView(mem.buffer);
  const dma = (desc: number, control: number, len: number, addr: number) => {
    dv.setUint32(desc, control, false); dv.setUint32(desc + 4, len, false); dv.setUint32(desc + 8, 0, false); dv.setUint32(desc + 12, addr, false);
    const be = (v: number) => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
    f.portWrite(FW_CFG_PORT_DMA, 4, 0); f.portWrite(FW_CFG_PORT_DMA + 4, 4, be(desc));
    return dv.getUint32(desc, false);
  };
  assert.equal(dma(0x1000, (0x15 << 16) | 8 | 4, 2, 0), 0, 'select cmdline, skip 2');
  assert.equal(dma(0x1000, 2, 6, 0x2000), 0);
  assert.equal(String.fromCharCode(...mem.subarray(0x2000, 0x2006)), 'llo\0\0\0', 'rest of the item, zeros past its end');
  assert.equal(dma(0x1000, (0x15 << 16) | 8 | 0x10, 1, 0x2000), 1, 'write: error');
});

test('pc-testdev: the echo register by lanes and widths, the IRQ lines, the flush page, IORAM', () => {
  const irqs: number[][] = [];
  const t = new PcTestdev((l, v) => irqs.push([l, v]));
  t.portWrite(0xe0, 4, 0x11223344);
  t.portWrite(0xe2, 2, 0xbeef);
  assert.equal(t.portRead(0xe0, 4), 0xbeef3344);
  assert.equal(t.portRead(0xe1, 1), 0x33);
  assert.equal(t.portRead(0xe3, 1), 0xbe);
  t.portWrite(0x200e, 1, 1); t.portWrite(0x200e, 1, 0);
  assert.deepEqual(irqs, [[14, 1], [14, 0]]);
  t.portWrite(0xe4, 4, 0x123000);
  assert.equal(t.lastFlush, 0x123000);
  assert.equal(t.portRead(0xe4, 4), 0);
  t.mmioWrite(0xff00fffe, Uint8Array.of(1, 2));
  const d = new Uint8Array(2); t.mmioRead(0xff00fffe, d);
  assert.deepEqual([...d], [1, 2]);
});

test('16550: THR output, LSR, scratch, DLAB divisor, IIR priorities and the IRQ line, loopback, FIFO reset', () => {
  const out: number[] = [], irq: number[][] = [];
  const u = new Uart16550(0x3f8, 4, (b) => out.push(b), (l, v) => irq.push([l, v]));
  u.portWrite(0x3f8, 1, 0x41);
  assert.deepEqual(out, [0x41]);
  assert.equal(u.portRead(0x3fd) & 0x61, 0x60, 'THRE | TEMT, no data');
  u.portWrite(0x3ff, 1, 0x5a); assert.equal(u.portRead(0x3ff), 0x5a);
  u.portWrite(0x3fb, 1, 0x80); u.portWrite(0x3f8, 1, 3); u.portWrite(0x3f9, 1, 0);
  assert.equal(u.portRead(0x3f8), 3, 'DLL'); assert.deepEqual(out, [0x41], 'divisor writes do not transmit');
  u.portWrite(0x3fb, 1, 0x03);
  assert.equal(u.portRead(0x3fa) & 0xf, 1, 'no interrupt pending');
  u.portWrite(0x3f9, 1, 0x02); // THRI
  assert.deepEqual(irq, [[4, 1]]);
  assert.equal(u.portRead(0x3fa) & 0xf, 2, 'THR empty');
  assert.deepEqual(irq, [[4, 1], [4, 0]], 'reading IIR clears the THR-empty source');
  u.portWrite(0x3f9, 1, 0x03); // RDI | THRI
  u.receive('hi');
  assert.equal(u.portRead(0x3fa) & 0xf, 4, 'received data outranks THR empty');
  assert.equal(irq[irq.length - 1][1], 1);
  assert.equal(u.portRead(0x3fd) & 1, 1);
  assert.equal(String.fromCharCode(u.portRead(0x3f8), u.portRead(0x3f8)), 'hi');
  assert.equal(u.portRead(0x3fd) & 1, 0);
  assert.equal(irq[irq.length - 1][1], 0);
  u.portWrite(0x3fc, 1, 0x10); // loopback
  u.portWrite(0x3f8, 1, 0x7e);
  assert.deepEqual(out, [0x41], 'loopback does not transmit');
  assert.equal(u.portRead(0x3f8), 0x7e);
  u.portWrite(0x3fc, 1, 0);
  u.receive('xyz'); u.portWrite(0x3fa, 1, 0x03);
  assert.equal(u.pendingInput, 2, 'turning the FIFOs on empties them: "x" (in RBR) is lost, the backend\'s "yz" comes in');
  assert.equal(String.fromCharCode(u.portRead(0x3f8), u.portRead(0x3f8)), 'yz');
  u.portWrite(0x3fc, 1, 0x10);
  for (let k = 0; k < 17; k++) u.portWrite(0x3f8, 1, 0x30 + k); // loopback past the 16-byte FIFO
  assert.equal(u.portRead(0x3fd) & 0x03, 0x03, 'DR and overrun (OE)');
  assert.equal(u.portRead(0x3fd) & 0x02, 0, 'reading LSR clears OE');
  u.portWrite(0x3fa, 1, 0x03);
  assert.equal(u.pendingInput, 0, 'FCR bit 1 clears the receive FIFO');
});

test('16550 input: RBR takes one byte with the FIFOs off, the FIFO fills to its trigger level, received-data and character-timeout interrupts, no overrun from the backend', () => {
  const irq: number[] = [];
  const u = new Uart16550(0x3f8, 4, () => {}, (_l, v) => irq.push(v));
  const lsr = () => u.portRead(0x3fd), iir = () => u.portRead(0x3fa);
  u.portWrite(0x3f9, 1, 0x01); // IER: RDI
  assert.equal(u.receive('abc'), 3);
  assert.equal(u.canReceive(), 0, 'FIFOs off: RBR full, the backend holds the rest');
  assert.equal(iir() & 0x0f, 0x04, 'received data available');
  assert.deepEqual(irq, [1]);
  let text = '';
  while (lsr() & 1) text += String.fromCharCode(u.portRead(0x3f8));
  assert.equal(text, 'abc', 'each RBR read lets the next byte in, none lost');
  assert.equal(lsr() & 0x02, 0, 'no overrun');
  assert.deepEqual(irq, [1, 0]);
  u.portWrite(0x3fa, 1, 0xc1); // FIFOs on, trigger level 14
  assert.equal(iir() & 0xcf, 0xc1, 'IIR says FIFOs enabled, nothing pending');
  u.receive('x'.repeat(20));
  assert.equal(u.pendingInput, 20);
  assert.equal(iir() & 0x0f, 0x04, 'the FIFO reached its trigger level: received data (not the timeout)');
  for (let k = 0; k < 20; k++) u.portRead(0x3f8);
  assert.equal(lsr() & 0x03, 0, 'drained, no overrun: the backend fed the FIFO as it emptied');
  u.receive('yz');
  assert.equal(iir() & 0x0f, 0x0c, 'two bytes under the trigger level and no more input: character timeout');
  assert.equal(irq[irq.length - 1], 1);
  u.portWrite(0x3f9, 1, 0x00);
  assert.equal(iir() & 0x0f, 0x01, 'IER bit 0 masks the timeout too');
  assert.equal(irq[irq.length - 1], 0);
  assert.equal(u.receive(new Uint8Array(UART_BACKLOG_LIMIT + 10)), UART_BACKLOG_LIMIT - 2, 'the backend holds at most UART_BACKLOG_LIMIT bytes: the sender keeps the rest');
});

test('a guest echoes what the user types through its interrupt-driven COM1 driver (IOAPIC GSI 4 -> LAPIC), with the FIFOs off and on (trigger 14, character timeout)', () => {
  for (const fcr of ['0', '0xc7']) {
    const a = assemble({ path: join(__dirname, 'guests/serial-echo.asm'), defines: { FCR: fcr } });
    assert.ok(a.ok);
    const m = new Machine(a.image, {});
    assert.deepEqual(m.run(1_000_000), { kind: 'halted' }, 'waiting for a key with interrupts on');
    assert.equal(m.serial, '>');
    m.platform.uart.receive('abc');
    assert.deepEqual(m.run(1_000_000), { kind: 'halted' });
    assert.equal(m.serial, '>abc', `FCR ${fcr}: echoed`);
    m.platform.uart.receive('de\nq');
    assert.deepEqual(m.run(1_000_000), { kind: 'exit-port', code: 2 }, 'q: two interrupts taken');
    assert.equal(m.serial, '>abcde\n');
  }
});

test('CMOS/RTC: time from virtual time in BCD, binary and 12-hour forms, the NMI-disable bit, setting the clock, memory size bytes', () => {
  let ns = (3600 * 13 + 60 * 45 + 7) * 1e9; // 13:45:07 on the first day
  const c = new Cmos(128 << 20, () => ns);
  const rd = (r: number) => { c.portWrite(0x70, 1, r); return c.portRead(0x71); };
  assert.deepEqual([rd(0), rd(2), rd(4), rd(7), rd(8), rd(9), rd(0x32)], [0x07, 0x45, 0x13, 0x01, 0x01, 0x00, 0x20]);
  c.portWrite(0x70, 1, 0x8b);
  assert.equal(c.nmiDisabled, true);
  c.portWrite(0x71, 1, 0x06); // binary, 24 h
  assert.equal(rd(4), 13);
  c.portWrite(0x70, 1, 0x0b); c.portWrite(0x71, 1, 0x04); // binary, 12 h
  assert.equal(c.nmiDisabled, false);
  assert.equal(rd(4), 0x81, '1 PM');
  c.portWrite(0x70, 1, 0x0b); c.portWrite(0x71, 1, 0x02); // BCD, 24 h
  c.portWrite(0x70, 1, 9); c.portWrite(0x71, 1, 0x26); // year 26
  assert.equal(rd(9), 0x26);
  ns += 2e9;
  assert.equal(rd(0), 0x09, 'the clock keeps running after being set');
  assert.equal(rd(0x0d), 0x80);
  assert.equal(rd(0x34) | (rd(0x35) << 8), (128 - 16) * 16, 'memory above 16 MiB in 64 KiB units');
});

test('reset ports: 0x92 bit 0 edge, 0xCF9 RST_CPU, i8042 0xFE; A20 and SYS_RST read back', () => {
  const seen: string[] = [];
  const r = new SystemReset((s) => seen.push(s));
  r.portWrite(0x92, 1, 2); assert.equal(r.a20, true); assert.equal(r.portRead(0x92), 2);
  r.portWrite(0x92, 1, 3);
  r.portWrite(0xcf9, 1, 2); assert.equal(r.portRead(0xcf9), 2);
  r.portWrite(0xcf9, 1, 6);
  r.portWrite(0x64, 1, 0xfe);
  assert.deepEqual(seen, ['port 0x92 bit 0', '0xCF9 RST_CPU', 'i8042 pulse reset (0xFE to port 0x64)']);
});

test('PCI host: CONFIG_ADDRESS read back, the i440FX at 00:00.0, all ones elsewhere, read-only IDs', () => {
  const p = new PciHost();
  p.portWrite(0xcf8, 4, 0x80000000);
  assert.equal(p.portRead(0xcf8, 4), 0x80000000);
  assert.equal(p.portRead(0xcfc, 4), 0x12378086);
  assert.equal(p.portRead(0xcfe, 2), 0x1237);
  p.portWrite(0xcfc, 4, 0);
  assert.equal(p.portRead(0xcfc, 4), 0x12378086);
  p.portWrite(0xcf8, 4, 0x80000008);
  assert.equal(p.portRead(0xcfc, 4) >>> 0, 0x06000002, 'class code, revision');
  p.portWrite(0xcf8, 4, 0x80000800); // device 1
  assert.equal(p.portRead(0xcfc, 4), 0xffffffff);
  p.portWrite(0xcf8, 4, 0x00000000); // not enabled
  assert.equal(p.portRead(0xcfc, 2), 0xffffffff);
});

test('ACPI PM: the 24-bit PM timer at 3.579545 MHz of virtual time, PM1 status write-1-to-clear, SLP_EN', () => {
  let ns = 0;
  const sleeps: number[] = [];
  const pm = new AcpiPm(() => ns, (t) => sleeps.push(t));
  ns = 1e9;
  assert.equal(pm.portRead(0xb008, 4), PM_TIMER_FREQUENCY & 0xffffff);
  ns = 10e9;
  assert.equal(pm.portRead(0xb008, 4), (PM_TIMER_FREQUENCY * 10) & 0xffffff, 'wraps at 24 bits');
  pm.pm1Status = 0x8001;
  pm.portWrite(0xb000, 2, 0x0001);
  assert.equal(pm.portRead(0xb000, 2), 0x8000);
  pm.portWrite(0xb004, 2, (5 << 10) | (1 << 13));
  assert.deepEqual(sleeps, [5]);
  assert.equal(pm.portRead(0xb004, 2) & (1 << 13), 0, 'SLP_EN reads 0');
});

function guest(source: string) {
  const r = assemble({ path: '/test/g.asm', source });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join());
  return r.image;
}

test('a guest resetting through port 0x92 ends the run (as QEMU -no-reboot), or resets the VM with reboot on', () => {
  const src = 'bits 16\norg 0x7c00\nmov dx, 0x3f8\nmov al, 0x52\nout dx, al\nmov al, 1\nout 0x92, al\nhlt\n';
  const m = new Machine(guest(src), {});
  assert.deepEqual(m.run(), { kind: 'system-event', event: 'reset', source: 'port 0x92 bit 0' });
  assert.equal(m.serial, 'R', 'COM1 output');
  assert.equal(m.exitLog[0].detail, 'out port=0x3f8 size=1', 'OUT DX, AL is a 1-byte access');
  const r = new Machine(guest(src), { reboot: true, maxInsns: 40 });
  assert.deepEqual(r.run(), { kind: 'limit' });
  assert.match(r.serial, /^R{2,}$/, 'the guest ran again from its entry after each reset (its output kept)');
  assert.ok(r.exitLog.filter((e) => /port=0x92/.test(e.detail)).length >= 2, 'reset more than once');
});

test('a guest reads the UART input the VMM queued (polling LSR.DR), and the RTC through 0x70/0x71', () => {
  const src = `bits 16
org 0x7c00
    mov dx, 0x3fd
wait:
    in al, dx
    test al, 1
    jz wait
    mov dx, 0x3f8
    in al, dx
    out 0xe9, al
    mov al, 0x0b
    out 0x70, al
    in al, 0x71
    out 0xe9, al
    mov al, 0
    out 0xf4, al
`;
  const m = new Machine(guest(src), {});
  assert.deepEqual(m.run(2000), { kind: 'slice' }, 'spins without input');
  m.platform.uart.receive('k');
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  assert.equal(m.output, 'k\x02');
});

test('ISA IRQ lines reach the in-kernel IOAPIC as on QEMU\'s pc machine: COM1 on GSI 4, IRQ0 on GSI 2 (the MADT override); nowhere without an irqchip', () => {
  const src = 'bits 16\norg 0x7c00\nhlt\n';
  const m = new Machine(guest(src), {});
  const io = m.vm.ioapic!;
  assert.ok(io, 'the default VMM creates the in-kernel irqchip');
  m.platform.setIrq(4, 1);
  assert.equal((io.irr >>> 4) & 1, 1, 'COM1 raised IRR bit 4 (pin masked: latched, not delivered)');
  m.platform.setIrq(4, 0);
  m.platform.setIrq(0, 1);
  assert.equal((io.irr >>> 2) & 1, 1, 'IRQ0 arrives on pin 2');
  assert.equal(io.irr & 1, 0, 'not on pin 0');
  const n = new Machine(guest(src), { irqchip: false });
  assert.equal(n.vm.ioapic ?? null, null);
  n.platform.setIrq(4, 1); // no irqchip: the line goes nowhere and nothing throws
});

test('the RTC runs on the VM\'s virtual clock (kvm/clock.ts), never the host\'s', () => {
  const m = new Machine(guest('bits 16\norg 0x7c00\nhlt\n'), {});
  const read = (reg: number) => { m.platform.cmos.portWrite(0x70, 1, reg); return m.platform.cmos.portRead(0x71); };
  const before = read(0);
  assert.equal(m.vm.clock.nowNs(), 0, 'no instruction retired yet');
  assert.equal(before, read(0), 'the seconds register does not move while the guest does not run');
});
