// Executing from MMIO: the first fetch is an EPT violation (NPF), later ones an EPT misconfiguration
// (KVM installed an MMIO SPTE). Either way KVM cannot emulate a fetch: KVM_EXIT_INTERNAL_ERROR, and
// the model must not recurse into its emulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../vm-core/vmm/machine';
import { assemble } from '../../vm-core/loader/assemble';

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: a read then a jump into an MMIO page ends in KVM_EXIT_INTERNAL_ERROR`, () => {
    const r = assemble({ path: 'mmio-fetch.asm', source: 'bits 64\norg 0x100000\nmov eax, [0x20000000]\nmov eax, 0x20000000\njmp rax\n' });
    assert.ok(r.ok);
    const m = new Machine(r.ok ? r.image : null, { vendor, memSize: 16 << 20, entry: 'long' });
    const stop = m.run();
    assert.equal(stop.kind, 'internal-error');
  });
}
