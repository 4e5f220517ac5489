// The entry/exit stubs copy each GPR as one 64-bit pattern through Float64Array views
// (vcpu_run_common.ts syncGprsToCpu / syncGprsFromCpu). A float load and store must never alter
// the bits: these are the patterns an engine could canonicalise (signalling and quiet NaNs with
// payloads, both signs, infinities, all ones), checked in both directions on both vendors, and
// often enough that the copy functions run optimised as well as interpreted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce } from './helpers';
import { KVM_EXIT_IO } from '../../vm-core/kvm';

const PATTERNS = [
  0x7ff0000000000001n, 0x7ff4000000000000n, 0x7ff8000000000000n, 0x7fffffffffffffffn, 0xfff0000000000001n,
  0xfff8000000000000n, 0xffffffffffffffffn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff00000deadbeefn,
  0x8000000000000000n, 0x0000000000000001n, 0xfff7ffffffffffffn, 0x7ff8000000000001n,
];
const GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

for (const vendor of ['intel', 'amd'] as const) {
  test(`GPR entry/exit copies keep NaN bit patterns exact (${vendor})`, () => {
    // The guest exits to userspace on every OUT; the GPRs pass through entry and exit each time.
    const { vcpu } = longModeGuest(vendor, 'bits 64\norg 0x100000\nloop: out 0x80, al\njmp loop\n');
    for (let round = 0; round < 3000; round++) {
      const regs = vcpu.getRegs();
      GPRS.forEach((r, k) => { regs[r] = PATTERNS[(k + round) % PATTERNS.length]; });
      vcpu.setRegs(regs);
      assert.equal(runOnce(vcpu), KVM_EXIT_IO);
      const back = vcpu.getRegs();
      GPRS.forEach((r, k) => assert.equal(back[r], PATTERNS[(k + round) % PATTERNS.length], `${r} round ${round}`));
    }
  });

  test(`GPR values the guest writes reach KVM_GET_REGS exactly (${vendor})`, () => {
    const src = ['bits 64', 'org 0x100000',
      ...GPRS.filter((r) => r !== 'rax').map((r, k) => `mov ${r}, 0x${PATTERNS[k % PATTERNS.length].toString(16)}`),
      'mov rax, 0xfff0000000000001', 'out 0x80, al', 'hlt'].join('\n');
    const { vcpu } = longModeGuest(vendor, src);
    assert.equal(runOnce(vcpu), KVM_EXIT_IO);
    const back = vcpu.getRegs();
    GPRS.filter((r) => r !== 'rax').forEach((r, k) => assert.equal(back[r], PATTERNS[k % PATTERNS.length], r));
    assert.equal(back.rax, 0xfff0000000000001n);
  });
}
