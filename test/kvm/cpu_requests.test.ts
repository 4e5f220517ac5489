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

test('intel: a CR0 write of guest-owned bits does not exit and GUEST_CR0 keeps NE set, CD/NW clear', () => {
  const t = longModeGuest('intel', `bits 64
org 0x100000
  mov rax, cr0
  or eax, 8
  mov cr0, rax
  mov rbx, cr0
  out 0x10, al
  hlt
`);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(t.vcpu.stats.exits, 1, 'only the OUT exited');
  assert.equal(t.vcpu.cpu.cr0 >>> 0, 0x80010039, 'GUEST_CR0: PG WP NE TS ET PE');
  assert.equal(t.vcpu.getSregs().cr0, 0x80010019n, 'KVM: the guest CR0 with TS, without NE');
  assert.equal(t.vcpu.getRegs().rbx, 0x80010019n, 'the guest read what it wrote');
});

test('amd: CR4 accesses exit as READ_CR4/WRITE_CR4 with EXITINFO1 = CR_VALID | GPR; CR0 TS-only writes do not exit', () => {
  const t = longModeGuest('amd', `bits 64
org 0x100000
  mov rax, cr0
  or eax, 8
  mov cr0, rax
  mov rdx, cr4
  or edx, 0x80
  mov cr4, rdx
  mov rsi, cr4
  out 0x10, al
  hlt
`);
  const exits: { code: number; lo: number; hi: number }[] = [];
  t.vm.observe({ hwExit: (e) => { const m = (t.vcpu.ops as import('../../vm-core/kvm/svm/svm').Svm).vmcb; exits.push({ code: e.code, lo: m.low32(8), hi: m.high32(8) }); } });
  t.vcpu.attachTrace();
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.deepEqual(exits.map((e) => e.code), [0x04, 0x14, 0x04, 0x7b], 'READ_CR4, WRITE_CR4, READ_CR4, IOIO');
  assert.deepEqual(exits.slice(0, 3).map((e) => [e.lo, e.hi >>> 0]), [[2, 0x80000000], [2, 0x80000000], [6, 0x80000000]]);
  const r = t.vcpu.getRegs();
  assert.equal(r.rsi, 0xa0n, 'PAE | PGE as KVM emulated it');
  assert.equal(t.vcpu.getSregs().cr0 & 8n, 8n, 'TS reached KVM through the VMCB (selective intercept: no exit)');
});

const IDT_GUEST = (vector: number, body: string) => `bits 64
org 0x100000
${body}
handler:
  mov rax, [rsp]
  out 0x11, al
  hlt
idtr: dw 4095
  dq idt
idt: times ${vector} dq 0, 0
  dw handler & 0xffff, 8, 0x8e00, (handler >> 16) & 0xffff
  dd 0, 0
`;

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: a LAPIC interrupt pending while IF=0 is injected at the interrupt window (right after STI + 1)`, () => {
    const t = longModeGuest(vendor, IDT_GUEST(0x40, `  lidt [rel idtr]
  mov ecx, 100
spin:
  dec ecx
  jnz spin
  sti
  nop
after:
  mov ebx, 1
  out 0x10, al
  hlt`), { irqchip: true });
    const l = t.vcpu.lapic!;
    l.regs[0xf0 >> 2] = 0x1ff; // SPIV: APIC software-enabled
    l.setIrr(0x40);
    t.vcpu.requestEvent();
    assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.io.port, 0x11, 'the handler ran before the OUT');
    assert.equal(t.vcpu.getRegs().rax, BigInt(t.syms.after), 'delivered at the first boundary after the STI shadow');
  });
}

test('intel: a pending NMI while NMIs are blocked is injected at the NMI window (right after IRETQ)', () => {
  const t = longModeGuest('intel', IDT_GUEST(2, `  lidt [rel idtr]
  mov rax, rsp
  push 0x10
  push rax
  pushfq
  push 8
  lea rcx, [rel after]
  push rcx
  iretq
after:
  mov ebx, 1
  out 0x10, al
  hlt`));
  const ev = t.vcpu.getVcpuEvents();
  ev.nmi.pending = 1; ev.nmi.masked = 1;
  assert.equal(t.vcpu.setVcpuEvents(ev), 0);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0x11);
  assert.equal(t.vcpu.getRegs().rax, BigInt(t.syms.after));
});

test('amd: RAX/RSP/RIP go through the VMCB exactly (64-bit values with high bits)', () => {
  const t = longModeGuest('amd', `bits 64
org 0x100000
  mov rax, 0x1234567890abcdef
  mov rsp, 0x7ffffffffff0
  out 0x10, al
  mov rbx, rax
  mov rcx, rsp
  out 0x11, al
  hlt
`);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  assert.equal(runOnce(t.vcpu), KVM_EXIT_IO);
  const r = t.vcpu.getRegs();
  assert.equal(r.rbx, 0x1234567890abcdefn);
  assert.equal(r.rcx, 0x7ffffffffff0n);
});
