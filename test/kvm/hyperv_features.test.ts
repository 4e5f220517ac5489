// Port of tools/testing/selftests/kvm/x86/hyperv_features.c for the synthetic MSRs and hypercalls
// this model implements: with KVM_CAP_HYPERV_ENFORCE_CPUID, every MSR and hypercall is refused until
// its feature bit appears in the Hyper-V CPUID leaves; the feature bits accumulate stage by stage,
// as the selftest carries its CPUID from one stage to the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as U from '../../vm-core/kvm';
import * as T from '../../vm-core/kvm/hyperv_tlfs';
import { withHypervCpuid } from '../../vm-core/kvm/hyperv';
import { kvm, longModeGuest } from './helpers';
import type { KvmVcpu } from '../../vm-core/kvm';

/** The Hyper-V features of one stage, as the selftest's vcpu_set_cpuid_feature calls build them. */
interface HvFeatures { eax: number; ebx: number; edx: number; enlEax: number; enlEbx: number; syndbg: number; }
const none = (): HvFeatures => ({ eax: 0, ebx: 0, edx: 0, enlEax: 0, enlEbx: 0, syndbg: 0 });

/** vcpu_reset_hv_cpuid: all supported Hyper-V leaves, then FEATURES, ENLIGHTMENT_INFO and SYNDBG caps cleared. */
function setHvCpuid(v: KvmVcpu, f: HvFeatures): void {
  const c = withHypervCpuid(kvm.getSupportedCpuid('intel'));
  for (const e of c) {
    if (e.function === T.HYPERV_CPUID_FEATURES) { e.eax = f.eax >>> 0; e.ebx = f.ebx >>> 0; e.ecx = 0; e.edx = f.edx >>> 0; }
    if (e.function === T.HYPERV_CPUID_ENLIGHTMENT_INFO) { e.eax = f.enlEax >>> 0; e.ebx = f.enlEbx >>> 0; e.ecx = 0; e.edx = 0; }
    if (e.function === T.HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES) { e.eax = f.syndbg >>> 0; e.ebx = e.ecx = e.edx = 0; }
  }
  assert.equal(v.setCpuid2(c), 0);
}

// guest_msr: WRMSR (if asked) then RDMSR, a #GP handler records the vector; exit code = vector.
const msrGuest = `
bits 64
org 0x100000
start:
    lidt [rel idtr]
    lea rbx, [rel done]
    mov [rel resume], rbx
    cmp byte [rel p_write], 0
    je read
    mov ecx, [rel p_msr]
    mov eax, [rel p_val]
    mov edx, [rel p_val + 4]
    wrmsr
read:
    mov ecx, [rel p_msr]
    rdmsr
    mov [rel r_val], eax
    mov [rel r_val + 4], edx
done:
    mov al, [rel vec]
    out 0xf4, al
gp:
    mov byte [rel vec], 13
    add rsp, 8
    mov rax, [rel resume]
    mov [rsp], rax
    iretq
align 8
resume: dq 0
p_msr: dd 0
p_write: dd 0
p_val: dq 0
r_val: dq 0
vec: db 0
align 16
idtr: dw 255
    dq idt
align 16
idt: times 13 dq 0, 0
    dw gp & 0xffff, 8, 0x8e00, (gp >> 16) & 0xffff
    dd 0, 0
`;

interface MsrStage { idx: number; write?: boolean; val?: bigint; fault: boolean; reset?: boolean; set?: (f: HvFeatures) => void; }

const msrStages: MsrStage[] = [
  { idx: T.HV_X64_MSR_GUEST_OS_ID, fault: true },                                  // 0: needs HV_MSR_HYPERCALL_AVAILABLE
  { idx: T.HV_X64_MSR_HYPERCALL, fault: true },                                    // 1
  { idx: T.HV_X64_MSR_GUEST_OS_ID, write: true, val: T.HYPERV_LINUX_OS_ID, fault: false, set: (f) => { f.eax |= T.HV_MSR_HYPERCALL_AVAILABLE; } },
  { idx: T.HV_X64_MSR_GUEST_OS_ID, fault: false },                                 // 3
  { idx: T.HV_X64_MSR_HYPERCALL, fault: false },                                   // 4
  { idx: T.HV_X64_MSR_VP_RUNTIME, fault: true },                                   // 5
  { idx: T.HV_X64_MSR_VP_RUNTIME, fault: false, set: (f) => { f.eax |= T.HV_MSR_VP_RUNTIME_AVAILABLE; } },
  { idx: T.HV_X64_MSR_VP_RUNTIME, write: true, val: 1n, fault: true },             // 7: read only
  { idx: T.HV_X64_MSR_TIME_REF_COUNT, fault: true },                               // 8
  { idx: T.HV_X64_MSR_TIME_REF_COUNT, fault: false, set: (f) => { f.eax |= T.HV_MSR_TIME_REF_COUNT_AVAILABLE; } },
  { idx: T.HV_X64_MSR_TIME_REF_COUNT, write: true, val: 1n, fault: true },         // 10: read only
  { idx: T.HV_X64_MSR_VP_INDEX, fault: true },                                     // 11
  { idx: T.HV_X64_MSR_VP_INDEX, fault: false, set: (f) => { f.eax |= T.HV_MSR_VP_INDEX_AVAILABLE; } },
  { idx: T.HV_X64_MSR_VP_INDEX, write: true, val: 1n, fault: true },               // 13: read only
  { idx: T.HV_X64_MSR_RESET, fault: true },                                        // 14
  { idx: T.HV_X64_MSR_RESET, fault: false, set: (f) => { f.eax |= T.HV_MSR_RESET_AVAILABLE; } },
  { idx: T.HV_X64_MSR_RESET, write: true, val: 1n, fault: false, reset: true },    // 16: KVM_EXIT_SYSTEM_EVENT RESET
  { idx: T.HV_X64_MSR_REFERENCE_TSC, fault: true },                                // 17
  { idx: T.HV_X64_MSR_REFERENCE_TSC, fault: false, set: (f) => { f.eax |= T.HV_MSR_REFERENCE_TSC_AVAILABLE; } },
  { idx: T.HV_X64_MSR_REFERENCE_TSC, write: true, val: 0n, fault: false },         // 19
  // (stages 20-30: SynIC, STIMER and the APIC MSRs are not modelled)
  { idx: T.HV_X64_MSR_TSC_FREQUENCY, fault: true },                                // 31
  { idx: T.HV_X64_MSR_TSC_FREQUENCY, fault: false, set: (f) => { f.eax |= T.HV_ACCESS_FREQUENCY_MSRS; } },
  { idx: T.HV_X64_MSR_TSC_FREQUENCY, write: true, val: 1n, fault: true },          // 33: read only
];

test('hyperv_features: MSR access follows the Hyper-V CPUID feature bits with KVM_CAP_HYPERV_ENFORCE_CPUID', () => {
  const f = none();
  msrStages.forEach((s, stage) => {
    const t = longModeGuest('intel', msrGuest);
    s.set?.(f);
    assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_ENFORCE_CPUID, args: [1] }), 0);
    setHvCpuid(t.vcpu, f);
    const dv = new DataView(t.mem.buffer);
    dv.setUint32(t.syms.p_msr, s.idx, true);
    dv.setUint32(t.syms.p_write, s.write ? 1 : 0, true);
    dv.setBigUint64(t.syms.p_val, s.val ?? 0n, true);
    const r = t.vcpu.run({ maxInsns: 100_000 });
    assert.equal(r, 0, `stage ${stage}`);
    if (s.reset) {
      assert.equal(t.vcpu.kvm_run.exit_reason, U.KVM_EXIT_SYSTEM_EVENT, `stage ${stage}`);
      assert.equal(t.vcpu.kvm_run.system_event.type, U.KVM_SYSTEM_EVENT_RESET);
      return;
    }
    assert.equal(t.vcpu.kvm_run.exit_reason, U.KVM_EXIT_IO, `stage ${stage}`);
    const vector = t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset];
    assert.equal(vector, s.fault ? 13 : 0, `stage ${stage}: ${s.write ? 'WR' : 'RD'}MSR(0x${s.idx.toString(16)})`);
  });
});

test('hyperv_features: without Hyper-V in the vCPU CPUID every synthetic MSR is #GP; the host may still access them', () => {
  const t = longModeGuest('intel', msrGuest);
  new DataView(t.mem.buffer).setUint32(t.syms.p_msr, T.HV_X64_MSR_GUEST_OS_ID, true);
  assert.equal(t.vcpu.run({ maxInsns: 100_000 }), 0);
  assert.equal(t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset], 13);
  const e = [{ index: T.HV_X64_MSR_GUEST_OS_ID, data: 0x1234n }];
  assert.equal(t.vcpu.setMsrs(e), 1);
  const out = [{ index: T.HV_X64_MSR_GUEST_OS_ID, data: 0n }];
  assert.equal(t.vcpu.getMsrs(out), 1);
  assert.equal(out[0].data, 0x1234n);
});

// guest_hcall: GUEST_OS_ID, HYPERCALL (page GPA, enable bit clear), then VMCALL with the control value.
const hcallGuest = `
bits 64
org 0x100000
start:
    lidt [rel idtr]
    mov ecx, 0x40000000
    mov eax, 0
    mov edx, 0x81000000
    wrmsr
    mov ecx, 0x40000001
    mov eax, [rel p_pgs]
    xor edx, edx
    wrmsr
    mov rcx, [rel p_control]
    mov rdx, [rel p_in]
    mov r8, [rel p_out]
    vmcall
    mov [rel r_val], rax
    mov al, [rel vec]
    out 0xf4, al
ud:
    mov byte [rel vec], 6
    mov al, 6
    out 0xf4, al
align 8
p_pgs: dq 0
p_control: dq 0
p_in: dq 0
p_out: dq 0
r_val: dq 0
vec: db 0
align 16
idtr: dw 255
    dq idt
align 16
idt: times 6 dq 0, 0
    dw ud & 0xffff, 8, 0x8e00, (ud >> 16) & 0xffff
    dd 0, 0
`;

interface HcallStage { control: number; expect?: number; ud?: boolean; set?: (f: HvFeatures) => void; }
const F = T.HV_HYPERCALL_FAST_BIT;
const hcallStages: HcallStage[] = [
  { control: 0xbeef, expect: T.HV_STATUS_INVALID_HYPERCALL_CODE, set: (f) => { f.eax |= T.HV_MSR_HYPERCALL_AVAILABLE; } },
  { control: T.HVCALL_POST_MESSAGE, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_POST_MESSAGE, expect: T.HV_STATUS_INVALID_HYPERCALL_INPUT, set: (f) => { f.ebx |= T.HV_POST_MESSAGES; } },
  { control: T.HVCALL_SIGNAL_EVENT, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_SIGNAL_EVENT, expect: T.HV_STATUS_INVALID_HYPERCALL_INPUT, set: (f) => { f.ebx |= T.HV_SIGNAL_EVENTS; } },
  { control: T.HVCALL_RESET_DEBUG_SESSION, expect: T.HV_STATUS_INVALID_HYPERCALL_CODE },
  { control: T.HVCALL_RESET_DEBUG_SESSION, expect: T.HV_STATUS_ACCESS_DENIED, set: (f) => { f.syndbg |= T.HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING; } },
  { control: T.HVCALL_RESET_DEBUG_SESSION, expect: T.HV_STATUS_OPERATION_DENIED, set: (f) => { f.ebx |= T.HV_DEBUGGING; } },
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, expect: T.HV_STATUS_SUCCESS, set: (f) => { f.enlEax |= T.HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED; } },
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, expect: T.HV_STATUS_SUCCESS, set: (f) => { f.enlEax |= T.HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED; } },
  { control: T.HVCALL_SEND_IPI, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_SEND_IPI, expect: T.HV_STATUS_INVALID_HYPERCALL_INPUT, set: (f) => { f.enlEax |= T.HV_X64_CLUSTER_IPI_RECOMMENDED; } },
  { control: T.HVCALL_SEND_IPI_EX, expect: T.HV_STATUS_SUCCESS },                  // nothing in 'sparse banks'
  { control: T.HVCALL_NOTIFY_LONG_SPIN_WAIT, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HVCALL_NOTIFY_LONG_SPIN_WAIT, expect: T.HV_STATUS_SUCCESS, set: (f) => { f.enlEbx |= 1; } },
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | F, ud: true },                 // XMM fast hypercall
  { control: T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | F, expect: T.HV_STATUS_SUCCESS, set: (f) => { f.edx |= T.HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE; } },
  { control: T.HV_EXT_CALL_QUERY_CAPABILITIES, expect: T.HV_STATUS_ACCESS_DENIED },
  { control: T.HV_EXT_CALL_QUERY_CAPABILITIES | F, expect: T.HV_STATUS_INVALID_PARAMETER, set: (f) => { f.ebx |= T.HV_ENABLE_EXTENDED_HYPERCALLS; } },
];

test('hyperv_features: hypercall access follows the Hyper-V CPUID feature bits with KVM_CAP_HYPERV_ENFORCE_CPUID', () => {
  const f = none();
  hcallStages.forEach((s, stage) => {
    const t = longModeGuest('intel', hcallGuest, { irqchip: true });
    s.set?.(f);
    assert.equal(t.vcpu.enableCap({ cap: U.KVM_CAP_HYPERV_ENFORCE_CPUID, args: [1] }), 0);
    setHvCpuid(t.vcpu, f);
    const pgs = 0x200000, dv = new DataView(t.mem.buffer);
    dv.setBigUint64(t.syms.p_pgs, BigInt(pgs), true);
    dv.setBigUint64(t.syms.p_control, BigInt(s.control), true);
    const fast = (s.control & F) !== 0;
    dv.setBigUint64(t.syms.p_in, fast ? 0n : BigInt(pgs), true);
    dv.setBigUint64(t.syms.p_out, fast ? 0n : BigInt(pgs + 4096), true);
    assert.equal(t.vcpu.run({ maxInsns: 100_000 }), 0, `stage ${stage}`);
    assert.equal(t.vcpu.kvm_run.exit_reason, U.KVM_EXIT_IO, `stage ${stage}`);
    const code = t.vcpu.kvm_run.data[t.vcpu.kvm_run.io.data_offset];
    if (s.ud) { assert.equal(code, 6, `stage ${stage}: #UD expected`); return; }
    assert.equal(code, 0, `stage ${stage}: no exception expected`);
    assert.equal(dv.getBigUint64(t.syms.r_val, true), BigInt(s.expect!), `stage ${stage}: control 0x${s.control.toString(16)}`);
  });
});
