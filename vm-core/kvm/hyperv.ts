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
import { kvm_get_time_scale } from './x86/kvmclock';

/** APIC_DM_FIXED (apicdef.h), here so the LAPIC can call into the SynIC without an import cycle. */
const APIC_DM_FIXED = 0x000;

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
  /** hv->hv_tsc_page_status (enum hv_tsc_page_status). */
  hv_tsc_page_status = HV_TSC_PAGE_UNSET;
  /** hv->tsc_ref: the last parameters written to the reference TSC page (scale as 16-bit limbs too). */
  readonly tsc_ref = { tsc_sequence: 0, tsc_scale: 0n, tsc_offset: 0, scaleLimbs: new Float64Array(4) };
  /** hv->conn_to_evt (KVM_HYPERV_EVENTFD): connection id -> the eventfd, here the function that signals it. */
  readonly conn_to_evt = new Map<number, () => void>();
  /**
   * kvm_notify_acked_gsi for the GSIs of KVM_IRQ_ROUTING_HV_SINT routes: the irqfd resampler userspace
   * attached to a SINT route (QEMU's sint_ack_notifier) is called with the GSI when the guest acks the SINT.
   */
  onSintAck: ((gsi: number) => void) | null = null;
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
  /** hv_vcpu->synic (activated by KVM_CAP_HYPERV_SYNIC / SYNIC2). */
  readonly synic = new KvmVcpuHvSynic();
  /** hv_vcpu->stimer[4] and stimer_pending_bitmap (KVM_REQ_HV_STIMER is "the bitmap is not 0"). */
  readonly stimer: KvmVcpuHvStimer[] = [0, 1, 2, 3].map((i) => new KvmVcpuHvStimer(i));
  stimer_pending_bitmap = 0;
  /** The earliest armed stimer hrtimer in host cycles (Infinity: none); the run loop cuts the vCPU's run there. */
  stimerExpireCycles = Infinity;
  /** hv_vcpu->exit: the KVM_EXIT_HYPERV delivered by KVM_REQ_HV_EXIT (OVERLAY or SYNIC here). */
  readonly exit = { type: 0, msr: 0, gpa: 0, data_len: 0, data: new Uint8Array(U.KVM_EXIT_HV_OVERLAY_DATA_SIZE),
    control: 0, evt_page: 0, msg_page: 0 };
  /** The stimer message being delivered (struct hv_message header + hv_timer_message_payload), reused. */
  readonly msgScratch = new Uint8Array(T.HV_MESSAGE_HEADER_SIZE + T.HV_TIMER_MESSAGE_PAYLOAD_SIZE);
  constructor(index: number) { this.vp_index = index; }
  /** Back-compat view of synic->active. */
  get synic_active(): boolean { return this.synic.active; }
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
    // Only what this model implements (KVM advertises more): no APIC access MSRs / VP assist page,
    // reenlightenment, TSC invariant control, crash or SynDBG MSRs, and no XMM fast-call input or output.
    e(T.HYPERV_CPUID_FEATURES,
      T.HV_MSR_VP_RUNTIME_AVAILABLE | T.HV_MSR_TIME_REF_COUNT_AVAILABLE | T.HV_MSR_SYNIC_AVAILABLE |
      T.HV_MSR_SYNTIMER_AVAILABLE | T.HV_MSR_HYPERCALL_AVAILABLE |
      T.HV_MSR_VP_INDEX_AVAILABLE | T.HV_MSR_RESET_AVAILABLE | T.HV_MSR_REFERENCE_TSC_AVAILABLE |
      T.HV_ACCESS_FREQUENCY_MSRS,
      T.HV_POST_MESSAGES | T.HV_SIGNAL_EVENTS | T.HV_ENABLE_EXTENDED_HYPERCALLS | T.HV_DEBUGGING, 0,
      T.HV_FEATURE_FREQUENCY_MSRS_AVAILABLE | T.HV_FEATURE_EXT_GVA_RANGES_FLUSH |
      (irqchip ? T.HV_STIMER_DIRECT_MODE_AVAILABLE : 0)),
    e(T.HYPERV_CPUID_ENLIGHTMENT_INFO,
      T.HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED | T.HV_X64_RELAXED_TIMING_RECOMMENDED |
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

/** kvm_hv_activate_synic (KVM_CAP_HYPERV_SYNIC / SYNIC2): needs the in-kernel irqchip; SYNIC2 does not zero the pages. */
export function kvm_hv_activate_synic(v: KvmVcpu, dont_zero_synic_pages = false): number {
  if (!v.lapic) return -U.EINVAL;
  const synic = to_hv_vcpu(v).synic;
  synic.active = true;
  synic.dont_zero_synic_pages = dont_zero_synic_pages;
  synic.control = T.HV_SYNIC_CONTROL_ENABLE;
  return 0;
}

// ---------------------------------------------------------------- MSRs (kvm_hv_get/set_msr_common)

/** The Hyper-V MSRs kvm_get/set_msr_common hand to kvm_hv_*_msr_common (GUEST_OS_ID ... STIMER3_COUNT). */
export function kvm_hv_msr_in_range(msr: number): boolean {
  return msr >= T.HV_X64_MSR_GUEST_OS_ID && msr <= T.HV_X64_MSR_STIMER3_COUNT;
}
const isSynicMsr = (msr: number): boolean => msr >= T.HV_X64_MSR_SCONTROL && msr <= T.HV_X64_MSR_SINT15 &&
  (msr <= T.HV_X64_MSR_EOM || msr >= T.HV_X64_MSR_SINT0);
const isStimerMsr = (msr: number): boolean => msr >= T.HV_X64_MSR_STIMER0_CONFIG && msr <= T.HV_X64_MSR_STIMER3_COUNT;

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
  if (isSynicMsr(msr)) return (eax & T.HV_MSR_SYNIC_AVAILABLE) !== 0;
  if (isStimerMsr(msr)) return (eax & T.HV_MSR_SYNTIMER_AVAILABLE) !== 0;
  return false;
}

/**
 * get_time_ref_counter: the partition reference time in 100 ns units. With the reference TSC page set
 * up, the same function of vCPU 0's TSC the guest computes from the page (so the MSR and the page
 * agree exactly); otherwise get_kvmclock_ns / 100.
 */
export function get_time_ref_counter(vm: KvmVm): number {
  const hv = vm.hyperv;
  if (hv.hv_tsc_page_status !== HV_TSC_PAGE_SET || !vm.vcpus.length) return Math.floor(vm.get_kvmclock_ns() / 100);
  const tsc = vm.clock.cycles() + vm.vcpus[0].arch.tsc_offset; // kvm_read_l1_tsc(vcpu 0)
  return mul_u64_u64_shr64(tsc, hv.tsc_ref.scaleLimbs) + hv.tsc_ref.tsc_offset;
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
  const synic = isSynicMsr(msr), stimer = isStimerMsr(msr);
  if (!synic && !stimer && !MODELLED_MSRS.has(msr)) return MSR_UNSUPPORTED; // crash, syndbg, ... not modelled
  if (!host && !hv_check_msr_access(hv, msr)) return MSR_INVALID;
  if (synic) return synic_get_msr(v, hv.synic, msr, host);
  if (stimer) {
    const st = hv.stimer[(msr - T.HV_X64_MSR_STIMER0_CONFIG) >> 1];
    v.msrValue = (msr - T.HV_X64_MSR_STIMER0_CONFIG) & 1 ? st.count : st.config;
    return MSR_OK;
  }
  switch (msr) {
    case T.HV_X64_MSR_GUEST_OS_ID: v.msrValue = kvmHv.hv_guest_os_id; break;
    case T.HV_X64_MSR_HYPERCALL: v.msrValue = kvmHv.hv_hypercall; break;
    case T.HV_X64_MSR_TIME_REF_COUNT: v.msrValue = get_time_ref_counter(v.vm); break;
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
  const synic = isSynicMsr(msr), stimer = isStimerMsr(msr);
  if (!synic && !stimer && !MODELLED_MSRS.has(msr)) return MSR_UNSUPPORTED;
  if (!host && !hv_check_msr_access(hv, msr)) return MSR_INVALID;
  const data = (hi >>> 0) * TWO32 + (lo >>> 0);
  if (synic) return synic_set_msr(v, hv.synic, msr, data, host);
  if (stimer) {
    const st = hv.stimer[(msr - T.HV_X64_MSR_STIMER0_CONFIG) >> 1];
    return (msr - T.HV_X64_MSR_STIMER0_CONFIG) & 1 ? stimer_set_count(v, st, data, host) : stimer_set_config(v, st, data, host);
  }
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
    case T.HV_X64_MSR_REFERENCE_TSC:
      kvmHv.hv_tsc_page = data;
      if (data % 2) {
        kvmHv.hv_tsc_page_status = host ? HV_TSC_PAGE_HOST_CHANGED : HV_TSC_PAGE_GUEST_CHANGED;
        // KVM_REQ_MASTERCLOCK_UPDATE: every vCPU's clock update; vCPU 0's writes the page before any vCPU resumes.
        kvm_hv_setup_tsc_page(v.vm);
      } else kvmHv.hv_tsc_page_status = HV_TSC_PAGE_UNSET;
      return MSR_OK;
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
    const e = to_hv_vcpu(v).exit;
    run.exit_reason = U.KVM_EXIT_HYPERV;
    run.hyperv.type = e.type;
    if (e.type === U.KVM_EXIT_HYPERV_SYNIC) {
      const s = run.hyperv.u.synic;
      s.msr = e.msr; s.control = BigInt(e.control); s.evt_page = BigInt(e.evt_page); s.msg_page = BigInt(e.msg_page);
      return true;
    }
    const o = run.hyperv.u.overlay;
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

/** kvm_hvcall_signal_event: the eventfd KVM_HYPERV_EVENTFD registered for the connection id, else userspace's. */
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
  const eventfd = v.vm.hyperv.conn_to_evt.get(lo);
  if (!eventfd) return T.HV_STATUS_INVALID_PORT_ID;
  eventfd(); // eventfd_signal
  return T.HV_STATUS_SUCCESS;
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

// ---------------------------------------------------------------- reference TSC page (TLFS 12.7, kvm_hv_setup_tsc_page)

/** enum hv_tsc_page_status. */
export const HV_TSC_PAGE_UNSET = 0, HV_TSC_PAGE_GUEST_CHANGED = 1, HV_TSC_PAGE_HOST_CHANGED = 2, HV_TSC_PAGE_SET = 3,
  HV_TSC_PAGE_BROKEN = 4;

const mulScratch = new Float64Array(8);
/**
 * mul_u64_u64_shr(a, b, 64) for 0 <= a < 2^53 and b given as four 16-bit limbs (least significant
 * first): the high 64 bits of the 128-bit product, exactly, in doubles (no BigInt on the RDMSR path).
 */
export function mul_u64_u64_shr64(a: number, b: Float64Array): number {
  if (!(a >= 0)) return Number((BigInt.asUintN(64, BigInt(Math.trunc(a))) * limbsToBig(b)) >> 64n);
  const p = mulScratch;
  p.fill(0);
  let r = a;
  for (let i = 0; i < 4; i++) {
    const ai = r % 65536; r = (r - ai) / 65536;
    for (let j = 0; j < 4; j++) p[i + j] += ai * b[j];
  }
  for (let k = 0; k < 7; k++) { const c = Math.floor(p[k] / 65536); p[k] -= c * 65536; p[k + 1] += c; }
  return ((p[7] * 65536 + p[6]) * 65536 + p[5]) * 65536 + p[4];
}
function limbsToBig(b: Float64Array): bigint {
  return (BigInt(b[3]) << 48n) | (BigInt(b[2]) << 32n) | (BigInt(b[1]) << 16n) | BigInt(b[0]);
}

/**
 * compute_tsc_page_parameters: scale = 2^(32 + tsc_shift) * tsc_to_system_mul / 100 (a 64.64 fraction
 * giving 100 ns units per TSC cycle) and offset = system_time / 100 - tsc_timestamp * scale / 2^64.
 * False when the scale would overflow 64 bits (the guest then uses the MSR).
 */
function compute_tsc_page_parameters(tsc_timestamp: number, system_time: number, mul: number, shift: number,
  out: KvmHv['tsc_ref']): boolean {
  const max_mul = 100n << BigInt(32 - shift);
  if (BigInt(mul) >= max_mul) return false;
  const scale = ((1n << BigInt(32 + shift)) * BigInt(mul)) / 100n;
  out.tsc_scale = scale;
  for (let k = 0; k < 4; k++) out.scaleLimbs[k] = Number((scale >> BigInt(16 * k)) & 0xffffn);
  out.tsc_offset = Math.floor(system_time / 100) - mul_u64_u64_shr64(tsc_timestamp, out.scaleLimbs);
  return true;
}

/**
 * kvm_hv_setup_tsc_page: vCPU 0's clock update writes struct ms_hyperv_tsc_page {tsc_sequence u32,
 * reserved u32, tsc_scale u64, tsc_offset s64} at the page HV_X64_MSR_REFERENCE_TSC names, with the
 * sequence bumped (never 0 or 0xFFFFFFFF). The VM clock is always stable (PVCLOCK_TSC_STABLE_BIT), so
 * the page is valid unless it cannot be written (BROKEN). Called for the MSR write, KVM_SET_CLOCK and
 * TSC offset changes (KVM_REQ_MASTERCLOCK_UPDATE).
 */
export function kvm_hv_setup_tsc_page(vm: KvmVm): void {
  const hv = vm.hyperv;
  if (hv.hv_tsc_page_status === HV_TSC_PAGE_BROKEN || hv.hv_tsc_page_status === HV_TSC_PAGE_UNSET) return;
  if (!(hv.hv_tsc_page % 2) || !vm.vcpus.length) return;
  const gpa = hv.hv_tsc_page - (hv.hv_tsc_page % 4096);
  const holes: number[] = [];
  const seqBytes = vm.bus.read(gpa, 4, holes);
  if (holes.length) { hv.hv_tsc_page_status = HV_TSC_PAGE_BROKEN; return; }
  let tsc_seq = new DataView(seqBytes.buffer, seqBytes.byteOffset).getUint32(0, true);
  // (KVM keeps a guest-changed page with a valid sequence only under re-enlightenment TSC emulation, not modelled.)
  const v0 = vm.vcpus[0], clock = vm.clock;
  const host = clock.cycles();
  const { shift, mul } = kvm_get_time_scale(1_000_000_000, clock.tscKhz * 1000);
  const ok = compute_tsc_page_parameters(host + v0.arch.tsc_offset, clock.cyclesToNs(host) + clock.kvmclockOffset, mul, shift, hv.tsc_ref);
  const buf = new Uint8Array(24), dv = new DataView(buf.buffer);
  if (!ok) {
    // The scale would overflow: sequence 0 tells the guest to use the MSR, and the page stays broken.
    hv.tsc_ref.tsc_sequence = 0;
    writeGuest(vm, gpa, buf.subarray(0, 4));
    hv.hv_tsc_page_status = HV_TSC_PAGE_BROKEN;
    return;
  }
  tsc_seq = (tsc_seq + 1) >>> 0;
  if (tsc_seq === 0xffffffff || tsc_seq === 0) tsc_seq = 1;
  hv.tsc_ref.tsc_sequence = tsc_seq;
  dv.setUint32(0, tsc_seq, true);
  dv.setBigUint64(8, hv.tsc_ref.tsc_scale, true);
  dv.setBigInt64(16, BigInt(hv.tsc_ref.tsc_offset), true);
  if (!writeGuest(vm, gpa, buf)) { hv.hv_tsc_page_status = HV_TSC_PAGE_BROKEN; return; }
  hv.hv_tsc_page_status = HV_TSC_PAGE_SET;
}

/** kvm_write_guest: all-or-nothing into writable RAM. */
function writeGuest(vm: KvmVm, gpa: number, data: Uint8Array): boolean {
  const bus = vm.bus;
  for (let k = 0; k < data.length; k += 4096 - ((gpa + k) % 4096)) {
    const r = bus.regionAt(gpa + k);
    if (!r || r.readonly || bus.isOverlay(gpa + k)) return false;
  }
  bus.write(gpa, data, false);
  return true;
}

// ---------------------------------------------------------------- SynIC (TLFS 11)

/** struct kvm_vcpu_hv_synic. */
export class KvmVcpuHvSynic {
  active = false;
  dont_zero_synic_pages = false;
  control = 0;
  version = T.HV_SYNIC_VERSION_1;
  evt_page = 0;
  msg_page = 0;
  /** sint[16] (MSR values; all masked at creation) and sint_to_gsi[16] (-1: no HV_SINT route). */
  readonly sint: number[] = new Array<number>(T.HV_SYNIC_SINT_COUNT).fill(T.HV_SYNIC_SINT_MASKED);
  readonly sint_to_gsi = new Int32Array(T.HV_SYNIC_SINT_COUNT).fill(-1);
  /** vec_bitmap (vectors some unmasked SINT uses) and auto_eoi_bitmap (those with AutoEOI). */
  readonly vec_bitmap = new Uint32Array(8);
  readonly auto_eoi_bitmap = new Uint32Array(8);
  /** Statistics for the debugger: SINT interrupts raised, EOMs, messages delivered. */
  irqs = 0; eoms = 0; messages = 0;
}

/** struct kvm_vcpu_hv_stimer. */
export class KvmVcpuHvStimer {
  config = 0;
  count = 0;
  /** Reference time (100 ns units) of the next expiration; 0 when not started. */
  exp_time = 0;
  msg_pending = false;
  /** The hrtimer: host cycles at which stimer_timer_callback runs (Infinity: not armed). */
  expireCycles = Infinity;
  /** Expirations completed (message or direct interrupt delivered, or a periodic tick dropped on a busy slot), for the debugger. */
  fired = 0;
  constructor(readonly index: number) {}
}

const bitTest = (bm: Uint32Array, vec: number): boolean => ((bm[vec >> 5] >>> (vec & 31)) & 1) !== 0;
const bitSet = (bm: Uint32Array, vec: number, on: boolean): void => {
  if (on) bm[vec >> 5] |= 1 << (vec & 31); else bm[vec >> 5] &= ~(1 << (vec & 31));
};

/** synic_get_sint_vector: -1 when masked. */
function synic_get_sint_vector(sint_value: number): number {
  if (Math.floor(sint_value / T.HV_SYNIC_SINT_MASKED) % 2) return -1;
  return sint_value % 256;
}
const sintAutoEoi = (sint_value: number): boolean => Math.floor(sint_value / T.HV_SYNIC_SINT_AUTO_EOI) % 2 === 1;

/** synic_update_vector: keep vec_bitmap / auto_eoi_bitmap in step with the SINTs using `vector`. */
function synic_update_vector(synic: KvmVcpuHvSynic, vector: number): void {
  if (vector < T.HV_SYNIC_FIRST_VALID_VECTOR) return;
  let connected = false, autoEoi = false;
  for (const s of synic.sint) {
    if (synic_get_sint_vector(s) !== vector) continue;
    connected = true;
    if (sintAutoEoi(s)) autoEoi = true;
  }
  bitSet(synic.vec_bitmap, vector, connected);
  bitSet(synic.auto_eoi_bitmap, vector, autoEoi);
}

/** synic_set_sint: vectors below 16 are #GP for the guest unless masked. */
function synic_set_sint(synic: KvmVcpuHvSynic, sint: number, data: number, host: boolean): number {
  const vector = data % 256;
  const masked = Math.floor(data / T.HV_SYNIC_SINT_MASKED) % 2 === 1;
  if (vector < T.HV_SYNIC_FIRST_VALID_VECTOR && !host && !masked) return MSR_INVALID;
  const old_vector = synic.sint[sint] % 256;
  synic.sint[sint] = data;
  synic_update_vector(synic, old_vector);
  synic_update_vector(synic, vector);
  return MSR_OK;
}

/** synic_exit: KVM_EXIT_HYPERV / KVM_EXIT_HYPERV_SYNIC tells userspace the new SCONTROL/SIEFP/SIMP. */
function synic_exit(v: KvmVcpu, synic: KvmVcpuHvSynic, msr: number): void {
  const e = to_hv_vcpu(v).exit;
  e.type = U.KVM_EXIT_HYPERV_SYNIC;
  e.msr = msr;
  e.control = synic.control;
  e.evt_page = synic.evt_page;
  e.msg_page = synic.msg_page;
  v.arch.requests |= KVM_REQ_HV_EXIT;
}

const ZERO_PAGE = new Uint8Array(4096);

/** synic_set_msr. */
function synic_set_msr(v: KvmVcpu, synic: KvmVcpuHvSynic, msr: number, data: number, host: boolean): number {
  if (!synic.active && (!host || data)) return MSR_INVALID;
  switch (msr) {
    case T.HV_X64_MSR_SCONTROL:
      synic.control = data;
      if (!host) synic_exit(v, synic, msr);
      return MSR_OK;
    case T.HV_X64_MSR_SVERSION:
      if (!host) return MSR_INVALID;
      synic.version = data;
      return MSR_OK;
    case T.HV_X64_MSR_SIEFP: case T.HV_X64_MSR_SIMP: {
      // KVM_CAP_HYPERV_SYNIC (not SYNIC2) zeroes the page the guest enables (kvm_clear_guest).
      if (data % 2 && !host && !synic.dont_zero_synic_pages && !writeGuest(v.vm, data - (data % 4096), ZERO_PAGE)) return MSR_INVALID;
      if (msr === T.HV_X64_MSR_SIEFP) synic.evt_page = data; else synic.msg_page = data;
      if (!host) synic_exit(v, synic, msr);
      return MSR_OK;
    }
    case T.HV_X64_MSR_EOM:
      if (!synic.active) return MSR_OK;
      synic.eoms++;
      for (let i = 0; i < T.HV_SYNIC_SINT_COUNT; i++) kvm_hv_notify_acked_sint(v, i);
      return MSR_OK;
  }
  return synic_set_sint(synic, msr - T.HV_X64_MSR_SINT0, data, host);
}

/** synic_get_msr. */
function synic_get_msr(v: KvmVcpu, synic: KvmVcpuHvSynic, msr: number, host: boolean): number {
  if (!synic.active && !host) return MSR_INVALID;
  switch (msr) {
    case T.HV_X64_MSR_SCONTROL: v.msrValue = synic.control; break;
    case T.HV_X64_MSR_SVERSION: v.msrValue = synic.version; break;
    case T.HV_X64_MSR_SIEFP: v.msrValue = synic.evt_page; break;
    case T.HV_X64_MSR_SIMP: v.msrValue = synic.msg_page; break;
    case T.HV_X64_MSR_EOM: v.msrValue = 0; break;
    default: v.msrValue = synic.sint[msr - T.HV_X64_MSR_SINT0];
  }
  return MSR_OK;
}

/** synic_set_irq: the SINT's vector as a fixed interrupt to this vCPU's LAPIC. 1 delivered, 0 not, < 0 errno. */
function synic_set_irq(v: KvmVcpu, synic: KvmVcpuHvSynic, sint: number): number {
  if (sint < 0 || sint >= T.HV_SYNIC_SINT_COUNT) return -U.EINVAL;
  const vector = synic_get_sint_vector(synic.sint[sint]);
  if (vector < 0) return -U.ENOENT;
  if (!v.lapic) return 0;
  const r = v.lapic.__apic_accept_irq(APIC_DM_FIXED, vector, true, 0);
  if (r) synic.irqs++;
  return r;
}

/** get_vcpu_by_vpidx. */
function get_vcpu_by_vpidx(vm: KvmVm, vpidx: number): KvmVcpu | null {
  const byIndex = vm.vcpus[vpidx];
  if (byIndex && (!byIndex.arch.hyperv || byIndex.arch.hyperv.vp_index === vpidx)) return byIndex;
  for (const o of vm.vcpus) if (o.arch.hyperv && o.arch.hyperv.vp_index === vpidx) return o;
  return null;
}

/**
 * kvm_hv_synic_set_irq: what an irqfd on a KVM_IRQ_ROUTING_HV_SINT route does (kvm_hv_set_sint):
 * raise SINT `sint` of the vCPU with VP index `vpidx`. -EINVAL when it has no active SynIC.
 */
export function kvm_hv_synic_set_irq(vm: KvmVm, vpidx: number, sint: number): number {
  const v = get_vcpu_by_vpidx(vm, vpidx);
  if (!v || !v.arch.hyperv || !v.arch.hyperv.synic.active) return -U.EINVAL;
  return synic_set_irq(v, v.arch.hyperv.synic, sint);
}

/** kvm_hv_set_sint_gsi: the GSI of the HV_SINT route to (vpidx, sint), whose ack notifier the guest's EOI/EOM triggers (-1: none). */
export function kvm_hv_set_sint_gsi(vm: KvmVm, vpidx: number, sint: number, gsi: number): number {
  const v = get_vcpu_by_vpidx(vm, vpidx);
  if (!v || !v.arch.hyperv || !v.arch.hyperv.synic.active || sint < 0 || sint >= T.HV_SYNIC_SINT_COUNT) return -U.EINVAL;
  v.arch.hyperv.synic.sint_to_gsi[sint] = gsi;
  return 0;
}

/** KVM_HYPERV_EVENTFD: assign (or, with KVM_HYPERV_EVENTFD_DEASSIGN, remove) the eventfd of a connection id. */
export function kvm_vm_ioctl_hv_eventfd(vm: KvmVm, args: { conn_id: number; flags: number; fd?: () => void }): number {
  if (args.flags & ~KVM_HYPERV_EVENTFD_DEASSIGN) return -U.EINVAL;
  if (args.conn_id & ~T.KVM_HYPERV_CONN_ID_MASK) return -U.EINVAL;
  const m = vm.hyperv.conn_to_evt;
  if (args.flags & KVM_HYPERV_EVENTFD_DEASSIGN) return m.delete(args.conn_id) ? 0 : -U.ENOENT;
  if (!args.fd) return -U.EBADF;
  if (m.has(args.conn_id)) return -U.EEXIST;
  m.set(args.conn_id, args.fd);
  return 0;
}
export const KVM_HYPERV_EVENTFD_DEASSIGN = 1 << 0;

/** kvm_hv_synic_auto_eoi_set: the LAPIC takes this vector without setting ISR (lapic.c kvm_get_apic_interrupt). */
export function kvm_hv_synic_auto_eoi_set(v: KvmVcpu, vector: number): boolean {
  const hv = v.arch.hyperv;
  return hv !== null && bitTest(hv.synic.auto_eoi_bitmap, vector);
}

/** kvm_hv_synic_send_eoi: an EOI of a SINT vector acks every SINT using it (lapic.c apic_set_eoi). */
export function kvm_hv_synic_send_eoi(v: KvmVcpu, vector: number): void {
  const hv = v.arch.hyperv;
  if (!hv || !bitTest(hv.synic.vec_bitmap, vector)) return;
  for (let i = 0; i < T.HV_SYNIC_SINT_COUNT; i++) if (synic_get_sint_vector(hv.synic.sint[i]) === vector) kvm_hv_notify_acked_sint(v, i);
}

/** kvm_hv_notify_acked_sint: retry the stimer messages waiting for this SINT's slot; notify the route's GSI. */
function kvm_hv_notify_acked_sint(v: KvmVcpu, sint: number): void {
  const hv = to_hv_vcpu(v);
  for (const st of hv.stimer) {
    if (st.msg_pending && (st.config & T.HV_STIMER_ENABLE) && !(st.config & T.HV_STIMER_DIRECT_MODE) &&
      T.hv_stimer_sintx(st.config) === sint) stimer_mark_expired(hv, st);
  }
  const gsi = hv.synic.sint_to_gsi[sint];
  if (gsi !== -1 && v.vm.hyperv.onSintAck) v.vm.hyperv.onSintAck(gsi);
}

/**
 * synic_deliver_msg: copy the message into the SIMP slot of `sint` if the slot is free (message_type
 * HVMSG_NONE) and raise the SINT; otherwise set msg_pending in the slot (the guest's EOM retries) and
 * -EAGAIN, or 0 with no_retry (periodic timers drop the tick).
 */
function synic_deliver_msg(v: KvmVcpu, synic: KvmVcpuHvSynic, sint: number, msg: Uint8Array, no_retry: boolean): number {
  if (!(synic.msg_page % 2)) return -U.ENOENT;
  const slot = synic.msg_page - (synic.msg_page % 4096) + sint * T.HV_MESSAGE_SIZE;
  const holes: number[] = [];
  const cur = v.vm.bus.read(slot, 8, holes);
  if (holes.length) return -U.EFAULT;
  const type = (cur[0] | (cur[1] << 8) | (cur[2] << 16) | (cur[3] << 24)) >>> 0;
  if (type !== T.HVMSG_NONE) {
    if (no_retry) return 0;
    const flags = new Uint8Array([cur[5] | T.HV_MESSAGE_FLAG_PENDING]);
    if (!writeGuest(v.vm, slot + 5, flags)) return -U.EFAULT;
    return -U.EAGAIN;
  }
  if (!writeGuest(v.vm, slot, msg.subarray(0, T.HV_MESSAGE_HEADER_SIZE + msg[4]))) return -U.EFAULT;
  const r = synic_set_irq(v, synic, sint);
  if (r < 0) return r;
  if (r === 0) return -U.EFAULT;
  synic.messages++;
  return 0;
}

// ---------------------------------------------------------------- synthetic timers (TLFS 12)

/** Recompute the vCPU's earliest stimer hrtimer. */
function stimer_update_earliest(hv: KvmVcpuHv): void {
  let t = Infinity;
  for (const st of hv.stimer) if (st.expireCycles < t) t = st.expireCycles;
  hv.stimerExpireCycles = t;
}

/** hrtimer_start at `ns` VM nanoseconds from now (ktime_add_ns(ktime_get(), ns)). */
function stimer_hrtimer_start(v: KvmVcpu, hv: KvmVcpuHv, st: KvmVcpuHvStimer, ns: number): void {
  const clock = v.vm.clock;
  st.expireCycles = clock.nsToCycles(clock.nowNs() + ns);
  stimer_update_earliest(hv);
}

/** stimer_mark_expired: KVM_REQ_HV_STIMER with the timer's bit in stimer_pending_bitmap. */
function stimer_mark_expired(hv: KvmVcpuHv, st: KvmVcpuHvStimer): void {
  hv.stimer_pending_bitmap |= 1 << st.index;
}

/** stimer_cleanup: cancel the hrtimer and any pending expiration. */
function stimer_cleanup(hv: KvmVcpuHv, st: KvmVcpuHvStimer): void {
  st.expireCycles = Infinity;
  stimer_update_earliest(hv);
  hv.stimer_pending_bitmap &= ~(1 << st.index);
  st.msg_pending = false;
  st.exp_time = 0;
}

/** stimer_start: periodic from now (or the next period boundary), one-shot at `count` (expired at once if past). */
function stimer_start(v: KvmVcpu, hv: KvmVcpuHv, st: KvmVcpuHvStimer): void {
  const time_now = get_time_ref_counter(v.vm);
  if (st.config & T.HV_STIMER_PERIODIC) {
    if (st.exp_time) {
      if (time_now >= st.exp_time) {
        const remainder = (time_now - st.exp_time) % st.count;
        st.exp_time = time_now + (st.count - remainder);
      }
    } else st.exp_time = time_now + st.count;
    stimer_hrtimer_start(v, hv, st, 100 * (st.exp_time - time_now));
    return;
  }
  st.exp_time = st.count;
  // TLFS: "If a one shot is enabled and the specified count is in the past, it will expire immediately."
  if (time_now >= st.count) { stimer_mark_expired(hv, st); return; }
  stimer_hrtimer_start(v, hv, st, 100 * (st.count - time_now));
}

/** stimer_set_config: a message-mode timer with SINT 0 cannot stay enabled; (re)starts through the pending bitmap. */
function stimer_set_config(v: KvmVcpu, st: KvmVcpuHvStimer, config: number, host: boolean): number {
  const hv = to_hv_vcpu(v);
  if (!hv.synic.active && (!host || config)) return MSR_INVALID;
  if (!host && hv.enforce_cpuid && (config & T.HV_STIMER_DIRECT_MODE) && !(hv.features_edx & T.HV_STIMER_DIRECT_MODE_AVAILABLE)) return MSR_INVALID;
  const old = st.config;
  stimer_cleanup(hv, st);
  let c = config;
  if ((old & T.HV_STIMER_ENABLE) && !(c & T.HV_STIMER_DIRECT_MODE) && T.hv_stimer_sintx(c) === 0 && c % 2) c -= T.HV_STIMER_ENABLE;
  st.config = c;
  if (st.config & T.HV_STIMER_ENABLE) stimer_mark_expired(hv, st);
  return MSR_OK;
}

/** stimer_set_count: count 0 disables; AutoEnable enables on a guest write. */
function stimer_set_count(v: KvmVcpu, st: KvmVcpuHvStimer, count: number, host: boolean): number {
  const hv = to_hv_vcpu(v);
  if (!hv.synic.active && (!host || count)) return MSR_INVALID;
  stimer_cleanup(hv, st);
  st.count = count;
  if (!host) {
    if (count === 0) { if (st.config % 2) st.config -= T.HV_STIMER_ENABLE; }
    else if ((st.config & T.HV_STIMER_AUTOENABLE) && !(st.config % 2)) st.config += T.HV_STIMER_ENABLE;
  }
  if (st.config & T.HV_STIMER_ENABLE) stimer_mark_expired(hv, st);
  return MSR_OK;
}

/** stimer_send_msg: HVMSG_TIMER_EXPIRED {timer_index, expiration_time, delivery_time} into the timer's SINT slot. */
function stimer_send_msg(v: KvmVcpu, hv: KvmVcpuHv, st: KvmVcpuHvStimer): number {
  const m = hv.msgScratch, dv = new DataView(m.buffer);
  m.fill(0);
  dv.setUint32(0, T.HVMSG_TIMER_EXPIRED, true);
  m[4] = T.HV_TIMER_MESSAGE_PAYLOAD_SIZE;
  dv.setUint32(16, st.index, true);
  dv.setBigUint64(24, BigInt(st.exp_time), true);
  dv.setBigUint64(32, BigInt(Math.max(0, get_time_ref_counter(v.vm))), true);
  // Periodic ticks are not retried (the "lazy" lost-ticks policy): they would pile up.
  return synic_deliver_msg(v, hv.synic, T.hv_stimer_sintx(st.config), m, (st.config & T.HV_STIMER_PERIODIC) !== 0);
}

/** stimer_notify_direct: direct mode, the configured APIC vector as a fixed interrupt. 0 when delivered. */
function stimer_notify_direct(v: KvmVcpu, st: KvmVcpuHvStimer): number {
  if (!v.lapic) return 0;
  return v.lapic.__apic_accept_irq(APIC_DM_FIXED, T.hv_stimer_apic_vector(st.config), false, 0) ? 0 : 1;
}

/** stimer_expiration: deliver; a one-shot timer is disabled once delivered. */
function stimer_expiration(v: KvmVcpu, hv: KvmVcpuHv, st: KvmVcpuHvStimer): void {
  st.msg_pending = true;
  const r = st.config & T.HV_STIMER_DIRECT_MODE ? stimer_notify_direct(v, st) : stimer_send_msg(v, hv, st);
  if (!r) {
    st.msg_pending = false;
    st.fired++;
    if (!(st.config & T.HV_STIMER_PERIODIC) && st.config % 2) st.config -= T.HV_STIMER_ENABLE;
    if (v.vm.stimerObserver) v.vm.stimerObserver(v, st.index, st.config);
  }
}

/** kvm_hv_process_stimers (KVM_REQ_HV_STIMER): expire the pending timers whose time has come, then restart them. */
export function kvm_hv_process_stimers(v: KvmVcpu): void {
  const hv = v.arch.hyperv;
  if (!hv || !hv.stimer_pending_bitmap) return;
  for (let i = 0; i < T.HV_SYNIC_STIMER_COUNT; i++) {
    if (!(hv.stimer_pending_bitmap & (1 << i))) continue;
    hv.stimer_pending_bitmap &= ~(1 << i);
    const st = hv.stimer[i];
    if (!(st.config & T.HV_STIMER_ENABLE)) continue;
    if (st.exp_time && get_time_ref_counter(v.vm) >= st.exp_time) stimer_expiration(v, hv, st);
    if ((st.config & T.HV_STIMER_ENABLE) && st.count) {
      if (!st.msg_pending) stimer_start(v, hv, st);
    } else stimer_cleanup(hv, st);
  }
}

/** stimer_timer_callback for every stimer hrtimer the VM clock has reached (`now` in host cycles). */
export function kvm_hv_stimer_timers_fn(v: KvmVcpu, now: number): void {
  const hv = v.arch.hyperv;
  if (!hv || now < hv.stimerExpireCycles) return;
  for (const st of hv.stimer) {
    if (now >= st.expireCycles) { st.expireCycles = Infinity; stimer_mark_expired(hv, st); }
  }
  stimer_update_earliest(hv);
}

/** For the debugger: the vCPU's SynIC and synthetic timers. */
export function kvm_hv_synic_describe(v: KvmVcpu): { synic: KvmVcpuHvSynic; stimers: readonly KvmVcpuHvStimer[]; pending: number } | null {
  const hv = v.arch.hyperv;
  return hv ? { synic: hv.synic, stimers: hv.stimer, pending: hv.stimer_pending_bitmap } : null;
}
