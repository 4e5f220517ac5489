// MSRs whose presence follows the vCPU's CPUID or KVM's vPMU (x86.c kvm_get/set_msr_common,
// vmx/svm_get_msr): the legacy performance counters (K7 and P6) read 0 and drop writes without a
// vPMU, as kvm-unit-tests' pmu_init on AMD relies on; SPEC_CTRL and PRED_CMD #GP unless CPUID
// advertises them (guest_has_spec_ctrl_msr, guest_has_pred_cmd_msr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, kvm, oneGateIdt } from './helpers';
import { KVM_EXIT_HLT } from '../../vm-core/kvm';

/** Run `body` with a #GP handler that counts faults in R15 and skips the 2-byte RDMSR/WRMSR. */
function msrGuest(vendor: 'intel' | 'amd', body: string, specCtrl = false): { rax: bigint; gps: bigint } {
  const t = longModeGuest(vendor, `bits 64
org 0x100000
  lidt [rel idtr]
  xor r15d, r15d
${body}
  hlt
gp_handler:
  add rsp, 8
  add qword [rsp], 2
  inc r15
  iretq
${oneGateIdt(13, 'gp_handler')}`, { cpuid: false });
  const cpuid = kvm.getSupportedCpuid(vendor);
  if (specCtrl) { const e = cpuid.find((x) => x.function === 7); assert.ok(e); e.edx |= 1 << 26; }
  t.vcpu.setCpuid2(cpuid);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_HLT);
  const r = t.vcpu.getRegs();
  return { rax: r.rax, gps: r.r15 };
}

const WRITE_READ = (msr: number) => `  mov ecx, ${msr}\n  mov eax, 0x1234\n  xor edx, edx\n  wrmsr\n  mov eax, -1\n  rdmsr`;

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: the legacy performance-counter MSRs read 0 and drop writes without a vPMU (no #GP)`, () => {
    for (const msr of [0xc0010000, 0xc0010003, 0xc0010004, 0xc0010007, 0xc1, 0xc2, 0x186, 0x187]) {
      assert.deepEqual(msrGuest(vendor, WRITE_READ(msr)), { rax: 0n, gps: 0n }, `MSR 0x${msr.toString(16)}`);
    }
    assert.equal(msrGuest(vendor, WRITE_READ(0xc0010008)).gps, 2n); // past the four K7 counters: #GP
  });

  test(`${vendor}: SPEC_CTRL and PRED_CMD fault unless CPUID advertises them`, () => {
    assert.equal(msrGuest(vendor, WRITE_READ(0x48)).gps, 2n);
    assert.equal(msrGuest(vendor, WRITE_READ(0x49)).gps, 2n);
    assert.deepEqual(msrGuest(vendor, `  mov ecx, 0x48\n  mov eax, 1\n  xor edx, edx\n  wrmsr\n  xor eax, eax\n  rdmsr`, true), { rax: 1n, gps: 0n });
    assert.equal(msrGuest(vendor, `  mov ecx, 0x48\n  mov eax, 0x100\n  xor edx, edx\n  wrmsr`, true).gps, 1n); // reserved bit
    // PRED_CMD is write-only: IBPB accepted, the read faults.
    assert.equal(msrGuest(vendor, `  mov ecx, 0x49\n  mov eax, 1\n  xor edx, edx\n  wrmsr`, true).gps, 0n);
    assert.equal(msrGuest(vendor, `  mov ecx, 0x49\n  rdmsr`, true).gps, 1n);
  });
}
