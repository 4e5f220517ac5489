// Userspace's side of seed 002: Hyper-V enablement the way QEMU's hv-* flags do it (Hyper-V CPUID
// leaves first, KVM's moved to 0x40000100; KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE on request) and the
// handling of KVM_EXIT_HYPERV: OVERLAY places the page KVM offers at the GPA (an overlay in the
// physical bus, the guest's own page intact beneath it) or removes it, HCALL gets a default result.
import type { Kvm } from '../kvm/kvm';
import type { KvmVm } from '../kvm/vm';
import type { KvmVcpu } from '../kvm/vcpu';
import * as U from '../kvm/uapi';
import { withHypervCpuid } from '../kvm/hyperv';
import { HV_STATUS_INVALID_HYPERCALL_CODE } from '../kvm/hyperv_tlfs';
import type { HypervSynicVmm } from './hyperv-synic';

export interface HypervMachineOptions {
  /** Hyper-V enlightenments: every vCPU gets KVM_GET_SUPPORTED_HV_CPUID's leaves at 0x40000000. */
  hyperv?: boolean;
  /** Seed 002: KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE, the hypercall page as an overlay placed by this VMM. */
  hypervOverlay?: boolean;
}

/** VM-wide set-up, before any vCPU exists. Returns the failing cap's errno or 0. */
export function configureHypervVm(vm: KvmVm, o: HypervMachineOptions): number {
  if (o.hypervOverlay) return vm.enableCap({ cap: U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE, args: [1] });
  return 0;
}

/** The CPUID a vCPU gets: Hyper-V's leaves first with `hyperv` (as QEMU lays them out). */
export function vcpuCpuid(kvm: Kvm, vm: KvmVm, o: HypervMachineOptions): U.kvm_cpuid_entry2[] {
  const base = kvm.getSupportedCpuid(vm.vendor, vm.options.nested);
  return o.hyperv || o.hypervOverlay ? withHypervCpuid(base, vm.irqchip) : base;
}

/**
 * The overlay pages this VMM placed, by the MSR that asked for them. An OVERLAY exit whose value has
 * the enable bit and code bytes places (or moves) the page; data_len 0 removes it.
 */
export class HypervOverlays {
  readonly pages = new Map<number, number>();

  /** Handle one KVM_EXIT_HYPERV; false when it is not one this VMM answers (the run stops). */
  handleExit(vm: KvmVm, v: KvmVcpu, synic: HypervSynicVmm | null = null): boolean {
    const run = v.kvm_run;
    if (run.hyperv.type === U.KVM_EXIT_HYPERV_HCALL) {
      // A hypercall KVM hands to userspace: POST_MESSAGE / SIGNAL_EVENT go to the SynIC connections
      // (hyperv-synic.ts) when the vCPUs have a SynIC; nothing here implements the others.
      const h = run.hyperv.u.hcall, code = Number(h.input & 0xffffn), fast = (h.input & 0x10000n) !== 0n;
      run.hyperv.u.hcall.result = BigInt(synic ? synic.hcall(code, fast, h.params[0]) : HV_STATUS_INVALID_HYPERCALL_CODE);
      return true;
    }
    if (run.hyperv.type === U.KVM_EXIT_HYPERV_SYNIC) {
      if (!synic) return false;
      synic.handleSynicExit(v);
      return true;
    }
    if (run.hyperv.type !== U.KVM_EXIT_HYPERV_OVERLAY) return false;
    const o = run.hyperv.u.overlay;
    const value = Number(o.gpa), page = value - (value % 4096);
    const old = this.pages.get(o.msr);
    if (old !== undefined) { vm.bus.removeOverlay(old); this.pages.delete(o.msr); }
    if ((value % 2) === 1 && o.data_len > 0) {
      vm.bus.setOverlay(page, o.data.subarray(0, Math.min(o.data_len, U.KVM_EXIT_HV_OVERLAY_DATA_SIZE)));
      this.pages.set(o.msr, page);
    }
    return true;
  }
}
