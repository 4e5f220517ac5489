// NMIs as KVM queues them (process_nmi: at most one pending while NMIs are blocked, two otherwise)
// and events injected at a VM entry whose run ends without a VM exit (the VMM's kick, a debugger
// stop): delivered once, never re-injected. kvm-unit-tests' apic "pending nmi" is the guest below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longModeGuest, runOnce, oneGateIdt } from './helpers';
import { apicGuest, mapApicPages, COUNTS, u32 } from './apic-guest';
import * as U from '../../vm-core/kvm/uapi';
import { APIC_DM_FIXED, APIC_DM_NMI } from '../../vm-core/kvm/lapic';
import { process_nmi } from '../../vm-core/kvm/x86/run';

for (const vendor of ['intel', 'amd'] as const) {
  test(`${vendor}: an interrupt injected at an entry whose run is cut by the budget is delivered once`, () => {
    const t = longModeGuest(vendor, apicGuest(`
    mov dword [rbx + 0xf0], 0x1ff
    out 0xe9, al
    sti
spin:
    cmp dword [${COUNTS} + 0x40 * 4], 0
    je spin
    mov ecx, 100
delay:
    dec ecx
    jnz delay
    mov eax, [${COUNTS} + 0x40 * 4]
    out 0xf4, al
`), { irqchip: true });
    mapApicPages(t.mem);
    assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
    t.vcpu.lapic!.__apic_accept_irq(APIC_DM_FIXED, 0x40, true, 0);
    let r = 0;
    for (let k = 0; k < 5000 && r !== U.KVM_EXIT_IO; k++) r = runOnce(t.vcpu, 1); // one instruction per KVM_RUN
    assert.equal(r, U.KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
    assert.equal(u32(t.mem, COUNTS + 0x40 * 4), 1);
  });
}

test('process_nmi: NMIs queued while one is being handled collapse to one pending; two may be pending otherwise', () => {
  const t = longModeGuest('intel', 'bits 64\norg 0x100000\n hlt\n', { irqchip: true });
  const v = t.vcpu, l = v.lapic!;
  for (let k = 0; k < 5; k++) l.__apic_accept_irq(APIC_DM_NMI, 0, true, 0);
  assert.equal(v.arch.nmi_queued, 5);
  process_nmi(v);
  assert.equal(v.arch.nmi_pending, 2, 'not blocked: one to inject, one latched');
  v.cpu.nmiBlocked = true;
  for (let k = 0; k < 5; k++) l.__apic_accept_irq(APIC_DM_NMI, 0, true, 0);
  process_nmi(v);
  assert.equal(v.arch.nmi_pending, 1, 'in an NMI handler: one latched');
  assert.equal(v.getVcpuEvents().nmi.pending, 1);
  v.setVcpuEvents({ ...v.getVcpuEvents(), flags: U.KVM_VCPUEVENT_VALID_NMI_PENDING, nmi: { injected: 0, pending: 0, masked: 1, pad: 0 } });
  assert.equal(v.arch.nmi_pending, 0);
});

test('guest (kvm-unit-tests apic "pending nmi"): ten self-NMIs sent from the NMI handler give exactly one more NMI', () => {
  const t = longModeGuest('intel', `bits 64
org 0x100000
    lidt [rel idtr]
    mov rsp, 0x80000
    mov ebx, 0xfee00000
    mov dword [rbx + 0xf0], 0x1ff
    mov r8d, 20                              ; rounds
round:
    mov dword [count], 0
    mov dword [rbx + 0x310], 0
    mov dword [rbx + 0x300], 0x400           ; NMI, physical destination 0 (this CPU)
wait:
    pause
    cmp dword [count], 2
    jb wait
    mov ecx, 200
delay:
    dec ecx
    jnz delay
    cmp dword [count], 2
    jne done
    dec r8d
    jnz round
done:
    mov eax, [count]
    out 0xf4, al
nmi:
    push rax
    push rcx
    inc dword [count]
    cmp dword [count], 1
    jne .out
    mov ecx, 10
.send:
    mov dword [rbx + 0x310], 0
    mov dword [rbx + 0x300], 0x400
    dec ecx
    jnz .send
.out:
    pop rcx
    pop rax
    iretq
count: dd 0
${oneGateIdt(2, 'nmi')}`, { irqchip: true });
  mapApicPages(t.mem);
  assert.equal(runOnce(t.vcpu, 10_000_000), U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.io.port, 0xf4);
  assert.equal(t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset], 2);
});

test('an IPI another vCPU accepts ends the sender\'s KVM_RUN (kickedOther) so the round-robin runs the target next; a self-IPI does not', async () => {
  const { createVm } = await import('./helpers');
  const t = createVm('intel', { irqchip: true, vcpus: 2 });
  const [a, b] = t.vm.vcpus;
  for (const v of [a, b]) v.lapic!.kvm_lapic_reg_write(0xf0, 0x1ff);
  a.lapic!.kvm_lapic_reg_write(0x300, 0x40000 | 0x4041); // self shorthand
  assert.equal(a.kickedOther, false);
  a.lapic!.kvm_lapic_reg_write(0x310, 1 << 24);
  a.lapic!.kvm_lapic_reg_write(0x300, 0x4041); // fixed, physical destination 1
  assert.equal(a.kickedOther, true);
  assert.deepEqual(b.lapic!.vectors(0x200), [0x41]);
});
