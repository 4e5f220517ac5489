// Hyper-V SynIC, synthetic timers and the reference TSC page (hyperv.c synic_set_msr/synic_get_msr,
// synic_set_sint, kvm_hv_synic_send_eoi, stimer_set_config/stimer_set_count, stimer_expiration,
// stimer_send_msg, stimer_notify_direct, kvm_hv_process_stimers, kvm_hv_setup_tsc_page,
// get_time_ref_counter, kvm_hvcall_signal_event with KVM_HYPERV_EVENTFD), on the VM's virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as U from '../../vm-core/kvm/uapi';
import * as T from '../../vm-core/kvm/hyperv_tlfs';
import { withHypervCpuid, kvm_vm_ioctl_hv_eventfd, kvm_hv_synic_set_irq, HV_TSC_PAGE_SET, HV_TSC_PAGE_UNSET } from '../../vm-core/kvm/hyperv';
import { kvm, longModeGuest, createVm } from './helpers';
import { apicGuest, mapApicPages, COUNTS, LAST_TSC, u32, u64 } from './apic-guest';
import type { KvmVcpu } from '../../vm-core/kvm';

const SIMP = 0x300000, SIEFP = 0x301000, TSC_PAGE = 0x302000, OUT = 0x201000;

/** A Hyper-V vCPU (Hyper-V CPUID) with an irqchip; SynIC activated with `synic` ('v2' = KVM_CAP_HYPERV_SYNIC2). */
/** Software-enable the xAPIC (SPIV), the first thing every guest body below does. */
const SPIV = '    mov dword [rbx + 0x0f0], 0x1ff\n';

function hvGuest(src: string, opts: { synic?: 'v1' | 'v2' | false; tscKhz?: number } = {}) {
  const t = longModeGuest('intel', src, { irqchip: true, cpuid: false, options: { tscKhz: opts.tscKhz } });
  assert.equal(t.vcpu.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid('intel'))), 0);
  const s = opts.synic ?? 'v2';
  if (s) assert.equal(t.vcpu.enableCap({ cap: s === 'v2' ? U.KVM_CAP_HYPERV_SYNIC2 : U.KVM_CAP_HYPERV_SYNIC, args: [0] }), 0);
  mapApicPages(t.mem);
  return t;
}

/** Run to the next exit other than KVM_EXIT_HYPERV SYNIC (which userspace just acknowledges); the SYNIC exits seen. */
function runToIo(v: KvmVcpu, max = 5_000_000): { r: number; synic: number[] } {
  const synic: number[] = [];
  for (;;) {
    const r = v.run({ maxInsns: max });
    if (r < 0) return { r, synic };
    if (v.kvm_run.exit_reason === U.KVM_EXIT_HYPERV && v.kvm_run.hyperv.type === U.KVM_EXIT_HYPERV_SYNIC) { synic.push(v.kvm_run.hyperv.u.synic.msr); continue; }
    return { r: v.kvm_run.exit_reason, synic };
  }
}

const wrmsr = (msr: number, lo: number | string, hi = 0) => `    mov ecx, ${msr}\n    mov eax, ${lo}\n    mov edx, ${hi}\n    wrmsr\n`;
const rdmsrTo = (msr: number, at: number) => `    mov ecx, ${msr}\n    rdmsr\n    mov [${at}], eax\n    mov [${at + 4}], edx\n`;
const getMsr = (v: KvmVcpu, index: number): bigint => { const e = [{ index, data: 0n }]; assert.equal(v.getMsrs(e), 1); return e[0].data; };
const setMsr = (v: KvmVcpu, index: number, data: bigint): number => v.setMsrs([{ index, data }]);

test('SynIC MSRs: refused without KVM_CAP_HYPERV_SYNIC; after it SVERSION 1, SCONTROL enabled, SINTs masked, EOM reads 0', () => {
  const off = createVm('intel', { irqchip: true, cpuid: false });
  off.vcpu.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid('intel')));
  assert.equal(setMsr(off.vcpu, T.HV_X64_MSR_SIMP, 0x1001n), 0, 'host write of non-zero to an inactive SynIC fails');
  assert.equal(setMsr(off.vcpu, T.HV_X64_MSR_SIMP, 0n), 1, 'host write of 0 is allowed (migration)');
  const t = createVm('intel', { irqchip: true, cpuid: false });
  t.vcpu.setCpuid2(withHypervCpuid(kvm.getSupportedCpuid('intel')));
  assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [0] }), 0);
  assert.equal(getMsr(t.vcpu, T.HV_X64_MSR_SVERSION), 1n);
  assert.equal(getMsr(t.vcpu, T.HV_X64_MSR_SCONTROL), 1n);
  for (let i = 0; i < 16; i++) assert.equal(getMsr(t.vcpu, T.HV_X64_MSR_SINT0 + i), 0x10000n);
  assert.equal(getMsr(t.vcpu, T.HV_X64_MSR_EOM), 0n);
  assert.equal(setMsr(t.vcpu, T.HV_X64_MSR_SINT0 + 3, 0x20000n | 0x55n), 1);
  assert.equal(getMsr(t.vcpu, T.HV_X64_MSR_SINT0 + 3), 0x20055n);
  const noIrqchip = createVm('intel', { cpuid: false });
  assert.equal(noIrqchip.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC, args: [0] }), -U.EINVAL, 'the SynIC needs the in-kernel LAPIC');
});

test('guest SIMP/SIEFP/SCONTROL writes exit with KVM_EXIT_HYPERV_SYNIC; SINT vectors below 16 are #GP unless masked', () => {
  const t = hvGuest(apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_SIMP, SIMP + 1)}${wrmsr(T.HV_X64_MSR_SIEFP, SIEFP + 1)}${wrmsr(T.HV_X64_MSR_SCONTROL, 1)}
${wrmsr(T.HV_X64_MSR_SINT0 + 1, 0x1000f)}    mov al, 1
    out 0xf4, al
${wrmsr(T.HV_X64_MSR_SINT0 + 2, 0xf)}    mov al, 2
    out 0xf4, al
`));
  const first = runToIo(t.vcpu);
  assert.equal(first.r, U.KVM_EXIT_IO);
  assert.deepEqual(first.synic, [T.HV_X64_MSR_SIMP, T.HV_X64_MSR_SIEFP, T.HV_X64_MSR_SCONTROL]);
  const s = t.vcpu.kvm_run.hyperv.u.synic;
  assert.equal(s.msg_page, BigInt(SIMP + 1)); assert.equal(s.evt_page, BigInt(SIEFP + 1)); assert.equal(s.control, 1n);
  assert.equal(t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset], 1, 'masked vector 15 accepted');
  const second = runToIo(t.vcpu);
  assert.equal(second.r, U.KVM_EXIT_IO);
  assert.equal(t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset], 0xee, 'unmasked vector 15: #GP');
});

test('KVM_CAP_HYPERV_SYNIC zeroes the pages the guest enables; SYNIC2 leaves them alone', () => {
  for (const [mode, expect] of [['v1', 0], ['v2', 0xab]] as const) {
    const t = hvGuest(apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_SIMP, SIMP + 1)}    out 0xf4, al\n`), { synic: mode });
    t.mem.fill(0xab, SIMP, SIMP + 4096);
    assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
    assert.equal(t.mem[SIMP + 100], expect, mode);
  }
});

// A periodic message-mode stimer: SINT2 -> vector 0x60, the handler records the message and frees the slot.
const PERIODIC = (ticks: number, hlt: boolean) => apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_SIMP, SIMP + 1)}${wrmsr(T.HV_X64_MSR_SINT0 + 2, 0x60)}
${rdmsrTo(T.HV_X64_MSR_TIME_REF_COUNT, OUT)}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG + 1, 1000)}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG, (2 << 16) | 3)}    sti
again:
    ${hlt ? 'hlt' : 'pause'}
    cmp dword [${COUNTS} + 0x60 * 4], ${ticks}
    jb again
    cli
${rdmsrTo(T.HV_X64_MSR_TIME_REF_COUNT, OUT + 8)}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG, 0)}    out 0xf4, al
`, { preEoi: `    mov eax, [${SIMP + 2 * 256}]
    mov [${OUT + 16}], eax
    movzx eax, byte [${SIMP + 2 * 256 + 4}]
    mov [${OUT + 20}], eax
    mov eax, [${SIMP + 2 * 256 + 16}]
    mov [${OUT + 24}], eax
    mov rax, [${SIMP + 2 * 256 + 24}]
    mov [${OUT + 32}], rax
    mov rax, [${SIMP + 2 * 256 + 32}]
    mov [${OUT + 40}], rax
    mov dword [${SIMP + 2 * 256}], 0
` });

test('periodic stimer (message mode): HVMSG_TIMER_EXPIRED in the SINT slot every 100 us of reference time; HLT skips to each tick', () => {
  const t = hvGuest(PERIODIC(5, true), { tscKhz: 10_000 });
  assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
  assert.equal(u32(t.mem, COUNTS + 0x60 * 4), 5);
  const start = u64(t.mem, OUT), end = u64(t.mem, OUT + 8);
  assert.equal(u32(t.mem, OUT + 16), T.HVMSG_TIMER_EXPIRED);
  assert.equal(u32(t.mem, OUT + 20), 24, 'payload_size = sizeof(hv_timer_message_payload)');
  assert.equal(u32(t.mem, OUT + 24), 0, 'timer_index 0');
  const exp = u64(t.mem, OUT + 32), delivered = u64(t.mem, OUT + 40);
  assert.ok(exp >= start + 5000 && exp <= start + 5010, `5th expiration_time ${exp - start} after the start`);
  assert.ok(delivered >= exp && delivered < exp + 5, 'delivery_time at the expiration');
  assert.ok(end - start >= 5000 && end - start < 5100, `${end - start} units for 5 ticks`);
  assert.ok(t.vcpu.cpu.icount < 2000, `HLT skipped the virtual time: ${t.vcpu.cpu.icount} instructions for 500 us`);
});

test('periodic stimer: the same guest gives the same interrupts at the same instructions every run', () => {
  const a = hvGuest(PERIODIC(4, false), { tscKhz: 10_000 }), b = hvGuest(PERIODIC(4, false), { tscKhz: 10_000 });
  runToIo(a.vcpu); runToIo(b.vcpu);
  assert.equal(a.vcpu.cpu.icount, b.vcpu.cpu.icount);
  assert.deepEqual(a.mem.subarray(OUT, OUT + 64), b.mem.subarray(OUT, OUT + 64));
  assert.equal(u64(a.mem, LAST_TSC), u64(b.mem, LAST_TSC));
});

test('direct-mode one-shot stimer: the APIC vector at the absolute count, once; ENABLE clears after delivery', () => {
  const t = hvGuest(apicGuest(`${SPIV}${rdmsrTo(T.HV_X64_MSR_TIME_REF_COUNT, OUT)}    mov eax, [${OUT}]
    add eax, 2000
    mov ecx, ${T.HV_X64_MSR_STIMER0_CONFIG + 3}
    xor edx, edx
    wrmsr
    rdtsc
    mov [${OUT + 8}], eax
    mov [${OUT + 12}], edx
${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG + 2, (1 << 12) | (0x70 << 4) | 1)}    sti
wait:
    hlt
    cmp dword [${COUNTS} + 0x70 * 4], 0
    je wait
    mov ecx, 100000
spin:
    dec ecx
    jnz spin
${rdmsrTo(T.HV_X64_MSR_STIMER0_CONFIG + 2, OUT + 16)}    out 0xf4, al
`));
  assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
  assert.equal(u32(t.mem, COUNTS + 0x70 * 4), 1);
  const delay = u64(t.mem, LAST_TSC) - u64(t.mem, OUT + 8);
  assert.ok(delay >= 400_000 && delay < 400_400, `fired ${delay} TSC cycles later (200 us at 2 GHz = 400000)`);
  assert.equal(u32(t.mem, OUT + 16) & 1, 0, 'one-shot: ENABLE cleared');
  assert.equal((u32(t.mem, OUT + 16) >>> 4) & 0xff, 0x70);
});

test('message slot busy: msg_pending is set and nothing fires until the guest frees the slot and writes EOM', () => {
  const t = hvGuest(apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_SIMP, SIMP + 1)}${wrmsr(T.HV_X64_MSR_SINT0 + 2, 0x60)}    mov dword [${SIMP + 2 * 256}], 0x12345
${rdmsrTo(T.HV_X64_MSR_TIME_REF_COUNT, OUT)}    mov eax, [${OUT}]
    add eax, 100
    mov ecx, ${T.HV_X64_MSR_STIMER0_CONFIG + 1}
    xor edx, edx
    wrmsr
${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG, (2 << 16) | 1)}    sti
busy:
    pause
    test byte [${SIMP + 2 * 256 + 5}], 1
    jz busy
    mov eax, [${COUNTS} + 0x60 * 4]
    mov [${OUT + 8}], eax
    mov dword [${SIMP + 2 * 256}], 0
${wrmsr(T.HV_X64_MSR_EOM, 0)}wait:
    cmp dword [${COUNTS} + 0x60 * 4], 0
    jne done
    hlt
    jmp wait
done:
    out 0xf4, al
`), { tscKhz: 10_000 });
  assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
  assert.equal(u32(t.mem, OUT + 8), 0, 'no interrupt while the slot was busy');
  assert.equal(u32(t.mem, COUNTS + 0x60 * 4), 1, 'delivered after EOM');
  assert.equal(u32(t.mem, SIMP + 2 * 256), T.HVMSG_TIMER_EXPIRED);
  assert.equal(t.mem[SIMP + 2 * 256 + 5], 0, 'the delivered message has msg_pending clear');
});

test('AutoEOI SINT: the vector never enters ISR, so un-EOIed periodic interrupts keep coming; without AutoEOI ISR blocks them', () => {
  // 3500 x 4 instructions at 10 MHz = 1.4 ms: 14 periods of 100 us.
  for (const [sint, expect] of [[0x20060, 14], [0x60, 1]] as const) {
    const t = hvGuest(apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG + 1, 1000)}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG, (1 << 12) | (0x60 << 4) | 3)}${wrmsr(T.HV_X64_MSR_SINT0 + 4, sint)}    sti
    mov ecx, 3500
spin:
    pause
    pause
    dec ecx
    jnz spin
    out 0xf4, al
`, { noEoi: true }), { tscKhz: 10_000 });
    assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
    assert.equal(u32(t.mem, COUNTS + 0x60 * 4), expect, `SINT ${sint.toString(16)}`);
    assert.equal(t.vcpu.lapic!.testVector(0x100, 0x60), sint === 0x60, 'ISR bit');
  }
});

test('an interrupt the handler does not exit for is delivered once, even when the slices end on the budget', () => {
  const t = hvGuest(apicGuest(`${SPIV}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG + 1, 1000)}${wrmsr(T.HV_X64_MSR_STIMER0_CONFIG, (1 << 12) | (0x61 << 4) | 1 | 8)}    sti
spin:
    pause
    jmp spin
`, { noEoi: true }), { tscKhz: 10_000 });
  for (let k = 0; k < 50; k++) t.vcpu.run({ maxInsns: 997 });
  assert.equal(u32(t.mem, COUNTS + 0x61 * 4), 1);
});

test('reference TSC page: sequence, scale and offset as kvm_hv_setup_tsc_page computes them; TIME_REF_COUNT is the same function of the TSC', () => {
  const t = hvGuest(`bits 64
org 0x100000
spin:
    pause
    jmp spin
`);
  const { vm, vcpu, mem } = t;
  assert.equal(setMsr(vcpu, T.HV_X64_MSR_REFERENCE_TSC, BigInt(TSC_PAGE + 1)), 1);
  assert.equal(vm.hyperv.hv_tsc_page_status, HV_TSC_PAGE_SET);
  const dv = new DataView(mem.buffer);
  assert.equal(dv.getUint32(TSC_PAGE, true), 1, 'first sequence');
  const scale = dv.getBigUint64(TSC_PAGE + 8, true), offset = dv.getBigInt64(TSC_PAGE + 16, true);
  // 2 GHz: 200 TSC cycles per 100 ns unit, scale = 2^64 / 200 within the rounding of the pvclock multiplier.
  assert.ok(Number(scale) > 2 ** 64 / 200 * 0.999999 && Number(scale) < 2 ** 64 / 200 * 1.000001, `scale ${scale}`);
  for (const n of [12_345, 3_000_001]) {
    vcpu.run({ maxInsns: n });
    const tsc = getMsr(vcpu, 0x10), ref = getMsr(vcpu, T.HV_X64_MSR_TIME_REF_COUNT);
    assert.equal(ref, ((tsc * scale) >> 64n) + offset);
    assert.ok(Math.abs(Number(ref) - vm.get_kvmclock_ns() / 100) <= 1, 'and it tracks kvmclock');
  }
  assert.equal(setMsr(vcpu, T.HV_X64_MSR_REFERENCE_TSC, BigInt(TSC_PAGE + 1)), 1);
  assert.equal(dv.getUint32(TSC_PAGE, true), 2, 'the sequence moves on a rewrite');
  assert.equal(setMsr(vcpu, T.HV_X64_MSR_REFERENCE_TSC, 0n), 1);
  assert.equal(vm.hyperv.hv_tsc_page_status, HV_TSC_PAGE_UNSET);
  assert.equal(getMsr(vcpu, T.HV_X64_MSR_TIME_REF_COUNT), BigInt(Math.floor(vm.get_kvmclock_ns() / 100)));
});

test('HvSignalEvent: a KVM_HYPERV_EVENTFD connection is signalled in the kernel; others go to userspace (KVM_EXIT_HYPERV_HCALL)', () => {
  const call = (conn: number) => `    mov ecx, ${T.HVCALL_SIGNAL_EVENT | T.HV_HYPERCALL_FAST_BIT}
    mov edx, ${conn}
    vmcall
    mov [${OUT}], eax
`;
  const t = hvGuest(`bits 64
org 0x100000
${wrmsr(T.HV_X64_MSR_GUEST_OS_ID, 0, 0x8100 << 16)}${call(5)}${call(6)}    out 0xf4, al
`);
  let signalled = 0;
  assert.equal(kvm_vm_ioctl_hv_eventfd(t.vm, { conn_id: 5, flags: 0, fd: () => { signalled++; } }), 0);
  assert.equal(kvm_vm_ioctl_hv_eventfd(t.vm, { conn_id: 5, flags: 0, fd: () => {} }), -U.EEXIST);
  assert.equal(kvm_vm_ioctl_hv_eventfd(t.vm, { conn_id: 1 << 24, flags: 0, fd: () => {} }), -U.EINVAL);
  let r = runToIo(t.vcpu);
  assert.equal(r.r, U.KVM_EXIT_HYPERV);
  assert.equal(t.vcpu.kvm_run.hyperv.type, U.KVM_EXIT_HYPERV_HCALL);
  assert.equal(t.vcpu.kvm_run.hyperv.u.hcall.params[0], 6n);
  assert.equal(signalled, 1);
  assert.equal(u32(t.mem, OUT), 0, 'connection 5: HV_STATUS_SUCCESS');
  t.vcpu.kvm_run.hyperv.u.hcall.result = BigInt(T.HV_STATUS_INVALID_CONNECTION_ID);
  r = runToIo(t.vcpu);
  assert.equal(r.r, U.KVM_EXIT_IO);
  assert.equal(u32(t.mem, OUT), T.HV_STATUS_INVALID_CONNECTION_ID);
  assert.equal(kvm_vm_ioctl_hv_eventfd(t.vm, { conn_id: 5, flags: 1 }), 0);
  assert.equal(kvm_vm_ioctl_hv_eventfd(t.vm, { conn_id: 5, flags: 1 }), -U.ENOENT);
});

test('kvm_hv_synic_set_irq (an HV_SINT route): the SINT vector lands in IRR; masked SINT -ENOENT, no SynIC -EINVAL', () => {
  const t = hvGuest('bits 64\norg 0x100000\n    hlt\n');
  t.vcpu.lapic!.reset(false, true);
  t.vcpu.lapic!.kvm_lapic_reg_write(0xf0, 0x1ff);
  assert.equal(kvm_hv_synic_set_irq(t.vm, 0, 5), -U.ENOENT);
  assert.equal(setMsr(t.vcpu, T.HV_X64_MSR_SINT0 + 5, 0x77n), 1);
  assert.equal(kvm_hv_synic_set_irq(t.vm, 0, 5), 1);
  assert.ok(t.vcpu.lapic!.testVector(0x200, 0x77));
  assert.equal(kvm_hv_synic_set_irq(t.vm, 3, 5), -U.EINVAL);
});

test('HYPERV_CPUID_FEATURES advertises what is modelled: SynIC, stimers (direct mode with an irqchip), TIME_REF_COUNT, the TSC page; not APIC access, crash, reenlightenment or XMM calls', () => {
  const f = kvm.getSupportedHvCpuid().find((e) => e.function === T.HYPERV_CPUID_FEATURES)!;
  for (const bit of [T.HV_MSR_SYNIC_AVAILABLE, T.HV_MSR_SYNTIMER_AVAILABLE, T.HV_MSR_TIME_REF_COUNT_AVAILABLE, T.HV_MSR_REFERENCE_TSC_AVAILABLE]) assert.ok(f.eax & bit);
  for (const bit of [T.HV_MSR_APIC_ACCESS_AVAILABLE, T.HV_ACCESS_REENLIGHTENMENT, T.HV_ACCESS_TSC_INVARIANT]) assert.equal(f.eax & bit, 0);
  assert.ok(f.ebx & T.HV_POST_MESSAGES && f.ebx & T.HV_SIGNAL_EVENTS);
  for (const bit of [T.HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE, T.HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE, T.HV_X64_HYPERCALL_XMM_OUTPUT_AVAILABLE, T.HV_FEATURE_DEBUG_MSRS_AVAILABLE]) assert.equal(f.edx & bit, 0);
  const noIrqchip = createVm('intel', {}).vcpu.getSupportedHvCpuid().find((e) => e.function === T.HYPERV_CPUID_FEATURES)!;
  assert.equal(noIrqchip.edx & T.HV_STIMER_DIRECT_MODE_AVAILABLE, 0);
});

test('KVM_CAP_HYPERV_ENFORCE_CPUID: SynIC MSRs need HV_MSR_SYNIC_AVAILABLE, stimer MSRs HV_MSR_SYNTIMER_AVAILABLE, direct mode its EDX bit', () => {
  const body = (msr: number, val: number) => apicGuest(`${wrmsr(msr, val)}    mov al, 1\n    out 0xf4, al\n`);
  const cases: [number, number, number, number, boolean][] = [
    // msr, value, FEATURES.EAX, FEATURES.EDX, #GP expected
    [T.HV_X64_MSR_SIMP, SIMP + 1, 0, 0, true],
    [T.HV_X64_MSR_SIMP, SIMP + 1, T.HV_MSR_SYNIC_AVAILABLE, 0, false],
    [T.HV_X64_MSR_STIMER0_CONFIG, 0, T.HV_MSR_SYNIC_AVAILABLE, 0, true],
    [T.HV_X64_MSR_STIMER0_CONFIG, (1 << 12) | (0x40 << 4), T.HV_MSR_SYNTIMER_AVAILABLE, 0, true],
    [T.HV_X64_MSR_STIMER0_CONFIG, (1 << 12) | (0x40 << 4), T.HV_MSR_SYNTIMER_AVAILABLE, T.HV_STIMER_DIRECT_MODE_AVAILABLE, false],
  ];
  for (const [msr, val, eax, edx, gp] of cases) {
    const t = hvGuest(body(msr, val));
    const c = withHypervCpuid(kvm.getSupportedCpuid('intel'));
    for (const e of c) if (e.function === T.HYPERV_CPUID_FEATURES) { e.eax = eax; e.ebx = 0; e.edx = edx; }
    assert.equal(t.vcpu.setCpuid2(c), 0);
    assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_ENFORCE_CPUID, args: [1] }), 0);
    assert.equal(runToIo(t.vcpu).r, U.KVM_EXIT_IO);
    assert.equal(t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset], gp ? 0xee : 1, `${msr.toString(16)}=${val.toString(16)} eax=${eax} edx=${edx}`);
  }
});
