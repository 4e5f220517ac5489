// Bit and byte instructions (SDM Vol. 1 7.3.7, Vol. 2): BT/BTS/BTR/BTC, BSF/BSR, POPCNT, LZCNT,
// TZCNT, BSWAP, and the BMI1/BMI2 groups ANDN, BEXTR, BLSI, BLSMSK, BLSR, BZHI, PDEP, PEXT.
import type { Cpu } from '../cpu';
import { Insn, K_IMM, K_REG } from '../insn';
import { CF, ZF } from '../state';
import { OP_LOGIC, SZ32, setArithFlags, setLazy, setLazy64 } from '../flags';
import { defineMatching, memLin, readAt, writeAt } from './operands';
import { readOp as src } from './operands';
import { sizeOfCode } from './shift';
import { W, bit64, ctz32, popcnt32, sar64, setAllFlags, shr64, szp, szp64 } from './wide';

/** Write a register destination of 2/4/8 bytes (4 zero-extends, SDM Vol. 1 3.4.1.1). */
function setDest(c: Cpu, r: number, size: number, v: number, hi: number): void {
  if (size === 2) c.set16(r, v);
  else { c.R[2 * r] = v; c.R[2 * r + 1] = size === 8 ? hi : 0; }
}

// ---------------------------------------------------------------- BT, BTS, BTR, BTC

const BT = 0, BTS = 1, BTR = 2, BTC = 3;

function modifyBit(op: number, v: number, mask: number): number {
  return op === BTS ? v | mask : op === BTR ? v & ~mask : v ^ mask;
}

/**
 * Linear address of the operand-sized unit holding bit `offset` of a memory bit string: with a
 * register offset the offset is signed and may reach outside the addressed operand (SDM Vol. 2
 * BT, "Bit(BitBase, BitOffset)"): EA + size * (offset SAR log2(8 * size)).
 */
function bitStringLin(c: Cpu, i: Insn, size: number, lo: number, hi: number, write: boolean): number {
  const ea = c.ea(i);
  let off: number;
  if (i.asz !== 64) {
    // Only the low 32 bits of the byte displacement matter when the address wraps at 16/32 bits.
    const disp = size === 8 ? ((lo >>> 3) | (hi << 29)) & ~7 : size === 4 ? (lo >> 5) << 2 : (((lo << 16) >> 16) >> 4) << 1;
    off = i.asz === 32 ? (ea + disp) >>> 0 : (ea + disp) & 0xffff;
  } else {
    let disp: number;
    if (size === 8) { const l = sar64(lo, hi, 6); disp = (W.hi * 4294967296 + (l >>> 0)) * 8; }
    else disp = size === 4 ? (lo >> 5) * 4 : (((lo << 16) >> 16) >> 4) * 2;
    off = ea + disp;
    // Far outside the canonical range: let linear() raise the fault without inexact arithmetic.
    if (off > 0x1000000000000 || off < -0x1000000000000) off = 0x1000000000000;
  }
  return c.linear(i.seg, off, size, write);
}

function btFactory(op: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code), bits = size * 8, immOff = i.imm & (bits - 1);
      const byImm = i.k1 === K_IMM;
      if (i.k0 === K_REG) {
        return (c: Cpu, i: Insn) => {
          const R = c.R, d = 2 * i.r0;
          const n = byImm ? immOff : R[2 * i.r1] & (bits - 1);
          if (size === 8) {
            const inHi = n >= 32, k = inHi ? d + 1 : d, m = 1 << (n & 31);
            setArithFlags(c, CF, (R[k] & m) !== 0 ? CF : 0);
            if (op !== BT) R[k] = modifyBit(op, R[k], m);
            return;
          }
          const v = size === 4 ? R[d] : R[d] & 0xffff, m = 1 << n;
          setArithFlags(c, CF, (v & m) !== 0 ? CF : 0);
          if (op !== BT) setDest(c, i.r0, size, modifyBit(op, v, m), 0);
        };
      }
      return (c: Cpu, i: Insn) => {
        let lin: number, n: number;
        if (byImm) { lin = memLin(c, i, size, op !== BT); n = immOff; }
        else {
          const lo = c.R[2 * i.r1], hi = c.R[2 * i.r1 + 1];
          lin = bitStringLin(c, i, size, lo, size === 8 ? hi : 0, op !== BT);
          n = lo & (bits - 1);
        }
        const v = readAt(c, lin, size);
        // The write comes before the flag change so a fault leaves RFLAGS intact.
        if (size === 8) {
          const vh = c.hi, m = 1 << (n & 31);
          const word = n >= 32 ? vh : v;
          if (op !== BT) {
            if (n >= 32) c.writeLin64(lin, v, modifyBit(op, vh, m));
            else c.writeLin64(lin, modifyBit(op, v, m), vh);
          }
          setArithFlags(c, CF, (word & m) !== 0 ? CF : 0);
          return;
        }
        const m = 1 << n;
        if (op !== BT) writeAt(c, lin, size, modifyBit(op, v, m), 0);
        setArithFlags(c, CF, (v & m) !== 0 ? CF : 0);
      };
    },
  };
}
defineMatching(/^Bt_rm(16|32|64)_(r(16|32|64)|imm8)$/, btFactory(BT));
defineMatching(/^Bts_rm(16|32|64)_(r(16|32|64)|imm8)$/, btFactory(BTS));
defineMatching(/^Btr_rm(16|32|64)_(r(16|32|64)|imm8)$/, btFactory(BTR));
defineMatching(/^Btc_rm(16|32|64)_(r(16|32|64)|imm8)$/, btFactory(BTC));

// ---------------------------------------------------------------- BSF, BSR, POPCNT, LZCNT, TZCNT

const BSF = 0, BSR = 1, POPCNT = 2, LZCNT = 3, TZCNT = 4;

/** The count instructions on a value of `size` bytes (lo zero-extended for 2, hi for 8). */
function bitCount(c: Cpu, op: number, size: number, lo: number, hi: number, dst: number): void {
  const zero = size === 8 ? (lo | hi) === 0 : lo === 0;
  const bits = size * 8;
  let r: number;
  switch (op) {
    case BSF: case BSR:
      // Source 0: ZF = 1 and the destination is left unchanged (as processors do; the SDM says undefined).
      setArithFlags(c, ZF, zero ? ZF : 0);
      if (zero) return;
      if (op === BSF) r = size === 8 && lo === 0 ? 32 + ctz32(hi) : ctz32(lo);
      else r = size === 8 && hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
      break;
    case POPCNT:
      r = popcnt32(lo) + (size === 8 ? popcnt32(hi) : 0);
      setAllFlags(c, zero ? ZF : 0);
      break;
    case LZCNT:
      if (size === 8) r = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
      else r = Math.clz32(lo) - (32 - bits);
      setArithFlags(c, CF | ZF, (zero ? CF : 0) | (r === 0 ? ZF : 0));
      break;
    default: // TZCNT
      if (size === 8) r = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
      else r = zero ? bits : ctz32(lo);
      setArithFlags(c, CF | ZF, (zero ? CF : 0) | (r === 0 ? ZF : 0));
  }
  setDest(c, dst, size, r, 0);
}

function countFactory(op: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code);
      return (c: Cpu, i: Insn) => {
        const lo = src(c, i, 1, size), hi = size === 8 ? c.hi : 0;
        bitCount(c, op, size, lo, hi, i.r0);
      };
    },
  };
}
defineMatching(/^Bsf_r(16|32|64)_rm(16|32|64)$/, countFactory(BSF));
defineMatching(/^Bsr_r(16|32|64)_rm(16|32|64)$/, countFactory(BSR));
defineMatching(/^Popcnt_r(16|32|64)_rm(16|32|64)$/, countFactory(POPCNT));
defineMatching(/^Lzcnt_r(16|32|64)_rm(16|32|64)$/, countFactory(LZCNT));
defineMatching(/^Tzcnt_r(16|32|64)_rm(16|32|64)$/, countFactory(TZCNT));

// ---------------------------------------------------------------- BSWAP

function bswap32(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
export { bswap32 };
defineMatching(/^Bswap_r32$/, { factory: (i: Insn) => { const d = 2 * i.r0; return (c: Cpu) => { c.R[d] = bswap32(c.R[d]); c.R[d + 1] = 0; }; } });
defineMatching(/^Bswap_r64$/, {
  factory: (i: Insn) => {
    const d = 2 * i.r0;
    return (c: Cpu) => { const lo = c.R[d]; c.R[d] = bswap32(c.R[d + 1]); c.R[d + 1] = bswap32(lo); };
  },
});
// BSWAP with a 16-bit operand is undefined; processors clear the low word.
defineMatching(/^Bswap_r16$/, { factory: (i: Insn) => { const r = i.r0; return (c: Cpu) => c.set16(r, 0); } });

// ---------------------------------------------------------------- BMI1 / BMI2

/** Flags of the BMI results: SF/ZF/PF from the result, CF as given, OF = AF = 0. */
function bmiFlags(c: Cpu, size: number, lo: number, hi: number, cf: boolean): void {
  setAllFlags(c, (size === 8 ? szp64(lo, hi) : szp(lo, 0x80000000 | 0)) | (cf ? CF : 0));
}

// ANDN r, r(vvvv), r/m: ~src1 & src2; flags as a logical operation (SDM Vol. 2 ANDN).
defineMatching(/^VEX_Andn_r(32|64)_r(32|64)_rm(32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => {
      const bl = src(c, i, 2, size), bh = c.hi, R = c.R, a = 2 * i.r1, d = 2 * i.r0;
      const lo = ~R[a] & bl;
      if (size === 8) {
        const hi = ~R[a + 1] & bh;
        setLazy64(c, OP_LOGIC, lo, hi, 0, 0, lo, hi);
        R[d] = lo; R[d + 1] = hi;
      } else {
        setLazy(c, OP_LOGIC, SZ32, lo, 0, lo);
        R[d] = lo; R[d + 1] = 0;
      }
    };
  },
});

/** Keep bits [0, n) of a 64-bit value (n >= 64 keeps all); low half returned, high in W.hi. */
function lowBits64(lo: number, hi: number, n: number): number {
  if (n >= 64) { W.hi = hi; return lo; }
  if (n >= 32) { W.hi = n === 32 ? 0 : hi & ((1 << (n - 32)) - 1); return lo; }
  W.hi = 0;
  return n === 0 ? 0 : lo & (n === 32 ? -1 : (1 << n) - 1);
}

// BEXTR r, r/m, r(vvvv): bit field of START = ctl[7:0], LEN = ctl[15:8]; ZF from the result, CF = OF = 0.
defineMatching(/^VEX_Bextr_r(32|64)_rm(32|64)_r(32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code), bits = size * 8;
    return (c: Cpu, i: Insn) => {
      const vl = src(c, i, 1, size), vh = size === 8 ? c.hi : 0;
      const ctl = c.R[2 * i.r2], start = ctl & 0xff, len = (ctl >>> 8) & 0xff;
      let lo = 0, hi = 0;
      if (start < bits) {
        lo = shr64(vl, vh, start); hi = W.hi;
        lo = lowBits64(lo, hi, len); hi = W.hi;
        if (size === 4) hi = 0;
      }
      bmiFlags(c, size, lo, hi, false);
      setDest(c, i.r0, size, lo, hi);
    };
  },
});

const BLSI = 0, BLSMSK = 1, BLSR = 2;
// BLSI: x & -x; BLSMSK: x ^ (x - 1); BLSR: x & (x - 1) (SDM Vol. 2). Destination is VEX.vvvv.
function blsFactory(op: number) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code);
      return (c: Cpu, i: Insn) => {
        const xl = src(c, i, 1, size), xh = size === 8 ? c.hi : 0;
        const zero = size === 8 ? (xl | xh) === 0 : xl === 0;
        // x - 1 and -x on the halves.
        const ml = (xl - 1) | 0, mh = size === 8 ? (xl === 0 ? (xh - 1) | 0 : xh) : 0;
        let lo: number, hi: number;
        if (op === BLSI) { const nl = (-xl) | 0, nh = size === 8 ? (~xh + (xl === 0 ? 1 : 0)) | 0 : 0; lo = xl & nl; hi = xh & nh; }
        else if (op === BLSMSK) { lo = xl ^ ml; hi = xh ^ mh; }
        else { lo = xl & ml; hi = xh & mh; }
        let f = size === 8 ? szp64(lo, hi) : szp(lo, 0x80000000 | 0);
        if (op === BLSI) f |= zero ? 0 : CF;
        else f |= zero ? CF : 0;
        if (op === BLSMSK) f &= ~ZF;
        setAllFlags(c, f);
        setDest(c, i.r0, size, lo, hi);
      };
    },
  };
}
defineMatching(/^VEX_Blsi_r(32|64)_rm(32|64)$/, blsFactory(BLSI));
defineMatching(/^VEX_Blsmsk_r(32|64)_rm(32|64)$/, blsFactory(BLSMSK));
defineMatching(/^VEX_Blsr_r(32|64)_rm(32|64)$/, blsFactory(BLSR));

// BZHI r, r/m, r(vvvv): clear bits from index ctl[7:0] up; CF = index > operand size - 1.
defineMatching(/^VEX_Bzhi_r(32|64)_rm(32|64)_r(32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code), bits = size * 8;
    return (c: Cpu, i: Insn) => {
      const vl = src(c, i, 1, size), vh = size === 8 ? c.hi : 0;
      const n = c.R[2 * i.r2] & 0xff;
      const lo = lowBits64(vl, vh, n), hi = size === 8 ? W.hi : 0;
      bmiFlags(c, size, lo, hi, n > bits - 1);
      setDest(c, i.r0, size, lo, hi);
    };
  },
});

/** PDEP: deposit the low bits of `s` at the set bits of `m` (64-bit on halves). */
function pdep(sl: number, sh: number, ml: number, mh: number): number {
  let lo = 0, hi = 0, k = 0;
  for (let m = ml; m !== 0; m &= m - 1, k++) if (bit64(sl, sh, k)) lo |= m & -m;
  for (let m = mh; m !== 0; m &= m - 1, k++) if (bit64(sl, sh, k)) hi |= m & -m;
  W.hi = hi;
  return lo;
}
/** PEXT: gather the bits of `s` at the set bits of `m` into the low bits. */
function pext(sl: number, sh: number, ml: number, mh: number): number {
  let lo = 0, hi = 0, k = 0;
  for (let m = ml; m !== 0; m &= m - 1, k++) if (sl & m & -m) lo |= 1 << k;
  for (let m = mh; m !== 0; m &= m - 1, k++) {
    if (sh & m & -m) { if (k < 32) lo |= 1 << k; else hi |= 1 << (k - 32); }
  }
  W.hi = hi;
  return lo;
}
function depositFactory(extract: boolean) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code);
      return (c: Cpu, i: Insn) => {
        const ml = src(c, i, 2, size), mh = size === 8 ? c.hi : 0;
        const R = c.R, s = 2 * i.r1, sl = R[s], sh = size === 8 ? R[s + 1] : 0;
        const lo = extract ? pext(sl, sh, ml, mh) : pdep(sl, sh, ml, mh);
        setDest(c, i.r0, size, lo, W.hi);
      };
    },
  };
}
defineMatching(/^VEX_Pdep_r(32|64)_r(32|64)_rm(32|64)$/, depositFactory(false));
defineMatching(/^VEX_Pext_r(32|64)_r(32|64)_rm(32|64)$/, depositFactory(true));
