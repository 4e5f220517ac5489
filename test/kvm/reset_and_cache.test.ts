// RESET/INIT state (kvm_vcpu_reset, vmx_vcpu_reset, svm init_vmcb; kvm-reference.md), SIPI, the
// register cache (kvm_cache_regs.h, vmx_cache_reg, VMX_REGS_LAZY_LOAD_SET) and seed 001's pre-fix bug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVm, longModeGuest, runOnce, loadAsm } from './helpers';
import * as U from '../../vm-core/kvm';
import { setupProtectedMode } from '../../vm-core/vmm/boot';

for (const vendor of ['intel', 'amd'] as const) {
  test(`RESET state ${vendor}: registers, segments (KVM_GET_SREGS types), CRs, DRs, MSRs`, () => {
    const { vcpu } = createVm(vendor, { irqchip: true, cpuid: false });
    const r = vcpu.getRegs();
    assert.equal(r.rdx, 0x600n);
    assert.equal(r.rflags, 2n);
    assert.equal(r.rip, 0xfff0n);
    for (const k of ['rax', 'rbx', 'rcx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r15'] as const) assert.equal(r[k], 0n, k);
    const s = vcpu.getSregs();
    assert.equal(s.cs.selector, 0xf000); assert.equal(s.cs.base, 0xffff0000n); assert.equal(s.cs.limit, 0xffff);
    assert.equal(s.cs.type, vendor === 'intel' ? 11 : 10);
    for (const d of [s.ds, s.es, s.fs, s.gs, s.ss]) { assert.equal(d.selector, 0); assert.equal(d.base, 0n); assert.equal(d.limit, 0xffff); }
    for (const d of [s.ds, s.es, s.fs, s.gs]) assert.equal(d.type, 3);
    assert.equal(s.ss.type, vendor === 'intel' ? 3 : 2, 'svm_get_segment sets the accessed bit for DS/ES/FS/GS only');
    assert.equal(s.tr.type, vendor === 'intel' ? 11 : 3);
    assert.equal(s.ldt.type, 2);
    assert.deepEqual([s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit], [0n, 0xffff, 0n, 0xffff]);
    assert.equal(s.cr0, 0x60000010n);
    assert.deepEqual([s.cr2, s.cr3, s.cr4, s.efer], [0n, 0n, 0n, 0n]);
    assert.equal(s.apic_base, 0xfee00900n);
    const m = [{ index: 0x277, data: 0n }, { index: 0x1a0, data: 0n }, { index: 0x9e, data: 0n }];
    assert.equal(vcpu.getMsrs(m), 3);
    assert.deepEqual(m.map((e) => e.data), [0x0007040600070406n, 0x1800n, 0x30000n]);
    assert.equal(vcpu.getXcrs().xcrs[0].value, 1n);
    assert.equal(vcpu.cpu.dr6 >>> 0, 0xffff0ff0);
    assert.equal(vcpu.cpu.dr7, 0x400);
    assert.equal(vcpu.getMpState().mp_state, U.KVM_MP_STATE_RUNNABLE);
  });

  test(`RESET ${vendor}: RDX comes from CPUID.1.EAX only when set before the RESET`, () => {
    const { vcpu } = createVm(vendor, { irqchip: true });
    assert.equal(vcpu.getRegs().rdx, 0x600n, 'created, reset, then given CPUID');
    vcpu.reset();
    assert.equal(vcpu.getRegs().rdx, BigInt(U.Kvm.prototype.getSupportedCpuid.call(null, vendor).find((e) => e.function === 1)!.eax));
  });

  test(`INIT ${vendor}: CD/NW preserved, CR3 cleared, SIPI start at vector << 12`, () => {
    const t = longModeGuest(vendor, 'bits 64\norg 0x100000\n hlt\n', { irqchip: true });
    const s = t.vcpu.getSregs();
    s.cr0 &= ~0x60000000n; // CD = NW = 0
    t.vcpu.setSregs(s);
    t.vcpu.injectInit();
    t.vcpu.run({ maxInsns: 10 });
    const a = t.vcpu.getSregs();
    assert.equal(a.cr0, 0x10n, 'INIT keeps CD/NW (both clear here)');
    assert.equal(a.cr3, 0n);
    assert.equal(a.cs.selector, 0xf000);
  });
}

test('SIPI: an AP waits in UNINITIALIZED, INIT+SIPI from the BSP\'s ICR starts it at vector << 12', () => {
  const t = createVm('intel', { irqchip: true, vcpus: 2 });
  const ap = t.vm.vcpus[1];
  assert.equal(ap.getMpState().mp_state, U.KVM_MP_STATE_UNINITIALIZED);
  assert.equal(ap.run(), -U.EAGAIN);
  // BSP in protected mode: ICR = INIT to APIC 1, then SIPI vector 0x09; the AP at 0x9000 outputs 0x5a.
  loadAsm(t.mem, `bits 32
org 0x7c00
  mov dword [0xfee00310], 0x01000000
  mov dword [0xfee00300], 0x00004500
  mov dword [0xfee00300], 0x00004609
  hlt
times 0x9000 - 0x7c00 - ($ - $$) db 0
bits 16
  mov al, 0x5a
  out 0xe9, al
  hlt
`);
  setupProtectedMode(t.vcpu, t.mem, 0x7c00);
  t.vcpu.run({ maxInsns: 1000 });
  assert.equal(t.vcpu.getMpState().mp_state, U.KVM_MP_STATE_HALTED);
  assert.equal(runOnce(ap), U.KVM_EXIT_IO);
  assert.equal(ap.kvm_run.io.port, 0xe9);
  const s = ap.getSregs();
  assert.equal(s.cs.selector, 0x0900);
  assert.equal(s.cs.base, 0x9000n);
});

const ALL = -1;
const bit = (r: number) => 1 << r;
for (const vendor of ['intel', 'amd'] as const) {
  test(`register cache ${vendor}: avail/dirty after exit, read, write and entry; VMREAD/VMWRITE counts`, () => {
    const t = longModeGuest(vendor, 'bits 64\norg 0x100000\n cpuid\n out 0xf4, al\n hlt\n');
    const v = t.vcpu, a = v.arch;
    const lazy = vendor === 'intel' ? U.VMX_REGS_LAZY_LOAD_SET : U.SVM_REGS_LAZY_LOAD_SET;
    const seen: { exit: number; avail: number; dirty: number }[] = [];
    t.vm.observe({ hwExit: () => seen.push({ exit: v.ops.exitCode, avail: a.regs_avail, dirty: a.regs_dirty }) });
    const r0 = v.ops.reads, w0 = v.ops.writes;
    assert.equal(U.KVM_EXIT_IO, runOnce(v));
    // After the CPUID exit: the lazy set is unavailable, nothing dirty on VMX (entry cleared it).
    assert.equal(seen[0].avail & lazy, 0);
    assert.equal(seen[0].avail, ALL & ~lazy);
    if (vendor === 'intel') assert.equal(seen[0].dirty, 0);
    // After the OUT exit + handling: RIP was read (VMREAD GUEST_RIP) for cui_linear_rip.
    assert.ok(U.kvm_register_is_available(v, U.VCPU_REGS_RIP));
    assert.ok(!U.kvm_register_is_available(v, U.VCPU_REGS_RSP) || vendor === 'amd');
    // A read makes RSP available without dirtying it; a write dirties it.
    const before = v.ops.reads;
    U.kvm_rsp_read(v);
    assert.ok(U.kvm_register_is_available(v, U.VCPU_REGS_RSP));
    assert.ok(!U.kvm_register_is_dirty(v, U.VCPU_REGS_RSP) || vendor === 'amd');
    if (vendor === 'intel') assert.equal(v.ops.reads, before + 1, 'one VMREAD(GUEST_RSP)');
    U.kvm_rsp_write(v, 0x6ff8);
    assert.ok(U.kvm_register_is_dirty(v, U.VCPU_REGS_RSP));
    // Entry writes back dirty RSP/RIP and (VMX) clears regs_dirty.
    const w1 = v.ops.writes;
    v.run({ maxInsns: 1 });
    if (vendor === 'intel') {
      assert.ok(v.ops.writes >= w1 + 2, 'VMWRITE GUEST_RSP and GUEST_RIP');
      assert.equal(a.regs_dirty & bit(U.VCPU_REGS_RSP), 0, 'regs_dirty cleared at entry');
      assert.equal((v.ops as unknown as { vmcs: { peek(f: number): number } }).vmcs.peek(U.VMCS.GUEST_RSP), 0x6ff8);
    }
    assert.ok(v.ops.reads > r0 && v.ops.writes > w0);
  });
}

test('register cache VMX: the CPUID exit costs 6 VMREADs and 1 VMWRITE', () => {
  const t = longModeGuest('intel', 'bits 64\norg 0x100000\nl: cpuid\n jmp l\n');
  const v = t.vcpu;
  v.run({ maxInsns: 10 });
  const r0 = v.ops.reads, w0 = v.ops.writes, e0 = v.stats.exits;
  v.run({ maxInsns: 200 });
  const exits = v.stats.exits - e0;
  assert.ok(exits > 50);
  // VM_EXIT_REASON, IDT_VECTORING_INFO, GUEST_RFLAGS, VM_EXIT_INSTRUCTION_LEN, GUEST_RIP,
  // GUEST_INTERRUPTIBILITY_INFO; VMWRITE GUEST_RIP at the next entry.
  assert.equal((v.ops.reads - r0) / exits, 6);
  assert.ok(Math.abs((v.ops.writes - w0) / exits - 1) < 0.05);
});

test('seed 001 pre-fix: kvm_vcpu_reset reads GUEST_CR0 before anything wrote it; fixed: no such read', () => {
  for (const preFixSeed001 of [true, false]) {
    const vm = new U.Kvm().createVm({ vendor: 'intel', options: { preFixSeed001 } });
    const never: string[] = [];
    vm.observe({ neverWritten: (e) => never.push(e.name) });
    vm.createVcpu(0);
    if (preFixSeed001) assert.deepEqual(never, ['GUEST_CR0']);
    else assert.deepEqual(never, []);
  }
});

test('seed 001 pre-fix: CR3 survives INIT; fixed: CR3 = 0', () => {
  for (const preFixSeed001 of [true, false]) {
    const t = longModeGuest('intel', 'bits 64\norg 0x100000\n hlt\n', { irqchip: true, options: { preFixSeed001 } });
    t.vcpu.injectInit();
    t.vcpu.run({ maxInsns: 10 });
    assert.equal(t.vcpu.getSregs().cr3, preFixSeed001 ? 0x1000n : 0n);
  }
});
