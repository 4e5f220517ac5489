// Hyper-V hypercalls and the hypercall page beyond the selftest: the 64- and 32-bit register
// forms, rep and fast bits, #UD from CPL 3 and real mode, KVM_EXIT_HYPERV HCALL with the result
// userspace writes, the RESET MSR, GUEST_OS_ID gating, the legacy page write (and its #GP), the Xen
// prefix, the overlay exits (enable, move, disable), KVM_GET_SUPPORTED_HV_CPUID and the caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as U from '../../vm-core/kvm';
import * as T from '../../vm-core/kvm/hyperv_tlfs';
import { withHypervCpuid } from '../../vm-core/kvm/hyperv';
import { kvm, longModeGuest, createVm, loadAsm, runOnce, ioByte } from './helpers';
import { setupProtectedMode, setupRealMode } from '../../vm-core/vmm/boot';

const hv = (t: { vcpu: U.KvmVcpu }, vendor: 'intel' | 'amd' = 'intel') => t.vcpu.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid(vendor)));
const OS_ID = `
    mov ecx, 0x40000000
    xor eax, eax
    mov edx, 0x81000000
    wrmsr
`;

test('caps and KVM_GET_SUPPORTED_HV_CPUID: Hyper-V leaves, "Linux KVM Hv", "Hv#1", our overlay cap number', () => {
  const { vm, vcpu } = createVm('intel', { irqchip: true });
  for (const c of [U.KVM_CAP_HYPERV, U.KVM_CAP_HYPERV_ENFORCE_CPUID, U.KVM_CAP_HYPERV_CPUID, U.KVM_CAP_SYS_HYPERV_CPUID,
    U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE]) assert.equal(vm.checkExtension(c), 1);
  assert.equal(U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE, 0x100c3);
  const e = vcpu.getSupportedHvCpuid();
  assert.deepEqual(e.map((x) => x.function), [0x40000000, 0x40000001, 0x40000002, 0x40000003, 0x40000004, 0x40000005,
    0x40000080, 0x40000081, 0x40000082]);
  const sig = Buffer.alloc(12);
  sig.writeUInt32LE(e[0].ebx, 0); sig.writeUInt32LE(e[0].ecx, 4); sig.writeUInt32LE(e[0].edx, 8);
  assert.equal(sig.toString(), 'Linux KVM Hv');
  assert.equal(e[1].eax, T.HYPERV_CPUID_SIGNATURE_EAX);
  assert.ok(e[3].eax & T.HV_MSR_HYPERCALL_AVAILABLE);
  assert.ok(e[3].edx & T.HV_STIMER_DIRECT_MODE_AVAILABLE);
  assert.equal(kvm.getSupportedHvCpuid()[3].edx & T.HV_STIMER_DIRECT_MODE_AVAILABLE, T.HV_STIMER_DIRECT_MODE_AVAILABLE);
  assert.equal(vcpu.enableCap({ cap: U.KVM_CAP_HYPERV, args: [1] }), -U.EINVAL, 'KVM_CAP_HYPERV is check-only');
  assert.equal(vcpu.arch.hyperv_enabled, false);
  vcpu.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid('intel')));
  assert.equal(vcpu.arch.hyperv_enabled, true);
  // KVM's PV leaves moved to 0x40000100 still count: the PV feature bits are found there.
  assert.notEqual(vcpu.arch.pv_features, 0);
});

test('VP_INDEX, TSC_FREQUENCY, TIME_REF_COUNT read through RDMSR; the host may set VP_INDEX', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
    mov ecx, 0x40000002
    rdmsr
    out 0xe9, al
    mov ecx, 0x40000022
    rdmsr
    mov [0x200000], eax
    mov [0x200004], edx
    mov ecx, 0x40000020
    rdmsr
    mov [0x200008], eax
    out 0xf4, al
`);
  hv(t);
  assert.equal(t.vcpu.setMsrs([{ index: T.HV_X64_MSR_VP_INDEX, data: 7n }]), 1);
  assert.equal(t.vm.setClock({ clock: 1_000_000n, flags: 0 }), 0); // KVM_SET_CLOCK: kvmclock at 1 ms
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(ioByte(t.vcpu), 7);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  const dv = new DataView(t.mem.buffer);
  assert.equal(dv.getBigUint64(0x200000, true), 2_000_000_000n, 'the VM clock\'s default TSC rate');
  assert.equal(dv.getUint32(0x200008, true), 10_000, 'TIME_REF_COUNT in 100 ns units (the few instructions before it round away)');
});

test('64-bit hypercall: control RCX (rep count, rep start), input RDX, output R8; status and reps done in RAX', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
${OS_ID}
    mov rcx, (3 << 32) | 0x0003   ; HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, rep count 3
    mov edx, 0x200000
    mov r8d, 0x201000
    vmcall
    mov [0x300000], rax
    mov rcx, (1 << 48) | (3 << 32) | 0x0003   ; rep start 1: invalid
    vmcall
    mov [0x300008], rax
    mov rcx, 0x0008 | (1 << 27)  ; a reserved bit
    vmcall
    mov [0x300010], rax
    mov rcx, 0x0002 | (1 << 16)  ; fast HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE
    vmcall
    mov [0x300018], rax
    out 0xf4, al
`);
  hv(t);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  const dv = new DataView(t.mem.buffer);
  assert.equal(dv.getBigUint64(0x300000, true), 3n << 32n, 'SUCCESS, 3 reps completed');
  assert.equal(dv.getBigUint64(0x300008, true), BigInt(T.HV_STATUS_INVALID_HYPERCALL_INPUT));
  assert.equal(dv.getBigUint64(0x300010, true), BigInt(T.HV_STATUS_INVALID_HYPERCALL_INPUT));
  assert.equal(dv.getBigUint64(0x300018, true), BigInt(T.HV_STATUS_SUCCESS));
  assert.deepEqual({ ...t.vm.hyperv.lastHypercall }, { code: 2, fast: true, rep_cnt: 0, rep_idx: 0, status: 0, reps: 0 });
});

test('32-bit hypercall: control EDX:EAX, input EBX:ECX, output EDI:ESI; result in EDX:EAX', () => {
  const t = createVm('intel');
  const syms = loadAsm(t.mem, `
bits 32
org 0x100000
${OS_ID}
    mov edx, 2                 ; rep count 2 (bits 43:32)
    mov eax, 0x0003            ; HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST
    xor ebx, ebx
    mov ecx, 0x200000
    xor edi, edi
    mov esi, 0x201000
    vmcall
    mov [0x300000], eax
    mov [0x300004], edx
    out 0xf4, al
`);
  setupProtectedMode(t.vcpu, t.mem, syms.entry);
  hv(t);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  const dv = new DataView(t.mem.buffer);
  assert.equal(dv.getUint32(0x300000, true), 0);
  assert.equal(dv.getUint32(0x300004, true), 2);
});

test('#UD from CPL 3 and from real mode; before GUEST_OS_ID the VMCALL is KVM\'s', () => {
  // Real mode: Hyper-V hypercalls are #UD (the IVT entry for #UD points at a handler that reports it).
  const r = createVm('intel');
  const syms = loadAsm(r.mem, `
bits 16
org 0x7c00
    mov word [6 * 4], ud
    mov word [6 * 4 + 2], 0
    mov ecx, 0x40000000
    xor eax, eax
    mov edx, 0x81000000
    wrmsr
    vmcall
    mov al, 'N'
    out 0xe9, al
ud:
    mov al, 'U'
    out 0xe9, al
`);
  setupRealMode(r.vcpu, syms.entry);
  hv(r);
  assert.equal(runOnce(r.vcpu), U.KVM_EXIT_IO);
  assert.equal(String.fromCharCode(ioByte(r.vcpu)), 'U');
  // Without the guest OS ID, VMCALL is a KVM hypercall: RAX = -KVM_ENOSYS for an unknown number.
  const k = longModeGuest('intel', `
bits 64
org 0x100000
    mov eax, 0x1234
    vmcall
    out 0xf4, al
`);
  hv(k);
  assert.equal(runOnce(k.vcpu), U.KVM_EXIT_IO);
  assert.equal(ioByte(k.vcpu), (-U.KVM_ENOSYS) & 0xff);
  // CPL 3 (user pages, DPL-3 CS/SS): KVM queues #UD instead of handling the call; this guest has no
  // IDT, so the #UD ends as a triple fault, and no hypercall was counted.
  const u = longModeGuest('intel', `
bits 64
org 0x100000
${OS_ID}
    mov ecx, 0x0008
    push 0x10 | 3
    push 0x7000
    pushfq
    push 0x08 | 3
    lea rax, [rel user]
    push rax
    iretq
user:
    vmcall
    out 0xf4, al
`);
  hv(u);
  const dv = new DataView(u.mem.buffer);
  for (let k = 0; k < 8; k++) dv.setUint32(0x3000 + 8 * k, dv.getUint32(0x3000 + 8 * k, true) | 4, true); // U/S
  dv.setUint32(0x1000, dv.getUint32(0x1000, true) | 4, true); dv.setUint32(0x2000, dv.getUint32(0x2000, true) | 4, true);
  dv.setBigUint64(0x500 + 8, 0x00affa000000ffffn, true);  // 0x08: code64, DPL 3
  dv.setBigUint64(0x500 + 16, 0x00cff2000000ffffn, true); // 0x10: data, DPL 3
  assert.equal(runOnce(u.vcpu), U.KVM_EXIT_SHUTDOWN);
  assert.equal(u.vm.hyperv.lastHypercall.code, -1);
  assert.equal(u.vcpu.cpu.cpl, 3);
});

test('KVM_EXIT_HYPERV HCALL: POST_MESSAGE with the SynIC active and extended calls go to userspace; the result lands in RAX', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
${OS_ID}
    mov ecx, 0x005c            ; HVCALL_POST_MESSAGE
    mov edx, 0x200000
    mov r8d, 0x201000
    vmcall
    mov [0x300000], rax
    mov ecx, 0x8001            ; HV_EXT_CALL_QUERY_CAPABILITIES
    vmcall
    mov [0x300008], rax
    out 0xf4, al
`, { irqchip: true });
  hv(t);
  assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [1] }), -U.EINVAL);
  assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [0] }), 0);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_HYPERV);
  const run = t.vcpu.kvm_run;
  assert.equal(run.hyperv.type, U.KVM_EXIT_HYPERV_HCALL);
  assert.equal(run.hyperv.u.hcall.input, 0x5cn);
  assert.deepEqual(run.hyperv.u.hcall.params, [0x200000n, 0x201000n]);
  run.hyperv.u.hcall.result = 0x1234n;
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_HYPERV);
  assert.equal(run.hyperv.u.hcall.input, 0x8001n);
  run.hyperv.u.hcall.result = 0n;
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  const dv = new DataView(t.mem.buffer);
  assert.equal(dv.getBigUint64(0x300000, true), 0x1234n);
  assert.equal(dv.getBigUint64(0x300008, true), 0n);
});

test('HYPERCALL MSR: ignored while GUEST_OS_ID is 0; GUEST_OS_ID 0 clears the enable bit; legacy write #GP into a read-only slot', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
    mov ecx, 0x40000001
    mov eax, 0x200001
    xor edx, edx
    wrmsr                      ; ignored: no guest OS ID
    out 0xe9, al
${OS_ID}
    mov ecx, 0x40000001
    mov eax, 0x200001
    xor edx, edx
    wrmsr                      ; enabled: the page is written
    out 0xe9, al
    mov ecx, 0x40000000
    xor eax, eax
    xor edx, edx
    wrmsr                      ; guest OS ID 0: the enable bit goes
    out 0xe9, al
`);
  hv(t);
  t.mem.fill(0x90, 0x200000, 0x200010);
  const msr = () => { const e = [{ index: T.HV_X64_MSR_HYPERCALL, data: 0n }]; t.vcpu.getMsrs(e); return e[0].data; };
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(msr(), 0n);
  assert.equal(t.mem[0x200000], 0x90);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(msr(), 0x200001n);
  assert.deepEqual([...t.mem.subarray(0x200000, 0x200005)], [0x0f, 0x01, 0xc1, 0xc3, 0x90]);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.equal(msr(), 0x200000n);

  // A page KVM cannot write (a read-only memslot): the WRMSR is #GP (no IDT: triple fault).
  const ro = longModeGuest('intel', `
bits 64
org 0x100000
${OS_ID}
    mov ecx, 0x40000001
    mov eax, 0x1000001
    xor edx, edx
    wrmsr
    out 0xf4, al
`, { memSize: 16 << 20 });
  hv(ro);
  ro.vm.setUserMemoryRegion({ slot: 5, flags: U.KVM_MEM_READONLY, guest_phys_addr: 0x1000000, memory_size: 0x1000, userspace_addr: new Uint8Array(0x1000) });
  assert.equal(runOnce(ro.vcpu), U.KVM_EXIT_SHUTDOWN);
});

test('Xen hypercalls on too: the page starts with `or eax, 0x80000000`', () => {
  const t = longModeGuest('amd', `
bits 64
org 0x100000
${OS_ID}
    mov ecx, 0x40000001
    mov eax, 0x200001
    xor edx, edx
    wrmsr
    out 0xf4, al
`);
  hv(t, 'amd');
  t.vm.xenHypercallEnabled = true;
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_IO);
  assert.deepEqual([...t.mem.subarray(0x200000, 0x200009)], [0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x01, 0xd9, 0xc3]);
});

test('overlay exits: enable, move (a new page: userspace drops the old one), disable; a host-initiated write exits at the next KVM_RUN', () => {
  const t = longModeGuest('intel', `
bits 64
org 0x100000
${OS_ID}
    mov ecx, 0x40000001
    mov eax, 0x200001
    xor edx, edx
    wrmsr
    mov eax, 0x210001
    wrmsr
    mov eax, 0x210000
    wrmsr
    out 0xf4, al
`);
  hv(t);
  assert.equal(t.vm.enableCap({ cap: U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE }), 0);
  const seen: [bigint, number][] = [];
  for (;;) {
    const r = runOnce(t.vcpu);
    if (r !== U.KVM_EXIT_HYPERV) { assert.equal(r, U.KVM_EXIT_IO); break; }
    const o = t.vcpu.kvm_run.hyperv.u.overlay;
    assert.equal(t.vcpu.kvm_run.hyperv.type, U.KVM_EXIT_HYPERV_OVERLAY);
    assert.equal(o.msr, T.HV_X64_MSR_HYPERCALL);
    seen.push([o.gpa, o.data_len]);
  }
  assert.deepEqual(seen, [[0x200001n, 4], [0x210001n, 4], [0x210000n, 0]]);
  assert.equal(t.mem[0x200000], 0, 'guest memory never written');
  assert.equal(t.vcpu.setMsrs([{ index: T.HV_X64_MSR_HYPERCALL, data: 0x220001n }]), 1);
  assert.equal(runOnce(t.vcpu), U.KVM_EXIT_HYPERV);
  assert.equal(t.vcpu.kvm_run.hyperv.u.overlay.gpa, 0x220001n);
});
