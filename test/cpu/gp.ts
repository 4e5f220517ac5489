// Helpers for the general-purpose instruction tests (shift, muldiv, bitops, bcd, string, misc):
// run a few instructions, written as hex with their assembly, in 64-bit, 32-bit or real mode.
import { bareCpu, longMode, realMode, load } from './helpers';
import { setRflagsRaw } from './raw';
import { Cpu, RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI, getRflags } from '../../vm-core/cpu';
import { CR0_PE, CS, DS, ES, FS, GS, SS, getReg64, setReg64 } from '../../vm-core/cpu/state';

export const CODE = 0x10000, DATA = 0x20000, STACK = 0x80000;

export interface Run {
  cpu: Cpu;
  mem: Uint8Array;
  dv: DataView;
  /** Exception vector the code stopped on, or -1 when it reached its final HLT. */
  vector: number;
  /** RIP at the stop (the faulting instruction, or after the HLT). */
  rip: number;
}

export function hex(parts: string[]): Uint8Array {
  const s = parts.join('').replace(/\s+/g, '');
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export type Mode = 64 | 32 | 16;

/** A processor in `mode` with code at CODE (followed by HLT), RSP = STACK, every exception intercepted. */
export function setup(mode: Mode, code: string[]): { cpu: Cpu; mem: Uint8Array; dv: DataView } {
  const { cpu, mem } = bareCpu(4 << 20);
  if (mode === 64) longMode(cpu, mem, CODE);
  else if (mode === 16) { realMode(cpu, 0); cpu.seg[CS].base = CODE; cpu.seg[CS].selector = CODE >> 4; cpu.updateMode(); }
  else {
    // Flat 32-bit protected mode without paging (descriptor caches loaded directly).
    cpu.cr0 |= CR0_PE;
    for (const s of [CS, DS, ES, SS, FS, GS]) {
      const seg = cpu.seg[s];
      seg.base = 0; seg.limit = 0xffffffff; seg.ar = s === CS ? 0xc09b : 0xc093; seg.selector = s === CS ? 8 : 16;
    }
    cpu.rip = CODE;
    cpu.updateMode();
  }
  setRflagsRaw(cpu, 2);
  cpu.R[8] = mode === 16 ? 0xfff0 : STACK;
  if (mode === 16) { cpu.seg[SS].base = STACK - 0x10000; cpu.seg[SS].selector = (STACK - 0x10000) >> 4; }
  cpu.intercepts.exceptionBitmap = 0xffffffff;
  load(mem, CODE, hex([...code, 'f4']));
  return { cpu, mem, dv: new DataView(mem.buffer) };
}

/** Run until HLT or an exception (reported in `vector`). */
export function go(s: { cpu: Cpu; mem: Uint8Array; dv: DataView }, budget = 100000): Run {
  const r = s.cpu.run(budget);
  let vector = -1;
  if (r === RUN_EXIT) {
    if (s.cpu.exit.reason !== EXIT_REASON_EXCEPTION_NMI) throw new Error(`unexpected exit ${s.cpu.exit.reason}: ${s.cpu.exit.message}`);
    vector = s.cpu.exit.intrInfo & 0xff;
  } else if (r !== RUN_HALTED) throw new Error(`run returned ${r}`);
  return { ...s, vector, rip: s.cpu.rip };
}

/** setup + registers + go. `regs` maps GPR numbers to values; `flags` is the initial RFLAGS. */
export function exec(mode: Mode, code: string[], regs: Record<number, bigint | number> = {}, flags = 2,
  init?: (c: Cpu, mem: Uint8Array, dv: DataView) => void): Run {
  const s = setup(mode, code);
  for (const [k, v] of Object.entries(regs)) setReg64(s.cpu, Number(k), BigInt.asUintN(64, BigInt(v)));
  setRflagsRaw(s.cpu, flags);
  init?.(s.cpu, s.mem, s.dv);
  return go(s);
}

export function reg(cpu: Cpu, n: number): bigint { return getReg64(cpu, n); }
export function flags(cpu: Cpu): number { return getRflags(cpu); }
