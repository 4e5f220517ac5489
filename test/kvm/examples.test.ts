// The examples/ guests, run headless through the default VMM (vm-core/vmm Machine), one per seed.
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
  test(`examples/seed000-hypercall-patching.asm ${vendor}: patched, RAX 0, native third byte`, () => {
    const m = new Machine(image('seed000-hypercall-patching.asm'), { vendor });
    assert.deepEqual(m.run(), { kind: 'exit-port', code: vendor === 'intel' ? 0xc1 : 0xd9 });
    // On AMD the example's VMMCALL is already native: no patching.
    assert.equal(m.output, '0');
    assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_IO']);
  });
}
test('examples/seed000-hypercall-patching.asm: quirk off -> #UD handler', () => {
  const m = new Machine(image('seed000-hypercall-patching.asm'), { vendor: 'intel', disableQuirks: U.KVM_X86_QUIRK_FIX_HYPERCALL_INSN });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 6 });
  assert.equal(m.output, 'U');
});

test('examples/seed001-reset-init.asm: INIT + SIPI start the AP at 0900:0000 with CR0 CD/NW from RESET', () => {
  const m = new Machine(image('seed001-reset-init.asm'), { vcpus: 2 });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0x10 });
  assert.equal(m.output, 'A');
  assert.equal(m.vcpus[1].getSregs().cs.selector, 0x0900);
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_IO']);
});

test('examples/seed003-map-gpa-range.asm: KVM_EXIT_HYPERCALL, the reply edited by a hook lands in RAX', () => {
  const m = new Machine(image('seed003-map-gpa-range.asm'), { exitHypercall: 1 << U.KVM_HC_MAP_GPA_RANGE });
  m.onExit = (_v, run) => { if (run.exit_reason === U.KVM_EXIT_HYPERCALL) { assert.deepEqual(run.hypercall.args.slice(0, 3), [0x200000n, 16n, 0x10n]); run.hypercall.ret = 0x2an; } };
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0x2a });
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_HYPERCALL', 'KVM_EXIT_IO']);
  const off = new Machine(image('seed003-map-gpa-range.asm'), {});
  assert.deepEqual(off.run(), { kind: 'exit-port', code: (-U.KVM_ENOSYS) & 0xff });
});
