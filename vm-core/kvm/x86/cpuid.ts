// CPUID (arch/x86/kvm/cpuid.c): the supported table (KVM_GET_SUPPORTED_CPUID), the vCPU's table
// lookup (kvm_find_cpuid_entry / kvm_cpuid) and kvm_emulate_cpuid, plus the PV leaves.
import type { KvmVcpu } from '../vcpu';
import type { kvm_cpuid_entry2 } from '../uapi';
import {
  KVM_CPUID_FEATURES, KVM_CPUID_SIGNATURE, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_FEATURE_CLOCKSOURCE,
  KVM_FEATURE_NOP_IO_DELAY, KVM_FEATURE_CLOCKSOURCE2, KVM_FEATURE_ASYNC_PF, KVM_FEATURE_STEAL_TIME, KVM_FEATURE_PV_EOI,
  KVM_FEATURE_PV_UNHALT, KVM_FEATURE_PV_TLB_FLUSH, KVM_FEATURE_ASYNC_PF_VMEXIT, KVM_FEATURE_PV_SEND_IPI,
  KVM_FEATURE_POLL_CONTROL, KVM_FEATURE_PV_SCHED_YIELD, KVM_FEATURE_ASYNC_PF_INT, KVM_FEATURE_MSI_EXT_DEST_ID,
  KVM_FEATURE_HC_MAP_GPA_RANGE, KVM_FEATURE_MIGRATION_CONTROL, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT,
} from '../uapi';
import { builtinCpuid } from '../../cpu/env';
import { kvm_gpr_read32, kvm_gpr_write, VCPU_REGS_RAX, VCPU_REGS_RCX, VCPU_REGS_RDX, VCPU_REGS_RBX, kvm_read_cr4_bits } from './kvm_cache_regs';
import { kvm_skip_emulated_instruction } from './x86';
import { CR4_OSXSAVE } from '../../cpu/state';
import { kvm_hv_set_cpuid } from '../hyperv';

/** The PV features KVM advertises in leaf 0x40000001 EAX (kvm_cpuid KVM_CPUID_FEATURES). */
export const KVM_SUPPORTED_PV_FEATURES = [KVM_FEATURE_CLOCKSOURCE, KVM_FEATURE_NOP_IO_DELAY, KVM_FEATURE_CLOCKSOURCE2,
  KVM_FEATURE_ASYNC_PF, KVM_FEATURE_PV_EOI, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT, KVM_FEATURE_PV_UNHALT,
  KVM_FEATURE_PV_TLB_FLUSH, KVM_FEATURE_ASYNC_PF_VMEXIT, KVM_FEATURE_PV_SEND_IPI, KVM_FEATURE_POLL_CONTROL,
  KVM_FEATURE_PV_SCHED_YIELD, KVM_FEATURE_ASYNC_PF_INT, KVM_FEATURE_STEAL_TIME, KVM_FEATURE_MSI_EXT_DEST_ID,
  KVM_FEATURE_HC_MAP_GPA_RANGE, KVM_FEATURE_MIGRATION_CONTROL].reduce((m, b) => m | (1 << b), 0);

const str4 = (s: string) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;

/** KVM_GET_SUPPORTED_CPUID for this processor model, by vendor. */
export function kvm_get_supported_cpuid(vendor: 'intel' | 'amd', nested = false): kvm_cpuid_entry2[] {
  const out: kvm_cpuid_entry2[] = [];
  const regs = new Int32Array(4);
  const add = (fn: number, idx: number, flags = 0) => {
    builtinCpuid(fn, idx, regs);
    out.push({ function: fn >>> 0, index: idx, flags, eax: regs[0] >>> 0, ebx: regs[1] >>> 0, ecx: regs[2] >>> 0, edx: regs[3] >>> 0 });
    return out[out.length - 1];
  };
  const l0 = add(0, 0);
  if (vendor === 'amd') { l0.ebx = str4('Auth'); l0.edx = str4('enti'); l0.ecx = str4('cAMD'); }
  const l1 = add(1, 0);
  l1.ecx |= 1 << 31; // X86_FEATURE_HYPERVISOR
  // KVM emulates x2APIC and the TSC-deadline timer in its in-kernel LAPIC (kvm_set_cpu_caps).
  l1.ecx |= (1 << 21) | (1 << 24);
  // X86_FEATURE_VMX with kvm_intel.nested (nested_vmx_hardware_setup / kvm_set_cpu_caps).
  if (nested && vendor === 'intel') l1.ecx |= 1 << 5;
  l1.ecx >>>= 0;
  if (vendor === 'amd') l1.eax = 0x00a00f11;
  const l7 = add(7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
  l7.ebx = (l7.ebx | (1 << 1)) >>> 0; // TSC_ADJUST (x86.c emulates IA32_TSC_ADJUST)
  add(0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
  add(0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX); // XSAVEOPT, XSAVEC, XGETBV1, XSAVES (kvm_set_cpu_caps CPUID_D_1_EAX)
  out.push({ function: KVM_CPUID_SIGNATURE, index: 0, flags: 0, eax: KVM_CPUID_FEATURES,
    ebx: str4('KVMK'), ecx: str4('VMKV'), edx: str4('M\0\0\0') });
  out.push({ function: KVM_CPUID_FEATURES, index: 0, flags: 0, eax: KVM_SUPPORTED_PV_FEATURES >>> 0, ebx: 0, ecx: 0, edx: 0 });
  const e0 = add(0x80000000, 0);
  if (vendor === 'amd') { e0.ebx = str4('Auth'); e0.edx = str4('enti'); e0.ecx = str4('cAMD'); }
  const e1 = add(0x80000001, 0);
  if (vendor === 'amd') e1.ecx |= 1 << 2; // SVM
  add(0x80000008, 0);
  return out;
}

/** kvm_find_cpuid_entry_index. */
export function kvm_find_cpuid_entry(v: KvmVcpu, fn: number, index = 0): kvm_cpuid_entry2 | undefined {
  fn >>>= 0;
  for (const e of v.arch.cpuid) {
    if (e.function === fn && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index === index)) return e;
  }
  return undefined;
}

/** The entry kvm_cpuid uses for (fn, index): the exact match, else Intel's out-of-range rule (the highest basic leaf). */
function kvm_cpuid_entry(v: KvmVcpu, fn: number, index: number): kvm_cpuid_entry2 | undefined {
  let e = v.lookupCpuid(fn, index);
  if (!e && v.vm.vendor === 'intel') {
    const basic = v.lookupCpuid(0, 0);
    const isExt = (fn >>> 0) >= 0x80000000;
    const maxExt = v.lookupCpuid(0x80000000, 0);
    const hv = (fn >>> 0) >= 0x40000000 && (fn >>> 0) < 0x50000000;
    if (basic && !hv && (!isExt || !maxExt || (fn >>> 0) > maxExt.eax)) e = v.lookupCpuid(basic.eax, index);
  }
  return e;
}

/**
 * kvm_cpuid: the entry, the Intel out-of-range rule, and the runtime bits. The entry chosen for a
 * (function, index) pair depends only on the vCPU's table, which only KVM_SET_CPUID2 replaces, so it
 * is remembered per vCPU in a small direct-mapped table (a guest polls a handful of leaves).
 */
export function kvm_cpuid(v: KvmVcpu, fn: number, index: number, out: Int32Array): void {
  fn >>>= 0; index >>>= 0;
  const memo = v.cpuidMemo;
  if (memo.table !== v.arch.cpuid) memo.clear(v.arch.cpuid);
  const slot = (fn ^ (fn >>> 23) ^ (index << 3)) & CPUID_MEMO_MASK;
  let e: kvm_cpuid_entry2 | undefined;
  if (memo.fn[slot] === fn && memo.index[slot] === index) e = memo.entry[slot];
  else {
    e = kvm_cpuid_entry(v, fn, index);
    memo.fn[slot] = fn; memo.index[slot] = index; memo.entry[slot] = e;
  }
  if (!e) { out[0] = out[1] = out[2] = out[3] = 0; return; }
  out[0] = e.eax; out[1] = e.ebx; out[2] = e.ecx; out[3] = e.edx;
  if (fn === 1) {
    // kvm_update_cpuid_runtime: OSXSAVE mirrors CR4.OSXSAVE, APIC mirrors IA32_APIC_BASE.EN.
    out[2] = (out[2] & ~(1 << 27)) | (kvm_read_cr4_bits(v, CR4_OSXSAVE) ? 1 << 27 : 0);
    if (v.lapic) out[3] = (out[3] & ~(1 << 9)) | ((v.arch.apic_base & 0x800) ? 1 << 9 : 0);
  }
}

const CPUID_MEMO_SIZE = 64, CPUID_MEMO_MASK = CPUID_MEMO_SIZE - 1;
/** kvm_cpuid's remembered entries for one vCPU table (see kvm_cpuid). */
export class CpuidMemo {
  table: kvm_cpuid_entry2[] | null = null;
  /** Function per slot; -1 (never a uint32) marks an empty slot. */
  readonly fn = new Float64Array(CPUID_MEMO_SIZE).fill(-1);
  readonly index = new Float64Array(CPUID_MEMO_SIZE);
  readonly entry: (kvm_cpuid_entry2 | undefined)[] = new Array(CPUID_MEMO_SIZE).fill(undefined);
  clear(table: kvm_cpuid_entry2[]): void {
    this.table = table;
    this.fn.fill(-1);
    this.entry.fill(undefined);
  }
}

const scratch = new Int32Array(4);
/** kvm_emulate_cpuid. */
export function kvm_emulate_cpuid(v: KvmVcpu): number {
  const eax = kvm_gpr_read32(v, VCPU_REGS_RAX), ecx = kvm_gpr_read32(v, VCPU_REGS_RCX);
  kvm_cpuid(v, eax, ecx, scratch);
  kvm_gpr_write(v, VCPU_REGS_RAX, scratch[0], 0);
  kvm_gpr_write(v, VCPU_REGS_RBX, scratch[1], 0);
  kvm_gpr_write(v, VCPU_REGS_RCX, scratch[2], 0);
  kvm_gpr_write(v, VCPU_REGS_RDX, scratch[3], 0);
  return kvm_skip_emulated_instruction(v);
}

/**
 * kvm_get_hypervisor_cpuid: KVM's PV leaves are wherever "KVMKVMKVM" is, 0x40000000 ... 0x4000ff00 in
 * steps of 0x100 (0x40000100 when Hyper-V's leaves come first, as QEMU lays them out). -1 if absent.
 */
export function kvm_get_hypervisor_cpuid_base(v: KvmVcpu): number {
  for (let base = KVM_CPUID_SIGNATURE; base < 0x40010000; base += 0x100) {
    const e = kvm_find_cpuid_entry(v, base);
    if (e && e.ebx === str4('KVMK') && e.ecx === str4('VMKV') && e.edx === str4('M\0\0\0')) return base;
  }
  return -1;
}

/** kvm_vcpu_after_set_cpuid: PV features, CR4 reserved bits. */
export function kvm_vcpu_after_set_cpuid(v: KvmVcpu): void {
  const a = v.arch;
  const base = kvm_get_hypervisor_cpuid_base(v);
  const pv = base >= 0 ? kvm_find_cpuid_entry(v, base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE)) : undefined;
  a.pv_features = pv ? pv.eax : 0;
  kvm_hv_set_cpuid(v);
  let rsvd = 0;
  if (!v.guestCpuidHas(7, 'ebx', 0)) rsvd |= 1 << 16; // FSGSBASE
  if (!v.guestCpuidHas(7, 'ebx', 7)) rsvd |= 1 << 20; // SMEP
  if (!v.guestCpuidHas(7, 'ebx', 20)) rsvd |= 1 << 21; // SMAP
  if (!v.guestCpuidHas(1, 'ecx', 26)) rsvd |= 1 << 18; // OSXSAVE
  if (!v.guestCpuidHas(1, 'ecx', 17)) rsvd |= 1 << 17; // PCIDE
  a.cr4_guest_rsvd_bits = rsvd;
}
