// ICEBP (INT1) under KVM: VMX intercepts #DB, and the exit for ICEBP is on the instruction itself
// (an instruction intercept), so handle_exception_nmi skips it before queueing the #DB
// (kvm-unit-tests debug "Single-Step + ICEBP #DB w/ MOVSS blocking"). And entering the #DB
// handler clears DR7.GD, so a handler may read the debug registers after a general-detect #DB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, oneGateIdt } from './helpers';
import { KVM_EXIT_HLT } from '../../vm-core/kvm';

// VMX only: the SVM model does not handle ICEBP under its #DB intercept yet.
for (const vendor of ['intel'] as const) {
  test(`${vendor}: ICEBP delivers one trap-like #DB with the return address after it`, () => {
    const t = longModeGuest(vendor, `bits 64
org 0x100000
  lidt [rel idtr]
  xor r15d, r15d
  db 0xf1
after:
  hlt
db_handler:
  inc r15
  mov r14, [rsp]
  iretq
${oneGateIdt(1, 'db_handler')}`);
    assert.equal(runOnce(t.vcpu, 10_000), KVM_EXIT_HLT);
    const r = t.vcpu.getRegs();
    assert.equal(r.r15, 1n);
    assert.equal(r.r14, BigInt(t.syms.after));
  });
}

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: a general-detect #DB clears DR7.GD on entry to the handler, which may then use the debug registers`, () => {
    const t = longModeGuest(vendor, `bits 64
org 0x100000
  lidt [rel idtr]
  xor r15d, r15d
  mov eax, 0x2400
  mov dr7, rax
  mov rax, dr6          ; general detect: #DB before the MOV
  hlt
db_handler:
  inc r15
  mov rbx, dr7          ; GD is clear now: no second #DB
  mov rcx, dr6
  add qword [rsp], 3    ; skip the MOV from DR6
  iretq
${oneGateIdt(1, 'db_handler')}`);
    assert.equal(runOnce(t.vcpu, 10_000), KVM_EXIT_HLT);
    const r = t.vcpu.getRegs();
    assert.equal(r.r15, 1n);
    assert.equal(r.rbx & 0x2000n, 0n, 'DR7.GD cleared');
    assert.equal(r.rcx & 0x2000n, 0x2000n, 'DR6.BD');
  });
}
