// The register cache made stale by seed 001's pre-fix kvm_vcpu_reset, at the KVM API: regs_avail is
// stuffed to ~0 on INIT without refreshing vcpu->arch, so with unrestricted guest off vmx_set_rflags ->
// vmx_get_rflags returns the vmx->rflags KVM cached before the guest last changed its flags (Sean:
// "vmx_set_rflags() -> vmx_get_rflags() is consuming stale data"). The staleCache observer reports it;
// after the fix (or with unrestricted guest, where vmx_set_rflags does not read RFLAGS) nothing does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, setRealMode, loadAsm } from './helpers';
import type { StaleCacheEvent } from '../../vm-core/kvm/observers';

/** A real-mode vCPU that sets CF PF AF ZF (RFLAGS 0x57) and spins, then an INIT: the stale events seen. */
function initAfterFlagChange(options: { preFixSeed001: boolean; unrestrictedGuest: boolean }, getRegsFirst = false): StaleCacheEvent[] {
  const t = createVm('intel', { irqchip: true, options });
  const syms = loadAsm(t.mem, 'bits 16\norg 0x1000\nstart:\n mov al, 0xff\n add al, 1\nspin: jmp spin\n');
  setRealMode(t.vcpu, syms.start);
  assert.equal(t.vcpu.run({ maxInsns: 50 }), -4, 'the spin ends on the run budget (KVM_EXIT_INTR)');
  // KVM_GET_REGS would refresh the cache (vmx_get_rflags VMREADs RFLAGS, unavailable since the exit).
  if (getRegsFirst) assert.equal(t.vcpu.getRegs().rflags, 0x57n);
  const events: StaleCacheEvent[] = [];
  t.vm.observe({ staleCache: (e) => events.push(e) });
  assert.equal(t.vcpu.injectInit(), 0);
  t.vcpu.run({ maxInsns: 1 });
  return events;
}

test('seed 001 before the fix, unrestricted guest off: INIT reads a stale vmx->rflags (cached 0x2, VMCS 0x57)', () => {
  const events = initAfterFlagChange({ preFixSeed001: true, unrestrictedGuest: false });
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.deepEqual({ ...events[0], rip: undefined }, { vcpu: 0, reg: 21, name: 'EXREG_RFLAGS', cached: 0x2, actual: 0x57, rip: undefined });
  assert.equal(events[0].rip, 0x1004, 'the guest was at the spin when the INIT came');
});

test('after the fix, with unrestricted guest, or when the VMM read the registers (KVM_GET_REGS) first, INIT reads no stale register', () => {
  assert.deepEqual(initAfterFlagChange({ preFixSeed001: true, unrestrictedGuest: false }, true), []);
  assert.deepEqual(initAfterFlagChange({ preFixSeed001: false, unrestrictedGuest: false }), []);
  assert.deepEqual(initAfterFlagChange({ preFixSeed001: true, unrestrictedGuest: true }), []);
});
