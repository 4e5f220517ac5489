// /dev/kvm: the system ioctls (kvm_main.c kvm_dev_ioctl): KVM_GET_API_VERSION, KVM_CHECK_EXTENSION,
// KVM_GET_SUPPORTED_CPUID, KVM_CREATE_VM. The vendor is chosen per VM (Intel VMX or AMD SVM).
import { KvmVm, kvmCheckExtension } from './vm';
import type { VmOptions } from './options';
import type { kvm_cpuid_entry2 } from './uapi';
import { kvm_get_supported_cpuid } from './x86/cpuid';
import { kvm_get_hv_cpuid } from './hyperv';

export const KVM_API_VERSION = 12;

export interface CreateVmOptions {
  vendor?: 'intel' | 'amd';
  options?: VmOptions;
}

export class Kvm {
  getApiVersion(): number { return KVM_API_VERSION; }
  /** KVM_CHECK_EXTENSION on /dev/kvm (KVM_CAP_EXIT_HYPERCALL returns the valid mask, 1 << 12). */
  checkExtension(cap: number, vendor: 'intel' | 'amd' = 'intel'): number { return kvmCheckExtension(cap, vendor); }
  getSupportedCpuid(vendor: 'intel' | 'amd' = 'intel', nested = false): kvm_cpuid_entry2[] { return kvm_get_supported_cpuid(vendor, nested); }
  /** KVM_GET_SUPPORTED_HV_CPUID on /dev/kvm (KVM_CAP_SYS_HYPERV_CPUID). */
  getSupportedHvCpuid(): kvm_cpuid_entry2[] { return kvm_get_hv_cpuid(); }
  createVm(o: CreateVmOptions = {}): KvmVm { return new KvmVm(o.vendor ?? 'intel', o.options ?? {}); }
}
