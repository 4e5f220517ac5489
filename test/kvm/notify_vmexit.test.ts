// Seed 004: Notify VM exits. KVM_CAP_X86_NOTIFY_VMEXIT's validation (x86.c kvm_vm_ioctl_enable_cap),
// the processor's count of time without an instruction boundary (cpu/events.ts), KVM's handle_notify
// (resume silently, or KVM_EXIT_NOTIFY with USER or an invalid context) and the default VMM's
// policies, on the two loop guests of examples/: the #AC loop (never commits: context valid) and
// the #DB loop (every delivery commits: the context is invalid when the exit lands after a commit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine, MachineConfigError } from '../../vm-core/vmm/machine';
import * as U from '../../vm-core/kvm';
import { createVm } from './helpers';
import { NOTIFY_INTERNAL_THRESHOLD } from '../../vm-core/cpu/events';

function image(name: string) {
  const r = assemble({ path: join(__dirname, '../../examples', name) });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.image;
}
const kvmExits = (m: Machine) => m.exitLog.filter((e) => e.kind === 'kvm').map((e) => e.reason);
const hwExits = (m: Machine, name: string) => m.exitLog.filter((e) => e.kind === 'hw' && e.reason === name).length;
const AC = 'seed004-notify-ac-loop.asm', DB = 'seed004-notify-db-loop.asm';
const noIntercept = { interceptAcDb: false };

test('KVM_CAP_X86_NOTIFY_VMEXIT: check-extension and enable-cap validation (Intel)', () => {
  const { vm } = createVm('intel', { vcpus: 0 });
  assert.equal(vm.checkExtension(U.KVM_CAP_X86_NOTIFY_VMEXIT), 1);
  const en = (arg: bigint, flags?: number) => vm.enableCap({ cap: U.KVM_CAP_X86_NOTIFY_VMEXIT, flags, args: [arg] });
  assert.equal(en(0x100000004n), -U.EINVAL, 'unknown flag bit');
  assert.equal(en(0x100000000n), -U.EINVAL, 'ENABLED clear');
  assert.equal(en(0x100000002n), -U.EINVAL, 'USER without ENABLED');
  assert.equal(en(0x100000001n, 1), -U.EINVAL, 'kvm_enable_cap.flags != 0');
  assert.equal(en((1234n << 32n) | 3n), 0);
  assert.equal(vm.notifyWindow, 1234);
  assert.equal(vm.notifyVmexitFlags, U.KVM_X86_NOTIFY_VMEXIT_ENABLED | U.KVM_X86_NOTIFY_VMEXIT_USER);
  vm.createVcpu(0);
  assert.equal(en(0x100000001n), -U.EINVAL, 'after a vCPU exists');
});

test('KVM_CAP_X86_NOTIFY_VMEXIT on AMD: check-extension 0, enable -EINVAL, the Machine says why', () => {
  const { vm } = createVm('amd', { vcpus: 0 });
  assert.equal(vm.checkExtension(U.KVM_CAP_X86_NOTIFY_VMEXIT), 0);
  assert.equal(vm.enableCap({ cap: U.KVM_CAP_X86_NOTIFY_VMEXIT, args: [0x100000001n] }), -U.EINVAL);
  assert.throws(() => new Machine(image(AC), { vendor: 'amd', notifyWindow: 0 }), (e: unknown) =>
    e instanceof MachineConfigError && /KVM_CAP_X86_NOTIFY_VMEXIT.*-EINVAL.*Intel-only/.test(e.message));
});

test('VMCS: SECONDARY_EXEC_NOTIFY_VM_EXITING and NOTIFY_WINDOW only when the cap is enabled', () => {
  const on = createVm('intel', { vcpus: 0 });
  on.vm.enableCap({ cap: U.KVM_CAP_X86_NOTIFY_VMEXIT, args: [(77n << 32n) | 1n] });
  const v = on.vm.createVcpu(0) as U.KvmVcpu;
  const f = (vc: U.KvmVcpu, enc: number) => vc.controlBlock().find((x) => x.encoding === enc)?.value ?? 0;
  assert.ok((f(v, U.VMCS.SECONDARY_VM_EXEC_CONTROL) & U.VMCS.SECONDARY_EXEC_NOTIFY_VM_EXITING) !== 0);
  assert.equal(f(v, U.VMCS.NOTIFY_WINDOW), 77);
  const off = createVm('intel');
  assert.equal(f(off.vcpu, U.VMCS.SECONDARY_VM_EXEC_CONTROL) & U.VMCS.SECONDARY_EXEC_NOTIFY_VM_EXITING, 0);
});

test('#AC loop, KVM intercepting #AC (default): an EXCEPTION_NMI exit storm, no progress, the run ends at its limit', () => {
  const m = new Machine(image(AC), { maxInsns: 2000, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'limit' });
  assert.equal(m.output, 'S');
  assert.ok(hwExits(m, 'EXIT_REASON_EXCEPTION_NMI') > 100);
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO']);
});

test('#AC loop inside the processor (no intercept, no notify): the vCPU really hangs', () => {
  const m = new Machine(image(AC), { maxInsns: 2000, vm: noIntercept, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'limit' });
  const v = m.vcpus[0];
  assert.equal(v.stalled, true);
  assert.ok(v.cpu.noBoundaryCount > 1000, 'every unit went to #AC deliveries');
  assert.equal(hwExits(m, 'EXIT_REASON_EXCEPTION_NMI') + hwExits(m, 'EXIT_REASON_NOTIFY'), 0);
  // KVM_RUN keeps returning -EINTR (KVM_EXIT_INTR) without retiring anything.
  const before = v.cpu.icount;
  assert.equal(v.run({ maxInsns: 500 }), -U.EINTR);
  assert.equal(v.kvm_run.exit_reason, U.KVM_EXIT_INTR);
  assert.equal(v.cpu.icount, before);
});

test('#AC loop with notify, USER off: NOTIFY exits with a valid context are resumed silently by KVM', () => {
  const m = new Machine(image(AC), { maxInsns: 2000, vm: noIntercept, notifyWindow: 0, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'limit' });
  assert.ok(hwExits(m, 'EXIT_REASON_NOTIFY') > 10);
  assert.ok((m.vcpus[0].stats.notifyWindowExits ?? 0) > 10);
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO'], 'none reached userspace');
});

test('#AC loop with notify and USER: KVM_EXIT_NOTIFY, flags 0; the #AC is re-queued for injection; policy stop', () => {
  const m = new Machine(image(AC), { vm: noIntercept, notifyWindow: 0, notifyUser: true, logHardwareExits: true });
  const hw: { info1: number }[] = [];
  m.vm.observe({ hwExit: (e) => { if (e.code === 75) hw.push(e); } });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0];
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY']);
  assert.equal(v.kvm_run.notify.flags, 0);
  assert.equal(hw.length, 1);
  assert.equal(hw[0].info1 & 1, 0, 'exit qualification: VM context valid');
  const ev = v.getVcpuEvents();
  assert.equal(ev.exception.injected, 1);
  assert.equal(ev.exception.nr, U.AC_VECTOR);
  assert.equal(v.cpu.noBoundaryCount, 0, 'the window restarts at VM entry');
});

test('#AC loop with notify, USER and policy resume: every notify exit reaches userspace and is resumed', () => {
  const m = new Machine(image(AC), { maxInsns: 1000, vm: noIntercept, notifyWindow: 0, notifyUser: true, notifyPolicy: 'resume' });
  assert.deepEqual(m.run(), { kind: 'limit' });
  const n = kvmExits(m).filter((r) => r === 'KVM_EXIT_NOTIFY').length;
  assert.ok(n > 10, `${n} KVM_EXIT_NOTIFY`);
});

test('the window reaches the processor: intercepts.notifyWindow from NOTIFY_WINDOW (count > window + internal threshold)', () => {
  for (const w of [0, 5, 40]) {
    const m = new Machine(image(AC), { vm: noIntercept, notifyWindow: w, notifyUser: true });
    m.run();
    const v = m.vcpus[0];
    assert.equal(v.kvm_run.exit_reason, U.KVM_EXIT_NOTIFY, `window ${w}`);
    assert.equal(v.cpu.intercepts.notify, true);
    assert.equal(v.cpu.intercepts.notifyWindow, w);
  }
  assert.equal(NOTIFY_INTERNAL_THRESHOLD, 8);
});

test('#DB loop, odd window: the exit lands after a delivery committed state: KVM_EXIT_NOTIFY with CONTEXT_INVALID, USER off', () => {
  const m = new Machine(image(DB), { vm: noIntercept, notifyWindow: 1, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  assert.equal(m.output, 'S');
  const v = m.vcpus[0];
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY']);
  assert.equal(v.kvm_run.notify.flags, U.KVM_NOTIFY_CONTEXT_INVALID);
  assert.equal(v.cpu.seg[1].selector, 8);
  assert.equal(v.getRegs().rip, BigInt(m.image!.symbols.find((s) => s.name === 'db_handler')!.addr), 'CS:RIP already the handler');
});

test('#DB loop, even window: the exit lands at the start of a delivery (context valid) and KVM resumes silently', () => {
  const m = new Machine(image(DB), { maxInsns: 1000, vm: noIntercept, notifyWindow: 0, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'limit' });
  assert.ok(hwExits(m, 'EXIT_REASON_NOTIFY') > 10);
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO']);
});

test('#DB loop, KVM intercepting #DB (default): an EXCEPTION_NMI storm, never a notify exit', () => {
  const m = new Machine(image(DB), { maxInsns: 1000, notifyWindow: 1, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'limit' });
  assert.ok(hwExits(m, 'EXIT_REASON_EXCEPTION_NMI') > 100);
  assert.equal(hwExits(m, 'EXIT_REASON_NOTIFY'), 0);
});

test('policy shutdown: an invalid context becomes a SHUTDOWN through KVM_SET_VCPU_EVENTS (needs KVM_CAP_X86_TRIPLE_FAULT_EVENT)', () => {
  const m = new Machine(image(DB), { vm: noIntercept, notifyWindow: 1, tripleFaultEvent: true, notifyPolicy: 'shutdown' });
  assert.deepEqual(m.run(), { kind: 'shutdown' });
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY', 'KVM_EXIT_SHUTDOWN']);
  // Without the cap, KVM refuses the triple-fault event (-EINVAL) and the VMM stops instead.
  const n = new Machine(image(DB), { vm: noIntercept, notifyWindow: 1, notifyPolicy: 'shutdown' });
  assert.deepEqual(n.run(), { kind: 'stopped', vcpu: 0 });
  assert.deepEqual(kvmExits(n), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY']);
});

test('#DB loop: the pending data-breakpoint trap is VMCS state (GUEST_PENDING_DBG_EXCEPTIONS B0) and a VM RESET clears it', () => {
  const m = new Machine(image(DB), { vm: noIntercept, notifyWindow: 1, logHardwareExits: true });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0];
  const pending = () => v.controlBlock().find((x) => x.encoding === U.VMCS.GUEST_PENDING_DBG_EXCEPTIONS)?.value;
  assert.equal(pending(), 1, 'the #DB frame push hit DR0: B0 pending when the notify exit came');
  // Before the fix the pending trap survived RESET: the first instruction after it raised #DB
  // through an empty IDT and the VM triple-faulted.
  m.resetVm();
  assert.equal(pending(), 0);
  m.exitLog.length = 0;
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  assert.equal(m.output, 'S');
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY']);
});
