// Port of tools/testing/selftests/kvm/x86/fix_hypercall_test.c (seed 000): the other vendor's
// hypercall instruction with KVM_X86_QUIRK_FIX_HYPERCALL_INSN on (patched to the native one, RAX 0)
// and off (#UD seen by the guest's handler, bytes unchanged); plus the policies of the thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, ioByte } from './helpers';
import {
  KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN, KVM_EXIT_IO, KVM_HC_SCHED_YIELD, UD_VECTOR,
} from '../../vm-core/kvm';
import type { HypercallPolicy } from '../../vm-core/kvm';

const VMCALL = [0x0f, 0x01, 0xc1], VMMCALL = [0x0f, 0x01, 0xd9];

/** Guest: RAX = SCHED_YIELD, the other vendor's instruction, then OUT 0xF4 with AL = RAX (UD_VECTOR from the #UD handler). */
function guest(insn: 'vmcall' | 'vmmcall', at = ''): string {
  return `bits 64
org 0x100000
start:
  lidt [rel idtr]
  mov eax, ${KVM_HC_SCHED_YIELD}
  xor ebx, ebx
  ${at}
hc: ${insn}
  out 0xf4, al
  hlt
ud_handler:
  mov eax, ${UD_VECTOR}
  add qword [rsp], 3
  iretq
idtr: dw 255
  dq idt
idt: times ${UD_VECTOR} dq 0, 0
  dw ud_handler & 0xffff, 8, 0x8e00, (ud_handler >> 16) & 0xffff
  dd 0, 0
`;
}

function run(vendor: 'intel' | 'amd', quirkOn: boolean, policy?: HypercallPolicy) {
  const other = vendor === 'intel' ? 'vmmcall' : 'vmcall';
  const t = longModeGuest(vendor, guest(other), { options: { hypercallPolicy: policy } });
  if (!quirkOn) assert.equal(t.vm.enableCap({ cap: KVM_CAP_DISABLE_QUIRKS2, args: [KVM_X86_QUIRK_FIX_HYPERCALL_INSN] }), 0);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
  return { ...t, ret: ioByte(t.vcpu), bytes: Array.from(t.mem.subarray(t.syms.hc, t.syms.hc + 3)) };
}

for (const vendor of ['intel', 'amd'] as const) {
  const native = vendor === 'intel' ? VMCALL : VMMCALL, other = vendor === 'intel' ? VMMCALL : VMCALL;
  test(`fix_hypercall ${vendor}: quirk on -> RAX 0 and the instruction patched to the native one`, () => {
    const r = run(vendor, true);
    assert.equal(r.ret, 0);
    assert.deepEqual(r.bytes, native);
  });
  test(`fix_hypercall ${vendor}: quirk off -> the guest's #UD handler runs, bytes unchanged`, () => {
    const r = run(vendor, false);
    assert.equal(r.ret, UD_VECTOR);
    assert.deepEqual(r.bytes, other);
  });
  test(`fix_hypercall ${vendor}: 'emulate' policy -> RAX 0, bytes unchanged`, () => {
    const r = run(vendor, true, 'emulate');
    assert.equal(r.ret, 0);
    assert.deepEqual(r.bytes, other);
  });
}

test('fix_hypercall: the patch write fails on a read-only code page: #PF injected (mainline), #UD with Sean\'s fix', () => {
  for (const [policy, vector] of [['patch', 14], ['patch-fixed', UD_VECTOR]] as const) {
    const src = guest('vmmcall').replace('org 0x100000', 'org 0x200000')
      .replace(/idt: times 6 dq 0, 0\n  dw ud_handler & 0xffff, 8, 0x8e00, \(ud_handler >> 16\) & 0xffff\n  dd 0, 0/,
        'idt: times 6 dq 0, 0\n  dw ud_handler & 0xffff, 8, 0x8e00, (ud_handler >> 16) & 0xffff\n  dd 0, 0\n' +
        '  times 7 dq 0, 0\n  dw pf_handler & 0xffff, 8, 0x8e00, (pf_handler >> 16) & 0xffff\n  dd 0, 0\n' +
        'pf_handler:\n  mov eax, 14\n  out 0xf4, al\n  hlt');
    const t = longModeGuest('intel', src, { options: { hypercallPolicy: policy } });
    new DataView(t.mem.buffer).setUint32(0x3000 + 8, 0x200000 | 0x81, true); // PD[1]: present, read-only, 2 MiB
    const kinds: string[] = [];
    t.vm.observe({ kvmBug: (e) => kinds.push(e.kind) });
    assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
    assert.equal(ioByte(t.vcpu), vector, policy);
    assert.deepEqual(Array.from(t.mem.subarray(t.syms.hc, t.syms.hc + 3)), VMMCALL, 'bytes unchanged');
    assert.ok(kinds.includes('hypercall-patch-fault'));
  }
});

test('fix_hypercall: a hypercall that crosses a page boundary is patched with two separate writes', () => {
  const t = longModeGuest('intel', guest('vmmcall', 'times (0x101000 - 2 - ($ - $$) - 0x100000) nop'));
  assert.equal(t.syms.hc, 0x100ffe);
  const kinds: string[] = [];
  t.vm.observe({ kvmBug: (e) => kinds.push(e.kind) });
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(ioByte(t.vcpu), 0);
  assert.equal(t.vcpu.patchWrites.length, 2);
  assert.deepEqual(t.vcpu.patchWrites.map((w) => w.gpa), [0x100ffe, 0x101000]);
  assert.ok(kinds.includes('hypercall-patch-split'));
  assert.deepEqual(Array.from(t.mem.subarray(0x100ffe, 0x101001)), VMCALL);
});

