// 64- and 128-bit integer arithmetic on int32 halves for the shift, multiply/divide and bit
// groups. Allocation-free and without BigInt (DESIGN.md, hot-path rules): each function returns
// the low word and leaves the other words in the module-level `W` record, to be read at once.
import type { Cpu } from '../cpu';
import { ARITH_FLAGS, SF, ZF } from '../state';
import { OP_NONE, PARITY } from '../flags';

/** Extra result words: hi (bits 63:32), w2, w3 (128-bit products), remainder (lo, hi). */
export const W = { hi: 0, w2: 0, w3: 0, rem: 0, remHi: 0 };

const TWO32 = 4294967296;

// ---------------------------------------------------------------- shifts of a 64-bit value (n = 0..63)

export function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { W.hi = hi; return lo; }
  if (n < 32) { W.hi = (hi << n) | (lo >>> (32 - n)); return lo << n; }
  W.hi = lo << (n - 32);
  return 0;
}
export function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { W.hi = hi; return lo; }
  if (n < 32) { W.hi = hi >>> n; return (lo >>> n) | (hi << (32 - n)); }
  W.hi = 0;
  return (hi >>> (n - 32)) | 0;
}
export function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) { W.hi = hi; return lo; }
  if (n < 32) { W.hi = hi >> n; return (lo >>> n) | (hi << (32 - n)); }
  W.hi = hi >> 31;
  return hi >> (n - 32);
}
/** Bit n (0..63) of a 64-bit value, as 0 or 1. */
export function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

// ---------------------------------------------------------------- multiplication

/** Unsigned 32x32 -> 64 (a, b as int32 or uint32). Low half returned, high in W.hi. */
export function mulU32(a: number, b: number): number {
  a >>>= 0; b >>>= 0;
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const p1 = ah * bl + al * bh;                 // < 2^33
  const t = al * bl + (p1 % 65536) * 65536;     // < 2^33
  const lo = t % TWO32;
  W.hi = (ah * bh + Math.floor(p1 / 65536) + (t - lo) / TWO32) | 0;
  return lo | 0;
}
/** Signed 32x32 -> 64. */
export function mulS32(a: number, b: number): number {
  const lo = mulU32(a, b);
  let hi = W.hi;
  if (a < 0) hi = (hi - b) | 0; // two's-complement correction of the unsigned product
  if (b < 0) hi = (hi - a) | 0;
  W.hi = hi;
  return lo;
}

const limb = new Float64Array(8);
/** Unsigned 64x64 -> 128 on 16-bit limbs. Returns bits 31:0; W.hi, W.w2, W.w3 hold the rest. */
export function mulU64(al: number, ah: number, bl: number, bh: number): number {
  const a0 = al & 0xffff, a1 = al >>> 16, a2 = ah & 0xffff, a3 = ah >>> 16;
  const b0 = bl & 0xffff, b1 = bl >>> 16, b2 = bh & 0xffff, b3 = bh >>> 16;
  limb[0] = a0 * b0;
  limb[1] = a0 * b1 + a1 * b0;
  limb[2] = a0 * b2 + a1 * b1 + a2 * b0;
  limb[3] = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  limb[4] = a1 * b3 + a2 * b2 + a3 * b1;
  limb[5] = a2 * b3 + a3 * b2;
  limb[6] = a3 * b3;
  limb[7] = 0;
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    const t = limb[k] + carry;
    const l = t % 65536;
    limb[k] = l;
    carry = (t - l) / 65536;
  }
  W.hi = limb[2] | (limb[3] << 16);
  W.w2 = limb[4] | (limb[5] << 16);
  W.w3 = limb[6] | (limb[7] << 16);
  return limb[0] | (limb[1] << 16);
}
/** Signed 64x64 -> 128. */
export function mulS64(al: number, ah: number, bl: number, bh: number): number {
  const lo = mulU64(al, ah, bl, bh);
  let w2 = W.w2, w3 = W.w3;
  if (ah < 0) { const t = (w2 >>> 0) - (bl >>> 0); w3 = (w3 - bh - (t < 0 ? 1 : 0)) | 0; w2 = t | 0; }
  if (bh < 0) { const t = (w2 >>> 0) - (al >>> 0); w3 = (w3 - ah - (t < 0 ? 1 : 0)) | 0; w2 = t | 0; }
  W.w2 = w2; W.w3 = w3;
  return lo;
}

// ---------------------------------------------------------------- division

/**
 * Unsigned (hi:lo) / d with hi < d < 2^32 (so the quotient fits 32 bits), in two 16-bit steps
 * whose intermediate values stay below 2^48 (exact in doubles). Quotient returned, remainder in W.rem.
 */
export function divU64by32(lo: number, hi: number, d: number): number {
  d >>>= 0;
  let t = (hi >>> 0) * 65536 + (lo >>> 16);
  const q1 = Math.floor(t / d);
  t = (t - q1 * d) * 65536 + (lo & 0xffff);
  const q0 = Math.floor(t / d);
  W.rem = t - q0 * d;
  return q1 * 65536 + q0;
}

/**
 * Unsigned 128/64 division (n3:n2:n1:n0) / (dh:dl) where n3:n2 < dh:dl (the caller raises #DE
 * otherwise). Quotient low half returned, high in W.hi; remainder in W.rem / W.remHi.
 */
export function divU128by64(n0: number, n1: number, n2: number, n3: number, dl: number, dh: number): number {
  if (dh === 0) {
    const qh = divU64by32(n1, n2, dl);
    const ql = divU64by32(n0, W.rem, dl);
    W.hi = qh | 0; W.remHi = 0; W.rem |= 0;
    return ql | 0;
  }
  // Restoring binary division: 64 quotient bits, the remainder kept in rh:rl (rare slow path).
  let rl = n2, rh = n3, ql = 0, qh = 0;
  const dlu = dl >>> 0, dhu = dh >>> 0;
  for (let k = 63; k >= 0; k--) {
    const carry = rh < 0;
    const inBit = k >= 32 ? (n1 >>> (k - 32)) & 1 : (n0 >>> k) & 1;
    rh = (rh << 1) | (rl >>> 31); rl = (rl << 1) | inBit;
    const rhu = rh >>> 0, rlu = rl >>> 0;
    if (carry || rhu > dhu || (rhu === dhu && rlu >= dlu)) {
      const t = rlu - dlu;
      rh = (rhu - dhu - (t < 0 ? 1 : 0)) | 0; rl = t | 0;
      if (k >= 32) qh |= 1 << (k - 32); else ql |= 1 << k;
    }
  }
  W.hi = qh; W.rem = rl; W.remHi = rh;
  return ql;
}

/** Unsigned compare of 64-bit values: a < b. */
export function ltU64(al: number, ah: number, bl: number, bh: number): boolean {
  const x = ah >>> 0, y = bh >>> 0;
  return x < y || (x === y && (al >>> 0) < (bl >>> 0));
}

/** Negate a 64-bit value; low returned, high in W.hi. */
export function neg64(lo: number, hi: number): number {
  const l = (-(lo >>> 0)) | 0;
  W.hi = (~hi + (l === 0 ? 1 : 0)) | 0;
  return l;
}

// ---------------------------------------------------------------- bit counting

export function popcnt32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
export function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}

// ---------------------------------------------------------------- eager flags

/** Set all six arithmetic flags at once (no need to fold the lazy state first). */
export function setAllFlags(c: Cpu, f: number): void {
  c.rflags = (c.rflags & ~ARITH_FLAGS) | f;
  c.lfOp = OP_NONE;
}
/** SF/ZF/PF of a result whose sign bit is `signBit` (value masked to the operand size). */
export function szp(v: number, signBit: number): number {
  return (v === 0 ? ZF : 0) | ((v & signBit) !== 0 ? SF : 0) | PARITY[v & 0xff];
}
/** SF/ZF/PF of a 64-bit result. */
export function szp64(lo: number, hi: number): number {
  return ((lo | hi) === 0 ? ZF : 0) | (hi < 0 ? SF : 0) | PARITY[lo & 0xff];
}
