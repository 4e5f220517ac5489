// The KVM model on top of the processor's VMX/SVM semantics: event injection at VM entry, the
// emulator's single step, CR0 guest/host ownership, SVM CR intercepts and window exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, ioByte } from './helpers';
import { KVM_EXIT_IO, UD_VECTOR } from '../../vm-core/kvm';

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: an exception injected with KVM_SET_VCPU_EVENTS reaches the guest although #UD is intercepted`, () => {
    const t = longModeGuest(vendor, `bits 64
org 0x100000
  lidt [rel idtr]
  out 0x10, al
  mov eax, 1
  out 0xf4, al
  hlt
ud_handler:
  mov eax, ${UD_VECTOR}
  out 0xf4, al
  hlt
idtr: dw 255
  dq idt
idt: times ${UD_VECTOR} dq 0, 0
  dw ud_handler & 0xffff, 8, 0x8e00, (ud_handler >> 16) & 0xffff
  dd 0, 0
`);
    assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.io.port, 0x10);
    const ev = t.vcpu.getVcpuEvents();
    ev.exception.injected = 1; ev.exception.nr = UD_VECTOR; ev.exception.has_error_code = 0;
    assert.equal(t.vcpu.setVcpuEvents(ev), 0);
    const exits = t.vcpu.stats.exits;
    assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
    assert.equal(ioByte(t.vcpu), UD_VECTOR, 'the guest handler ran');
    assert.equal(t.vcpu.stats.exits - exits, 1, 'no #UD intercept on the way (only the OUT)');
  });
}
