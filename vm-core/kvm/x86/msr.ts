// MSR emulation (x86.c kvm_get_msr_common / kvm_set_msr_common, kvm_emulate_rdmsr/wrmsr,
// kvm_msr_user_space): the MSRs KVM emulates, the KVM PV MSRs guarded by
// KVM_CAP_ENFORCE_PV_FEATURE_CPUID, and KVM_EXIT_X86_RDMSR/WRMSR for KVM_CAP_X86_USER_SPACE_MSR.
import type { KvmVcpu } from '../vcpu';
import {
  KVM_EXIT_X86_RDMSR, KVM_EXIT_X86_WRMSR, KVM_MSR_EXIT_REASON_INVAL, KVM_MSR_EXIT_REASON_UNKNOWN,
  MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN, MSR_KVM_POLL_CONTROL, MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_ACK,
  MSR_KVM_MIGRATION_CONTROL, KVM_FEATURE_CLOCKSOURCE, KVM_FEATURE_CLOCKSOURCE2, KVM_FEATURE_ASYNC_PF,
  KVM_FEATURE_STEAL_TIME, KVM_FEATURE_PV_EOI, KVM_FEATURE_POLL_CONTROL, KVM_FEATURE_ASYNC_PF_INT,
  KVM_FEATURE_MIGRATION_CONTROL,
} from '../uapi';
import { kvm_gpr_read32, kvm_gpr_write, VCPU_REGS_RCX } from './kvm_cache_regs';
import { kvm_complete_insn_gp, kvm_set_efer_msr } from './x86';
import { kvm_hv_msr_in_range, kvm_hv_get_msr_common, kvm_hv_set_msr_common } from '../hyperv';
import { kvm_read_l1_tsc, kvm_set_tsc_msr, kvm_set_tsc_adjust_msr } from './tsc';
import { kvm_write_system_time, kvm_write_wall_clock } from './kvmclock';
import { APIC_BASE_MSR, MSR_IA32_TSCDEADLINE } from '../lapic';
import { coreReadMsr, coreWriteMsr, MSR_EFER, MSR_IA32_APICBASE, MSR_IA32_CR_PAT, MSR_IA32_MISC_ENABLE, MSR_IA32_TSC, MSR_IA32_XSS } from '../../cpu/msr';

const MSR_IA32_TSC_ADJUST = 0x3b;

/** Return codes of the MSR accessors: 0 ok, 1 the value is refused (#GP), KVM_MSR_RET_UNSUPPORTED unknown MSR. */
export const KVM_MSR_RET_OK = 0, KVM_MSR_RET_INVALID = 1, KVM_MSR_RET_UNSUPPORTED = 2;

/** PV MSR -> the KVM_FEATURE_* bit that guards it (guest_pv_has). */
export const PV_MSR_FEATURE: ReadonlyMap<number, number> = new Map([
  [MSR_KVM_WALL_CLOCK, KVM_FEATURE_CLOCKSOURCE], [MSR_KVM_SYSTEM_TIME, KVM_FEATURE_CLOCKSOURCE],
  [MSR_KVM_WALL_CLOCK_NEW, KVM_FEATURE_CLOCKSOURCE2], [MSR_KVM_SYSTEM_TIME_NEW, KVM_FEATURE_CLOCKSOURCE2],
  [MSR_KVM_ASYNC_PF_EN, KVM_FEATURE_ASYNC_PF], [MSR_KVM_STEAL_TIME, KVM_FEATURE_STEAL_TIME],
  [MSR_KVM_PV_EOI_EN, KVM_FEATURE_PV_EOI], [MSR_KVM_POLL_CONTROL, KVM_FEATURE_POLL_CONTROL],
  [MSR_KVM_ASYNC_PF_INT, KVM_FEATURE_ASYNC_PF_INT], [MSR_KVM_ASYNC_PF_ACK, KVM_FEATURE_ASYNC_PF_INT],
  [MSR_KVM_MIGRATION_CONTROL, KVM_FEATURE_MIGRATION_CONTROL],
]);

/** MSRs KVM accepts and stores without further meaning in this model (MTRRs, microcode, MCE, ...). */
const STORED_MSRS = new Set<number>([0x8b, 0x17, 0x3a, 0x179, 0x17a, 0x2ff, 0xfe, 0x1d9,
  ...Array.from({ length: 16 }, (_, k) => 0x200 + k), 0x250, 0x258, 0x259, ...Array.from({ length: 8 }, (_, k) => 0x268 + k),
  0x10a, 0xc0010015, 0xc001001f, 0xc0011029]);
const MSR_IA32_SPEC_CTRL = 0x48, MSR_IA32_PRED_CMD = 0x49;

/**
 * The legacy performance-counter MSRs (K7 EVNTSEL0-3/PERFCTR0-3, P6 PERFCTR0-1/EVNTSEL0-1): without
 * a vPMU, kvm_get_msr_common reads them as 0 and kvm_set_msr_common drops writes, never #GP.
 */
function isLegacyPerfMsr(msr: number): boolean {
  return (msr >= 0xc0010000 && msr <= 0xc0010007) || msr === 0xc1 || msr === 0xc2 || msr === 0x186 || msr === 0x187;
}

/** guest_has_spec_ctrl_msr: SPEC_CTRL (7.EDX[26]), AMD_STIBP/AMD_IBRS/AMD_SSBD (8000_0008.EBX[15,14,24]). */
function guest_has_spec_ctrl_msr(v: KvmVcpu): boolean {
  return v.guestCpuidHas(7, 'edx', 26) || v.guestCpuidHas(0x80000008, 'ebx', 15) ||
    v.guestCpuidHas(0x80000008, 'ebx', 14) || v.guestCpuidHas(0x80000008, 'ebx', 24);
}
/** guest_has_pred_cmd_msr: SPEC_CTRL (7.EDX[26]), AMD_IBPB (8000_0008.EBX[12]), SBPB (8000_0021.EAX[27]). */
function guest_has_pred_cmd_msr(v: KvmVcpu): boolean {
  return v.guestCpuidHas(7, 'edx', 26) || v.guestCpuidHas(0x80000008, 'ebx', 12) || v.guestCpuidHas(0x80000021, 'eax', 27);
}
const MSR_RESET_VALUES: ReadonlyMap<number, number> = new Map([[0xfe, 0x508], [0x8b, 0x100000000], [0x179, 0]]);

/** guest_pv_has: without enforcement every PV feature is allowed. */
export function guest_pv_has(v: KvmVcpu, feature: number): boolean {
  return !v.arch.pv_enforce || ((v.arch.pv_features >>> feature) & 1) !== 0;
}

/** kvm_get_msr_common (+ the vendor and core MSRs). Value in v.msrValue. */
export function kvm_get_msr(v: KvmVcpu, msr: number, hostInitiated: boolean): number {
  const a = v.arch, c = v.cpu;
  msr >>>= 0;
  v.msrExact = false;
  if (kvm_hv_msr_in_range(msr)) return kvm_hv_get_msr_common(v, msr, hostInitiated);
  if (v.ops.nested && (msr === 0x3a || (msr >= 0x480 && msr <= 0x491))) return v.ops.nested.get_msr(msr, hostInitiated);
  if (msr >= APIC_BASE_MSR && msr <= APIC_BASE_MSR + 0xff) {
    // kvm_x2apic_msr_read: #GP without an in-kernel APIC in x2APIC mode, or for an unreadable register.
    const r = v.lapic ? v.lapic.kvm_x2apic_msr_read(msr) : null;
    if (r === null) return KVM_MSR_RET_INVALID;
    v.msrValue = r;
    return 0;
  }
  const pvFeature = PV_MSR_FEATURE.get(msr);
  if (pvFeature !== undefined) {
    if (!hostInitiated && !guest_pv_has(v, pvFeature)) return KVM_MSR_RET_INVALID;
    if (msr === MSR_KVM_PV_EOI_EN && v.lapic) { v.msrValue = v.lapic.pv_eoi_msr; return 0; }
    v.msrValue = msr === MSR_KVM_ASYNC_PF_ACK ? 0 : a.pv_msrs.get(msr) ?? 0;
    return 0;
  }
  switch (msr) {
    case MSR_EFER: v.msrValue = a.efer; return 0;
    case MSR_IA32_APICBASE: v.msrValue = a.apic_base; return 0;
    case MSR_IA32_CR_PAT: v.msrValue = a.pat[1] * 4294967296 + (a.pat[0] >>> 0); return 0;
    case MSR_IA32_MISC_ENABLE: v.msrValue = a.ia32_misc_enable_msr; return 0;
    case MSR_IA32_XSS: v.msrValue = a.ia32_xss; return 0;
    case 0x9e: v.msrValue = a.smbase; return hostInitiated ? 0 : KVM_MSR_RET_INVALID; // MSR_IA32_SMBASE
    case MSR_IA32_SPEC_CTRL: // vmx_get_msr / svm_get_msr
      if (!hostInitiated && !guest_has_spec_ctrl_msr(v)) return KVM_MSR_RET_INVALID;
      v.msrValue = a.msrs.get(msr) ?? 0; return 0;
    case MSR_IA32_TSC: v.msrValue = kvm_read_l1_tsc(v); return 0;
    case MSR_IA32_TSC_ADJUST: v.msrValue = a.ia32_tsc_adjust_msr; return 0;
    case MSR_IA32_TSCDEADLINE: v.msrValue = v.lapic ? v.lapic.getTscDeadline() : 0; return 0;
  }
  if (isLegacyPerfMsr(msr)) { v.msrValue = 0; return 0; }
  if (STORED_MSRS.has(msr)) { v.msrValue = a.msrs.get(msr) ?? MSR_RESET_VALUES.get(msr) ?? 0; return 0; }
  if (coreReadMsr(c, msr)) { v.msrValue = (c.msrHi | 0) * 4294967296 + (c.msrLo >>> 0); return 0; }
  return KVM_MSR_RET_UNSUPPORTED;
}

/** kvm_set_msr_common. */
export function kvm_set_msr(v: KvmVcpu, msr: number, lo: number, hi: number, hostInitiated: boolean): number {
  const a = v.arch, c = v.cpu;
  msr >>>= 0;
  const val = (hi >>> 0) * 4294967296 + (lo >>> 0);
  if (kvm_hv_msr_in_range(msr)) return kvm_hv_set_msr_common(v, msr, lo, hi, hostInitiated);
  if (v.ops.nested && (msr === 0x3a || (msr >= 0x480 && msr <= 0x491))) return v.ops.nested.set_msr(msr, lo, hi, hostInitiated);
  if (msr >= APIC_BASE_MSR && msr <= APIC_BASE_MSR + 0xff) return v.lapic ? v.lapic.kvm_x2apic_msr_write(msr, lo, hi) : KVM_MSR_RET_INVALID;
  const pvFeature = PV_MSR_FEATURE.get(msr);
  if (pvFeature !== undefined) {
    if (!hostInitiated && !guest_pv_has(v, pvFeature)) return KVM_MSR_RET_INVALID;
    if (msr === MSR_KVM_MIGRATION_CONTROL && (val & ~1)) return KVM_MSR_RET_INVALID;
    if (msr === MSR_KVM_PV_EOI_EN && v.lapic) return v.lapic.kvm_lapic_set_pv_eoi(val);
    if (msr === MSR_KVM_SYSTEM_TIME_NEW || msr === MSR_KVM_SYSTEM_TIME) kvm_write_system_time(v, val, msr === MSR_KVM_SYSTEM_TIME_NEW);
    if ((msr === MSR_KVM_WALL_CLOCK_NEW || msr === MSR_KVM_WALL_CLOCK) && val) kvm_write_wall_clock(v, val);
    if (msr === MSR_KVM_ASYNC_PF_ACK) return 0;
    a.pv_msrs.set(msr, val);
    return 0;
  }
  switch (msr) {
    case MSR_EFER: return kvm_set_efer_msr(v, val, hostInitiated);
    case MSR_IA32_APICBASE: return v.setApicBase(val, hostInitiated);
    case MSR_IA32_CR_PAT: {
      for (let k = 0; k < 8; k++) {
        const t = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
        if (t === 2 || t === 3 || t > 7) return KVM_MSR_RET_INVALID;
      }
      a.pat[0] = lo | 0; a.pat[1] = hi | 0;
      v.ops.setGuestPat?.(lo, hi);
      return 0;
    }
    case MSR_IA32_MISC_ENABLE: a.ia32_misc_enable_msr = val; return 0;
    case MSR_IA32_XSS: if (val !== 0) return KVM_MSR_RET_INVALID; a.ia32_xss = 0; return 0;
    case MSR_IA32_TSC: kvm_set_tsc_msr(v, val, hostInitiated); return 0;
    case MSR_IA32_TSC_ADJUST: kvm_set_tsc_adjust_msr(v, val, hostInitiated); return 0;
    case MSR_IA32_TSCDEADLINE: v.lapic?.setTscDeadline(val); return 0;
    case 0x9e: if (!hostInitiated) return KVM_MSR_RET_INVALID; a.smbase = val; return 0;
    case MSR_IA32_SPEC_CTRL: // IBRS | STIBP | SSBD are the bits KVM lets a guest set (kvm_spec_ctrl_test_value)
      if (!hostInitiated && !guest_has_spec_ctrl_msr(v)) return KVM_MSR_RET_INVALID;
      if (val & ~7) return KVM_MSR_RET_INVALID;
      a.msrs.set(msr, val); return 0;
    case MSR_IA32_PRED_CMD: // write-only: IBPB (bit 0), SBPB (bit 7); no read side (kvm_get_msr_common has none)
      if (!hostInitiated && !guest_has_pred_cmd_msr(v)) return KVM_MSR_RET_INVALID;
      return val & ~0x81 ? KVM_MSR_RET_INVALID : 0;
  }
  if (isLegacyPerfMsr(msr)) return 0;
  if (STORED_MSRS.has(msr)) { a.msrs.set(msr, val); return 0; }
  const r = coreWriteMsr(c, msr, lo, hi);
  if (r < 0) return KVM_MSR_RET_INVALID;
  if (r > 0) return 0;
  return KVM_MSR_RET_UNSUPPORTED;
}

/** kvm_msr_reason. */
function kvm_msr_reason(r: number): number {
  return r === KVM_MSR_RET_UNSUPPORTED ? KVM_MSR_EXIT_REASON_UNKNOWN : KVM_MSR_EXIT_REASON_INVAL;
}

/** kvm_msr_user_space: exit to userspace when it asked for this kind of MSR failure. */
function kvm_msr_user_space(v: KvmVcpu, index: number, exitReason: number, data: number, r: number,
  complete: (v: KvmVcpu) => number): boolean {
  const reason = kvm_msr_reason(r);
  if (!(v.vm.userSpaceMsrMask & reason)) return false;
  const run = v.kvm_run;
  run.exit_reason = exitReason;
  run.msr.error = 0;
  run.msr.pad = 0;
  run.msr.reason = reason;
  run.msr.index = index;
  run.msr.data = BigInt(data);
  v.arch.complete_userspace_io = complete;
  return true;
}

/** complete_fast_rdmsr / complete_fast_msr_access. */
function complete_fast_rdmsr(v: KvmVcpu): number {
  const run = v.kvm_run;
  if (!run.msr.error) {
    kvm_gpr_write(v, 0, Number(run.msr.data & 0xffffffffn) | 0, 0);
    kvm_gpr_write(v, 2, Number((run.msr.data >> 32n) & 0xffffffffn) | 0, 0);
  }
  return kvm_complete_insn_gp(v, run.msr.error ? 1 : 0);
}
function complete_fast_msr_access(v: KvmVcpu): number {
  return kvm_complete_insn_gp(v, v.kvm_run.msr.error ? 1 : 0);
}

/** kvm_emulate_rdmsr. */
export function kvm_emulate_rdmsr(v: KvmVcpu): number {
  const ecx = kvm_gpr_read32(v, VCPU_REGS_RCX);
  const r = kvm_get_msr(v, ecx, false);
  if (!r && v.msrExact) {
    kvm_gpr_write(v, 0, v.msrLo, 0);
    kvm_gpr_write(v, 2, v.msrHi, 0);
  } else if (!r) {
    const d = v.msrValue;
    kvm_gpr_write(v, 0, d | 0, 0);
    kvm_gpr_write(v, 2, Math.floor(d / 4294967296) | 0, 0);
  } else if (kvm_msr_user_space(v, ecx, KVM_EXIT_X86_RDMSR, 0, r, complete_fast_rdmsr)) {
    return 0;
  }
  return kvm_complete_insn_gp(v, r ? 1 : 0);
}

/** kvm_emulate_wrmsr. */
export function kvm_emulate_wrmsr(v: KvmVcpu): number {
  const ecx = kvm_gpr_read32(v, VCPU_REGS_RCX);
  const lo = v.arch.regs[0], hi = v.arch.regs[4];
  const r = kvm_set_msr(v, ecx, lo, hi, false);
  if (r && kvm_msr_user_space(v, ecx, KVM_EXIT_X86_WRMSR, (hi >>> 0) * 4294967296 + (lo >>> 0), r, complete_fast_msr_access)) return 0;
  return kvm_complete_insn_gp(v, r ? 1 : 0);
}
