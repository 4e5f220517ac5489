// The guest TSC (x86.c): kvm_read_l1_tsc, kvm_synchronize_tsc, adjust_tsc_offset_guest and
// IA32_TSC_ADJUST. The "host TSC" is the VM clock (clock.ts); the TSC scaling ratio is 1, so a
// vCPU's TSC is the VM's host cycles plus vcpu->arch.l1_tsc_offset, written to the VMCS TSC_OFFSET
// / VMCB tsc_offset as KVM does (vmx_write_tsc_offset / svm_write_tsc_offset).
import type { KvmVcpu } from '../vcpu';
import { kvm_hv_setup_tsc_page, HV_TSC_PAGE_SET } from '../hyperv';

/** kvm_read_l1_tsc(vcpu, rdtsc()). */
export function kvm_read_l1_tsc(v: KvmVcpu): number {
  return v.vm.clock.cycles() + v.arch.tsc_offset;
}

/** kvm_vcpu_write_tsc_offset: the offset the processor adds to the host TSC. */
export function kvm_vcpu_write_tsc_offset(v: KvmVcpu, offset: number): void {
  v.arch.tsc_offset = offset;
  v.cpu.tscOffset = offset;
  v.ops.setTscOffset?.(offset);
  v.lapic?.tscOffsetChanged();
  if (v.arch.kvmclock.msr % 2) v.arch.kvmclock.updatePending = true; // KVM_REQ_CLOCK_UPDATE
  // vCPU 0's clock update rewrites the Hyper-V reference TSC page for its new TSC.
  if (v.vm.hyperv.hv_tsc_page_status === HV_TSC_PAGE_SET && v.vm.vcpus[0] === v) kvm_hv_setup_tsc_page(v.vm);
}

/**
 * kvm_synchronize_tsc: a host write of IA32_TSC (KVM_SET_MSRS) or vCPU creation (data null). A new
 * vCPU takes the offset of the vCPUs already there, so every TSC of the VM counts together.
 */
export function kvm_synchronize_tsc(v: KvmVcpu, data: number | null): void {
  if (data === null) {
    const other = v.vm.vcpus.find((o) => o !== v);
    kvm_vcpu_write_tsc_offset(v, other ? other.arch.tsc_offset : -v.vm.clock.cycles());
    return;
  }
  kvm_vcpu_write_tsc_offset(v, data - v.vm.clock.cycles());
}

/** adjust_tsc_offset_guest. */
function adjust_tsc_offset_guest(v: KvmVcpu, adj: number): void {
  kvm_vcpu_write_tsc_offset(v, v.arch.tsc_offset + adj);
}

/** kvm_set_msr_common MSR_IA32_TSC: a guest write moves the offset and IA32_TSC_ADJUST by the same amount (SDM 17.17.3). */
export function kvm_set_tsc_msr(v: KvmVcpu, data: number, hostInitiated: boolean): void {
  if (hostInitiated) { kvm_synchronize_tsc(v, data); return; }
  const adj = data - v.vm.clock.cycles() - v.arch.tsc_offset;
  adjust_tsc_offset_guest(v, adj);
  v.arch.ia32_tsc_adjust_msr += adj;
}

/** kvm_set_msr_common MSR_IA32_TSC_ADJUST: only with the CPUID bit; a guest write shifts the TSC by the difference. */
export function kvm_set_tsc_adjust_msr(v: KvmVcpu, data: number, hostInitiated: boolean): void {
  if (!v.guestCpuidHas(7, 'ebx', 1)) return;
  if (!hostInitiated) adjust_tsc_offset_guest(v, data - v.arch.ia32_tsc_adjust_msr);
  v.arch.ia32_tsc_adjust_msr = data;
}
