// Guests the project writes (test/kvm/guests/*.asm) on the default VMM: a PIT-driven tick through
// the 8259 in real mode (IVT, EOI) and in protected mode (IDT, auto-EOI, periodic then one-shot),
// and an IOAPIC level interrupt raised through pc-testdev and EOIed through the LAPIC. Each runs
// twice: byte-identical output, exit trace, interrupt trace and virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import type { EntryMode } from '../../vm-core/vmm/boot';

function runGuest(file: string, entry: EntryMode) {
  const path = join(__dirname, 'guests', file);
  const r = assemble({ path, source: readFileSync(path, 'utf8') });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n'));
  const m = new Machine(r.image, { entry, memSize: 4 << 20, maxInsns: 5_000_000 });
  const irqs: string[] = [];
  m.vm.injectObserver = (v, vec, kind) => irqs.push(`${kind}:${vec}@${v.cpu.icount}/${m.vm.clock.cycles()}`);
  const stop = m.run();
  return {
    stop, output: m.output, irqs, cycles: m.vm.clock.cycles(), idle: m.vm.clock.idleCycles,
    log: m.exitLog.map((e) => `${e.kind}:${e.reason}:${e.detail}@${e.rip.toString(16)}`), pit: m.vm.pit!,
  };
}

test('real mode: PIT channel 0 (mode 2, 1 kHz) ticks through the PIC and the IVT while the CPU halts; twice the same', () => {
  const a = runGuest('pit-pic-real.asm', 'real');
  assert.deepEqual(a.stop, { kind: 'exit-port', code: 6 });
  // Six ticks, then the read-back status of channel 0: OUT (bit 7) | LSB/MSB (0x30) | mode 2 (0x04).
  assert.match(a.output, /^abcdef[\x34\xb4]$/);
  assert.equal(a.irqs.length, 6);
  assert.ok(a.irqs.every((s) => s.startsWith('extint:32@')), a.irqs.join(' '));
  assert.ok(a.idle > 0, 'HLT skipped virtual time to the PIT deadline');
  // 6 ticks of 1193 PIT clocks at 1.193182 MHz: about 6 ms of virtual time (12M cycles at 2 GHz).
  assert.ok(a.cycles > 11_900_000 && a.cycles < 12_200_000, String(a.cycles));
  const b = runGuest('pit-pic-real.asm', 'real');
  assert.deepEqual({ ...b, pit: 0 }, { ...a, pit: 0 });
});

test('protected mode: auto-EOI master, PIT mode 3 then a mode 0 one-shot; twice the same', () => {
  const a = runGuest('pit-pic-prot.asm', 'protected');
  assert.deepEqual(a.stop, { kind: 'exit-port', code: 7 });
  assert.equal(a.output, '123457', 'the 6th count is the guest arming the one-shot');
  assert.ok(a.irqs.every((s) => s.startsWith('extint:48@')), 'the 8259 supplied the vector through LINT0');
  assert.equal(a.pit.armed, false, 'the one-shot is spent');
  const b = runGuest('pit-pic-prot.asm', 'protected');
  assert.deepEqual({ ...b, pit: 0 }, { ...a, pit: 0 });
});

test('IOAPIC level interrupt with EOI: Remote IRR set in the handler, clear after the LAPIC EOI; twice the same', () => {
  const a = runGuest('ioapic-level.asm', 'protected');
  assert.deepEqual(a.stop, { kind: 'exit-port', code: 3 });
  assert.equal(a.output, 'RqRqRq');
  assert.deepEqual(a.irqs.map((s) => s.split('@')[0]), ['irq:80', 'irq:80', 'irq:80']);
  const b = runGuest('ioapic-level.asm', 'protected');
  assert.deepEqual({ ...b, pit: 0 }, { ...a, pit: 0 });
});
