// KVM_EXIT_IO reports the access size of the accumulator operand: OUT DX, AL is one byte (not the
// size of DX), OUT DX, EAX four; IN likewise (SDM Vol. 2 IN/OUT; kvm_run io.size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce } from './helpers';
import { KVM_EXIT_IO } from '../../vm-core/kvm';

const CASES: [string, number][] = [
  ['out dx, al', 1], ['out dx, ax', 2], ['out dx, eax', 4], ['out 0x80, al', 1], ['out 0x80, ax', 2], ['out 0x80, eax', 4],
  ['in al, dx', 1], ['in ax, dx', 2], ['in eax, dx', 4],
];

for (const vendor of ['intel', 'amd'] as const) {
  test(`KVM_EXIT_IO io.size is the accumulator's size (${vendor})`, () => {
    for (const [insn, size] of CASES) {
      const { vcpu } = longModeGuest(vendor, `bits 64\norg 0x100000\nmov dx, 0x3f8\nmov eax, 0x44434241\n${insn}\nhlt\n`);
      assert.equal(runOnce(vcpu), KVM_EXIT_IO, insn);
      assert.equal(vcpu.kvm_run.io.size, size, insn);
      if (insn.startsWith('out')) {
        const run = vcpu.kvm_run;
        assert.deepEqual([...run.data.subarray(run.io.data_offset, run.io.data_offset + size)], [0x41, 0x42, 0x43, 0x44].slice(0, size), insn);
      }
    }
  });
}
