// Seed 002 end to end: examples/seed002-hyperv-overlay.asm through the default VMM, with the
// hypercall page written into guest memory (KVM today) and as an overlay (the proposed capability).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm';
import * as U from '../../vm-core/kvm';

function image(name: string) {
  const r = assemble({ path: join(__dirname, '../../examples', name) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.image;
}
const kvmExits = (m: Machine) => m.exitLog.filter((e) => e.kind === 'kvm').map((e) => e.reason);

for (const vendor of ['intel', 'amd'] as const) {
  const third = vendor === 'intel' ? '\xc1' : '\xd9';
  test(`examples/seed002-hyperv-overlay.asm ${vendor}, legacy: KVM writes the code into the page, the pattern is destroyed`, () => {
    const m = new Machine(image('seed002-hyperv-overlay.asm'), { vendor, hyperv: true });
    assert.deepEqual(m.run(), { kind: 'exit-port', code: 0x0f });
    assert.equal(m.output, '0' + third + 'D');
    assert.deepEqual([...m.mem.subarray(0x300000, 0x300005)], [0x0f, 0x01, vendor === 'intel' ? 0xc1 : 0xd9, 0xc3, 0xa5]);
    assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_IO', 'KVM_EXIT_IO', 'KVM_EXIT_IO']);
  });

  test(`examples/seed002-hyperv-overlay.asm ${vendor}, overlay: KVM_EXIT_HYPERV_OVERLAY, the VMM overlays the page, the pattern comes back`, () => {
    const m = new Machine(image('seed002-hyperv-overlay.asm'), { vendor, hyperv: true, hypervOverlay: true });
    const overlays: { msr: number; gpa: bigint; data: number[] }[] = [];
    let underneath: number[] = [];
    m.onExit = (_v, run) => {
      if (run.exit_reason !== U.KVM_EXIT_HYPERV) return;
      assert.equal(run.hyperv.type, U.KVM_EXIT_HYPERV_OVERLAY);
      const o = run.hyperv.u.overlay;
      overlays.push({ msr: o.msr, gpa: o.gpa, data: [...o.data.subarray(0, o.data_len)] });
    };
    let sawOverlay = false;
    m.vm.observe({ userExit: (v, run) => {
      if (run.exit_reason === U.KVM_EXIT_IO && v.vm.bus.isOverlay(0x300000)) {
        sawOverlay = true;
        underneath = [...v.vm.bus.readLayer(0x300000, 4, 'underlying')];
        assert.deepEqual([...v.vm.bus.readLayer(0x300000, 4, 'visible')], [0x0f, 0x01, vendor === 'intel' ? 0xc1 : 0xd9, 0xc3]);
      }
    } });
    assert.deepEqual(m.run(), { kind: 'exit-port', code: 0xa5 });
    assert.equal(m.output, '0' + third + 'I');
    assert.ok(sawOverlay);
    assert.deepEqual(underneath, [0xa5, 0xa5, 0xa5, 0xa5], 'the guest page stays intact under the overlay');
    assert.deepEqual(overlays, [
      { msr: 0x40000001, gpa: 0x300001n, data: [0x0f, 0x01, vendor === 'intel' ? 0xc1 : 0xd9, 0xc3] },
      { msr: 0x40000001, gpa: 0x300000n, data: [] },
    ]);
    assert.deepEqual(kvmExits(m), ['KVM_EXIT_HYPERV', 'KVM_EXIT_IO', 'KVM_EXIT_IO', 'KVM_EXIT_HYPERV', 'KVM_EXIT_IO', 'KVM_EXIT_IO']);
    assert.deepEqual(m.vm.bus.overlayPages(), []);
  });
}

test('seed002 without Hyper-V in CPUID: the MSR write is #GP (no handler: triple fault -> shutdown)', () => {
  const m = new Machine(image('seed002-hyperv-overlay.asm'), {});
  assert.deepEqual(m.run(), { kind: 'shutdown' });
});
