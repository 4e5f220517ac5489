// Shift and rotate instructions (SDM Vol. 1 7.3.6, Vol. 2 "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR",
// "SHLD", "SHRD", "SARX/SHLX/SHRX", "RORX"). The count is masked to 5 bits (6 with a 64-bit
// operand); a masked count of 0 changes no flags. Flags the SDM leaves undefined get the values
// Intel processors produce where known (OF from the same formula as for a count of 1, AF = 0).
import type { Cpu } from '../cpu';
import { Code } from 'iced-x86';
import { Insn, K_MEM, K_REG } from '../insn';
import { getCF, setArithFlags } from '../flags';
import { ARITH_FLAGS, CF, OF } from '../state';
import { defineMatching, memLin, readAt, writeAt } from './operands';
import { W, bit64, sar64, setAllFlags, shl64, shr64, szp, szp64 } from './wide';

// The shift helpers compute the flags into a pending record and the caller commits them after the
// destination is written, so a fault on a memory write leaves RFLAGS as it was (all-or-nothing).
let pendMask = 0, pendVal = 0;
function allFlags(f: number): void { pendMask = ARITH_FLAGS; pendVal = f; }
function rotFlags(f: number): void { pendMask = CF | OF; pendVal = f; }
/** Apply the flags computed by the last shift helper. */
export function commitShiftFlags(c: Cpu): void {
  if (pendMask === ARITH_FLAGS) setAllFlags(c, pendVal);
  else if (pendMask !== 0) setArithFlags(c, pendMask, pendVal);
  pendMask = 0;
}

export const OP_ROL = 0, OP_ROR = 1, OP_RCL = 2, OP_RCR = 3, OP_SHL = 4, OP_SHR = 5, OP_SAL = 6, OP_SAR = 7;
const OP_OF_NAME: Record<string, number> = { Rol: OP_ROL, Ror: OP_ROR, Rcl: OP_RCL, Rcr: OP_RCR, Shl: OP_SHL, Shr: OP_SHR, Sal: OP_SAL, Sar: OP_SAR };

/** Operand size in bytes from an iced Code name such as Shl_rm32_CL or Shld_rm64_r64_imm8. */
export function sizeOfCode(code: number): number {
  const m = /_(?:rm|r|m)(8|16|32|64)/.exec(Code[code]);
  return m ? Number(m[1]) / 8 : 4;
}

const MASK = [0, 0xff, 0xffff, 0, -1];
const SIGN = [0, 0x80, 0x8000, 0, 0x80000000 | 0];

/** x << n for n = 0..63 within 32 bits (JS shifts take the count mod 32). */
function lsh(x: number, n: number): number { return n >= 32 ? 0 : x << n; }
function rsh(x: number, n: number): number { return n >= 32 ? 0 : x >>> n; }

/**
 * SAL/SHL/SHR/SAR/ROL/ROR/RCL/RCR on an 8/16/32-bit value (zero-extended, or int32 for 32 bits)
 * with a non-zero masked count. Returns the result (masked; int32 for 32 bits); the flags are
 * pending until commitShiftFlags().
 */
export function shiftSmall(c: Cpu, op: number, size: number, v: number, cnt: number): number {
  const N = size * 8, mask = MASK[size], sign = SIGN[size];
  v &= mask;
  let r: number, cf: number;
  switch (op) {
    case OP_SHL: case OP_SAL:
      // CF is the last bit shifted out; counts beyond the width shift out zeros.
      cf = cnt <= N ? (v >>> (N - cnt)) & 1 : 0;
      r = lsh(v, cnt) & mask;
      allFlags(szp(r, sign) | cf | (((r & sign) !== 0) !== (cf !== 0) ? OF : 0));
      return r;
    case OP_SHR:
      cf = cnt <= N ? (v >>> (cnt - 1)) & 1 : 0;
      r = rsh(v >>> 0, cnt) & mask;
      allFlags(szp(r, sign) | cf | ((v & sign) !== 0 ? OF : 0));
      return r;
    case OP_SAR: {
      const s = (v << (32 - N)) >> (32 - N);
      const k = cnt < N ? cnt : N;
      cf = (s >> (k - 1)) & 1;
      r = (s >> (cnt < 32 ? cnt : 31)) & mask;
      allFlags(szp(r, sign) | cf);
      return r;
    }
    case OP_ROL: {
      // tempCOUNT = (COUNT & COUNTMASK) MOD SIZE; CF and OF still follow the masked count.
      const t = cnt % N;
      r = t === 0 ? v : ((v << t) | (v >>> (N - t))) & mask;
      cf = r & 1;
      rotFlags(cf | (((r & sign) !== 0) !== (cf !== 0) ? OF : 0));
      return r;
    }
    case OP_ROR: {
      const t = cnt % N;
      r = t === 0 ? v : ((v >>> t) | (v << (N - t))) & mask;
      const msb = (r & sign) !== 0, msb1 = (r & (sign >>> 1)) !== 0;
      rotFlags((msb ? CF : 0) | (msb !== msb1 ? OF : 0));
      return r;
    }
    case OP_RCL: {
      // Rotate through CF: N+1 bits, count MOD 9 / MOD 17 for 8/16-bit operands.
      const t = N === 8 ? cnt % 9 : N === 16 ? cnt % 17 : cnt;
      if (t === 0) return v;
      const cin = getCF(c) ? 1 : 0;
      r = (lsh(v, t) | (cin << (t - 1)) | (t === 1 ? 0 : v >>> (N + 1 - t))) & mask;
      cf = (v >>> (N - t)) & 1;
      rotFlags(cf | (((r & sign) !== 0) !== (cf !== 0) ? OF : 0));
      return r;
    }
    default: { // OP_RCR
      const t = N === 8 ? cnt % 9 : N === 16 ? cnt % 17 : cnt;
      if (t === 0) return v;
      const cin = getCF(c) ? 1 : 0;
      r = (rsh(v >>> 0, t) | (cin << (N - t)) | (t === 1 ? 0 : v << (N + 1 - t))) & mask;
      cf = (v >>> (t - 1)) & 1;
      // OF = MSB(DEST) XOR CF, taken before the rotation (SDM RCR pseudo-code).
      rotFlags(cf | (((v & sign) !== 0) !== (cin !== 0) ? OF : 0));
      return r;
    }
  }
}

/** The same on a 64-bit value (halves); result low half returned, high half in W.hi. */
export function shift64(c: Cpu, op: number, lo: number, hi: number, cnt: number): number {
  let rl: number, rh: number, cf: number;
  switch (op) {
    case OP_SHL: case OP_SAL:
      cf = bit64(lo, hi, 64 - cnt);
      rl = shl64(lo, hi, cnt); rh = W.hi;
      allFlags(szp64(rl, rh) | cf | ((rh < 0) !== (cf !== 0) ? OF : 0));
      break;
    case OP_SHR:
      cf = bit64(lo, hi, cnt - 1);
      rl = shr64(lo, hi, cnt); rh = W.hi;
      allFlags(szp64(rl, rh) | cf | (hi < 0 ? OF : 0));
      break;
    case OP_SAR:
      cf = bit64(lo, hi, cnt - 1);
      rl = sar64(lo, hi, cnt); rh = W.hi;
      allFlags(szp64(rl, rh) | cf);
      break;
    case OP_ROL:
      rl = shl64(lo, hi, cnt); rh = W.hi;
      rl |= shr64(lo, hi, 64 - cnt); rh |= W.hi;
      cf = rl & 1;
      rotFlags(cf | ((rh < 0) !== (cf !== 0) ? OF : 0));
      break;
    case OP_ROR: {
      rl = shr64(lo, hi, cnt); rh = W.hi;
      rl |= shl64(lo, hi, 64 - cnt); rh |= W.hi;
      const msb = rh < 0, msb1 = (rh & 0x40000000) !== 0;
      rotFlags((msb ? CF : 0) | (msb !== msb1 ? OF : 0));
      break;
    }
    case OP_RCL: {
      const cin = getCF(c) ? 1 : 0;
      rl = shl64(lo, hi, cnt); rh = W.hi;
      if (cnt - 1 < 32) rl |= cin << (cnt - 1); else rh |= cin << (cnt - 33);
      if (cnt > 1) { rl |= shr64(lo, hi, 65 - cnt); rh |= W.hi; }
      cf = bit64(lo, hi, 64 - cnt);
      rotFlags(cf | ((rh < 0) !== (cf !== 0) ? OF : 0));
      break;
    }
    default: { // OP_RCR
      const cin = getCF(c) ? 1 : 0;
      rl = shr64(lo, hi, cnt); rh = W.hi;
      if (64 - cnt < 32) rl |= cin << (64 - cnt); else rh |= cin << (32 - cnt);
      if (cnt > 1) { rl |= shl64(lo, hi, 65 - cnt); rh |= W.hi; }
      cf = bit64(lo, hi, cnt - 1);
      rotFlags(cf | ((hi < 0) !== (cin !== 0) ? OF : 0));
      break;
    }
  }
  W.hi = rh;
  return rl;
}

const COUNT_IMM = 0, COUNT_ONE = 1, COUNT_CL = 2;

/** Handler of one shift/rotate form: operand size and count source fixed at decode time. */
function shiftFactory(op: number, countKind: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code), cmask = size === 8 ? 0x3f : 0x1f;
      const fixed = countKind === COUNT_ONE ? 1 : (i.imm & 0xff) & cmask;
      if (size === 8) {
        if (i.k0 === K_REG) {
          const d = 2 * i.r0;
          return (c: Cpu) => {
            const n = countKind === COUNT_CL ? c.R[2] & 0x3f : fixed;
            if (n === 0) return;
            const R = c.R;
            R[d] = shift64(c, op, R[d], R[d + 1], n); R[d + 1] = W.hi;
            commitShiftFlags(c);
          };
        }
        return (c: Cpu, i: Insn) => {
          const lin = memLin(c, i, 8, true);
          const lo = c.readLin64(lin), hi = c.hi;
          const n = countKind === COUNT_CL ? c.R[2] & 0x3f : fixed;
          if (n === 0) return;
          const r = shift64(c, op, lo, hi, n);
          c.writeLin64(lin, r, W.hi);
          commitShiftFlags(c);
        };
      }
      if (i.k0 === K_REG) {
        const r = i.r0, d = 2 * r;
        if (size === 4) {
          return (c: Cpu) => {
            const n = countKind === COUNT_CL ? c.R[2] & 0x1f : fixed;
            c.R[d + 1] = 0; // the 32-bit destination is written (zero-extended) even for a count of 0
            if (n === 0) return;
            c.R[d] = shiftSmall(c, op, 4, c.R[d], n);
            commitShiftFlags(c);
          };
        }
        return (c: Cpu) => {
          const n = countKind === COUNT_CL ? c.R[2] & 0x1f : fixed;
          if (n === 0) return;
          if (size === 1) c.set8(r, shiftSmall(c, op, 1, c.get8(r), n));
          else c.set16(r, shiftSmall(c, op, 2, c.R[d], n));
          commitShiftFlags(c);
        };
      }
      return (c: Cpu, i: Insn) => {
        const lin = memLin(c, i, size, true);
        const v = readAt(c, lin, size);
        const n = countKind === COUNT_CL ? c.R[2] & 0x1f : fixed;
        if (n === 0) return;
        writeAt(c, lin, size, shiftSmall(c, op, size, v, n), 0);
        commitShiftFlags(c);
      };
    },
  };
}

for (const name of Object.keys(OP_OF_NAME)) {
  const op = OP_OF_NAME[name];
  defineMatching(new RegExp(`^${name}_rm(8|16|32|64)_imm8$`), shiftFactory(op, COUNT_IMM));
  defineMatching(new RegExp(`^${name}_rm(8|16|32|64)_1$`), shiftFactory(op, COUNT_ONE));
  defineMatching(new RegExp(`^${name}_rm(8|16|32|64)_CL$`), shiftFactory(op, COUNT_CL));
}

// ---------------------------------------------------------------- SHLD / SHRD (SDM Vol. 2)

/** SHLD/SHRD of 16/32-bit values, count 1..31. */
export function shiftDouble(c: Cpu, left: boolean, size: number, d: number, s: number, cnt: number): number {
  let r: number, cf: number;
  if (size === 4) {
    if (left) { r = (d << cnt) | (s >>> (32 - cnt)); cf = (d >>> (32 - cnt)) & 1; }
    else { r = (d >>> cnt) | (s << (32 - cnt)); cf = (d >>> (cnt - 1)) & 1; }
    allFlags(szp(r, 0x80000000 | 0) | cf | ((r ^ d) < 0 ? OF : 0));
    return r;
  }
  d &= 0xffff; s &= 0xffff;
  // Counts above 16 leave the result undefined; this follows Intel (operands as d:s:d, as Bochs).
  if (left) {
    const t = (d << 16) | s;
    let x = t << cnt;
    if (cnt > 16) x |= d << (cnt - 16);
    r = (x >>> 16) & 0xffff;
    cf = (t >>> (32 - cnt)) & 1;
  } else {
    const t = (s << 16) | d;
    let x = t >>> cnt;
    if (cnt > 16) x |= d << (32 - cnt);
    r = x & 0xffff;
    cf = cnt <= 16 ? (d >>> (cnt - 1)) & 1 : (s >>> (cnt - 17)) & 1;
  }
  allFlags(szp(r, 0x8000) | cf | (((r ^ d) & 0x8000) !== 0 ? OF : 0));
  return r;
}

/** SHLD/SHRD of 64-bit values, count 1..63. */
export function shiftDouble64(c: Cpu, left: boolean, dl: number, dh: number, sl: number, sh: number, cnt: number): number {
  let rl: number, rh: number, cf: number;
  if (left) {
    rl = shl64(dl, dh, cnt); rh = W.hi;
    rl |= shr64(sl, sh, 64 - cnt); rh |= W.hi;
    cf = bit64(dl, dh, 64 - cnt);
  } else {
    rl = shr64(dl, dh, cnt); rh = W.hi;
    rl |= shl64(sl, sh, 64 - cnt); rh |= W.hi;
    cf = bit64(dl, dh, cnt - 1);
  }
  allFlags(szp64(rl, rh) | cf | ((rh ^ dh) < 0 ? OF : 0));
  W.hi = rh;
  return rl;
}

function shiftDoubleFactory(left: boolean, byCl: boolean) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code), cmask = size === 8 ? 0x3f : 0x1f, fixed = i.imm & cmask;
      return (c: Cpu, i: Insn) => {
        const n = byCl ? c.R[2] & cmask : fixed;
        const R = c.R, s = 2 * i.r1;
        if (size === 8) {
          const mem = i.k0 === K_MEM;
          let lin = 0, dl: number, dh: number;
          if (mem) { lin = memLin(c, i, 8, true); dl = c.readLin64(lin); dh = c.hi; }
          else { dl = R[2 * i.r0]; dh = R[2 * i.r0 + 1]; }
          if (n === 0) return;
          const rl = shiftDouble64(c, left, dl, dh, R[s], R[s + 1], n), rh = W.hi;
          if (mem) c.writeLin64(lin, rl, rh);
          else { R[2 * i.r0] = rl; R[2 * i.r0 + 1] = rh; }
          commitShiftFlags(c);
          return;
        }
        if (i.k0 === K_MEM) {
          const lin = memLin(c, i, size, true);
          const d = readAt(c, lin, size);
          if (n === 0) return;
          writeAt(c, lin, size, shiftDouble(c, left, size, d, R[s], n), 0);
          commitShiftFlags(c);
        } else {
          if (size === 4) R[2 * i.r0 + 1] = 0; // written (zero-extended) even for a count of 0
          if (n === 0) return;
          const d = 2 * i.r0, r = shiftDouble(c, left, size, R[d], R[s], n);
          if (size === 4) { R[d] = r; R[d + 1] = 0; } else c.set16(i.r0, r);
          commitShiftFlags(c);
        }
      };
    },
  };
}
defineMatching(/^Shld_rm(16|32|64)_r(16|32|64)_imm8$/, shiftDoubleFactory(true, false));
defineMatching(/^Shld_rm(16|32|64)_r(16|32|64)_CL$/, shiftDoubleFactory(true, true));
defineMatching(/^Shrd_rm(16|32|64)_r(16|32|64)_imm8$/, shiftDoubleFactory(false, false));
defineMatching(/^Shrd_rm(16|32|64)_r(16|32|64)_CL$/, shiftDoubleFactory(false, true));

// ---------------------------------------------------------------- BMI2: SHLX/SHRX/SARX, RORX (no flags)

function bmiShiftFactory(kind: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code);
      return (c: Cpu, i: Insn) => {
        const R = c.R;
        let lo: number, hi = 0;
        if (i.k1 === K_MEM) { const lin = memLin(c, i, size, false); lo = readAt(c, lin, size); if (size === 8) hi = c.hi; }
        else { lo = R[2 * i.r1]; if (size === 8) hi = R[2 * i.r1 + 1]; }
        const d = 2 * i.r0;
        if (size === 8) {
          const n = kind === OP_ROR ? i.imm & 0x3f : R[2 * i.r2] & 0x3f;
          let rl: number, rh: number;
          if (kind === OP_SHL) { rl = shl64(lo, hi, n); rh = W.hi; }
          else if (kind === OP_SHR) { rl = shr64(lo, hi, n); rh = W.hi; }
          else if (kind === OP_SAR) { rl = sar64(lo, hi, n); rh = W.hi; }
          else {
            rl = shr64(lo, hi, n); rh = W.hi;
            if (n) { rl |= shl64(lo, hi, 64 - n); rh |= W.hi; }
          }
          R[d] = rl; R[d + 1] = rh;
          return;
        }
        const n = kind === OP_ROR ? i.imm & 0x1f : R[2 * i.r2] & 0x1f;
        let r: number;
        if (kind === OP_SHL) r = lo << n;
        else if (kind === OP_SHR) r = lo >>> n;
        else if (kind === OP_SAR) r = lo >> n;
        else r = n ? (lo >>> n) | (lo << (32 - n)) : lo;
        R[d] = r; R[d + 1] = 0;
      };
    },
  };
}
defineMatching(/^VEX_Shlx_r(32|64)_rm(32|64)_r(32|64)$/, bmiShiftFactory(OP_SHL));
defineMatching(/^VEX_Shrx_r(32|64)_rm(32|64)_r(32|64)$/, bmiShiftFactory(OP_SHR));
defineMatching(/^VEX_Sarx_r(32|64)_rm(32|64)_r(32|64)$/, bmiShiftFactory(OP_SAR));
defineMatching(/^VEX_Rorx_r(32|64)_rm(32|64)_imm8$/, bmiShiftFactory(OP_ROR));
