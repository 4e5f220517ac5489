// The per-vCPU part of the CPUID table a VMM hands KVM_SET_CPUID2, as QEMU's cpu_x86_cpuid fills it:
// KVM never writes a vCPU's APIC ID into CPUID, userspace does. Leaf 1 EBX[31:24] is the initial
// (xAPIC) APIC ID; leaf 0BH (extended topology, Intel) gives the x2APIC ID in EDX of every
// sub-leaf, with one thread per core and `vcpus` cores in one package.
import { KVM_CPUID_FLAG_SIGNIFCANT_INDEX, type kvm_cpuid_entry2 } from '../kvm/uapi';

/** Bits of the APIC ID below the package (ceil(log2 n)). */
function apicIdWidth(n: number): number { let w = 0; while ((1 << w) < n) w++; return w; }

/** The table for vCPU `apicId` of `vcpus`: leaf 1's APIC ID, and leaf 0BH where the vendor is Intel. */
export function cpuidWithTopology(entries: kvm_cpuid_entry2[], apicId: number, vcpus: number, vendor: 'intel' | 'amd'): kvm_cpuid_entry2[] {
  const out = entries.map((e) => e.function === 1 ? { ...e, ebx: ((e.ebx & 0x00ffffff) | (apicId << 24)) >>> 0 } : e);
  if (vendor !== 'intel') return out;
  const max = out.find((e) => e.function === 0);
  if (!max || max.eax < 0xb || out.some((e) => e.function === 0xb)) return out;
  const f = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  const leafB = [
    { function: 0xb, index: 0, flags: f, eax: 0, ebx: 1, ecx: (1 << 8) | 0, edx: apicId },                       // SMT: one thread
    { function: 0xb, index: 1, flags: f, eax: apicIdWidth(vcpus), ebx: vcpus, ecx: (2 << 8) | 1, edx: apicId }, // core
    { function: 0xb, index: 2, flags: f, eax: 0, ebx: 0, ecx: 2, edx: apicId },                                   // invalid level
  ];
  const at = out.findIndex((e) => e.function > 0xb && e.function < 0x40000000);
  out.splice(at < 0 ? out.length : at, 0, ...leafB);
  return out;
}
