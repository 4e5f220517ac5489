// RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE (SDM Vol. 2 "RDFSBASE/RDGSBASE", "WRFSBASE/WRGSBASE"):
// 64-bit mode only, #UD unless CR4.FSGSBASE; the 32-bit forms read the low half zero-extended and
// write the base zero-extended; a non-canonical 64-bit write is #GP(0). Linux uses them in
// context switches and paranoid entry once X86_FEATURE_FSGSBASE is enabled (CPUID.7.0:EBX[0]).
import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import { CR4_FSGSBASE, FS, GS } from '../state';
import { defineMatching } from './operands';

const TWO32 = 4294967296;

function check(c: Cpu): void {
  if (c.codeBits !== 64 || !(c.cr4 & CR4_FSGSBASE)) c.ud();
}

function rdbase(seg: number, wide: boolean) {
  return (c: Cpu, i: Insn) => {
    check(c);
    const b = c.seg[seg].base;
    const lo = b | 0; // ToInt32: the low 32 bits of the (sign-extended, exact) base
    if (wide) c.set64(i.r0, lo, Math.floor(b / TWO32) | 0);
    else c.set32(i.r0, lo);
  };
}

function wrbase(seg: number, wide: boolean) {
  return (c: Cpu, i: Insn) => {
    check(c);
    const lo = c.R[2 * i.r0];
    let v = lo >>> 0;
    if (wide) {
      v = c.R[2 * i.r0 + 1] * TWO32 + (lo >>> 0);
      if (v < -0x800000000000 || v >= 0x800000000000) c.gp(0);
    }
    c.seg[seg].base = v;
  };
}

defineMatching(/^Rdfsbase_r32$/, rdbase(FS, false));
defineMatching(/^Rdfsbase_r64$/, rdbase(FS, true));
defineMatching(/^Rdgsbase_r32$/, rdbase(GS, false));
defineMatching(/^Rdgsbase_r64$/, rdbase(GS, true));
defineMatching(/^Wrfsbase_r32$/, wrbase(FS, false));
defineMatching(/^Wrfsbase_r64$/, wrbase(FS, true));
defineMatching(/^Wrgsbase_r32$/, wrbase(GS, false));
defineMatching(/^Wrgsbase_r64$/, wrbase(GS, true));
