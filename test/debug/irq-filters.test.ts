// Exit filters on interrupt events (debug/irq-events.ts): stop when an interrupt with a given
// vector is delivered (`vector == 0x20` for the PIT tick the 8259 supplies), on an LAPIC timer expiry
// and on an EOI; interrupts appear in the exit log (layer 'interrupt') and in the statistics per vector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EngineHarness, stopOf } from './helpers';
import { EXIT_FILTERS } from '../../vm-core/debug/exit-filters';

const PIT_GUEST = join(__dirname, '..', 'kvm', 'guests', 'pit-pic-real.asm');

test('irq-deliver with a condition stops at the handler of that vector; the log and statistics count deliveries per vector', async () => {
  assert.ok(['irq-deliver', 'irq-timer', 'irq-eoi'].every((f) => EXIT_FILTERS.some((d) => d.filter === f)));
  const h = EngineHarness.launch({ program: PIT_GUEST, entry: 'real' });
  const e = h.engine;
  assert.deepEqual([...e.setExitFilters([], [{ filterId: 'irq-deliver', condition: 'vector == 0x21' }])], []);
  const end = await h.cont();
  assert.ok('end' in end, 'no interrupt 0x21 ever: the guest runs to its end');
  const h2 = EngineHarness.launch({ program: PIT_GUEST, entry: 'real' });
  h2.engine.setExitFilters([], [{ filterId: 'irq-deliver', condition: 'vector == 0x20 && !nmi' }]);
  const s = stopOf(await h2.cont());
  assert.equal(s.reason, 'exception');
  assert.match(s.description, /^Interrupt delivered: interrupt 0x20 injected into vCPU 0 \(ExtINT from the 8259\)/);
  assert.equal(s.exit!.fields.extint, 1n);
  const v = h2.engine.machine.vcpus[0];
  const tick = h2.engine.symbolAddress('tick')!;
  assert.equal(v.cpu.rip, tick, 'stopped at the first instruction of the IVT handler');
  h2.engine.setExitFilters([], []);
  await h2.cont();
  const stats = h2.engine.statistics().byReason;
  assert.equal(stats.find((r) => r.reason === 'INTERRUPT 0x20')?.count, 6);
  const log = h2.engine.exitLog().filter((r) => r.layer === 'interrupt');
  assert.equal(log.length, 6);
  assert.equal(log[0].reason, 'INTERRUPT');
});

test('irq-timer and irq-eoi: LAPIC timer expiry and the EOI, with conditions on vector and mode', async () => {
  const src = join(__dirname, 'guests', 'lapic-periodic.asm');
  const h = EngineHarness.launch({ program: src, entry: 'long' });
  h.engine.setExitFilters([], [{ filterId: 'irq-timer', condition: 'vector == 0x40 && mode == 1' }]);
  const s = stopOf(await h.cont());
  assert.match(s.description, /^LAPIC timer expired: LAPIC timer \(periodic\) expired on vCPU 0: vector 0x40/);
  h.engine.setExitFilters([], [{ filterId: 'irq-eoi', condition: 'vector == 0x40 && level == 0' }]);
  const s2 = stopOf(await h.cont());
  assert.match(s2.description, /^EOI: EOI of 0x40 on vCPU 0/);
  assert.deepEqual(s2.exit!.handlers?.slice(0, 2), ['kvm_lapic_reg_write(APIC_EOI)', 'apic_set_eoi']);
  h.engine.setExitFilters([], [{ filterId: 'irq-eoi', condition: 'vector == 0x41' }]);
  const end = await h.cont();
  assert.ok('end' in end);
  const byReason = h.engine.statistics().byReason;
  assert.equal(byReason.find((r) => r.reason === 'TIMER 0x40')?.count, 4);
  assert.equal(byReason.find((r) => r.reason === 'EOI 0x40')?.count, 4);
});
