// Nested VMX (vm-core/kvm/vmx/nested.ts, after arch/x86/kvm/vmx/nested.c): an L1 hypervisor
// written for this project runs an L2 and handles its CPUID, VMCALL, I/O and HLT exits; the VMX
// instructions' VMsucceed/VMfail outcomes; seed 004's nested half (a notify exit from L2 with an
// invalid context goes to L0's userspace, whose SHUTDOWN becomes a TRIPLE_FAULT exit to L1, while
// the same loop in L1 ends in KVM_EXIT_SHUTDOWN); seed 001's question of RESET and INIT with L2 live;
// and the debugger's view of the levels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { Machine } from '../../vm-core/vmm/machine';
import * as U from '../../vm-core/kvm';
import type { Vmx } from '../../vm-core/kvm/vmx/vmx';
import { kvm } from './helpers';
import { VMCS12_REVISION } from '../../vm-core/kvm/vmx/vmcs12';
import { nestedLevel, nestedNodes } from '../../vm-core/debug/nested-scope';

function image(path: string) {
  const r = assemble({ path });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.image;
}
const L1 = join(__dirname, '../../examples/nested-vmx-l1.asm');
const NOTIFY = join(__dirname, '../../examples/nested-vmx-notify.asm');
const DB_LOOP = join(__dirname, '../../examples/seed004-notify-db-loop.asm');
const ERRORS = join(__dirname, 'guests/nested-vmx-errors.asm');
const vmxOf = (m: Machine) => m.vcpus[0].ops as unknown as Vmx;
const kvmExits = (m: Machine) => m.exitLog.filter((e) => e.kind === 'kvm').map((e) => e.reason);
const dword = (m: Machine, gpa: number) => new DataView(m.vm.bus.read(gpa, 4).buffer).getUint32(0, true);

test('an L1 hypervisor runs L2: CPUID, VMCALL and port 0x80 go to L1, port 0xE9 to L0 userspace, HLT ends it', () => {
  const m = new Machine(image(L1), { maxInsns: 200_000, vm: { nested: true } });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 0 });
  // L2 writes a b c d itself (port 0xE9 is not in L1's I/O bitmap); L1 writes C V I H per exit it handled.
  assert.equal(m.output, 'aCbVcIdH');
  const n = vmxOf(m).nested;
  assert.deepEqual(n.exitLog.map((e) => `${e.reason}->${e.to}`), [
    'IO_INSTRUCTION->L0', 'CPUID->L1', 'IO_INSTRUCTION->L0', 'VMCALL->L1', 'IO_INSTRUCTION->L0',
    'IO_INSTRUCTION->L1', 'IO_INSTRUCTION->L0', 'HLT->L1',
  ]);
  assert.equal(n.stats.nestedEntries, 4, 'one VMLAUNCH and three VMRESUMEs');
  // L1 read the port from the exit qualification of its I/O exit; L2 wrote 0x42.
  assert.equal(dword(m, 0x230000), 0x80);
  assert.equal(m.vm.bus.read(0x230004, 1)[0], 0x42);
  // VMXOFF at the end: out of VMX operation, back on vmcs01.
  assert.equal(n.vmxon, false);
  assert.equal(n.is_guest_mode(), false);
  assert.equal(vmxOf(m).vmcs, vmxOf(m).vmcs01);
});

test('without nested (kvm_intel.nested=0) CPUID hides VMX and CR4.VMXE is #GP: the L1 cannot start', () => {
  const m = new Machine(image(L1), { maxInsns: 200_000 });
  assert.deepEqual(m.run(), { kind: 'shutdown' });
  assert.equal(m.output, '');
  const v = m.vcpus[0];
  assert.equal(v.guestCpuidHas(1, 'ecx', 5), false);
  assert.equal(kvm.getSupportedCpuid('intel', true).find((e) => e.function === 1)!.ecx & (1 << 5), 1 << 5);
  assert.equal(kvm.getSupportedCpuid('intel').find((e) => e.function === 1)!.ecx & (1 << 5), 0);
  assert.equal(kvm.getSupportedCpuid('amd', true).find((e) => e.function === 1)!.ecx & (1 << 5), 0, 'VMX is Intel-only');
});

test('IA32_VMX_* MSRs are exact 64-bit values; guest writes are refused; IA32_FEATURE_CONTROL locks', () => {
  const m = new Machine(image(L1), { maxInsns: 1, vm: { nested: true } });
  const v = m.vcpus[0];
  const get = (index: number) => { const e = [{ index, reserved: 0, data: 0n }]; assert.equal(v.getMsrs(e), 1, `MSR ${index.toString(16)}`); return e[0].data; };
  const basic = get(0x480);
  assert.equal(Number(basic & 0xffffffffn), VMCS12_REVISION);
  assert.equal(Number((basic >> 32n) & 0x1fffn), 4096, 'VMCS region size');
  assert.equal((basic >> 55n) & 1n, 1n, 'TRUE controls');
  const proc = get(0x482);
  assert.equal(Number(proc & 0xffffffffn), 0x0401e172, 'default1 bits in the non-TRUE MSR');
  assert.ok(((proc >> 32n) & 0x80n) !== 0n, 'HLT exiting allowed');
  assert.equal((get(0x48b) >> 32n) & 0x2n, 0n, 'no EPT offered');
  assert.equal(get(0x486), 0x80000021n);
  assert.equal(get(0x488), 0x2000n);
  assert.equal(v.setMsrs([{ index: 0x3a, reserved: 0, data: 5n }]), 1, 'userspace sets FEATURE_CONTROL');
  assert.equal(get(0x3a), 5n);
  assert.equal(v.setMsrs([{ index: 0x480, reserved: 0, data: 0n }]), 0, 'a different capability value is refused');
});

test('VMX instruction outcomes: VMfailInvalid, VMfailValid with KVM\'s VM-instruction errors, VMPTRST, 64-bit fields', () => {
  const m = new Machine(image(ERRORS), { maxInsns: 50_000, vm: { nested: true } });
  assert.deepEqual(m.run(), { kind: 'shutdown' }, 'the last VMREAD runs after VMXOFF: #UD, no IDT');
  const b = m.vm.bus.read(0x240000, 13 * 8), dv = new DataView(b.buffer, b.byteOffset);
  const rec = Array.from({ length: 13 }, (_, k) => [dv.getUint32(8 * k, true), dv.getUint32(8 * k + 4, true)]);
  const CF = 1, ZF = 0x40;
  assert.deepEqual(rec, [
    [0, 0],        // VMXON
    [CF, 0],       // VMLAUNCH without a current VMCS: VMfailInvalid
    [0, 0],        // VMCLEAR + VMPTRLD
    [ZF, 11],      // VMPTRLD of a region with the wrong revision
    [ZF, 12],      // VMREAD of an unsupported field
    [ZF, 13],      // VMWRITE of a read-only field
    [ZF, 15],      // VMXON in VMX root operation
    [ZF, 5],       // VMRESUME of a clear VMCS
    [ZF, 7],       // VMLAUNCH with invalid controls
    [ZF, 10],      // VMPTRLD of the VMXON pointer
    [ZF, 3],       // VMCLEAR of the VMXON pointer
    [0, 3],        // VMWRITE/VMREAD of the link pointer succeed; the error field keeps its value
    [0, 0],        // VMXOFF
  ]);
  const s = m.vm.bus.read(0x248000, 32), sv = new DataView(s.buffer, s.byteOffset);
  assert.deepEqual([sv.getUint32(0, true), sv.getUint32(4, true)], [0xffffffff, 0xffffffff], 'VMPTRST without a current VMCS');
  assert.equal(sv.getUint32(8, true), 0x201000, 'VMPTRST');
  assert.deepEqual([sv.getUint32(16, true), sv.getUint32(20, true)], [0xffffffff, 0xffffffff], 'all-ones link pointer, exact');
  assert.deepEqual([sv.getUint32(24, true), sv.getUint32(28, true)], [0xffffffff, 0], 'the high-half encoding 0x2801');
});

const notifyOpts = { maxInsns: 20_000, vm: { nested: true, interceptAcDb: false } } as const;

test('seed 004 nested: notify exit from L2 with an invalid context -> KVM_EXIT_NOTIFY; SHUTDOWN from userspace -> TRIPLE_FAULT exit to L1', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 1, notifyPolicy: 'shutdown', tripleFaultEvent: true });
  assert.deepEqual(m.run(), { kind: 'exit-port', code: 2 });
  assert.equal(m.output, 'ST', 'L2 reached its breakpoint; L1 saw a triple fault');
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY', 'KVM_EXIT_IO', 'KVM_EXIT_IO']);
  const n = vmxOf(m).nested;
  assert.deepEqual(n.exitLog.map((e) => `${e.reason}->${e.to}`), ['DR_ACCESS->L0', 'IO_INSTRUCTION->L0', 'NOTIFY->L0', 'TRIPLE_FAULT->L1']);
  assert.equal(n.stats.reflected.NOTIFY, undefined, 'never reflected to L1');
});

test('seed 004 nested, the stop at KVM_EXIT_NOTIFY: the vCPU is in guest mode with flags CONTEXT_INVALID', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 1 });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0];
  assert.equal(v.kvm_run.exit_reason, U.KVM_EXIT_NOTIFY);
  assert.equal(v.kvm_run.notify.flags, U.KVM_NOTIFY_CONTEXT_INVALID);
  assert.equal(vmxOf(m).nested.is_guest_mode(), true);
  assert.equal(vmxOf(m).nested.level, 2);
});

test('seed 004 nested: a valid context (even window) is resumed by L0; L1 never sees the loop', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 2 });
  assert.deepEqual(m.run(), { kind: 'limit' });
  const v = m.vcpus[0], n = vmxOf(m).nested;
  assert.ok((v.stats.notifyWindowExits ?? 0) > 10);
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO']);
  assert.equal(n.stats.reflected.TRIPLE_FAULT, undefined);
  assert.equal(n.is_guest_mode(), true);
});

test('seed 004 outside guest mode: the same #DB loop in L1 and the same SHUTDOWN give KVM_EXIT_SHUTDOWN', () => {
  const m = new Machine(image(DB_LOOP), { ...notifyOpts, notifyWindow: 1, notifyPolicy: 'shutdown', tripleFaultEvent: true });
  assert.deepEqual(m.run(), { kind: 'shutdown' });
  assert.deepEqual(kvmExits(m), ['KVM_EXIT_IO', 'KVM_EXIT_NOTIFY', 'KVM_EXIT_SHUTDOWN']);
});

test('seed 001 nested: RESET with L2 live leaves guest mode, frees nested state and writes vmcs12 back', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 1 });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0], vmx = vmxOf(m), n = vmx.nested;
  assert.equal(n.is_guest_mode(), true);
  v.reset();
  assert.equal(n.is_guest_mode(), false);
  assert.equal(n.vmxon, false);
  assert.equal(n.current_vmptr, -1);
  assert.equal(n.vmxon_ptr, -1);
  assert.equal(vmx.vmcs, vmx.vmcs01, 'vmcs01 is current again');
  // The RESET state is L1's, not L2's.
  const s = v.getSregs();
  assert.equal(s.cs.selector, 0xf000);
  assert.equal(s.cs.base, 0xffff0000n);
  assert.equal(s.cr4, 0n);
  assert.equal(v.getRegs().rip, 0xfff0n);
  // free_nested -> nested_release_vmcs12: L1's VMCS region holds the launched vmcs12.
  assert.equal(dword(m, 0x201000), VMCS12_REVISION);
  assert.equal(dword(m, 0x201008), 1, 'launch state');
});

test('INIT with L2 live is an EXIT_REASON_INIT_SIGNAL to L1; in VMX root operation it stays latched', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 1 });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0], n = vmxOf(m).nested;
  v.injectInit();
  m.run();
  assert.equal(m.output, 'SX\x03', 'L1 got exit reason 3 (INIT_SIGNAL)');
  assert.equal(n.is_guest_mode(), false);
  assert.equal(n.vmxon, true);
  assert.equal(n.exitLog[n.exitLog.length - 1].reason, 'INIT_SIGNAL');
  // L1 is halted in VMX root operation: another INIT is blocked (vmx_apic_init_signal_blocked).
  v.injectInit();
  m.run();
  assert.equal(n.vmxon, true, 'not reset');
  assert.equal(v.lapic?.pendingInit, true, 'latched');
});

test('debugger: the level in the thread name and the Nested (VMX) scope with vmcs12, vmcs02 and exits split by level', () => {
  const m = new Machine(image(NOTIFY), { ...notifyOpts, notifyWindow: 1 });
  assert.deepEqual(m.run(), { kind: 'stopped', vcpu: 0 });
  const v = m.vcpus[0];
  assert.equal(nestedLevel(v), 'L2');
  const nodes = nestedNodes(v);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  assert.match(byName.get('level')!.value, /^L2 \(guest mode/);
  assert.equal(byName.get('current VMCS (vmcs12)')!.value, '0x201000 (launched)');
  assert.equal(byName.get('exits from L2 handled by L0')!.value, '3');
  assert.deepEqual(byName.get('exits from L2 handled by L0')!.children!().map((n) => n.name),
    ['EXIT_REASON_DR_ACCESS', 'EXIT_REASON_IO_INSTRUCTION', 'EXIT_REASON_NOTIFY']);
  assert.equal(byName.get('exits from L2 reflected to L1')!.value, '0');
  const areas = byName.get('vmcs12 (L1\'s view)')!.children!();
  const guest = areas.find((a) => a.name.startsWith('Guest-state area'))!.children!();
  assert.ok(guest.some((f) => f.name === 'GUEST_RIP (0x681e)'), 'vmcs12 fields by name and encoding');
  assert.ok(byName.has('vmcs02'), 'vmcs02 while L2 runs');
  // Without nested VMX: no level, and the scope says why.
  const plain = new Machine(image(DB_LOOP), { maxInsns: 10 });
  assert.equal(nestedLevel(plain.vcpus[0]), '');
  assert.match(nestedNodes(plain.vcpus[0])[0].value, /^off/);
});
