// Lazy arithmetic flags (the technique of Bochs and QEMU): an instruction records its operation,
// operand size, operands and result; CF/PF/AF/ZF/SF/OF are computed only when read.
// SDM Vol. 1 3.4.3.1 and Appendix A give which flags each instruction defines.
import type { Cpu } from './cpu';
import { AF, ARITH_FLAGS, CF, OF, PF, SF, ZF } from './state';

// Operation kinds. LOGIC: CF=OF=0, AF=0. INC/DEC keep the CF stored in lfCin.
export const OP_NONE = 0, OP_ADD = 1, OP_ADC = 2, OP_SUB = 3, OP_SBB = 4, OP_LOGIC = 5, OP_INC = 6,
  OP_DEC = 7, OP_NEG = 8;

/** Size index: 0 = 8, 1 = 16, 2 = 32, 3 = 64 bits. */
export const SZ8 = 0, SZ16 = 1, SZ32 = 2, SZ64 = 3;
const SIGN = [0x80, 0x8000, 0x80000000 | 0, 0x80000000 | 0];
const MASK = [0xff, 0xffff, -1, -1];

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p ? PF : 0;
}
export { PARITY };

/** Record a lazily evaluated flags result (low halves; high halves only matter for SZ64). */
export function setLazy(c: Cpu, op: number, sz: number, dst: number, src: number, res: number): void {
  c.lfOp = op; c.lfSz = sz; c.lfDst = dst; c.lfSrc = src; c.lfRes = res;
}
export function setLazy64(c: Cpu, op: number, dst: number, dstHi: number, src: number, srcHi: number,
  res: number, resHi: number): void {
  c.lfOp = op; c.lfSz = SZ64; c.lfDst = dst; c.lfSrc = src; c.lfRes = res;
  c.lfDstHi = dstHi; c.lfSrcHi = srcHi; c.lfResHi = resHi;
}

/** Unsigned compare of (aHi:aLo) < (bHi:bLo). */
function ltu64(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ah = aHi >>> 0, bh = bHi >>> 0;
  return ah < bh || (ah === bh && (aLo >>> 0) < (bLo >>> 0));
}

export function getCF(c: Cpu): boolean {
  const sz = c.lfSz, m = MASK[sz];
  switch (c.lfOp) {
    case OP_NONE: return (c.rflags & CF) !== 0;
    case OP_ADD:
      if (sz === SZ64) return ltu64(c.lfRes, c.lfResHi, c.lfDst, c.lfDstHi);
      return ((c.lfRes & m) >>> 0) < ((c.lfDst & m) >>> 0);
    case OP_ADC:
      if (sz === SZ64) return ltu64(c.lfRes, c.lfResHi, c.lfDst, c.lfDstHi) ||
        (c.lfCin !== 0 && c.lfRes === c.lfDst && c.lfResHi === c.lfDstHi);
      return ((c.lfRes & m) >>> 0) < ((c.lfDst & m) >>> 0) || (c.lfCin !== 0 && (c.lfRes & m) === (c.lfDst & m));
    case OP_SUB:
      if (sz === SZ64) return ltu64(c.lfDst, c.lfDstHi, c.lfSrc, c.lfSrcHi);
      return ((c.lfDst & m) >>> 0) < ((c.lfSrc & m) >>> 0);
    case OP_SBB:
      if (sz === SZ64) return ltu64(c.lfDst, c.lfDstHi, c.lfSrc, c.lfSrcHi) ||
        (c.lfCin !== 0 && c.lfSrc === c.lfDst && c.lfSrcHi === c.lfDstHi);
      return ((c.lfDst & m) >>> 0) < ((c.lfSrc & m) >>> 0) || (c.lfCin !== 0 && (c.lfSrc & m) === (c.lfDst & m));
    case OP_LOGIC: return false;
    case OP_INC: case OP_DEC: return c.lfCin !== 0;
    case OP_NEG: return sz === SZ64 ? (c.lfRes | c.lfResHi) !== 0 : (c.lfRes & m) !== 0;
  }
  return false;
}

export function getZF(c: Cpu): boolean {
  if (c.lfOp === OP_NONE) return (c.rflags & ZF) !== 0;
  if (c.lfSz === SZ64) return (c.lfRes | c.lfResHi) === 0;
  return (c.lfRes & MASK[c.lfSz]) === 0;
}

export function getSF(c: Cpu): boolean {
  if (c.lfOp === OP_NONE) return (c.rflags & SF) !== 0;
  if (c.lfSz === SZ64) return c.lfResHi < 0;
  return (c.lfRes & SIGN[c.lfSz]) !== 0;
}

export function getPF(c: Cpu): boolean {
  if (c.lfOp === OP_NONE) return (c.rflags & PF) !== 0;
  return PARITY[c.lfRes & 0xff] !== 0;
}

export function getAF(c: Cpu): boolean {
  switch (c.lfOp) {
    case OP_NONE: return (c.rflags & AF) !== 0;
    case OP_LOGIC: return false;
    case OP_INC: return (c.lfRes & 0xf) === 0;
    case OP_DEC: return (c.lfRes & 0xf) === 0xf;
    default: return ((c.lfRes ^ c.lfDst ^ c.lfSrc) & 0x10) !== 0;
  }
}

export function getOF(c: Cpu): boolean {
  const sz = c.lfSz;
  const hiRes = sz === SZ64 ? c.lfResHi : c.lfRes, hiDst = sz === SZ64 ? c.lfDstHi : c.lfDst,
    hiSrc = sz === SZ64 ? c.lfSrcHi : c.lfSrc, sign = SIGN[sz];
  switch (c.lfOp) {
    case OP_NONE: return (c.rflags & OF) !== 0;
    case OP_ADD: case OP_ADC: return ((hiDst ^ hiRes) & (hiSrc ^ hiRes) & sign) !== 0;
    case OP_SUB: case OP_SBB: return ((hiDst ^ hiSrc) & (hiDst ^ hiRes) & sign) !== 0;
    case OP_LOGIC: return false;
    case OP_INC: case OP_NEG: // result is the most negative value
      return sz === SZ64 ? (c.lfResHi === SIGN[SZ64] && c.lfRes === 0) : (c.lfRes & MASK[sz]) === (sign & MASK[sz]);
    case OP_DEC: // result is the most positive value
      return sz === SZ64 ? (c.lfResHi === 0x7fffffff && c.lfRes === -1) : (c.lfRes & MASK[sz]) === ((sign - 1) & MASK[sz]);
  }
  return false;
}

/** Fold the lazy flags into rflags (after this, OP_NONE). */
export function materializeFlags(c: Cpu): void {
  if (c.lfOp === OP_NONE) return;
  let f = c.rflags & ~ARITH_FLAGS;
  if (getCF(c)) f |= CF;
  if (getPF(c)) f |= PF;
  if (getAF(c)) f |= AF;
  if (getZF(c)) f |= ZF;
  if (getSF(c)) f |= SF;
  if (getOF(c)) f |= OF;
  c.rflags = f;
  c.lfOp = OP_NONE;
}

/** Full RFLAGS value. */
export function getRflags(c: Cpu): number {
  materializeFlags(c);
  return c.rflags;
}

/** Set the arithmetic flags selected by `mask` to `value`'s bits (others unchanged). */
export function setArithFlags(c: Cpu, mask: number, value: number): void {
  materializeFlags(c);
  c.rflags = (c.rflags & ~mask) | (value & mask);
}

/** Evaluate condition code cc (0-15, SDM Vol. 2 Appendix B.1.4.7). */
export function condition(c: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(c); break;                          // O
    case 1: r = getCF(c); break;                          // B
    case 2: r = getZF(c); break;                          // Z
    case 3: r = getCF(c) || getZF(c); break;              // BE
    case 4: r = getSF(c); break;                          // S
    case 5: r = getPF(c); break;                          // P
    case 6: r = getSF(c) !== getOF(c); break;             // L
    default: r = getZF(c) || getSF(c) !== getOF(c); break; // LE
  }
  return (cc & 1) ? !r : r;
}
