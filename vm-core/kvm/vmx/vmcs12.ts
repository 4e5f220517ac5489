// vmcs12: the VMCS an L1 hypervisor sees (arch/x86/kvm/vmx/vmcs12.h, vmcs12.c). KVM keeps a cached
// copy while it is current (VMPTRLD reads it from L1's memory, nested_release_vmcs12 writes it
// back). The in-memory layout is implementation-specific (SDM Vol. 3C 25.2); this model's is its
// own: revision identifier at 0, VMX-abort indicator at 4, launch state at 8, then every supported
// field as 8 bytes at 64 + 8 * index, in the order of VMCS12_FIELDS. Values are kept as exact
// 32-bit halves (64-bit fields such as the VMCS link pointer are all ones).
import * as F from './vmcs_fields';

/** VMCS12_REVISION (vmcs12.h) and VMCS12_SIZE: what IA32_VMX_BASIC reports to L1. */
export const VMCS12_REVISION = 0x11e57ed0;
export const VMCS12_SIZE = 0x1000;
/** Offsets in the region (this model's layout). */
export const VMCS12_LAUNCH_STATE_OFFSET = 8;
const FIELDS_OFFSET = 64;

/** The encodings vmcs12 supports (SDM Vol. 3D Appendix B, as struct vmcs12 has them). */
export const VMCS12_FIELDS: readonly number[] = [
  // 16-bit control, guest, host
  F.VIRTUAL_PROCESSOR_ID, F.POSTED_INTR_NV,
  ...F.SEG_SELECTOR, F.GUEST_INTR_STATUS, F.GUEST_PML_INDEX,
  F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR,
  F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR,
  // 64-bit control
  F.IO_BITMAP_A, F.IO_BITMAP_B, F.MSR_BITMAP, F.VM_EXIT_MSR_STORE_ADDR, F.VM_EXIT_MSR_LOAD_ADDR,
  F.VM_ENTRY_MSR_LOAD_ADDR, F.PML_ADDRESS, F.TSC_OFFSET, F.VIRTUAL_APIC_PAGE_ADDR, F.APIC_ACCESS_ADDR,
  F.POSTED_INTR_DESC_ADDR, F.VM_FUNCTION_CONTROL, F.EPT_POINTER, F.EOI_EXIT_BITMAP0, 0x201e, 0x2020, 0x2022,
  0x2024 /* EPTP_LIST_ADDRESS */, 0x2026 /* VMREAD_BITMAP */, 0x2028 /* VMWRITE_BITMAP */, F.XSS_EXIT_BITMAP,
  0x202e /* ENCLS_EXITING_BITMAP */, F.TSC_MULTIPLIER,
  // 64-bit read-only, guest, host
  F.GUEST_PHYSICAL_ADDRESS,
  F.VMCS_LINK_POINTER, F.GUEST_IA32_DEBUGCTL, F.GUEST_IA32_PAT, F.GUEST_IA32_EFER, F.GUEST_IA32_PERF_GLOBAL_CTRL,
  F.GUEST_PDPTR0, F.GUEST_PDPTR1, F.GUEST_PDPTR2, F.GUEST_PDPTR3, F.GUEST_BNDCFGS,
  F.HOST_IA32_PAT, F.HOST_IA32_EFER, F.HOST_IA32_PERF_GLOBAL_CTRL,
  // 32-bit control
  F.PIN_BASED_VM_EXEC_CONTROL, F.CPU_BASED_VM_EXEC_CONTROL, F.EXCEPTION_BITMAP, F.PAGE_FAULT_ERROR_CODE_MASK,
  F.PAGE_FAULT_ERROR_CODE_MATCH, F.CR3_TARGET_COUNT, F.VM_EXIT_CONTROLS, F.VM_EXIT_MSR_STORE_COUNT,
  F.VM_EXIT_MSR_LOAD_COUNT, F.VM_ENTRY_CONTROLS, F.VM_ENTRY_MSR_LOAD_COUNT, F.VM_ENTRY_INTR_INFO_FIELD,
  F.VM_ENTRY_EXCEPTION_ERROR_CODE, F.VM_ENTRY_INSTRUCTION_LEN, F.TPR_THRESHOLD, F.SECONDARY_VM_EXEC_CONTROL,
  // 32-bit read-only
  F.VM_INSTRUCTION_ERROR, F.VM_EXIT_REASON, F.VM_EXIT_INTR_INFO, F.VM_EXIT_INTR_ERROR_CODE,
  F.IDT_VECTORING_INFO_FIELD, F.IDT_VECTORING_ERROR_CODE, F.VM_EXIT_INSTRUCTION_LEN, F.VMX_INSTRUCTION_INFO,
  // 32-bit guest, host
  ...F.SEG_LIMIT, F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_LIMIT, ...F.SEG_AR, F.GUEST_INTERRUPTIBILITY_INFO,
  F.GUEST_ACTIVITY_STATE, F.GUEST_SYSENTER_CS, F.VMX_PREEMPTION_TIMER_VALUE,
  F.HOST_IA32_SYSENTER_CS,
  // natural-width control, read-only, guest, host
  F.CR0_GUEST_HOST_MASK, F.CR4_GUEST_HOST_MASK, F.CR0_READ_SHADOW, F.CR4_READ_SHADOW,
  F.CR3_TARGET_VALUE0, 0x600a, 0x600c, 0x600e,
  F.EXIT_QUALIFICATION, 0x6402 /* EXIT_IO_RCX */, 0x6404 /* EXIT_IO_RSI */, 0x6406 /* EXIT_IO_RDI */,
  0x6408 /* EXIT_IO_RIP */, F.GUEST_LINEAR_ADDRESS,
  F.GUEST_CR0, F.GUEST_CR3, F.GUEST_CR4, ...F.SEG_BASE, F.GUEST_GDTR_BASE, F.GUEST_IDTR_BASE, F.GUEST_DR7,
  F.GUEST_RSP, F.GUEST_RIP, F.GUEST_RFLAGS, F.GUEST_PENDING_DBG_EXCEPTIONS, F.GUEST_SYSENTER_ESP,
  F.GUEST_SYSENTER_EIP,
  F.HOST_CR0, F.HOST_CR3, F.HOST_CR4, F.HOST_FS_BASE, F.HOST_GS_BASE, F.HOST_TR_BASE, F.HOST_GDTR_BASE,
  F.HOST_IDTR_BASE, F.HOST_IA32_SYSENTER_ESP, F.HOST_IA32_SYSENTER_EIP, F.HOST_RSP, F.HOST_RIP,
];

/** Encoding -> slot + 1 (0: not supported). */
const SLOT = new Int16Array(0x8000);
VMCS12_FIELDS.forEach((f, k) => { SLOT[f] = k + 1; });

/** IA32_VMX_VMCS_ENUM bits 9:1: the highest index (encoding bits 9:1) of any supported field. */
export const VMCS12_MAX_FIELD_INDEX = VMCS12_FIELDS.reduce((m, f) => Math.max(m, (f >> 1) & 0x1ff), 0);

const TWO32 = 4294967296;

/**
 * The slot of an encoding, or -1 (vmcs_field_to_offset). A 64-bit field's "high" encoding (bit 0
 * set) accesses its upper half: `high` is then true.
 */
export function vmcs12FieldSlot(enc: number): { slot: number; high: boolean } | null {
  if (enc < 0 || enc > 0x7fff || (enc & 0xffff8000) !== 0) return null;
  const width = F.vmcsFieldWidth(enc);
  if (enc & 1) {
    if (width !== 1) return null;
    const s = SLOT[enc & ~1];
    return s ? { slot: s - 1, high: true } : null;
  }
  const s = SLOT[enc];
  return s ? { slot: s - 1, high: false } : null;
}

/** A cached vmcs12 (vmx->nested.cached_vmcs12). */
export class Vmcs12 {
  readonly lo = new Uint32Array(VMCS12_FIELDS.length);
  readonly hi = new Uint32Array(VMCS12_FIELDS.length);
  revisionId = VMCS12_REVISION;
  abort = 0;
  /** launch_state: set by a successful VMLAUNCH, cleared by VMCLEAR. */
  launchState = 0;

  /** A supported field as a number (exact for addresses and everything below 2^53). */
  get(enc: number): number {
    const s = SLOT[enc];
    if (!s) return 0;
    return this.hi[s - 1] * TWO32 + this.lo[s - 1];
  }
  /** Low 32 bits of a field. */
  get32(enc: number): number { const s = SLOT[enc]; return s ? this.lo[s - 1] : 0; }
  /** Set a field from a number (truncated to the field's width; negative numbers as two's complement). */
  set(enc: number, v: number): void {
    const s = SLOT[enc];
    if (!s) return;
    const lo = v >>> 0, hi = Math.floor(v / TWO32) >>> 0;
    this.setHalves(s - 1, enc, lo, hi);
  }
  /** Set slot `slot` (encoding `enc`, for its width) from exact halves. */
  setHalves(slot: number, enc: number, lo: number, hi: number): void {
    const w = F.vmcsFieldWidth(enc);
    this.lo[slot] = w === 0 ? lo & 0xffff : lo >>> 0;
    this.hi[slot] = w === 0 || w === 2 ? 0 : hi >>> 0;
  }

  /** The region as L1's memory holds it. */
  toBytes(): Uint8Array {
    const b = new Uint8Array(VMCS12_SIZE), dv = new DataView(b.buffer);
    dv.setUint32(0, this.revisionId >>> 0, true);
    dv.setUint32(4, this.abort >>> 0, true);
    dv.setUint32(VMCS12_LAUNCH_STATE_OFFSET, this.launchState >>> 0, true);
    for (let k = 0; k < VMCS12_FIELDS.length; k++) {
      dv.setUint32(FIELDS_OFFSET + 8 * k, this.lo[k], true);
      dv.setUint32(FIELDS_OFFSET + 8 * k + 4, this.hi[k], true);
    }
    return b;
  }
  /** Load from L1's memory (VMPTRLD's kvm_vcpu_map of the region). */
  static fromBytes(b: Uint8Array): Vmcs12 {
    const v = new Vmcs12(), dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    v.revisionId = dv.getUint32(0, true) & 0x7fffffff;
    v.abort = dv.getUint32(4, true);
    v.launchState = dv.getUint32(VMCS12_LAUNCH_STATE_OFFSET, true);
    for (let k = 0; k < VMCS12_FIELDS.length; k++) {
      v.lo[k] = dv.getUint32(FIELDS_OFFSET + 8 * k, true);
      v.hi[k] = dv.getUint32(FIELDS_OFFSET + 8 * k + 4, true);
    }
    return v;
  }
}
