// examples/hyperv-synic-stimer.asm through the default VMM (Machine, hyperv: true): SynIC, a periodic
// synthetic timer taken with HLT, the reference TSC page against TIME_REF_COUNT, and HvPostMessage
// delivered by the VMM's message connection (hyperv-testdev) into the SIMP slot. Twice, identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm';

function image() {
  const r = assemble({ path: join(__dirname, '../../examples/hyperv-synic-stimer.asm') });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.image;
}

function runOnce(vendor: 'intel' | 'amd') {
  const m = new Machine(image(), { vendor, hyperv: true });
  const stop = m.run();
  const exits = m.exitLog.map((e) => `${e.kind}:${e.reason}@${e.rip.toString(16)} ${e.detail}`);
  return { m, stop, exits, icount: m.vcpus[0].cpu.icount, ns: m.vm.clock.nowNs() };
}

for (const vendor of ['intel', 'amd'] as const) {
  test(`examples/hyperv-synic-stimer.asm ${vendor}: five stimer ticks, TSC page = TIME_REF_COUNT, the posted message arrives`, () => {
    const a = runOnce(vendor);
    assert.deepEqual(a.stop, { kind: 'exit-port', code: 5 });
    assert.equal(a.m.output, 'T5P0SynIC ok');
    assert.ok(a.ns >= 5_000_000, `5 ms of virtual time passed (${a.ns} ns)`);
    assert.ok(a.icount < 5000, `HLT skipped to the deadlines: ${a.icount} instructions`);
    const hv = a.m.vm.hyperv;
    assert.equal(hv.hv_tsc_page_status, 3, 'TSC page set');
    assert.equal(a.m.vcpus[0].arch.hyperv!.stimer[0].fired, 5);
    assert.equal(a.m.hypervSynic!.posted, 1);
    assert.ok(a.exits.some((e) => e.includes('KVM_EXIT_HYPERV')), 'SYNIC and HCALL exits reached the VMM');
    const b = runOnce(vendor);
    assert.equal(b.m.output, a.m.output);
    assert.deepEqual(b.exits, a.exits, 'same exits at the same RIPs');
    assert.equal(b.icount, a.icount);
    assert.equal(b.ns, a.ns);
  });
}

test('examples/hyperv-synic-stimer.asm without hyperv: the SynIC MSRs #GP (no handler: triple fault)', () => {
  const m = new Machine(image(), {});
  assert.equal(m.run().kind, 'shutdown');
});
