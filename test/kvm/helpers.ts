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

import { assemble } from '../../vm-core/loader/assemble';
import { setupLongMode } from '../../vm-core/vmm/boot';

/** Assemble NASM source with the built-in assembler and copy it into guest memory; returns symbols. */
export function loadAsm(mem: Uint8Array, source: string): Record<string, number> {
  const r = assemble({ path: '/test/guest.asm', source });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n'));
  for (const s of r.image.segments) mem.set(s.bytes, s.addr);
  const syms: Record<string, number> = { entry: r.image.entry };
  for (const s of r.image.symbols) syms[s.name] = s.addr;
  return syms;
}

/** A 64-bit guest (selftest style: identity map, flat GDT) from NASM source at org 0x100000. */
export function longModeGuest(vendor: 'intel' | 'amd', source: string, opts: Parameters<typeof createVm>[1] = {}) {
  const t = createVm(vendor, opts);
  const syms = loadAsm(t.mem, source);
  setupLongMode(t.vcpu, t.mem, syms.entry);
  return { ...t, syms };
}

/** Run until a userspace exit (or an error); returns the exit reason or the negative errno. */
export function runOnce(v: KvmVcpu, maxInsns = 1_000_000): number {
  const r = v.run({ maxInsns });
  return r < 0 ? r : v.kvm_run.exit_reason;
}

/** The byte OUT wrote to a port in the last KVM_EXIT_IO. */
export function ioByte(v: KvmVcpu): number {
  return v.kvm_run.data[v.kvm_run.io.data_offset];
}

/** NASM for an IDT whose only gate is `vector` -> label `handler` (64-bit interrupt gate, CS 8), and its IDTR at `idtr`. */
export function oneGateIdt(vector: number, handler: string): string {
  return `idtr: dw ${16 * (vector + 1) - 1}
  dq idt
idt: times ${vector} dq 0, 0
  dw ${handler} & 0xffff, 8, 0x8e00, (${handler} >> 16) & 0xffff
  dd 0, 0
`;
}
