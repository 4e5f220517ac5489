// Ports of kvm_pv_test (KVM_CAP_ENFORCE_PV_FEATURE_CPUID) and the KVM_HC_MAP_GPA_RANGE /
// KVM_CAP_EXIT_HYPERCALL behaviour (seed 003).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, ioByte, kvm, oneGateIdt } from './helpers';
import * as U from '../../vm-core/kvm';

const PV_MSRS = [U.MSR_KVM_WALL_CLOCK, U.MSR_KVM_SYSTEM_TIME, U.MSR_KVM_WALL_CLOCK_NEW, U.MSR_KVM_SYSTEM_TIME_NEW,
  U.MSR_KVM_ASYNC_PF_EN, U.MSR_KVM_STEAL_TIME, U.MSR_KVM_PV_EOI_EN, U.MSR_KVM_POLL_CONTROL, U.MSR_KVM_ASYNC_PF_INT,
  U.MSR_KVM_ASYNC_PF_ACK, U.MSR_KVM_MIGRATION_CONTROL];
const PV_HCALLS = [U.KVM_HC_KICK_CPU, U.KVM_HC_SEND_IPI, U.KVM_HC_SCHED_YIELD];

/** Guest: WRMSR 0 to the MSR (reports 13 via port 0xF4 on #GP, else 0), or a hypercall (reports RAX via port 0xF5 as 4 bytes). */
function guest(body: string): string {
  return `bits 64
org 0x100000
start:
  lidt [rel idtr]
${body}
  hlt
gp_handler:
  mov al, 13
  out 0xf4, al
  add qword [rsp], 2
  iretq
${oneGateIdt(13, 'gp_handler')}`;
}

function pvVm(vendor: 'intel' | 'amd', enforce: boolean, body: string) {
  const t = longModeGuest(vendor, guest(body));
  if (enforce) {
    // kvm_pv_test: enforcement with every PV feature bit clear.
    const cpuid = kvm.getSupportedCpuid(vendor).map((e) => e.function === U.KVM_CPUID_FEATURES ? { ...e, eax: 0 } : e);
    t.vcpu.setCpuid2(cpuid);
    assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_ENFORCE_PV_FEATURE_CPUID, args: [1] }), 0);
  }
  return t;
}

for (const vendor of ['intel', 'amd'] as const) {
  for (const enforce of [true, false]) {
    test(`kvm_pv_test ${vendor}: PV MSRs ${enforce ? '#GP with enforcement and no feature' : 'accepted without enforcement'}`, () => {
      for (const msr of PV_MSRS) {
        for (const op of ['rdmsr', 'wrmsr']) {
          const t = pvVm(vendor, enforce, `  mov ecx, ${msr}\n  xor eax, eax\n  xor edx, edx\n  ${op}\n  mov al, 0\n  out 0xf4, al`);
          assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
          assert.equal(ioByte(t.vcpu), enforce ? 13 : 0, `${op} 0x${msr.toString(16)}`);
        }
      }
    });
    test(`kvm_pv_test ${vendor}: PV hypercalls ${enforce ? 'return -KVM_ENOSYS' : 'succeed'}`, () => {
      const insn = vendor === 'intel' ? 'vmcall' : 'vmmcall';
      for (const nr of PV_HCALLS) {
        const t = pvVm(vendor, enforce, `  mov eax, ${nr}\n  xor ebx, ebx\n  xor ecx, ecx\n  xor edx, edx\n  xor esi, esi\n  ${insn}\n  out 0xf5, eax`);
        assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
        const got = t.vcpu.kvm_run.dataView.getInt32(t.vcpu.kvm_run.io.data_offset, true);
        assert.equal(got, enforce ? -U.KVM_ENOSYS : 0, `hypercall ${nr}`);
      }
    });
  }
}

test('unknown hypercall number returns -KVM_ENOSYS', () => {
  const t = longModeGuest('intel', guest('  mov eax, 99\n  vmcall\n  out 0xf5, eax'));
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.dataView.getInt32(t.vcpu.kvm_run.io.data_offset, true), -U.KVM_ENOSYS);
});

const MAP = (gpa: number, npages: number, attrs: number, insn = 'vmcall') =>
  `  mov eax, ${U.KVM_HC_MAP_GPA_RANGE}\n  mov rbx, ${gpa}\n  mov rcx, ${npages}\n  mov rdx, ${attrs}\n  ${insn}\n  out 0xf5, eax`;

test('KVM_CHECK_EXTENSION(KVM_CAP_EXIT_HYPERCALL) returns the valid mask; enabling other bits is -EINVAL', () => {
  assert.equal(kvm.checkExtension(U.KVM_CAP_EXIT_HYPERCALL), 1 << 12);
  const vm = kvm.createVm();
  assert.equal(vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [1 << 11] }), -U.EINVAL);
  assert.equal(vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [1 << 12], flags: 1 }), -U.EINVAL);
  assert.equal(vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [1 << 12] }), 0);
});

for (const vendor of ['intel', 'amd'] as const) {
  const insn = vendor === 'intel' ? 'vmcall' : 'vmmcall';
  test(`MAP_GPA_RANGE ${vendor}: disabled -> -KVM_ENOSYS without exiting`, () => {
    const t = longModeGuest(vendor, guest(MAP(0x200000, 4, 0x10, insn)));
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.dataView.getInt32(t.vcpu.kvm_run.io.data_offset, true), -U.KVM_ENOSYS);
  });
  test(`MAP_GPA_RANGE ${vendor}: invalid arguments -> -KVM_EINVAL`, () => {
    for (const [gpa, n] of [[0x200001, 1], [0x200000, 0]]) {
      const t = longModeGuest(vendor, guest(MAP(gpa, n, 0, insn)));
      t.vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [1 << 12] });
      assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
      assert.equal(t.vcpu.kvm_run.dataView.getInt32(t.vcpu.kvm_run.io.data_offset, true), -U.KVM_EINVAL);
    }
  });
  test(`MAP_GPA_RANGE ${vendor}: KVM_EXIT_HYPERCALL with nr, args, long-mode flag; the reply's ret lands in RAX`, () => {
    const t = longModeGuest(vendor, guest(MAP(0x200000, 4, 0x10, insn)));
    t.vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [1 << 12] });
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_HYPERCALL);
    const hc = t.vcpu.kvm_run.hypercall;
    assert.equal(hc.nr, 12n);
    assert.deepEqual(hc.args.slice(0, 3), [0x200000n, 4n, 0x10n]);
    assert.equal(hc.flags, U.KVM_EXIT_HYPERCALL_LONG_MODE);
    assert.equal(hc.ret, 0n);
    const rip = t.vcpu.getRegs().rip;
    assert.deepEqual(Array.from(t.mem.subarray(Number(rip), Number(rip) + 3)), insn === 'vmcall' ? [0x0f, 0x01, 0xc1] : [0x0f, 0x01, 0xd9], 'RIP stays at the hypercall until completion');
    hc.ret = 0x1234n;
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.dataView.getInt32(t.vcpu.kvm_run.io.data_offset, true), 0x1234);
  });
}
