// The VMX capability MSRs KVM reports to L1 (nested.c nested_vmx_setup_ctls_msrs, vmx_get_vmx_msr)
// and IA32_FEATURE_CONTROL (vmx.c vmx_get_msr/vmx_set_msr, MSR_IA32_FEAT_CTL). Only what the
// model emulates for L2 is advertised: no EPT, VPID, unrestricted guest, APIC virtualization,
// posted interrupts, preemption timer, shadow VMCS or VM functions.
import * as F from './vmcs_fields';
import { VMCS12_REVISION, VMCS12_SIZE, VMCS12_MAX_FIELD_INDEX } from './vmcs12';
import { CR4_GUEST_VALID } from '../x86/x86';
import { CR4_VMXE } from '../../cpu/state';

export const MSR_IA32_FEAT_CTL = 0x3a;
export const FEAT_CTL_LOCKED = 1 << 0, FEAT_CTL_VMX_ENABLED_INSIDE_SMX = 1 << 1, FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX = 1 << 2;
export const MSR_IA32_VMX_BASIC = 0x480, MSR_IA32_VMX_PINBASED_CTLS = 0x481, MSR_IA32_VMX_PROCBASED_CTLS = 0x482,
  MSR_IA32_VMX_EXIT_CTLS = 0x483, MSR_IA32_VMX_ENTRY_CTLS = 0x484, MSR_IA32_VMX_MISC = 0x485,
  MSR_IA32_VMX_CR0_FIXED0 = 0x486, MSR_IA32_VMX_CR0_FIXED1 = 0x487, MSR_IA32_VMX_CR4_FIXED0 = 0x488,
  MSR_IA32_VMX_CR4_FIXED1 = 0x489, MSR_IA32_VMX_VMCS_ENUM = 0x48a, MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48b,
  MSR_IA32_VMX_EPT_VPID_CAP = 0x48c, MSR_IA32_VMX_TRUE_PINBASED_CTLS = 0x48d,
  MSR_IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e, MSR_IA32_VMX_TRUE_EXIT_CTLS = 0x48f,
  MSR_IA32_VMX_TRUE_ENTRY_CTLS = 0x490, MSR_IA32_VMX_VMFUNC = 0x491;

/** The default1 bits of the non-TRUE control MSRs (asm/vmx.h *_ALWAYSON_WITHOUT_TRUE_MSR). */
export const PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR = 0x16, CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR = 0x0401e172,
  VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR = 0x36dff, VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR = 0x11ff;
export const VM_EXIT_SAVE_DEBUG_CONTROLS = 0x4, VM_EXIT_ACK_INTR_ON_EXIT = 0x8000, VM_ENTRY_LOAD_DEBUG_CONTROLS = 0x4;
export const SECONDARY_EXEC_DESC = 0x4, SECONDARY_EXEC_ENABLE_RDTSCP = 0x8, SECONDARY_EXEC_WBINVD_EXITING = 0x40,
  SECONDARY_EXEC_RDRAND_EXITING = 0x800, SECONDARY_EXEC_RDSEED_EXITING = 0x10000;
/** IA32_VMX_BASIC bits above the revision and size: memory type WB (53:50), TRUE controls (55). */
const VMX_BASIC_MEM_TYPE_WB = 6, VMX_BASIC_TRUE_CTLS_HI = 1 << 23;
/** IA32_VMX_MISC: bit 5 EFER.LMA saved, bit 6 activity state HLT. */
export const VMX_MISC_SAVE_EFER_LMA = 1 << 5, VMX_MISC_ACTIVITY_HLT = 1 << 6;
/** CR0 bits that must be 1 in VMX operation without unrestricted guest: PE, NE, PG. */
export const VMXON_CR0_ALWAYSON = 0x80000021 | 0;
export const VMXON_CR4_ALWAYSON = CR4_VMXE;

/** struct nested_vmx_msrs: allowed-0 (low, must be 1) and allowed-1 (high, may be 1) settings. */
export interface NestedVmxMsrs {
  pinbased_ctls_low: number; pinbased_ctls_high: number;
  procbased_ctls_low: number; procbased_ctls_high: number;
  secondary_ctls_low: number; secondary_ctls_high: number;
  exit_ctls_low: number; exit_ctls_high: number;
  entry_ctls_low: number; entry_ctls_high: number;
  misc_low: number; misc_high: number;
  cr0_fixed0: number; cr0_fixed1: number; cr4_fixed0: number; cr4_fixed1: number;
  vmcs_enum: number;
}

/** nested_vmx_setup_ctls_msrs, for what this model can run as L2. */
export function nested_vmx_setup_ctls_msrs(): NestedVmxMsrs {
  return {
    pinbased_ctls_low: PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR,
    pinbased_ctls_high: PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR | F.PIN_BASED_EXT_INTR_MASK | F.PIN_BASED_NMI_EXITING |
      F.PIN_BASED_VIRTUAL_NMIS,
    // RDPMC exiting is not offered: the model has no PMU (RDPMC is #GP), so L2 could not run RDPMC either.
    // "We support free control of CR3 access interception."
    procbased_ctls_low: CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR & ~(F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING),
    procbased_ctls_high: (CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR | F.CPU_BASED_INTR_WINDOW_EXITING |
      F.CPU_BASED_NMI_WINDOW_EXITING | F.CPU_BASED_USE_TSC_OFFSETTING | F.CPU_BASED_HLT_EXITING |
      F.CPU_BASED_INVLPG_EXITING | F.CPU_BASED_MWAIT_EXITING | F.CPU_BASED_CR3_LOAD_EXITING |
      F.CPU_BASED_CR3_STORE_EXITING | F.CPU_BASED_CR8_LOAD_EXITING | F.CPU_BASED_CR8_STORE_EXITING |
      F.CPU_BASED_MOV_DR_EXITING | F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_USE_IO_BITMAPS |
      F.CPU_BASED_MONITOR_EXITING | F.CPU_BASED_RDTSC_EXITING |
      F.CPU_BASED_PAUSE_EXITING | F.CPU_BASED_USE_MSR_BITMAPS | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) >>> 0,
    secondary_ctls_low: 0,
    // RDRAND/RDSEED exiting are not offered: the model's CPUID has neither instruction (KVM reads
    // these controls from the hardware, which would lack them too).
    secondary_ctls_high: SECONDARY_EXEC_DESC | SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_WBINVD_EXITING,
    // "We support free control of debug control saving/loading."
    exit_ctls_low: VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_EXIT_SAVE_DEBUG_CONTROLS,
    exit_ctls_high: VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR | F.VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT |
      F.VM_EXIT_SAVE_IA32_PAT | F.VM_EXIT_LOAD_IA32_PAT | F.VM_EXIT_SAVE_IA32_EFER | F.VM_EXIT_LOAD_IA32_EFER,
    entry_ctls_low: VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR & ~VM_ENTRY_LOAD_DEBUG_CONTROLS,
    entry_ctls_high: VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR | F.VM_ENTRY_IA32E_MODE | F.VM_ENTRY_LOAD_IA32_PAT |
      F.VM_ENTRY_LOAD_IA32_EFER,
    misc_low: VMX_MISC_SAVE_EFER_LMA | VMX_MISC_ACTIVITY_HLT | (4 << 16) /* CR3-target values */,
    misc_high: 0,
    cr0_fixed0: VMXON_CR0_ALWAYSON,
    cr0_fixed1: -1,
    cr4_fixed0: VMXON_CR4_ALWAYSON,
    cr4_fixed1: CR4_GUEST_VALID | CR4_VMXE,
    vmcs_enum: VMCS12_MAX_FIELD_INDEX << 1,
  };
}

/** An MSR value as exact 32-bit halves. */
export interface MsrHalves { lo: number; hi: number; }
const put = (out: MsrHalves, lo: number, hi: number): true => { out.lo = lo >>> 0; out.hi = hi >>> 0; return true; };

/** vmx_get_vmx_msr: the value of a capability MSR (0x480-0x491) into `out`; false for another index. */
export function vmx_get_vmx_msr(m: NestedVmxMsrs, msr: number, out: MsrHalves): boolean {
  switch (msr) {
    case MSR_IA32_VMX_BASIC: return put(out, VMCS12_REVISION, VMCS12_SIZE | (VMX_BASIC_MEM_TYPE_WB << 18) | VMX_BASIC_TRUE_CTLS_HI);
    case MSR_IA32_VMX_TRUE_PINBASED_CTLS: return put(out, m.pinbased_ctls_low, m.pinbased_ctls_high);
    case MSR_IA32_VMX_PINBASED_CTLS: return put(out, m.pinbased_ctls_low | PIN_BASED_ALWAYSON_WITHOUT_TRUE_MSR, m.pinbased_ctls_high);
    case MSR_IA32_VMX_TRUE_PROCBASED_CTLS: return put(out, m.procbased_ctls_low, m.procbased_ctls_high);
    case MSR_IA32_VMX_PROCBASED_CTLS: return put(out, m.procbased_ctls_low | CPU_BASED_ALWAYSON_WITHOUT_TRUE_MSR, m.procbased_ctls_high);
    case MSR_IA32_VMX_TRUE_EXIT_CTLS: return put(out, m.exit_ctls_low, m.exit_ctls_high);
    case MSR_IA32_VMX_EXIT_CTLS: return put(out, m.exit_ctls_low | VM_EXIT_ALWAYSON_WITHOUT_TRUE_MSR, m.exit_ctls_high);
    case MSR_IA32_VMX_TRUE_ENTRY_CTLS: return put(out, m.entry_ctls_low, m.entry_ctls_high);
    case MSR_IA32_VMX_ENTRY_CTLS: return put(out, m.entry_ctls_low | VM_ENTRY_ALWAYSON_WITHOUT_TRUE_MSR, m.entry_ctls_high);
    case MSR_IA32_VMX_MISC: return put(out, m.misc_low, m.misc_high);
    case MSR_IA32_VMX_CR0_FIXED0: return put(out, m.cr0_fixed0, 0);
    case MSR_IA32_VMX_CR0_FIXED1: return put(out, m.cr0_fixed1, 0);
    case MSR_IA32_VMX_CR4_FIXED0: return put(out, m.cr4_fixed0, 0);
    case MSR_IA32_VMX_CR4_FIXED1: return put(out, m.cr4_fixed1, 0);
    case MSR_IA32_VMX_VMCS_ENUM: return put(out, m.vmcs_enum, 0);
    case MSR_IA32_VMX_PROCBASED_CTLS2: return put(out, m.secondary_ctls_low, m.secondary_ctls_high);
    case MSR_IA32_VMX_EPT_VPID_CAP: return put(out, 0, 0);
    case MSR_IA32_VMX_VMFUNC: return put(out, 0, 0);
  }
  return false;
}

/** vmx_control_verify: every must-be-1 bit set and no bit outside the allowed-1 settings. */
export function vmx_control_verify(control32: number, low: number, high: number): boolean {
  return ((control32 & low) >>> 0) === (low >>> 0) && (control32 & ~high) === 0;
}
/** fixed_bits_valid: CR0/CR4 against IA32_VMX_CRn_FIXED0/1. */
export function fixed_bits_valid(val: number, fixed0: number, fixed1: number): boolean {
  return ((val & fixed0) >>> 0) === (fixed0 >>> 0) && (val & ~fixed1) === 0;
}
