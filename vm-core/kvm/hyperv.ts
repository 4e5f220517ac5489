// Hyper-V emulation (arch/x86/kvm/hyperv.c): the per-VM and per-vCPU state (struct kvm_hv,
// struct kvm_vcpu_hv), KVM_GET_SUPPORTED_HV_CPUID (kvm_get_hv_cpuid), the CPUID cache
// (kvm_hv_set_cpuid), the synthetic MSRs with KVM's access rules (kvm_hv_get/set_msr_common,
// hv_check_msr_access), the hypercall page in both designs of seed 002 (KVM's write into guest
// memory, and the proposed KVM_EXIT_HYPERV_OVERLAY exit) and the hypercalls (kvm_hv_hypercall).
import type { KvmVcpu } from './vcpu';
import type { KvmVm } from './vm';
import * as U from './uapi';
import * as T from './hyperv_tlfs';
import { KVM_REQ_HV_EXIT, KVM_REQ_HV_RESET } from './vcpu_arch';
import { kvm_read_cr0_bits, kvm_gpr_write } from './x86/kvm_cache_regs';
import { is_64_bit_mode, kvm_skip_emulated_instruction, kvm_queue_exception } from './x86/x86';
import { CR0_PE } from '../cpu/state';
import { APIC_DM_FIXED } from './lapic';

/** Return codes as kvm_get_msr/kvm_set_msr use them (x86/msr.ts): 0 ok, 1 #GP, 2 not an MSR of this code. */
const MSR_OK = 0, MSR_INVALID = 1, MSR_UNSUPPORTED = 2;
const TWO32 = 4294967296;

/**
 * Hyper-V's TSC frequency MSR reports the VM clock's TSC rate (clock.ts, default 2 GHz: one
 * instruction is one TSC cycle); TIME_REF_COUNT is kvmclock time in 100 ns units, as in KVM.
 */
export function hvTscHz(v: KvmVcpu): number { return v.vm.clock.tscKhz * 1000; }
/** APIC_BUS_FREQUENCY (KVM's default APIC bus cycle of 1 ns). */
export const HV_APIC_BUS_FREQUENCY = 1_000_000_000;

/** struct kvm_hv: the partition-wide state (kvm->arch.hyperv). */
export class KvmHv {
  hv_guest_os_id = 0;
  hv_hypercall = 0;
  hv_tsc_page = 0;
  /** Seed 002: KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE (kvm->arch.hyperv.overlay_hcall_page). */
  overlay_hcall_page = false;
  /** The last bytes written or offered as the hypercall page (debugger view). */
  hypercallCode: number[] = [];
  /** The last hypercall completed in the kernel or by userspace (debugger view; reused, not reallocated). */
  readonly lastHypercall = { code: -1, fast: false, rep_cnt: 0, rep_idx: 0, status: 0, reps: 0 };
}

/** struct kvm_vcpu_hv: the per-vCPU state, created by kvm_hv_vcpu_init. */
export class KvmVcpuHv {
  vp_index: number;
  /** KVM_CAP_HYPERV_ENFORCE_CPUID. */
  enforce_cpuid = false;
  /** hv_vcpu->cpuid_cache. */
  features_eax = 0; features_ebx = 0; features_edx = 0;
  enlightenments_eax = 0; enlightenments_ebx = 0; syndbg_cap_eax = 0;
  /** VP_RUNTIME offset (100 ns units). */
  runtime_offset = 0;
  /** KVM_CAP_HYPERV_SYNIC / SYNIC2 activated the SynIC (only the flag is modelled). */
  synic_active = false;
  /** hv_vcpu->exit: the KVM_EXIT_HYPERV delivered by KVM_REQ_HV_EXIT (OVERLAY here). */
  readonly exit = { type: 0, msr: 0, gpa: 0, data_len: 0, data: new Uint8Array(U.KVM_EXIT_HV_OVERLAY_DATA_SIZE) };
  constructor(index: number) { this.vp_index = index; }
}

/** kvm_hv_vcpu_init: the vCPU's Hyper-V context, VP index = vCPU index. */
export function to_hv_vcpu(v: KvmVcpu): KvmVcpuHv {
  let hv = v.arch.hyperv;
  if (!hv) { hv = new KvmVcpuHv(Math.max(0, v.vm.vcpus.indexOf(v))); v.arch.hyperv = hv; }
  return hv;
}

/** kvm_hv_hypercall_enabled: Hyper-V in the vCPU's CPUID and a guest OS ID set. */
export function kvm_hv_hypercall_enabled(v: KvmVcpu): boolean {
  return v.arch.hyperv_enabled && v.vm.hyperv.hv_guest_os_id !== 0;
}

// ---------------------------------------------------------------- CPUID (kvm_get_hv_cpuid, kvm_hv_set_cpuid)

const str4 = (s: string) => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
/** HV_X64_NO_NONARCH_CORESHARING: set when SMT is impossible (always, for this single-thread model). */
const HV_X64_NO_NONARCH_CORESHARING = 1 << 18;

/** KVM_GET_SUPPORTED_HV_CPUID (kvm_get_hv_cpuid): every leaf KVM can emulate, eVMCS leaf left out. */
export function kvm_get_hv_cpuid(irqchip = true): U.kvm_cpuid_entry2[] {
  const e = (fn: number, eax = 0, ebx = 0, ecx = 0, edx = 0): U.kvm_cpuid_entry2 =>
    ({ function: fn, index: 0, flags: 0, eax: eax >>> 0, ebx: ebx >>> 0, ecx: ecx >>> 0, edx: edx >>> 0 });
  const sig = [str4('Linu'), str4('x KV'), str4('M Hv')];
  return [
    e(T.HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS, T.HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES, sig[0], sig[1], sig[2]),
    e(T.HYPERV_CPUID_INTERFACE, T.HYPERV_CPUID_SIGNATURE_EAX),
    e(T.HYPERV_CPUID_VERSION, 0x00003839, 0x000a0000), // Hyper-V 2016
    e(T.HYPERV_CPUID_FEATURES,
      T.HV_MSR_VP_RUNTIME_AVAILABLE | T.HV_MSR_TIME_REF_COUNT_AVAILABLE | T.HV_MSR_SYNIC_AVAILABLE |
      T.HV_MSR_SYNTIMER_AVAILABLE | T.HV_MSR_APIC_ACCESS_AVAILABLE | T.HV_MSR_HYPERCALL_AVAILABLE |
      T.HV_MSR_VP_INDEX_AVAILABLE | T.HV_MSR_RESET_AVAILABLE | T.HV_MSR_REFERENCE_TSC_AVAILABLE |
      T.HV_ACCESS_FREQUENCY_MSRS | T.HV_ACCESS_REENLIGHTENMENT | T.HV_ACCESS_TSC_INVARIANT,
      T.HV_POST_MESSAGES | T.HV_SIGNAL_EVENTS | T.HV_ENABLE_EXTENDED_HYPERCALLS | T.HV_DEBUGGING, 0,
      T.HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE | T.HV_X64_HYPERCALL_XMM_OUTPUT_AVAILABLE |
      T.HV_FEATURE_FREQUENCY_MSRS_AVAILABLE | T.HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE |
      T.HV_X64_GUEST_DEBUGGING_AVAILABLE | T.HV_FEATURE_DEBUG_MSRS_AVAILABLE | T.HV_FEATURE_EXT_GVA_RANGES_FLUSH |
      (irqchip ? T.HV_STIMER_DIRECT_MODE_AVAILABLE : 0)),
    e(T.HYPERV_CPUID_ENLIGHTMENT_INFO,
      T.HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED | T.HV_X64_APIC_ACCESS_RECOMMENDED | T.HV_X64_RELAXED_TIMING_RECOMMENDED |
      HV_X64_NO_NONARCH_CORESHARING | T.HV_DEPRECATING_AEOI_RECOMMENDED, 0x00000fff),
    e(T.HYPERV_CPUID_IMPLEMENT_LIMITS, 1024, 64),
    e(T.HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS, 0, sig[0], sig[1], sig[2]),
    e(T.HYPERV_CPUID_SYNDBG_INTERFACE, str4('VS#1')),
    e(T.HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES, T.HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING),
  ];
}

/**
 * A CPUID table with Hyper-V at 0x40000000 and KVM's PV leaves moved to 0x40000100, the way QEMU
 * lays them out with hv-* flags (what the Machine's `hyperv: true` gives each vCPU).
 */
export function withHypervCpuid(base: U.kvm_cpuid_entry2[], irqchip = true): U.kvm_cpuid_entry2[] {
  const out: U.kvm_cpuid_entry2[] = [];
  const kvmLeaves: U.kvm_cpuid_entry2[] = [];
  for (const e of base) {
    if (e.function >= 0x40000000 && e.function < 0x40000100) kvmLeaves.push({ ...e, function: e.function + 0x100 });
    else out.push({ ...e });
  }
  for (const k of kvmLeaves) if (k.function === U.KVM_CPUID_SIGNATURE + 0x100) k.eax = U.KVM_CPUID_FEATURES + 0x100;
  return [...out, ...kvm_get_hv_cpuid(irqchip), ...kvmLeaves];
}

/** kvm_cpuid_has_hyperv + kvm_hv_set_cpuid: after KVM_SET_CPUID2. */
export function kvm_hv_set_cpuid(v: KvmVcpu): void {
  const iface = v.lookupCpuid(T.HYPERV_CPUID_INTERFACE, 0);
  v.arch.hyperv_enabled = !!iface && iface.eax === T.HYPERV_CPUID_SIGNATURE_EAX;
  if (!v.arch.hyperv_enabled && !v.arch.hyperv) return;
  const hv = to_hv_vcpu(v);
  const f = v.arch.hyperv_enabled ? v.lookupCpuid(T.HYPERV_CPUID_FEATURES, 0) : undefined;
  hv.features_eax = f ? f.eax : 0; hv.features_ebx = f ? f.ebx : 0; hv.features_edx = f ? f.edx : 0;
  const en = v.arch.hyperv_enabled ? v.lookupCpuid(T.HYPERV_CPUID_ENLIGHTMENT_INFO, 0) : undefined;
  hv.enlightenments_eax = en ? en.eax : 0; hv.enlightenments_ebx = en ? en.ebx : 0;
  const dbg = v.arch.hyperv_enabled ? v.lookupCpuid(T.HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES, 0) : undefined;
  hv.syndbg_cap_eax = dbg ? dbg.eax : 0;
}

/** kvm_hv_set_enforce_cpuid (KVM_CAP_HYPERV_ENFORCE_CPUID on a vCPU). */
export function kvm_hv_set_enforce_cpuid(v: KvmVcpu, enforce: boolean): number {
  to_hv_vcpu(v).enforce_cpuid = enforce;
  return 0;
}

/** kvm_hv_activate_synic (KVM_CAP_HYPERV_SYNIC / SYNIC2): needs the in-kernel irqchip. */
export function kvm_hv_activate_synic(v: KvmVcpu): number {
  if (!v.lapic) return -U.EINVAL;
  to_hv_vcpu(v).synic_active = true;
  return 0;
}

// ---------------------------------------------------------------- MSRs (kvm_hv_get/set_msr_common)

/** The Hyper-V MSRs kvm_get/set_msr_common hand to kvm_hv_*_msr_common (GUEST_OS_ID ... SINT15). */
export function kvm_hv_msr_in_range(msr: number): boolean {
  return msr >= T.HV_X64_MSR_GUEST_OS_ID && msr <= 0x4000009f;
}

/** hv_check_msr_access: with KVM_CAP_HYPERV_ENFORCE_CPUID, the privilege bit of the MSR. */
function hv_check_msr_access(hv: KvmVcpuHv, msr: number): boolean {
  if (!hv.enforce_cpuid) return true;
  const eax = hv.features_eax;
  switch (msr) {
    case T.HV_X64_MSR_GUEST_OS_ID: case T.HV_X64_MSR_HYPERCALL: return (eax & T.HV_MSR_HYPERCALL_AVAILABLE) !== 0;
    case T.HV_X64_MSR_VP_RUNTIME: return (eax & T.HV_MSR_VP_RUNTIME_AVAILABLE) !== 0;
    case T.HV_X64_MSR_TIME_REF_COUNT: return (eax & T.HV_MSR_TIME_REF_COUNT_AVAILABLE) !== 0;
    case T.HV_X64_MSR_VP_INDEX: return (eax & T.HV_MSR_VP_INDEX_AVAILABLE) !== 0;
    case T.HV_X64_MSR_RESET: return (eax & T.HV_MSR_RESET_AVAILABLE) !== 0;
    case T.HV_X64_MSR_REFERENCE_TSC: return (eax & T.HV_MSR_REFERENCE_TSC_AVAILABLE) !== 0;
    case T.HV_X64_MSR_TSC_FREQUENCY: case T.HV_X64_MSR_APIC_FREQUENCY: return (eax & T.HV_ACCESS_FREQUENCY_MSRS) !== 0;
  }
  return false;
}

/** get_time_ref_counter: the partition reference time, get_kvmclock_ns / 100 (no TSC page set up). */
function get_time_ref_counter(v: KvmVcpu): number {
  return Math.floor(v.vm.get_kvmclock_ns() / 100);
}
/** current_task_runtime_100ns: the vCPU's run time in 100 ns units (its retired instructions on the VM clock). */
function current_task_runtime_100ns(v: KvmVcpu): number {
  return Math.floor(v.vm.clock.cyclesToNs(v.cpu.icount) / 100);
}

const MODELLED_MSRS = new Set([T.HV_X64_MSR_GUEST_OS_ID, T.HV_X64_MSR_HYPERCALL, T.HV_X64_MSR_VP_INDEX, T.HV_X64_MSR_RESET,
  T.HV_X64_MSR_VP_RUNTIME, T.HV_X64_MSR_TIME_REF_COUNT, T.HV_X64_MSR_REFERENCE_TSC, T.HV_X64_MSR_TSC_FREQUENCY,
  T.HV_X64_MSR_APIC_FREQUENCY]);

/** kvm_hv_get_msr_common (kvm_hv_get_msr_pw / kvm_hv_get_msr). Value in v.msrValue. */
export function kvm_hv_get_msr_common(v: KvmVcpu, msr: number, host: boolean): number {
  if (!host && !v.arch.hyperv_enabled) return MSR_INVALID;
  const hv = to_hv_vcpu(v), kvmHv = v.vm.hyperv;
  if (!MODELLED_MSRS.has(msr)) return MSR_UNSUPPORTED; // SynIC, STIMER, crash, syndbg, ... not modelled
  if (!host && !hv_check_msr_access(hv, msr)) return MSR_INVALID;
  switch (msr) {
    case T.HV_X64_MSR_GUEST_OS_ID: v.msrValue = kvmHv.hv_guest_os_id; break;
    case T.HV_X64_MSR_HYPERCALL: v.msrValue = kvmHv.hv_hypercall; break;
    case T.HV_X64_MSR_TIME_REF_COUNT: v.msrValue = get_time_ref_counter(v); break;
    case T.HV_X64_MSR_REFERENCE_TSC: v.msrValue = kvmHv.hv_tsc_page; break;
    case T.HV_X64_MSR_RESET: v.msrValue = 0; break;
    case T.HV_X64_MSR_VP_INDEX: v.msrValue = hv.vp_index; break;
    case T.HV_X64_MSR_VP_RUNTIME: v.msrValue = current_task_runtime_100ns(v) + hv.runtime_offset; break;
    case T.HV_X64_MSR_TSC_FREQUENCY: v.msrValue = hvTscHz(v); break;
    case T.HV_X64_MSR_APIC_FREQUENCY: v.msrValue = HV_APIC_BUS_FREQUENCY; break;
  }
  return MSR_OK;
}

/** kvm_hv_set_msr_common (kvm_hv_set_msr_pw / kvm_hv_set_msr). */
export function kvm_hv_set_msr_common(v: KvmVcpu, msr: number, lo: number, hi: number, host: boolean): number {
  if (!host && !v.arch.hyperv_enabled) return MSR_INVALID;
  const hv = to_hv_vcpu(v), kvmHv = v.vm.hyperv;
  if (!MODELLED_MSRS.has(msr)) return MSR_UNSUPPORTED;
  if (!host && !hv_check_msr_access(hv, msr)) return MSR_INVALID;
  const data = (hi >>> 0) * TWO32 + (lo >>> 0);
  switch (msr) {
    case T.HV_X64_MSR_GUEST_OS_ID:
      kvmHv.hv_guest_os_id = data;
      // Setting the guest OS ID to zero disables the hypercall page.
      if (!data && (kvmHv.hv_hypercall & T.HV_X64_MSR_HYPERCALL_ENABLE)) {
        kvmHv.hv_hypercall -= T.HV_X64_MSR_HYPERCALL_ENABLE;
        if (kvmHv.overlay_hcall_page) overlay_exit(v, T.HV_X64_MSR_HYPERCALL, kvmHv.hv_hypercall, null, 0);
      }
      return MSR_OK;
    case T.HV_X64_MSR_HYPERCALL: return kvm_hv_set_hypercall_msr(v, data);
    case T.HV_X64_MSR_REFERENCE_TSC: kvmHv.hv_tsc_page = data; return MSR_OK;
    case T.HV_X64_MSR_RESET:
      if (data === 1) v.arch.requests |= KVM_REQ_HV_RESET;
      return MSR_OK;
    case T.HV_X64_MSR_TIME_REF_COUNT:
      return host ? MSR_OK : MSR_INVALID; // read-only, a host write is ignored
    case T.HV_X64_MSR_VP_INDEX:
      if (!host || (lo >>> 0) >= 1024 || hi !== 0) return MSR_INVALID;
      hv.vp_index = lo >>> 0;
      return MSR_OK;
    case T.HV_X64_MSR_VP_RUNTIME:
      if (!host) return MSR_INVALID;
      hv.runtime_offset = data - current_task_runtime_100ns(v);
      return MSR_OK;
    case T.HV_X64_MSR_TSC_FREQUENCY: case T.HV_X64_MSR_APIC_FREQUENCY:
      return host ? MSR_OK : MSR_INVALID;
  }
  return MSR_UNSUPPORTED;
}

// ---------------------------------------------------------------- the hypercall page (TLFS 3.13, seed 002)

/** The hypercall page's code: `or eax, 0x80000000` when Xen hypercalls are on too, VMCALL/VMMCALL, RET. */
export function kvm_hv_hypercall_page_code(v: KvmVcpu): Uint8Array {
  const buf = new Uint8Array(9);
  let i = 0;
  if (v.vm.xenHypercallEnabled) { buf[i++] = 0x0d; buf[i++] = 0x00; buf[i++] = 0x00; buf[i++] = 0x00; buf[i++] = 0x80; }
  const insn = new Uint8Array(3);
  v.ops.patch_hypercall(insn);
  buf.set(insn, i); i += 3;
  buf[i++] = 0xc3;
  return buf.subarray(0, i);
}

/** kvm_vcpu_write_guest: all-or-nothing write into writable memslots. */
function kvm_vcpu_write_guest(v: KvmVcpu, gpa: number, data: Uint8Array): boolean {
  const bus = v.vm.bus;
  for (let k = 0; k < data.length; k++) {
    const r = bus.regionAt(gpa + k);
    if (!r || r.readonly || bus.isOverlay(gpa + k)) return false;
  }
  bus.write(gpa, data, false);
  return true;
}

/** Seed 002's overlay_exit: hand the page to userspace through KVM_REQ_HV_EXIT (data null: remove it). */
function overlay_exit(v: KvmVcpu, msr: number, gpa: number, data: Uint8Array | null, len: number): void {
  const e = to_hv_vcpu(v).exit;
  e.type = U.KVM_EXIT_HYPERV_OVERLAY;
  e.msr = msr;
  e.gpa = gpa;
  e.data_len = len;
  e.data.fill(0);
  if (data && len) e.data.set(data.subarray(0, len));
  v.arch.requests |= KVM_REQ_HV_EXIT;
}

/** kvm_hv_set_msr_pw, HV_X64_MSR_HYPERCALL: legacy (write the code into the page) or overlay (exit). */
function kvm_hv_set_hypercall_msr(v: KvmVcpu, data: number): number {
  const kvmHv = v.vm.hyperv;
  // If the guest OS ID is not set the hypercall page stays disabled: the write is ignored.
  if (!kvmHv.hv_guest_os_id) return MSR_OK;
  if (!(data % 2)) {
    const wasEnabled = (kvmHv.hv_hypercall % 2) === 1;
    kvmHv.hv_hypercall = data;
    if (kvmHv.overlay_hcall_page && wasEnabled) overlay_exit(v, T.HV_X64_MSR_HYPERCALL, data, null, 0);
    return MSR_OK;
  }
  const code = kvm_hv_hypercall_page_code(v);
  const addr = data - (data % 4096);
  kvmHv.hypercallCode = Array.from(code);
  if (kvmHv.overlay_hcall_page) overlay_exit(v, T.HV_X64_MSR_HYPERCALL, data, code, code.length);
  else if (!kvm_vcpu_write_guest(v, addr, code)) return MSR_INVALID;
  kvmHv.hv_hypercall = data;
  return MSR_OK;
}

/** The KVM_REQ_HV_RESET / KVM_REQ_HV_EXIT part of vcpu_enter_guest: true when kvm_run was filled. */
export function kvm_hv_check_requests(v: KvmVcpu): boolean {
  const a = v.arch, run = v.kvm_run;
  if (a.requests & KVM_REQ_HV_RESET) {
    a.requests &= ~KVM_REQ_HV_RESET;
    run.exit_reason = U.KVM_EXIT_SYSTEM_EVENT;
    run.system_event.type = U.KVM_SYSTEM_EVENT_RESET;
    run.system_event.ndata = 0;
    return true;
  }
  if (a.requests & KVM_REQ_HV_EXIT) {
    a.requests &= ~KVM_REQ_HV_EXIT;
    const e = to_hv_vcpu(v).exit, o = run.hyperv.u.overlay;
    run.exit_reason = U.KVM_EXIT_HYPERV;
    run.hyperv.type = e.type;
    o.msr = e.msr; o.gpa = BigInt(e.gpa); o.data_len = e.data_len;
    o.data.set(e.data);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- hypercalls (kvm_hv_hypercall, TLFS 3.7)

/** struct kvm_hv_hcall, as 32-bit halves. */
class HvHcall {
  paramLo = 0; paramHi = 0; ingpaLo = 0; ingpaHi = 0; outgpaLo = 0; outgpaHi = 0;
  code = 0; var_cnt = 0; fast = false; rep_cnt = 0; rep_idx = 0; rep = false;
  get ingpa(): number { return (this.ingpaHi >>> 0) * TWO32 + (this.ingpaLo >>> 0); }
  get outgpa(): number { return (this.outgpaHi >>> 0) * TWO32 + (this.outgpaLo >>> 0); }
}
const hc = new HvHcall();

/** hv_check_hypercall_access: with KVM_CAP_HYPERV_ENFORCE_CPUID, the feature behind each call. */
function hv_check_hypercall_access(hv: KvmVcpuHv, code: number): boolean {
  if (!hv.enforce_cpuid) return true;
  switch (code) {
    case T.HVCALL_NOTIFY_LONG_SPIN_WAIT: return hv.enlightenments_ebx !== 0 && hv.enlightenments_ebx !== 0xffffffff;
    case T.HVCALL_POST_MESSAGE: return (hv.features_ebx & T.HV_POST_MESSAGES) !== 0;
    case T.HVCALL_SIGNAL_EVENT: return (hv.features_ebx & T.HV_SIGNAL_EVENTS) !== 0;
    case T.HVCALL_POST_DEBUG_DATA: case T.HVCALL_RETRIEVE_DEBUG_DATA: case T.HVCALL_RESET_DEBUG_SESSION:
      // True when SynDBG is off, so the result is HV_STATUS_INVALID_HYPERCALL_CODE.
      return !kvm_hv_is_syndbg_enabled(hv) || (hv.features_ebx & T.HV_DEBUGGING) !== 0;
    case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX: case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
      return (hv.enlightenments_eax & T.HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED) !== 0 &&
        (hv.enlightenments_eax & T.HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED) !== 0;
    case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST: case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
      return (hv.enlightenments_eax & T.HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED) !== 0;
    case T.HVCALL_SEND_IPI_EX:
      return (hv.enlightenments_eax & T.HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED) !== 0 &&
        (hv.enlightenments_eax & T.HV_X64_CLUSTER_IPI_RECOMMENDED) !== 0;
    case T.HVCALL_SEND_IPI:
      return (hv.enlightenments_eax & T.HV_X64_CLUSTER_IPI_RECOMMENDED) !== 0;
  }
  if (code >= T.HV_EXT_CALL_QUERY_CAPABILITIES && code <= T.HV_EXT_CALL_MAX) return (hv.features_ebx & T.HV_ENABLE_EXTENDED_HYPERCALLS) !== 0;
  return true;
}

function kvm_hv_is_syndbg_enabled(hv: KvmVcpuHv): boolean {
  return (hv.syndbg_cap_eax & T.HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING) !== 0;
}

/** is_xmm_fast_hypercall: the calls whose fast form passes input in XMM registers. */
function is_xmm_fast_hypercall(code: number): boolean {
  return code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST || code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE ||
    code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX || code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX ||
    code === T.HVCALL_SEND_IPI_EX;
}

/** kvm_read_guest of `len` bytes (null when not all of it is RAM). */
function kvm_read_guest(v: KvmVcpu, gpa: number, len: number): DataView | null {
  const holes: number[] = [];
  const b = v.vm.bus.read(gpa, len, holes);
  return holes.length ? null : new DataView(b.buffer);
}

/** kvm_hv_flush_tlb: every vCPU flushes (KVM always flushes everything); reps all done. */
function kvm_hv_flush_tlb(v: KvmVcpu, h: HvHcall): [number, number] {
  const ex = h.code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX || h.code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX;
  if (!h.fast && !kvm_read_guest(v, h.ingpa, ex ? 32 : 24)) return [T.HV_STATUS_INVALID_HYPERCALL_INPUT, 0];
  for (const o of v.vm.vcpus) o.cpu.flushTlb(false);
  return [T.HV_STATUS_SUCCESS, h.rep_cnt];
}

/** kvm_hv_send_ipi: fixed IPIs to the vCPUs whose VP index is in the set. */
function kvm_hv_send_ipi(v: KvmVcpu, h: HvHcall): number {
  let vector: number, all = false, maskLo = 0, maskHi = 0;
  if (h.code === T.HVCALL_SEND_IPI) {
    if (!h.fast) {
      const d = kvm_read_guest(v, h.ingpa, 16);
      if (!d) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
      vector = d.getUint32(0, true); maskLo = d.getUint32(8, true); maskHi = d.getUint32(12, true);
    } else {
      if (h.ingpaHi !== 0) return T.HV_STATUS_INVALID_HYPERCALL_INPUT; // 'reserved' part of hv_send_ipi
      vector = h.ingpaLo >>> 0; maskLo = h.outgpaLo; maskHi = h.outgpaHi;
    }
  } else {
    const d = kvm_read_guest(v, h.ingpa, 24);
    if (!d) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
    vector = d.getUint32(0, true);
    const format = d.getUint32(8, true), bankLo = d.getUint32(16, true), bankHi = d.getUint32(20, true);
    all = format === T.HV_GENERIC_SET_ALL;
    if (h.var_cnt !== popcount(bankLo) + popcount(bankHi)) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
    if (!all) {
      if (!h.var_cnt) return T.HV_STATUS_SUCCESS;
      if (!(bankLo & 1)) return T.HV_STATUS_SUCCESS; // only bank 0 (VPs 0-63) is modelled
      const m = kvm_read_guest(v, h.ingpa + 24, 8);
      if (!m) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
      maskLo = m.getUint32(0, true); maskHi = m.getUint32(4, true);
    }
  }
  if (vector < T.HV_IPI_LOW_VECTOR || vector > T.HV_IPI_HIGH_VECTOR) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
  for (const o of v.vm.vcpus) {
    const idx = o.arch.hyperv ? o.arch.hyperv.vp_index : o.vm.vcpus.indexOf(o);
    const hit = all || (idx < 32 ? (maskLo >>> idx) & 1 : idx < 64 ? (maskHi >>> (idx - 32)) & 1 : 0);
    if (hit && o.lapic) o.lapic.deliver(APIC_DM_FIXED, vector);
  }
  return T.HV_STATUS_SUCCESS;
}

function popcount(x: number): number { let n = 0; for (x >>>= 0; x; x &= x - 1) n++; return n; }

/** kvm_hvcall_signal_event: no connection ids are registered (KVM_HYPERV_EVENTFD) in this model. */
function kvm_hvcall_signal_event(v: KvmVcpu, h: HvHcall): number {
  let lo = h.ingpaLo, hi = h.ingpaHi;
  if (!h.fast) {
    const gpa = h.ingpa;
    if (gpa % 8 || (gpa % 4096) + 8 > 4096) return T.HV_STATUS_INVALID_ALIGNMENT;
    const d = kvm_read_guest(v, gpa, 8);
    if (!d) return T.HV_STATUS_INVALID_ALIGNMENT;
    lo = d.getUint32(0, true); hi = d.getUint32(4, true);
  }
  if (hi & 0xffff) return T.HV_STATUS_INVALID_PORT_ID; // the flag number (bits 47:32)
  if ((hi >>> 16) || (lo & ~T.KVM_HYPERV_CONN_ID_MASK)) return T.HV_STATUS_INVALID_HYPERCALL_INPUT;
  return T.HV_STATUS_INVALID_PORT_ID;
}

/** kvm_hv_hypercall_set_result: RAX (64-bit) or EDX:EAX. */
function kvm_hv_hypercall_set_result(v: KvmVcpu, lo: number, hi: number): void {
  if (is_64_bit_mode(v)) kvm_gpr_write(v, 0, lo | 0, hi | 0);
  else { kvm_gpr_write(v, 2, hi | 0, 0); kvm_gpr_write(v, 0, lo | 0, 0); }
}
/** kvm_hv_hypercall_complete. */
function kvm_hv_hypercall_complete(v: KvmVcpu, lo: number, hi: number): number {
  kvm_hv_hypercall_set_result(v, lo, hi);
  v.stats.hypercalls++;
  const l = v.vm.hyperv.lastHypercall;
  l.code = hc.code; l.fast = hc.fast; l.rep_cnt = hc.rep_cnt; l.rep_idx = hc.rep_idx; l.status = lo & 0xffff; l.reps = hi & 0xfff;
  return kvm_skip_emulated_instruction(v);
}
/** kvm_hv_hypercall_complete_userspace: the result userspace put in run->hyperv.u.hcall.result. */
export function kvm_hv_hypercall_complete_userspace(v: KvmVcpu): number {
  const r = v.kvm_run.hyperv.u.hcall.result;
  return kvm_hv_hypercall_complete(v, Number(r & 0xffffffffn) | 0, Number((r >> 32n) & 0xffffffffn) | 0);
}

/** kvm_hv_hypercall: VMCALL/VMMCALL once the guest OS ID is set. */
export function kvm_hv_hypercall(v: KvmVcpu): number {
  // Hypercalls are #UD from CPL != 0 and from real mode (TLFS 3.2).
  if (v.ops.get_cpl() !== 0 || !kvm_read_cr0_bits(v, CR0_PE)) { kvm_queue_exception(v, U.UD_VECTOR); return 1; }
  const R = v.arch.regs, hv = to_hv_vcpu(v);
  if (is_64_bit_mode(v)) {
    hc.paramLo = R[2]; hc.paramHi = R[3];       // RCX
    hc.ingpaLo = R[4]; hc.ingpaHi = R[5];       // RDX
    hc.outgpaLo = R[16]; hc.outgpaHi = R[17];   // R8
  } else {
    hc.paramLo = R[0]; hc.paramHi = R[4];       // EDX:EAX
    hc.ingpaLo = R[2]; hc.ingpaHi = R[6];       // EBX:ECX
    hc.outgpaLo = R[12]; hc.outgpaHi = R[14];   // EDI:ESI
  }
  hc.code = hc.paramLo & 0xffff;
  hc.var_cnt = (hc.paramLo >>> T.HV_HYPERCALL_VARHEAD_OFFSET) & 0x3ff;
  hc.fast = (hc.paramLo & T.HV_HYPERCALL_FAST_BIT) !== 0;
  hc.rep_cnt = hc.paramHi & 0xfff;
  hc.rep_idx = (hc.paramHi >>> (T.HV_HYPERCALL_REP_START_OFFSET - 32)) & 0xfff;
  hc.rep = hc.rep_cnt !== 0 || hc.rep_idx !== 0;

  let ret = T.HV_STATUS_SUCCESS, reps = 0;
  if (!hv_check_hypercall_access(hv, hc.code)) return kvm_hv_hypercall_complete(v, T.HV_STATUS_ACCESS_DENIED, 0);
  if ((hc.paramLo & T.HV_HYPERCALL_RSVD_MASK_LO) || (hc.paramHi & T.HV_HYPERCALL_RSVD_MASK_HI)) {
    return kvm_hv_hypercall_complete(v, T.HV_STATUS_INVALID_HYPERCALL_INPUT, 0);
  }
  if (hc.fast && is_xmm_fast_hypercall(hc.code) && hv.enforce_cpuid && !(hv.features_edx & T.HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE)) {
    kvm_queue_exception(v, U.UD_VECTOR);
    return 1;
  }
  switch (hc.code) {
    case T.HVCALL_NOTIFY_LONG_SPIN_WAIT:
      if (hc.rep || hc.var_cnt) ret = T.HV_STATUS_INVALID_HYPERCALL_INPUT;
      break;
    case T.HVCALL_SIGNAL_EVENT:
      if (hc.rep || hc.var_cnt) { ret = T.HV_STATUS_INVALID_HYPERCALL_INPUT; break; }
      ret = kvm_hvcall_signal_event(v, hc);
      if (ret !== T.HV_STATUS_INVALID_PORT_ID) break;
      // maybe userspace knows this connection id
      return post_message(v, hv);
    case T.HVCALL_POST_MESSAGE:
      return post_message(v, hv);
    case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST: case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
      // A list flush is a rep call starting at 0; the non-EX form has no variable header.
      if ((hc.code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST && hc.var_cnt) || !hc.rep_cnt || hc.rep_idx) {
        ret = T.HV_STATUS_INVALID_HYPERCALL_INPUT; break;
      }
      [ret, reps] = kvm_hv_flush_tlb(v, hc);
      break;
    case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE: case T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
      if ((hc.code === T.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE && hc.var_cnt) || hc.rep) {
        ret = T.HV_STATUS_INVALID_HYPERCALL_INPUT; break;
      }
      [ret, reps] = kvm_hv_flush_tlb(v, hc);
      break;
    case T.HVCALL_SEND_IPI: case T.HVCALL_SEND_IPI_EX:
      ret = hc.code === T.HVCALL_SEND_IPI && hc.rep ? T.HV_STATUS_INVALID_HYPERCALL_INPUT : kvm_hv_send_ipi(v, hc);
      break;
    case T.HVCALL_POST_DEBUG_DATA: case T.HVCALL_RETRIEVE_DEBUG_DATA: case T.HVCALL_RESET_DEBUG_SESSION:
      if (hc.fast && hc.code !== T.HVCALL_RESET_DEBUG_SESSION) { ret = T.HV_STATUS_INVALID_PARAMETER; break; }
      // SynDBG options (HV_X64_SYNDBG_OPTION_USE_HCALLS) are not modelled: never enabled.
      ret = kvm_hv_is_syndbg_enabled(hv) ? T.HV_STATUS_OPERATION_DENIED : T.HV_STATUS_INVALID_HYPERCALL_CODE;
      break;
    default:
      if (hc.code >= T.HV_EXT_CALL_QUERY_CAPABILITIES && hc.code <= T.HV_EXT_CALL_MAX) {
        if (hc.fast) { ret = T.HV_STATUS_INVALID_PARAMETER; break; }
        return hypercall_userspace_exit(v);
      }
      ret = T.HV_STATUS_INVALID_HYPERCALL_CODE;
  }
  return kvm_hv_hypercall_complete(v, ret, reps);
}

/** HVCALL_POST_MESSAGE: userspace's, when the SynIC is active (KVM_CAP_HYPERV_SYNIC). */
function post_message(v: KvmVcpu, hv: KvmVcpuHv): number {
  if (hc.rep || hc.var_cnt || !hv.synic_active) return kvm_hv_hypercall_complete(v, T.HV_STATUS_INVALID_HYPERCALL_INPUT, 0);
  return hypercall_userspace_exit(v);
}

/** KVM_EXIT_HYPERV / KVM_EXIT_HYPERV_HCALL: input value and the two GPAs; completed by userspace's result. */
function hypercall_userspace_exit(v: KvmVcpu): number {
  const run = v.kvm_run, h = run.hyperv.u.hcall;
  run.exit_reason = U.KVM_EXIT_HYPERV;
  run.hyperv.type = U.KVM_EXIT_HYPERV_HCALL;
  h.input = (BigInt(hc.paramHi >>> 0) << 32n) | BigInt(hc.paramLo >>> 0);
  h.params[0] = (BigInt(hc.ingpaHi >>> 0) << 32n) | BigInt(hc.ingpaLo >>> 0);
  h.params[1] = (BigInt(hc.outgpaHi >>> 0) << 32n) | BigInt(hc.outgpaLo >>> 0);
  h.result = 0n;
  v.arch.complete_userspace_io = kvm_hv_hypercall_complete_userspace;
  return 0;
}

/** For the debugger: the partition's Hyper-V state. */
export function kvm_hv_describe(vm: KvmVm): { guestOsId: number; hypercall: number; overlay: boolean; code: number[] } {
  const h = vm.hyperv;
  return { guestOsId: h.hv_guest_os_id, hypercall: h.hv_hypercall, overlay: h.overlay_hcall_page, code: h.hypercallCode };
}
