// Bare-metal mode (launch option hideHypervisor): the CPUID a VMM gives its vCPUs without the
// hypervisor leaves 0x40000000-0x4FFFFFFF and with CPUID.1:ECX[31] (HYPERVISOR) clear, as QEMU's
// `-cpu ...,kvm=off,-hypervisor`. A Linux guest then finds no "KVMKVMKVM" signature
// (kvm_cpuid_base() returns 0) and uses none of the paravirtual interface: no kvmclock, PV EOI,
// PV send-IPI, steal time; the difference in exits against the default shows what they cost or save.
import type { kvm_cpuid_entry2 } from '../kvm/uapi';

export function hideHypervisorLeaves(entries: kvm_cpuid_entry2[]): kvm_cpuid_entry2[] {
  return entries
    .filter((e) => e.function < 0x40000000 || e.function >= 0x50000000)
    .map((e) => (e.function === 1 ? { ...e, ecx: (e.ecx & ~(1 << 31)) >>> 0 } : e));
}
