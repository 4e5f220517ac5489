// Port of the non-nested part of tools/testing/selftests/kvm/x86/triple_fault_event_test.c and of
// kvm_vcpu_ioctl_x86_set_vcpu_events' checks: with KVM_CAP_X86_TRIPLE_FAULT_EVENT, userspace sees
// KVM_VCPUEVENT_VALID_TRIPLE_FAULT and can make a triple fault pending, which the next KVM_RUN
// turns into KVM_EXIT_SHUTDOWN; without the cap the flag is -EINVAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as U from '../../vm-core/kvm';
import { longModeGuest, runOnce } from './helpers';

const guest = `
bits 64
org 0x100000
start:
    out 0x80, al            ; stop here: userspace injects the triple fault
    out 0xf4, al
`;

for (const vendor of ['intel', 'amd'] as const) {
  test(`triple_fault_event ${vendor}: KVM_SET_VCPU_EVENTS triple_fault.pending -> KVM_EXIT_SHUTDOWN`, () => {
    const t = longModeGuest(vendor, guest);
    assert.equal(t.vm.checkExtension(U.KVM_CAP_X86_TRIPLE_FAULT_EVENT), 1);
    assert.equal(t.vm.enableCap({ cap: U.KVM_CAP_X86_TRIPLE_FAULT_EVENT, args: [1] }), 0);
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
    const ev = t.vcpu.getVcpuEvents();
    assert.ok(ev.flags & U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 'Triple fault event valid');
    assert.equal(ev.triple_fault.pending, 0);
    ev.flags |= U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
    ev.triple_fault.pending = 1;
    assert.equal(t.vcpu.setVcpuEvents(ev), 0);
    assert.equal(t.vcpu.getVcpuEvents().triple_fault.pending, 1);
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_SHUTDOWN);
    assert.equal(t.vcpu.getVcpuEvents().triple_fault.pending, 0);
  });
}

test('triple_fault_event: pending 0 clears a requested triple fault; the guest goes on', () => {
  const t = longModeGuest('intel', guest);
  t.vm.enableCap({ cap: U.KVM_CAP_X86_TRIPLE_FAULT_EVENT, args: [1] });
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  const ev = t.vcpu.getVcpuEvents();
  ev.flags = U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
  ev.triple_fault.pending = 1;
  t.vcpu.setVcpuEvents(ev);
  ev.triple_fault.pending = 0;
  assert.equal(t.vcpu.setVcpuEvents(ev), 0);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
});

test('triple_fault_event: without the cap VALID_TRIPLE_FAULT is not reported and setting it is -EINVAL; unknown flags -EINVAL', () => {
  const t = longModeGuest('intel', guest);
  const ev = t.vcpu.getVcpuEvents();
  assert.equal(ev.flags & U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0);
  ev.flags |= U.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
  ev.triple_fault.pending = 1;
  assert.equal(t.vcpu.setVcpuEvents(ev), -U.EINVAL);
  assert.equal(t.vcpu.setVcpuEvents({ ...t.vcpu.getVcpuEvents(), flags: 0x40 }), -U.EINVAL);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO, 'no triple fault was requested');
});
