// Test helpers: a VM with RAM at 0 and raw machine code, the way KVM selftests build VMs.
import { Kvm, KvmVm, KvmVcpu, KVM_MEM_READONLY } from '../../vm-core/kvm';
import type { VmOptions } from '../../vm-core/kvm';

export const kvm = new Kvm();

export interface TestVm { vm: KvmVm; vcpu: KvmVcpu; mem: Uint8Array; }

/** A VM with `memSize` bytes of RAM at GPA 0, an in-kernel irqchip (optional) and vCPU 0 with the supported CPUID. */
export function createVm(vendor: 'intel' | 'amd' = 'intel', opts: { options?: VmOptions; memSize?: number; irqchip?: boolean; vcpus?: number; cpuid?: boolean } = {}): TestVm {
  const vm = kvm.createVm({ vendor, options: opts.options });
  const mem = new Uint8Array(opts.memSize ?? 4 << 20);
  const r = vm.setUserMemoryRegion({ slot: 0, flags: 0, guest_phys_addr: 0, memory_size: mem.length, userspace_addr: mem });
  if (r) throw new Error('setUserMemoryRegion ' + r);
  if (opts.irqchip) vm.createIrqchip();
  let first: KvmVcpu | undefined;
  for (let k = 0; k < (opts.vcpus ?? 1); k++) {
    const v = vm.createVcpu(k);
    if (typeof v === 'number') throw new Error('createVcpu ' + v);
    if (opts.cpuid !== false) v.setCpuid2(kvm.getSupportedCpuid(vendor));
    first ??= v;
  }
  return { vm, vcpu: first!, mem };
}

/** Real mode at 0000:ip with flat 64 KiB segments. */
export function setRealMode(v: KvmVcpu, ip: number): void {
  const s = v.getSregs();
  for (const seg of [s.cs, s.ds, s.es, s.ss, s.fs, s.gs]) { seg.selector = 0; seg.base = 0n; seg.limit = 0xffff; }
  v.setSregs(s);
  const r = v.getRegs();
  r.rip = BigInt(ip);
  v.setRegs(r);
}

export { KVM_MEM_READONLY };
