// String instructions (SDM Vol. 1 7.3.9, Vol. 2 "MOVS", "CMPS", "SCAS", "LODS", "STOS", "REP/REPE/
// REPNE"): the source is [seg:rSI] (segment override allowed), the destination ES:[rDI]; rSI, rDI
// and rCX are used at the address size; RFLAGS.DF selects the direction.
//
// A repeated instruction runs at most REP_BATCH iterations per execution and then leaves RIP at
// itself with rCX updated, so it resumes where it stopped: every iteration commits (SDM Vol. 2
// REP: "a repeating string operation can be suspended by an exception or interrupt"), which
// keeps long copies interruptible and a fault mid-way keeps the progress made.
import type { Cpu } from '../cpu';
import { Insn } from '../insn';
import { DF, ES, RAX, RCX, RDI, RSI, TF } from '../state';
import { getZF } from '../flags';
import { ALU_CMP, alu, alu64 } from './arith';
import { defineMatching, readAt, writeAt } from './operands';
import { sizeOfCode } from './shift';

/** Iterations of a REP-prefixed instruction per execution before it yields. */
export const REP_BATCH = 1024;

/** rSI / rDI / rCX at the address size, as a non-negative offset (64-bit: canonical signed number). */
function idx(c: Cpu, r: number, asz: number): number {
  const R = c.R;
  if (asz === 64) return R[2 * r + 1] * 4294967296 + (R[2 * r] >>> 0);
  return asz === 32 ? R[2 * r] >>> 0 : R[2 * r] & 0xffff;
}
/** Add a small delta to rSI/rDI (wrapping at the address size; 32-bit writes zero-extend). */
function advance(c: Cpu, r: number, asz: number, delta: number): void {
  const R = c.R, k = 2 * r;
  if (asz === 64) {
    const t = (R[k] >>> 0) + delta;
    R[k] = t | 0;
    if (t > 0xffffffff) R[k + 1] = (R[k + 1] + 1) | 0;
    else if (t < 0) R[k + 1] = (R[k + 1] - 1) | 0;
  } else if (asz === 32) { R[k] = (R[k] + delta) | 0; R[k + 1] = 0; }
  else R[k] = (R[k] & ~0xffff) | ((R[k] + delta) & 0xffff);
}
/** rCX is zero at the address size. */
function countZero(c: Cpu, asz: number): boolean {
  const R = c.R;
  if (asz === 64) return (R[2 * RCX] | R[2 * RCX + 1]) === 0;
  return asz === 32 ? R[2 * RCX] === 0 : (R[2 * RCX] & 0xffff) === 0;
}
function decCount(c: Cpu, asz: number): void {
  const R = c.R, k = 2 * RCX;
  if (asz === 64) { if (R[k] === 0) R[k + 1] = (R[k + 1] - 1) | 0; R[k] = (R[k] - 1) | 0; }
  else if (asz === 32) { R[k] = (R[k] - 1) | 0; R[k + 1] = 0; }
  else R[k] = (R[k] & ~0xffff) | ((R[k] - 1) & 0xffff);
}

const MOVS = 0, CMPS = 1, SCAS = 2, LODS = 3, STOS = 4;

/** One iteration: the memory accesses first, then rSI/rDI advance (a fault leaves them as they were). */
type Step = (c: Cpu, i: Insn, delta: number) => void;

function step(op: number, size: number, asz: number): Step {
  switch (op) {
    case MOVS:
      return (c, i, delta) => {
        const v = readAt(c, c.linear(i.seg, idx(c, RSI, asz), size, false), size), vh = c.hi;
        writeAt(c, c.linear(ES, idx(c, RDI, asz), size, true), size, v, vh);
        advance(c, RSI, asz, delta); advance(c, RDI, asz, delta);
      };
    case CMPS:
      return (c, i, delta) => {
        const a = readAt(c, c.linear(i.seg, idx(c, RSI, asz), size, false), size), ah = c.hi;
        const b = readAt(c, c.linear(ES, idx(c, RDI, asz), size, false), size), bh = c.hi;
        compare(c, size, a, ah, b, bh);
        advance(c, RSI, asz, delta); advance(c, RDI, asz, delta);
      };
    case SCAS:
      return (c, _i, delta) => {
        const b = readAt(c, c.linear(ES, idx(c, RDI, asz), size, false), size), bh = c.hi;
        compare(c, size, accumulator(c, size), c.R[1], b, bh);
        advance(c, RDI, asz, delta);
      };
    case LODS:
      return (c, i, delta) => {
        const v = readAt(c, c.linear(i.seg, idx(c, RSI, asz), size, false), size), vh = c.hi;
        const R = c.R;
        if (size === 1) c.set8(RAX, v);
        else if (size === 2) c.set16(RAX, v);
        else { R[0] = v; R[1] = size === 8 ? vh : 0; }
        advance(c, RSI, asz, delta);
      };
    default: // STOS
      return (c, _i, delta) => {
        writeAt(c, c.linear(ES, idx(c, RDI, asz), size, true), size, accumulator(c, size), c.R[1]);
        advance(c, RDI, asz, delta);
      };
  }
}

function accumulator(c: Cpu, size: number): number {
  return size === 1 ? c.R[0] & 0xff : size === 2 ? c.R[0] & 0xffff : c.R[0];
}
/** CMPS/SCAS flags: SRC1 - SRC2 as CMP. */
function compare(c: Cpu, size: number, a: number, ah: number, b: number, bh: number): void {
  if (size === 8) alu64(c, ALU_CMP, a, ah, b, bh);
  else alu(c, ALU_CMP, size === 1 ? 0 : size === 2 ? 1 : 2, a, b);
}

function stringFactory(op: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code), asz = i.asz;
      const s = step(op, size, asz);
      const conditional = op === CMPS || op === SCAS;
      // REPE (F3) stops when ZF = 0, REPNE (F2) when ZF = 1; MOVS/LODS/STOS treat both as REP.
      const stopWhenZf = i.rep === 2;
      if (i.rep === 0) return (c: Cpu, i: Insn) => s(c, i, (c.rflags & DF) ? -size : size);
      return (c: Cpu, i: Insn) => {
        const delta = (c.rflags & DF) ? -size : size;
        // With RFLAGS.TF, one iteration per execution: processors deliver the single-step trap
        // after each iteration of a repeated string instruction (debuggers step REP MOVS this way).
        // Under KVM's emulator (MMIO) also one: an access that needs userspace re-executes the
        // instruction, which must not repeat or skip iterations that already committed.
        const batch = (c.rflags & TF) || c.mmioHandler ? 1 : REP_BATCH;
        for (let n = 0; n < batch; n++) {
          if (countZero(c, asz)) return;
          s(c, i, delta);
          decCount(c, asz);
          if (conditional && getZF(c) === stopWhenZf) return;
        }
        if (!countZero(c, asz)) { c.rip = c.insnRip; c.stringRestart = true; } // resume with the next batch
      };
    },
  };
}
defineMatching(/^Movs(b|w|d|q)_m(8|16|32|64)_m(8|16|32|64)$/, stringFactory(MOVS));
defineMatching(/^Cmps(b|w|d|q)_m(8|16|32|64)_m(8|16|32|64)$/, stringFactory(CMPS));
defineMatching(/^Scas(b|w|d|q)_(AL|AX|EAX|RAX)_m(8|16|32|64)$/, stringFactory(SCAS));
defineMatching(/^Lods(b|w|d|q)_(AL|AX|EAX|RAX)_m(8|16|32|64)$/, stringFactory(LODS));
defineMatching(/^Stos(b|w|d|q)_m(8|16|32|64)_(AL|AX|EAX|RAX)$/, stringFactory(STOS));
