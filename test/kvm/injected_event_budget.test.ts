// An exception KVM injects (kvm_inject_gp after an MSR exit) is delivered once, however the run's
// instruction budget falls: a run that ends without a VM exit right after the delivery (the host's
// own interrupt or preemption in KVM) leaves no IDT-vectoring information, so the next entry must
// not inject it again (vmx_complete_interrupts / svm_complete_interrupts clear the injected event).
// kvm-unit-tests' msr and msr64 failed this way: a second #GP arrived inside the #GP handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, oneGateIdt } from './helpers';
import { KVM_EXIT_HLT } from '../../vm-core/kvm';

const WRMSRS = 6;

function runSliced(vendor: 'intel' | 'amd', slice: number): { exit: number; gps: bigint; done: bigint } {
  const t = longModeGuest(vendor, `bits 64
org 0x100000
  lidt [rel idtr]
  xor r15d, r15d
  xor r14d, r14d
  mov ecx, 0x431          ; MC12_STATUS: no MCE banks, every access #GP
  xor eax, eax
  xor edx, edx
%rep ${WRMSRS}
  wrmsr
  inc r14
%endrep
  hlt
gp_handler:
  add rsp, 8
  add qword [rsp], 2
  inc r15
  iretq
${oneGateIdt(13, 'gp_handler')}`);
  let exit = -1;
  for (let k = 0; k < 500; k++) {
    const r = t.vcpu.run({ maxInsns: slice });
    if (r < 0) continue;
    exit = t.vcpu.kvm_run.exit_reason;
    if (exit === KVM_EXIT_HLT) break;
  }
  const regs = t.vcpu.getRegs();
  return { exit, gps: regs.r15, done: regs.r14 };
}

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: a #GP injected after an MSR exit is delivered once whatever the run budget`, () => {
    for (let slice = 1; slice <= 12; slice++) {
      assert.deepEqual(runSliced(vendor, slice), { exit: KVM_EXIT_HLT, gps: BigInt(WRMSRS), done: BigInt(WRMSRS) }, `slices of ${slice}`);
    }
  });
}
