// Multiply and divide (SDM Vol. 1 7.3.2.3, Vol. 2 "MUL", "IMUL", "DIV", "IDIV", "MULX").
// MUL/IMUL define CF = OF = "the upper half is significant"; SF/ZF/PF/AF are undefined (set here
// from the low half of the product, AF = 0). DIV/IDIV leave all flags undefined (unchanged here)
// and raise #DE on a zero divisor or a quotient too large for the destination.
import type { Cpu } from '../cpu';
import { Insn, K_IMM } from '../insn';
import { CF, OF, RAX, RDX } from '../state';
import { defineMatching } from './operands';
import { readOp as rmSource } from './operands';
import { sizeOfCode } from './shift';
import { W, divU128by64, divU64by32, ltU64, mulS32, mulS64, mulU32, mulU64, neg64, setAllFlags, szp, szp64 } from './wide';

/** #DE (SDM Vol. 3A 6.15, interrupt 0). */
function divideError(c: Cpu): never { return c.fault(0); }


// ---------------------------------------------------------------- MUL / IMUL r/m (one operand)

function mulFlags(c: Cpu, ovf: boolean, lowFlags: number): void {
  setAllFlags(c, lowFlags | (ovf ? CF | OF : 0));
}

/** MUL r/m: AX = AL*src; DX:AX, EDX:EAX, RDX:RAX for wider operands. */
function mul(c: Cpu, size: number, s: number, sh: number): void {
  const R = c.R;
  switch (size) {
    case 1: {
      const p = c.get8(RAX) * s;
      c.set16(RAX, p);
      mulFlags(c, p > 0xff, szp(p & 0xff, 0x80));
      break;
    }
    case 2: {
      const p = (R[0] & 0xffff) * s;
      c.set16(RAX, p); c.set16(RDX, p >>> 16);
      mulFlags(c, p > 0xffff, szp(p & 0xffff, 0x8000));
      break;
    }
    case 4: {
      const lo = mulU32(R[0], s), hi = W.hi;
      R[0] = lo; R[1] = 0; R[4] = hi; R[5] = 0;
      mulFlags(c, hi !== 0, szp(lo, 0x80000000 | 0));
      break;
    }
    default: {
      const lo = mulU64(R[0], R[1], s, sh);
      const hi = W.hi, w2 = W.w2, w3 = W.w3;
      R[0] = lo; R[1] = hi; R[4] = w2; R[5] = w3;
      mulFlags(c, (w2 | w3) !== 0, szp64(lo, hi));
    }
  }
}

/** IMUL r/m (one operand): signed, CF = OF = the upper half is not the sign extension of the lower. */
function imul1(c: Cpu, size: number, s: number, sh: number): void {
  const R = c.R;
  switch (size) {
    case 1: {
      const p = ((c.get8(RAX) << 24) >> 24) * ((s << 24) >> 24);
      c.set16(RAX, p);
      mulFlags(c, p !== ((p << 24) >> 24), szp(p & 0xff, 0x80));
      break;
    }
    case 2: {
      const p = ((R[0] << 16) >> 16) * ((s << 16) >> 16);
      c.set16(RAX, p); c.set16(RDX, p >> 16);
      mulFlags(c, p !== ((p << 16) >> 16), szp(p & 0xffff, 0x8000));
      break;
    }
    case 4: {
      const lo = mulS32(R[0], s), hi = W.hi;
      R[0] = lo; R[1] = 0; R[4] = hi; R[5] = 0;
      mulFlags(c, hi !== (lo >> 31), szp(lo, 0x80000000 | 0));
      break;
    }
    default: {
      const lo = mulS64(R[0], R[1], s, sh);
      const hi = W.hi, w2 = W.w2, w3 = W.w3;
      R[0] = lo; R[1] = hi; R[4] = w2; R[5] = w3;
      const ext = hi >> 31;
      mulFlags(c, w2 !== ext || w3 !== ext, szp64(lo, hi));
    }
  }
}

/** IMUL with an explicit destination (2- and 3-operand forms): truncated product. */
function imulTrunc(c: Cpu, size: number, a: number, ah: number, b: number, bh: number): number {
  switch (size) {
    case 2: {
      const p = ((a << 16) >> 16) * ((b << 16) >> 16);
      mulFlags(c, p !== ((p << 16) >> 16), szp(p & 0xffff, 0x8000));
      return p & 0xffff;
    }
    case 4: {
      const r = Math.imul(a, b);
      // The double product is exact whenever it fits in 32 bits, so a mismatch means overflow.
      mulFlags(c, (a | 0) * (b | 0) !== r, szp(r, 0x80000000 | 0));
      return r;
    }
    default: {
      const lo = mulS64(a, ah, b, bh);
      const hi = W.hi, ext = hi >> 31;
      mulFlags(c, W.w2 !== ext || W.w3 !== ext, szp64(lo, hi));
      W.hi = hi;
      return lo;
    }
  }
}

defineMatching(/^Mul_rm(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => { const s = rmSource(c, i, 0, size); mul(c, size, s, c.hi); };
  },
});
defineMatching(/^Imul_rm(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => { const s = rmSource(c, i, 0, size); imul1(c, size, s, c.hi); };
  },
});
defineMatching(/^Imul_r(16|32|64)_rm(16|32|64)(_imm(8|16|32))?$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    const three = i.k2 === K_IMM;
    return (c: Cpu, i: Insn) => {
      const s = rmSource(c, i, 1, size), sh = c.hi;
      const d = 2 * i.r0, R = c.R;
      let a: number, ah: number;
      if (three) { a = i.imm; ah = i.imm >> 31; } else { a = R[d]; ah = R[d + 1]; }
      const r = imulTrunc(c, size, a, ah, s, sh);
      if (size === 2) c.set16(i.r0, r);
      else if (size === 4) { R[d] = r; R[d + 1] = 0; }
      else { R[d] = r; R[d + 1] = W.hi; }
    };
  },
});

// ---------------------------------------------------------------- DIV / IDIV

/** DIV r/m: unsigned; quotient to AL/AX/EAX/RAX, remainder to AH/DX/EDX/RDX. */
function div(c: Cpu, size: number, s: number, sh: number): void {
  const R = c.R;
  switch (size) {
    case 1: {
      if (s === 0) divideError(c);
      const n = R[0] & 0xffff, q = Math.floor(n / s);
      if (q > 0xff) divideError(c);
      c.set16(RAX, ((n - q * s) << 8) | q);
      break;
    }
    case 2: {
      if (s === 0) divideError(c);
      const n = (R[4] & 0xffff) * 65536 + (R[0] & 0xffff), q = Math.floor(n / s);
      if (q > 0xffff) divideError(c);
      c.set16(RAX, q); c.set16(RDX, n - q * s);
      break;
    }
    case 4: {
      const d = s >>> 0;
      if (d === 0 || (R[4] >>> 0) >= d) divideError(c);
      const q = divU64by32(R[0], R[4], d);
      R[0] = q | 0; R[1] = 0; R[4] = W.rem | 0; R[5] = 0;
      break;
    }
    default: {
      if ((s | sh) === 0 || !ltU64(R[4], R[5], s, sh)) divideError(c);
      const ql = divU128by64(R[0], R[1], R[4], R[5], s, sh);
      R[0] = ql; R[1] = W.hi; R[4] = W.rem; R[5] = W.remHi;
    }
  }
}

/** IDIV r/m: signed, quotient truncated toward zero, remainder with the dividend's sign. */
function idiv(c: Cpu, size: number, s: number, sh: number): void {
  const R = c.R;
  switch (size) {
    case 1: {
      const d = (s << 24) >> 24;
      if (d === 0) divideError(c);
      const n = (R[0] << 16) >> 16, q = Math.trunc(n / d);
      if (q > 127 || q < -128) divideError(c);
      c.set16(RAX, (((n - q * d) & 0xff) << 8) | (q & 0xff));
      break;
    }
    case 2: {
      const d = (s << 16) >> 16;
      if (d === 0) divideError(c);
      const n = (R[4] << 16) | (R[0] & 0xffff), q = Math.trunc(n / d);
      if (q > 32767 || q < -32768) divideError(c);
      c.set16(RAX, q); c.set16(RDX, n - q * d);
      break;
    }
    case 4: {
      const d = s | 0;
      if (d === 0) divideError(c);
      const nNeg = R[4] < 0, dNeg = d < 0;
      let nl = R[0], nh = R[4];
      if (nNeg) { nl = neg64(nl, nh); nh = W.hi; }
      const ad = dNeg ? -d : d; // |d| as a positive number (2^31 for INT_MIN)
      if ((nh >>> 0) >= ad) divideError(c);
      const q = divU64by32(nl, nh, ad), r = W.rem;
      if (nNeg !== dNeg ? q > 0x80000000 : q > 0x7fffffff) divideError(c);
      R[0] = nNeg !== dNeg ? -q | 0 : q | 0; R[1] = 0;
      R[4] = nNeg ? -r | 0 : r | 0; R[5] = 0;
      break;
    }
    default: {
      if ((s | sh) === 0) divideError(c);
      const nNeg = R[5] < 0, dNeg = sh < 0;
      let n0 = R[0], n1 = R[1], n2 = R[4], n3 = R[5];
      if (nNeg) { // negate the 128-bit dividend
        n0 = ~n0; n1 = ~n1; n2 = ~n2; n3 = ~n3;
        if (++n0 === 0 && ++n1 === 0 && ++n2 === 0) n3 = (n3 + 1) | 0;
        n0 |= 0; n1 |= 0; n2 |= 0;
      }
      let dl = s, dh = sh;
      if (dNeg) { dl = neg64(dl, dh); dh = W.hi; }
      if (!ltU64(n2, n3, dl, dh)) divideError(c);
      let ql = divU128by64(n0, n1, n2, n3, dl, dh), qh = W.hi;
      let rl = W.rem, rh = W.remHi;
      const qhu = qh >>> 0;
      if (nNeg !== dNeg ? (qhu > 0x80000000 || (qhu === 0x80000000 && ql !== 0)) : qhu >= 0x80000000) divideError(c);
      if (nNeg !== dNeg) { ql = neg64(ql, qh); qh = W.hi; }
      if (nNeg) { rl = neg64(rl, rh); rh = W.hi; }
      R[0] = ql; R[1] = qh; R[4] = rl; R[5] = rh;
    }
  }
}

defineMatching(/^Div_rm(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => { const s = rmSource(c, i, 0, size); div(c, size, s, c.hi); };
  },
});
defineMatching(/^Idiv_rm(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => { const s = rmSource(c, i, 0, size); idiv(c, size, s, c.hi); };
  },
});

// ---------------------------------------------------------------- MULX (BMI2): unsigned, no flags

// MULX r1, r2, r/m: r1:r2 = rDX * r/m; the low half is written first, so r1 = r2 keeps the high half.
defineMatching(/^VEX_Mulx_r(32|64)_r(32|64)_rm(32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => {
      const s = rmSource(c, i, 2, size), sh = c.hi, R = c.R;
      const hiReg = 2 * i.r0, loReg = 2 * i.r1;
      if (size === 4) {
        const lo = mulU32(R[4], s), hi = W.hi;
        R[loReg] = lo; R[loReg + 1] = 0;
        R[hiReg] = hi; R[hiReg + 1] = 0;
      } else {
        const lo = mulU64(R[4], R[5], s, sh), hi = W.hi, w2 = W.w2, w3 = W.w3;
        R[loReg] = lo; R[loReg + 1] = hi;
        R[hiReg] = w2; R[hiReg + 1] = w3;
      }
    };
  },
});
