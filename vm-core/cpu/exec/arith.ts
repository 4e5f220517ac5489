// Binary arithmetic and logic (SDM Vol. 1 7.3.2, 7.3.4): ADD ADC SUB SBB CMP AND OR XOR TEST,
// INC DEC NEG NOT. Each form is specialised at decode time (register/memory/immediate, size).
import type { Cpu } from '../cpu';
import { BASE_RIP, Insn, K_IMM, K_MEM, K_REG, FOP_ADDM32, FOP_ADD32, FOP_SUB32, FOP_CMP32, FOP_XOR32, FOP_AND32, FOP_OR32, FOP_DEC32, FOP_INC32 } from '../insn';
import { getCF, OP_ADC, OP_ADD, OP_DEC, OP_INC, OP_LOGIC, OP_NEG, OP_SBB, OP_SUB, SZ16, SZ32, SZ64, SZ8 } from '../flags';
import { defineMatching, memLin, readAt, regVal, setRegVal, writeAt, immVal } from './operands';

export const ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7,
  ALU_TEST = 8;

function szIndex(size: number): number {
  return size === 1 ? SZ8 : size === 2 ? SZ16 : size === 4 ? SZ32 : SZ64;
}
const MASKS = [0xff, 0xffff, -1, -1];

/** 8/16/32-bit ALU operation; returns the result (masked to size for 8/16) and records flags. */
export function alu(c: Cpu, op: number, sz: number, d: number, s: number): number {
  let r: number, lop: number;
  switch (op) {
    case ALU_ADD: r = (d + s) | 0; lop = OP_ADD; break;
    case ALU_ADC: { const cf = getCF(c) ? 1 : 0; c.lfCin = cf; r = (d + s + cf) | 0; lop = OP_ADC; break; }
    case ALU_SBB: { const cf = getCF(c) ? 1 : 0; c.lfCin = cf; r = (d - s - cf) | 0; lop = OP_SBB; break; }
    case ALU_SUB: case ALU_CMP: r = (d - s) | 0; lop = OP_SUB; break;
    case ALU_AND: case ALU_TEST: r = d & s; lop = OP_LOGIC; break;
    case ALU_OR: r = d | s; lop = OP_LOGIC; break;
    default: r = d ^ s; lop = OP_LOGIC; break;
  }
  r &= MASKS[sz];
  c.lfOp = lop; c.lfSz = sz; c.lfDst = d; c.lfSrc = s; c.lfRes = r;
  return r;
}

/** 64-bit ALU operation on halves; returns the low half, high half in c.hi. */
export function alu64(c: Cpu, op: number, dl: number, dh: number, sl: number, sh: number): number {
  let lo: number, hi: number, lop: number;
  switch (op) {
    case ALU_ADD: case ALU_ADC: {
      const cin = op === ALU_ADC ? (getCF(c) ? 1 : 0) : 0;
      c.lfCin = cin;
      const t = (dl >>> 0) + (sl >>> 0) + cin;
      lo = t | 0; hi = (dh + sh + (t > 0xffffffff ? 1 : 0)) | 0; lop = op === ALU_ADC ? OP_ADC : OP_ADD; break;
    }
    case ALU_SUB: case ALU_CMP: case ALU_SBB: {
      const cin = op === ALU_SBB ? (getCF(c) ? 1 : 0) : 0;
      c.lfCin = cin;
      const t = (dl >>> 0) - (sl >>> 0) - cin;
      lo = t | 0; hi = (dh - sh - (t < 0 ? 1 : 0)) | 0; lop = op === ALU_SBB ? OP_SBB : OP_SUB; break;
    }
    case ALU_AND: case ALU_TEST: lo = dl & sl; hi = dh & sh; lop = OP_LOGIC; break;
    case ALU_OR: lo = dl | sl; hi = dh | sh; lop = OP_LOGIC; break;
    default: lo = dl ^ sl; hi = dh ^ sh; lop = OP_LOGIC; break;
  }
  c.lfOp = lop; c.lfSz = SZ64;
  c.lfDst = dl; c.lfDstHi = dh; c.lfSrc = sl; c.lfSrcHi = sh; c.lfRes = lo; c.lfResHi = hi;
  c.hi = hi;
  return lo;
}

/** The result of an 8/16/32-bit ALU operation without recording flags (read-modify-write forms). */
function aluValue(c: Cpu, op: number, sz: number, d: number, s: number): number {
  let r: number;
  switch (op) {
    case ALU_ADD: r = (d + s) | 0; break;
    case ALU_ADC: r = (d + s + (getCF(c) ? 1 : 0)) | 0; break;
    case ALU_SBB: r = (d - s - (getCF(c) ? 1 : 0)) | 0; break;
    case ALU_SUB: case ALU_CMP: r = (d - s) | 0; break;
    case ALU_AND: case ALU_TEST: r = d & s; break;
    case ALU_OR: r = d | s; break;
    default: r = d ^ s; break;
  }
  return r & MASKS[sz];
}
/** The result of a 64-bit ALU operation without recording flags: low half, high half in c.hi. */
function alu64Value(c: Cpu, op: number, dl: number, dh: number, sl: number, sh: number): number {
  let lo: number, hi: number;
  switch (op) {
    case ALU_ADD: case ALU_ADC: {
      const t = (dl >>> 0) + (sl >>> 0) + (op === ALU_ADC && getCF(c) ? 1 : 0);
      lo = t | 0; hi = (dh + sh + (t > 0xffffffff ? 1 : 0)) | 0; break;
    }
    case ALU_SUB: case ALU_CMP: case ALU_SBB: {
      const t = (dl >>> 0) - (sl >>> 0) - (op === ALU_SBB && getCF(c) ? 1 : 0);
      lo = t | 0; hi = (dh - sh - (t < 0 ? 1 : 0)) | 0; break;
    }
    case ALU_AND: case ALU_TEST: lo = dl & sl; hi = dh & sh; break;
    case ALU_OR: lo = dl | sl; hi = dh | sh; break;
    default: lo = dl ^ sl; hi = dh ^ sh; break;
  }
  c.hi = hi;
  return lo;
}

const writesBack = (op: number) => op !== ALU_CMP && op !== ALU_TEST;

/** The execute loop's inline forms of 32-bit register-register operations (cpu.ts run()). */
const FOP_OF: Partial<Record<number, number>> = {
  [ALU_ADD]: FOP_ADD32, [ALU_SUB]: FOP_SUB32, [ALU_CMP]: FOP_CMP32, [ALU_XOR]: FOP_XOR32, [ALU_AND]: FOP_AND32,
  [ALU_OR]: FOP_OR32,
};

// Hot forms written out one function per operation, so each gets its own optimised code
// (a shared closure over `op` would be one megamorphic function for every ALU instruction).
type RR = (d: number, s: number) => (c: Cpu) => void;
const RR64: Partial<Record<number, RR>> = {
  [ALU_ADD]: (d, s) => (c) => {
    const R = c.R, dl = R[d], dh = R[d + 1], sl = R[s], sh = R[s + 1];
    const t = (dl >>> 0) + (sl >>> 0), lo = t | 0, hi = (dh + sh + (t > 0xffffffff ? 1 : 0)) | 0;
    c.lfOp = OP_ADD; c.lfSz = SZ64; c.lfDst = dl; c.lfDstHi = dh; c.lfSrc = sl; c.lfSrcHi = sh; c.lfRes = lo; c.lfResHi = hi;
    R[d] = lo; R[d + 1] = hi;
  },
  [ALU_SUB]: (d, s) => (c) => {
    const R = c.R, dl = R[d], dh = R[d + 1], sl = R[s], sh = R[s + 1];
    const t = (dl >>> 0) - (sl >>> 0), lo = t | 0, hi = (dh - sh - (t < 0 ? 1 : 0)) | 0;
    c.lfOp = OP_SUB; c.lfSz = SZ64; c.lfDst = dl; c.lfDstHi = dh; c.lfSrc = sl; c.lfSrcHi = sh; c.lfRes = lo; c.lfResHi = hi;
    R[d] = lo; R[d + 1] = hi;
  },
  [ALU_CMP]: (d, s) => (c) => {
    const R = c.R, dl = R[d], dh = R[d + 1], sl = R[s], sh = R[s + 1];
    const t = (dl >>> 0) - (sl >>> 0), lo = t | 0, hi = (dh - sh - (t < 0 ? 1 : 0)) | 0;
    c.lfOp = OP_SUB; c.lfSz = SZ64; c.lfDst = dl; c.lfDstHi = dh; c.lfSrc = sl; c.lfSrcHi = sh; c.lfRes = lo; c.lfResHi = hi;
  },
  [ALU_XOR]: (d, s) => (c) => {
    const R = c.R, lo = R[d] ^ R[s], hi = R[d + 1] ^ R[s + 1];
    c.lfOp = OP_LOGIC; c.lfSz = SZ64; c.lfRes = lo; c.lfResHi = hi;
    R[d] = lo; R[d + 1] = hi;
  },
  [ALU_AND]: (d, s) => (c) => {
    const R = c.R, lo = R[d] & R[s], hi = R[d + 1] & R[s + 1];
    c.lfOp = OP_LOGIC; c.lfSz = SZ64; c.lfRes = lo; c.lfResHi = hi;
    R[d] = lo; R[d + 1] = hi;
  },
  [ALU_OR]: (d, s) => (c) => {
    const R = c.R, lo = R[d] | R[s], hi = R[d + 1] | R[s + 1];
    c.lfOp = OP_LOGIC; c.lfSz = SZ64; c.lfRes = lo; c.lfResHi = hi;
    R[d] = lo; R[d + 1] = hi;
  },
  [ALU_TEST]: (d, s) => (c) => {
    const R = c.R;
    c.lfOp = OP_LOGIC; c.lfSz = SZ64; c.lfRes = R[d] & R[s]; c.lfResHi = R[d + 1] & R[s + 1];
  },
};
const RR32: Partial<Record<number, RR>> = {
  [ALU_ADD]: (d, s) => (c) => {
    const R = c.R, a = R[d], b = R[s], r = (a + b) | 0;
    c.lfOp = OP_ADD; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_SUB]: (d, s) => (c) => {
    const R = c.R, a = R[d], b = R[s], r = (a - b) | 0;
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_CMP]: (d, s) => (c) => {
    const R = c.R, a = R[d], b = R[s];
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = (a - b) | 0;
  },
  [ALU_XOR]: (d, s) => (c) => {
    const R = c.R, r = R[d] ^ R[s];
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_AND]: (d, s) => (c) => {
    const R = c.R, r = R[d] & R[s];
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_OR]: (d, s) => (c) => {
    const R = c.R, r = R[d] | R[s];
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_TEST]: (d, s) => (c) => {
    const R = c.R;
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = R[d] & R[s];
  },
};

// 32-bit forms with one memory operand, also written out per operation: `reg op= [mem]` (RM32) and
// `[mem] op= reg` (MR32). The memory write comes before the flags, so a #PF on it leaves RFLAGS intact.
type MemForm = (r: number) => (c: Cpu, i: Insn) => void;
const RM32: Partial<Record<number, MemForm>> = {
  [ALU_ADD]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), R = c.R, a = R[d], r = (a + b) | 0;
    c.lfOp = OP_ADD; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_SUB]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), R = c.R, a = R[d], r = (a - b) | 0;
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_CMP]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), a = c.R[d];
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = (a - b) | 0;
  },
  [ALU_XOR]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), R = c.R, a = R[d], r = a ^ b;
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_AND]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), R = c.R, a = R[d], r = a & b;
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
  [ALU_OR]: (d) => (c, i) => {
    const b = c.readLin32(memLin(c, i, 4, false)), R = c.R, a = R[d], r = a | b;
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r; R[d] = r; R[d + 1] = 0;
  },
};
const MR32: Partial<Record<number, MemForm>> = {
  [ALU_ADD]: (s) => (c, i) => {
    const lin = memLin(c, i, 4, true), a = c.readLin32(lin), b = c.R[s], r = (a + b) | 0;
    c.writeLin32(lin, r);
    c.lfOp = OP_ADD; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r;
  },
  [ALU_SUB]: (s) => (c, i) => {
    const lin = memLin(c, i, 4, true), a = c.readLin32(lin), b = c.R[s], r = (a - b) | 0;
    c.writeLin32(lin, r);
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = r;
  },
  [ALU_CMP]: (s) => (c, i) => {
    const a = c.readLin32(memLin(c, i, 4, false)), b = c.R[s];
    c.lfOp = OP_SUB; c.lfSz = SZ32; c.lfDst = a; c.lfSrc = b; c.lfRes = (a - b) | 0;
  },
  [ALU_XOR]: (s) => (c, i) => {
    const lin = memLin(c, i, 4, true), a = c.readLin32(lin), b = c.R[s], r = a ^ b;
    c.writeLin32(lin, r);
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r;
  },
  [ALU_AND]: (s) => (c, i) => {
    const lin = memLin(c, i, 4, true), a = c.readLin32(lin), b = c.R[s], r = a & b;
    c.writeLin32(lin, r);
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r;
  },
  [ALU_OR]: (s) => (c, i) => {
    const lin = memLin(c, i, 4, true), a = c.readLin32(lin), b = c.R[s], r = a | b;
    c.writeLin32(lin, r);
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = r;
  },
  [ALU_TEST]: (s) => (c, i) => {
    const a = c.readLin32(memLin(c, i, 4, false)), b = c.R[s];
    c.lfOp = OP_LOGIC; c.lfSz = SZ32; c.lfRes = a & b;
  },
};

/** Build the handler of one ALU instruction form. */
function aluFactory(op: number) {
  return {
    factory: (i: Insn) => {
      const size = i.osz, sz = szIndex(size), wb = writesBack(op);
      if (i.k0 === K_REG && i.k1 === K_REG && size === 4 && FOP_OF[op] !== undefined) {
        i.fop = FOP_OF[op]!; i.fd = 2 * i.r0; i.fs = 2 * i.r1;
      }
      if (i.k0 === K_REG && i.k1 === K_REG && (size === 8 || size === 4)) {
        const fast = (size === 8 ? RR64 : RR32)[op];
        if (fast) return fast(2 * i.r0, 2 * i.r1);
      }
      if (size === 4 && i.k0 === K_REG && i.k1 === K_MEM && RM32[op]) return RM32[op]!(2 * i.r0);
      if (size === 4 && i.k0 === K_MEM && i.k1 === K_REG && op === ALU_ADD && i.asz === 64 && i.mBase >= 0 &&
        i.mBase !== BASE_RIP && i.mIndex < 0 && i.seg < 4 && !i.lock) {
        i.fop = FOP_ADDM32; i.fd = 2 * i.r1; i.fs = 2 * i.mBase; // the execute loop's inline form
      }
      if (size === 4 && i.k0 === K_MEM && i.k1 === K_REG && MR32[op]) return MR32[op]!(2 * i.r1);
      if (size === 8) {
        if (i.k0 === K_REG && i.k1 === K_REG) {
          const d = 2 * i.r0, s = 2 * i.r1;
          return (c: Cpu) => {
            const R = c.R;
            const lo = alu64(c, op, R[d], R[d + 1], R[s], R[s + 1]);
            if (wb) { R[d] = lo; R[d + 1] = c.hi; }
          };
        }
        return (c: Cpu, i: Insn) => {
          let sl: number, sh: number;
          if (i.k1 === K_IMM) { sl = i.imm; sh = i.immHi; }
          else if (i.k1 === K_REG) { sl = c.R[2 * i.r1]; sh = c.R[2 * i.r1 + 1]; }
          else { sl = readAt(c, memLin(c, i, 8, false), 8); sh = c.hi; }
          if (i.k0 === K_REG) {
            const d = 2 * i.r0, R = c.R;
            const lo = alu64(c, op, R[d], R[d + 1], sl, sh);
            if (wb) { R[d] = lo; R[d + 1] = c.hi; }
          } else {
            const lin = memLin(c, i, 8, wb);
            const dl = readAt(c, lin, 8), dh = c.hi;
            // Memory is written before the flags are recorded: a #PF on the write leaves RFLAGS intact.
            if (wb) { const lo = alu64Value(c, op, dl, dh, sl, sh); writeAt(c, lin, 8, lo, c.hi); }
            alu64(c, op, dl, dh, sl, sh);
          }
        };
      }
      if (size === 4 && i.k0 === K_REG && i.k1 === K_REG) {
        const d = 2 * i.r0, s = 2 * i.r1;
        return (c: Cpu) => {
          const r = alu(c, op, SZ32, c.R[d], c.R[s]);
          if (wb) { c.R[d] = r; c.R[d + 1] = 0; }
        };
      }
      if (size === 4 && i.k0 === K_REG && i.k1 === K_IMM) {
        const d = 2 * i.r0, imm = i.imm;
        return (c: Cpu) => {
          const r = alu(c, op, SZ32, c.R[d], imm);
          if (wb) { c.R[d] = r; c.R[d + 1] = 0; }
        };
      }
      return (c: Cpu, i: Insn) => {
        let s: number;
        if (i.k1 === K_IMM) s = immVal(i, size);
        else if (i.k1 === K_REG) s = regVal(c, i.r1, size);
        else s = readAt(c, memLin(c, i, size, false), size);
        if (i.k0 === K_REG) {
          const r = alu(c, op, sz, regVal(c, i.r0, size), s);
          if (wb) setRegVal(c, i.r0, size, r, 0);
        } else {
          const lin = memLin(c, i, size, wb);
          const d = readAt(c, lin, size);
          // Memory is written before the flags are recorded: a #PF on the write leaves RFLAGS intact.
          if (wb) writeAt(c, lin, size, aluValue(c, op, sz, d, s), 0);
          alu(c, op, sz, d, s);
        }
      };
    },
  };
}

/** INC/DEC/NEG/NOT on r/m (SDM Vol. 2). NOT changes no flags. */
function unaryFactory(kind: 'inc' | 'dec' | 'neg' | 'not') {
  return {
    factory: (i: Insn) => {
      const size = i.osz, sz = szIndex(size);
      const compute = (c: Cpu, v: number, vh: number): number => {
        if (kind === 'not') { c.hi = ~vh; return ~v; }
        if (size === 8) {
          let lo: number, hi: number;
          if (kind === 'inc') { const t = (v >>> 0) + 1; lo = t | 0; hi = (vh + (t > 0xffffffff ? 1 : 0)) | 0; }
          else if (kind === 'dec') { const t = (v >>> 0) - 1; lo = t | 0; hi = (vh - (t < 0 ? 1 : 0)) | 0; }
          else { lo = (-(v >>> 0)) | 0; hi = (~vh + (lo === 0 ? 1 : 0)) | 0; }
          if (kind !== 'neg') c.lfCin = getCF(c) ? 1 : 0;
          c.lfOp = kind === 'inc' ? OP_INC : kind === 'dec' ? OP_DEC : OP_NEG; c.lfSz = SZ64;
          c.lfDst = v; c.lfDstHi = vh; c.lfSrc = kind === 'neg' ? v : 1; c.lfSrcHi = kind === 'neg' ? vh : 0;
          if (kind === 'neg') { c.lfDst = 0; c.lfDstHi = 0; }
          c.lfRes = lo; c.lfResHi = hi;
          c.hi = hi;
          return lo;
        }
        let r: number;
        if (kind === 'neg') {
          r = (-v) & MASKS[sz];
          c.lfOp = OP_NEG; c.lfSz = sz; c.lfDst = 0; c.lfSrc = v; c.lfRes = r;
          return r;
        }
        c.lfCin = getCF(c) ? 1 : 0;
        r = (kind === 'inc' ? v + 1 : v - 1) & MASKS[sz];
        c.lfOp = kind === 'inc' ? OP_INC : OP_DEC; c.lfSz = sz; c.lfDst = v; c.lfSrc = 1; c.lfRes = r;
        return r;
      };
      if (i.k0 === K_REG && size === 4 && (kind === 'dec' || kind === 'inc')) {
        i.fop = kind === 'inc' ? FOP_INC32 : FOP_DEC32; i.fd = 2 * i.r0;
        const d = 2 * i.r0, delta = kind === 'inc' ? 1 : -1, lop = kind === 'inc' ? OP_INC : OP_DEC;
        return (c: Cpu) => {
          const v = c.R[d];
          c.lfCin = getCF(c) ? 1 : 0;
          const r = (v + delta) | 0;
          c.lfOp = lop; c.lfSz = SZ32; c.lfDst = v; c.lfSrc = 1; c.lfRes = r;
          c.R[d] = r; c.R[d + 1] = 0;
        };
      }
      if (i.k0 === K_REG && size === 8 && (kind === 'dec' || kind === 'inc')) {
        const d = 2 * i.r0, inc = kind === 'inc', lop = inc ? OP_INC : OP_DEC;
        return (c: Cpu) => {
          const R = c.R, lo = R[d], hi = R[d + 1];
          c.lfCin = getCF(c) ? 1 : 0;
          let rl: number, rh: number;
          if (inc) { rl = (lo + 1) | 0; rh = rl === 0 ? (hi + 1) | 0 : hi; }
          else { rl = (lo - 1) | 0; rh = lo === 0 ? (hi - 1) | 0 : hi; }
          c.lfOp = lop; c.lfSz = SZ64; c.lfDst = lo; c.lfDstHi = hi; c.lfSrc = 1; c.lfSrcHi = 0;
          c.lfRes = rl; c.lfResHi = rh;
          R[d] = rl; R[d + 1] = rh;
        };
      }
      return (c: Cpu, i: Insn) => {
        if (i.k0 === K_REG) {
          const v = regVal(c, i.r0, size), vh = c.hi;
          const r = compute(c, v, vh);
          setRegVal(c, i.r0, size, r, c.hi);
        } else {
          const lin = memLin(c, i, size, true);
          const v = readAt(c, lin, size), vh = c.hi;
          // Memory first, then the flags (a #PF on the write leaves RFLAGS intact): compute() is
          // pure apart from the flags, so run it on saved flags for the value, then again to record.
          const op = c.lfOp, sz0 = c.lfSz, dst = c.lfDst, src = c.lfSrc, res = c.lfRes, cin = c.lfCin;
          const dh = c.lfDstHi, shi = c.lfSrcHi, rh = c.lfResHi;
          const r = compute(c, v, vh), hi = c.hi;
          c.lfOp = op; c.lfSz = sz0; c.lfDst = dst; c.lfSrc = src; c.lfRes = res; c.lfCin = cin;
          c.lfDstHi = dh; c.lfSrcHi = shi; c.lfResHi = rh;
          writeAt(c, lin, size, r, hi);
          compute(c, v, vh);
        }
      };
    },
  };
}

const ALU_NAMES: [string, number][] = [['Add', ALU_ADD], ['Or', ALU_OR], ['Adc', ALU_ADC], ['Sbb', ALU_SBB],
  ['And', ALU_AND], ['Sub', ALU_SUB], ['Xor', ALU_XOR], ['Cmp', ALU_CMP]];
for (const [name, op] of ALU_NAMES) {
  defineMatching(new RegExp(`^${name}_(rm|r|AL|AX|EAX|RAX)(8|16|32|64)?_(r|rm|imm)(8|16|32|64)(_82)?$|^${name}_(AL|AX|EAX|RAX)_imm(8|16|32)$`), aluFactory(op));
}
defineMatching(/^Test_(rm|AL|AX|EAX|RAX)(8|16|32|64)?_(r|imm)(8|16|32|64)(_F6r1|_F7r1)?$|^Test_(AL|AX|EAX|RAX)_imm(8|16|32)$/, aluFactory(ALU_TEST));
defineMatching(/^Inc_(rm|r)(8|16|32|64)$/, unaryFactory('inc'));
defineMatching(/^Dec_(rm|r)(8|16|32|64)$/, unaryFactory('dec'));
defineMatching(/^Neg_rm(8|16|32|64)$/, unaryFactory('neg'));
defineMatching(/^Not_rm(8|16|32|64)$/, unaryFactory('not'));

export { K_MEM };
