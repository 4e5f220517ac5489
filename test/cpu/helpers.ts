// Test helpers: a bare processor with RAM, and raw machine code placed in it.
import { Cpu, PhysBus, RUN_BUDGET } from '../../vm-core/cpu';
import { CS, DS, ES, SS, FS, GS, EFER_LME, EFER_LMA, CR0_PE, CR0_PG, CR4_PAE } from '../../vm-core/cpu/state';
import { setRflagsRaw } from './raw';

export function bareCpu(memSize = 2 << 20): { cpu: Cpu; bus: PhysBus; mem: Uint8Array } {
  const bus = new PhysBus();
  const mem = new Uint8Array(memSize);
  bus.setRegion(0, 0, mem, false);
  const cpu = new Cpu(bus);
  return { cpu, bus, mem };
}

/** Real mode at 0000:addr with flat 64K segments. */
export function realMode(cpu: Cpu, ip: number): void {
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = 0; seg.base = 0; seg.limit = 0xffff; seg.ar = s === CS ? 0x9b : 0x93;
  }
  cpu.rip = ip;
  cpu.updateMode();
}

/**
 * 64-bit long mode with identity-mapped 2 MiB pages over the first `gib` GiB (page tables at
 * 0x1000..), flat segments, like the KVM selftests' vCPU setup.
 */
export function longMode(cpu: Cpu, mem: Uint8Array, rip: number): void {
  const dv = new DataView(mem.buffer);
  const pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000;
  dv.setUint32(pml4, pdpt | 3, true);
  dv.setUint32(pdpt, pd | 3, true);
  for (let k = 0; k < 512; k++) {
    const a = k * 0x200000;
    dv.setUint32(pd + k * 8, (a | 0x83) >>> 0, true);
  }
  cpu.cr3 = pml4;
  cpu.cr4 = CR4_PAE;
  cpu.efer = EFER_LME | EFER_LMA;
  cpu.cr0 = CR0_PE | CR0_PG | 0x10;
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = s === CS ? 8 : 16; seg.base = 0; seg.limit = 0xffffffff;
    seg.ar = s === CS ? 0xa09b : 0xc093;
  }
  cpu.rip = rip;
  setRflagsRaw(cpu, 2);
  cpu.updateMode();
  cpu.flushTlb(false);
}

export function load(mem: Uint8Array, addr: number, bytes: number[] | Uint8Array): void {
  mem.set(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes), addr);
}

export function runUntilHalt(cpu: Cpu, max = 1_000_000): number {
  return cpu.run(max);
}
export { RUN_BUDGET };
