// Soft-float for the x87 80-bit double-extended format (SDM Vol. 1 4.2.2, 4.8, 8.2-8.5): sign, 15-bit
// biased exponent and 64-bit significand with an explicit integer bit J, kept as two uint32 halves so
// that nothing here needs BigInt or allocates. Every operation rounds exactly (to 24, 53 or 64 bits
// as FCW.PC says for the basic arithmetic, and always to 64 bits for the rest), with the x87's
// exception flags (IE, DE, ZE, OE, UE, PE), C1 = "rounded up", the masked responses of SDM Vol. 1
// 4.9.1 and 8.5, and the unmasked responses (OE/UE: the exponent biased by 24576, SDM Vol. 1 8.5.4/5).
// Operand classes follow SDM Vol. 1 8.2.2 (Table 8-3): unnormals, pseudo-NaNs and pseudo-infinities
// are unsupported (IE, QNaN indefinite); pseudo-denormals (exponent 0, J = 1) are accepted as
// denormals with exponent 1. NaN propagation: SDM Vol. 1 4.8.3.5 / Table 4-7 (x87 column).
// Tininess is detected before rounding (SDM Vol. 1 4.9.1.5).

/** Exception flags as in FSW bits 5:0. */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20;
/** Rounding control (FCW.RC). */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/** An x87 value: sign bit, biased exponent (0-7FFFH), significand bits 63:32 and 31:0 (uint32 numbers). */
export class F80 {
  s = 0; e = 0; hi = 0; lo = 0;
  set(s: number, e: number, hi: number, lo: number): this { this.s = s; this.e = e; this.hi = hi >>> 0; this.lo = lo >>> 0; return this; }
  copy(x: F80): this { this.s = x.s; this.e = x.e; this.hi = x.hi; this.lo = x.lo; return this; }
}

/**
 * The environment of the operation in progress: rounding control, precision in bits (24/53/64),
 * exception masks (FCW bits 5:0); `exc` accumulates the flags raised and `c1` says whether the
 * last rounding went up in magnitude. `srcDenormal`: the memory operand just converted (m32fp/m64fp)
 * was a denormal, which raises DE only once the NaN and unsupported checks have passed.
 */
export const env = { rc: 0, pc: 64, masks: 0x3f, exc: 0, c1: 0, srcDenormal: false };

// Operand classes (SDM Vol. 1 Table 8-3 / FXAM).
export const C_ZERO = 0, C_NORMAL = 1, C_DENORMAL = 2, C_INF = 3, C_QNAN = 4, C_SNAN = 5, C_UNSUPPORTED = 6;
export function classify(x: F80): number {
  const e = x.e, j = x.hi >>> 31;
  if (e === 0x7fff) {
    if (!j) return C_UNSUPPORTED;
    if ((x.hi & 0x7fffffff) === 0 && x.lo === 0) return C_INF;
    return x.hi & 0x40000000 ? C_QNAN : C_SNAN;
  }
  if (e === 0) return x.hi === 0 && x.lo === 0 ? C_ZERO : C_DENORMAL;
  return j ? C_NORMAL : C_UNSUPPORTED;
}
export function isNaNClass(k: number): boolean { return k === C_QNAN || k === C_SNAN; }

/** The QNaN floating-point indefinite (SDM Vol. 1 Table 4-3). */
export function setIndefinite(r: F80): void { r.s = 1; r.e = 0x7fff; r.hi = 0xc0000000; r.lo = 0; }
export function setInf(r: F80, s: number): void { r.s = s; r.e = 0x7fff; r.hi = 0x80000000; r.lo = 0; }
export function setZero(r: F80, s: number): void { r.s = s; r.e = 0; r.hi = 0; r.lo = 0; }

// ---------------------------------------------------------------- unpacking

/** Normalised view of an operand: exponent (unbounded, biased 16383) and significand with J = 1. */
export let nE = 0, nH = 0, nL = 0;
/** Normalise a finite non-zero value (denormal or pseudo-denormal: exponent 1 before shifting) into nE/nH/nL. */
export function unpack(x: F80): void {
  let e = x.e === 0 ? 1 : x.e, h = x.hi, l = x.lo;
  if (!(h & 0x80000000)) {
    if (h === 0) { h = l; l = 0; e -= 32; }
    const z = Math.clz32(h);
    if (z) { h = ((h << z) | (l >>> (32 - z))) >>> 0; l = (l << z) >>> 0; e -= z; }
  }
  nE = e; nH = h; nL = l;
}

// ---------------------------------------------------------------- rounding (SDM Vol. 1 4.8.4, 4.9.1.4/5)

/** The rounded result: sign, exponent biased for the target format, 64-bit significand. */
export let rS = 0, rE = 0, rH = 0, rL = 0;
/** Set by roundPack when an unmasked overflow or underflow gave a bias-adjusted result. */
export let rAdjusted = false;

// 96-bit working significand (w2 bit 31 is the integer bit position; the LSB of w0 is sticky).
let w2 = 0, w1 = 0, w0 = 0;

/** Shift w2:w1:w0 right by n, OR-ing the lost bits into the LSB. */
function shr96(n: number): void {
  if (n <= 0) return;
  if (n >= 96) { const any = w2 | w1 | w0; w2 = 0; w1 = 0; w0 = any ? 1 : 0; return; }
  let sticky = 0;
  while (n >= 32) { sticky |= w0; w0 = w1; w1 = w2; w2 = 0; n -= 32; }
  if (n) {
    sticky |= (w0 << (32 - n));
    w0 = ((w0 >>> n) | (w1 << (32 - n))) >>> 0;
    w1 = ((w1 >>> n) | (w2 << (32 - n))) >>> 0;
    w2 = w2 >>> n;
  }
  if (sticky) w0 = (w0 | 1) >>> 0;
}
/** Shift w2:w1:w0 left until w2 bit 31 is set; returns the shift (the value must be non-zero). */
function normalize96(): number {
  let s = 0;
  while (w2 === 0) { w2 = w1; w1 = w0; w0 = 0; s += 32; }
  const z = Math.clz32(w2);
  if (z) {
    w2 = ((w2 << z) | (w1 >>> (32 - z))) >>> 0;
    w1 = ((w1 << z) | (w0 >>> (32 - z))) >>> 0;
    w0 = (w0 << z) >>> 0;
  }
  return s + z;
}

/**
 * Round w2:w1:w0 (normalised, exponent `e` biased 16383) to `p` bits into rS/rE/rH/rL with the
 * target format's `bias` and `emax` (all-ones exponent), raising OE/UE/PE and setting env.c1.
 * `adj` is the unmasked over/underflow bias adjustment (24576 for extended, SDM Vol. 1 4.9.1.4).
 */
function roundPack(s: number, e: number, p: number, bias: number, emax: number, adj: number): void {
  e = e - 16383 + bias;
  rAdjusted = false;
  let tiny = false;
  if (e <= 0) {
    tiny = true;
    if (!(env.masks & UE) && e + adj <= 0 && bias === 16383) {
      // Unmasked, and too small even for the bias-adjusted result (FSCALE): a signed zero (measured).
      env.exc |= UE | PE; env.c1 = 0; rAdjusted = true;
      rS = s; rE = 0; rH = 0; rL = 0;
      return;
    }
    if (env.masks & UE) { shr96(1 - e); e = 0; } else { e += adj; rAdjusted = true; }
  }
  // The part below the kept p bits, as a 32-bit "top" (half = 2^31) and a "low" non-zero test.
  let top: number, low: number;
  if (p === 64) { top = w0; low = 0; }
  else if (p === 53) { top = (w1 & 0x7ff) * 2097152 + (w0 >>> 11); low = w0 & 0x7ff; }
  else { top = (w2 & 0xff) * 16777216 + (w1 >>> 8); low = (w1 & 0xff) | w0; }
  const inexact = top !== 0 || low !== 0;
  let inc = false;
  switch (env.rc) {
    case RC_NEAREST: {
      const odd = p === 64 ? w1 & 1 : p === 53 ? (w1 >>> 11) & 1 : (w2 >>> 8) & 1;
      inc = top > 0x80000000 || (top === 0x80000000 && (low !== 0 || odd !== 0));
      break;
    }
    case RC_DOWN: inc = inexact && s === 1; break;
    case RC_UP: inc = inexact && s === 0; break;
  }
  // Truncate to p bits, then add one unit in the last place.
  if (p === 64) { /* w2:w1 kept */ } else if (p === 53) w1 = (w1 & ~0x7ff) >>> 0; else { w2 = (w2 & ~0xff) >>> 0; w1 = 0; }
  if (inc) {
    const ulp = p === 64 ? 1 : p === 53 ? 0x800 : 0;
    if (p === 24) {
      w2 += 0x100;
    } else {
      w1 += ulp;
      if (w1 > 0xffffffff) { w1 -= 4294967296; w2 += 1; }
    }
    if (w2 > 0xffffffff) { w2 = 0x80000000; e++; }
    else if (e === 0 && (w2 & 0x80000000)) e = 1; // a denormal rounded up to the smallest normal
  }
  env.c1 = inc ? 1 : 0;
  if (tiny) {
    if (!(env.masks & UE)) env.exc |= UE;
    else if (inexact) env.exc |= UE;
  }
  if (e >= emax) {
    if (env.masks & OE) {
      env.exc |= OE | PE;
      const rc = env.rc;
      if (rc === RC_NEAREST || (rc === RC_UP && s === 0) || (rc === RC_DOWN && s === 1)) {
        rS = s; rE = emax; rH = 0x80000000; rL = 0; env.c1 = 1;
      } else {
        rS = s; rE = emax - 1; rH = p === 24 ? 0xffffff00 : 0xffffffff; rL = p === 64 ? 0xffffffff : p === 53 ? 0xfffff800 : 0; env.c1 = 0;
      }
      return;
    }
    env.exc |= OE;
    e -= adj; rAdjusted = true;
    if (e >= emax && bias === 16383) {
      // Too large even for the bias-adjusted result (FSCALE): the masked response's infinity (measured).
      env.exc |= PE; rS = s; rE = emax; rH = 0x80000000; rL = 0; env.c1 = 1;
      return;
    }
  }
  if (inexact) env.exc |= PE;
  rS = s; rE = e; rH = w2 >>> 0; rL = w1 >>> 0;
}

/** Round the working significand to an extended result in r (precision env.pc). */
function packTo(r: F80, s: number, e: number, p: number): void {
  roundPack(s, e, p, 16383, 0x7fff, 24576);
  r.s = rS; r.e = rE; r.hi = rH; r.lo = rL;
}

// ---------------------------------------------------------------- special operands

/** Quiet NaN x into r (an SNaN's quiet bit set). */
function quiet(r: F80, x: F80): void { r.s = x.s; r.e = x.e; r.hi = (x.hi | 0x40000000) >>> 0; r.lo = x.lo; }

/** Two-operand NaN result (SDM Vol. 1 Table 4-7, x87): SNaN raises IE; QNaN beats SNaN; else the larger significand. */
function propagateNaN(r: F80, a: F80, b: F80, ka: number, kb: number): void {
  const aN = isNaNClass(ka), bN = isNaNClass(kb);
  if (ka === C_SNAN || kb === C_SNAN) env.exc |= IE;
  if (aN && bN) {
    if (ka !== kb) { quiet(r, ka === C_QNAN ? a : b); return; }
    const ah = a.hi | 0x40000000, bh = b.hi | 0x40000000;
    if (ah >>> 0 !== bh >>> 0) { quiet(r, (ah >>> 0) > (bh >>> 0) ? a : b); return; }
    if (a.lo !== b.lo) { quiet(r, a.lo > b.lo ? a : b); return; }
    quiet(r, a.s <= b.s ? a : b);
    return;
  }
  quiet(r, aN ? a : b);
}

/**
 * Common operand checks of a two-operand operation: unsupported -> IE + indefinite, NaNs -> their
 * propagation, denormals -> DE. Returns true when r already holds the result.
 */
function specials2(r: F80, a: F80, b: F80, ka: number, kb: number): boolean {
  if (ka === C_UNSUPPORTED || kb === C_UNSUPPORTED) { env.exc |= IE; setIndefinite(r); return true; }
  if (isNaNClass(ka) || isNaNClass(kb)) { propagateNaN(r, a, b, ka, kb); return true; }
  if (ka === C_DENORMAL || kb === C_DENORMAL || env.srcDenormal) return denormalOperand();
  return false;
}
/** DE for a denormal operand; true when it is unmasked (no result: SDM Vol. 1 8.5.2). */
export function denormalOperand(): boolean {
  env.exc |= DE;
  return (env.masks & DE) === 0;
}

/** Invalid operation with the indefinite result. */
function invalid(r: F80): void { env.exc |= IE; setIndefinite(r); }

// ---------------------------------------------------------------- arithmetic

/** r = a + b (sub: a - b), rounded to env.pc bits (FADD/FSUB, SDM Vol. 2 and Tables 3-18/3-37). */
export function add(r: F80, a: F80, b: F80, sub: boolean, p = env.pc): void {
  const ka = classify(a), kb = classify(b);
  if (specials2(r, a, b, ka, kb)) return;
  const bs = sub ? b.s ^ 1 : b.s;
  if (ka === C_INF || kb === C_INF) {
    if (ka === C_INF && kb === C_INF && a.s !== bs) { invalid(r); return; }
    setInf(r, ka === C_INF ? a.s : bs); env.c1 = 0;
    return;
  }
  if (ka === C_ZERO && kb === C_ZERO) {
    env.c1 = 0;
    setZero(r, a.s === bs ? a.s : env.rc === RC_DOWN ? 1 : 0);
    return;
  }
  if (kb === C_ZERO) { unpack(a); w2 = nH; w1 = nL; w0 = 0; packTo(r, a.s, nE, p); return; }
  if (ka === C_ZERO) { unpack(b); w2 = nH; w1 = nL; w0 = 0; packTo(r, bs, nE, p); return; }
  unpack(a); const ae = nE, ah = nH, al = nL;
  unpack(b); const be = nE, bh = nH, bl = nL;
  // x: the larger exponent; y is aligned to it.
  let xs: number, xe: number, xh: number, xl: number, ys: number, ye: number;
  if (ae >= be) { xs = a.s; xe = ae; xh = ah; xl = al; ys = bs; ye = be; w2 = bh; w1 = bl; }
  else { xs = bs; xe = be; xh = bh; xl = bl; ys = a.s; ye = ae; w2 = ah; w1 = al; }
  w0 = 0;
  shr96(xe - ye);
  if (xs === ys) {
    const l = xl + w1;
    let h = xh + w2 + (l > 0xffffffff ? 1 : 0);
    w1 = l >>> 0;
    if (h > 0xffffffff) {
      h -= 4294967296;
      // 65-bit sum: shift right by one (the lost bit joins the sticky LSB).
      const lost = w0 & 1;
      w0 = ((w0 >>> 1) | (w1 << 31)) >>> 0; if (lost) w0 = (w0 | 1) >>> 0;
      w1 = ((w1 >>> 1) | (h << 31)) >>> 0;
      w2 = ((h >>> 1) | 0x80000000) >>> 0;
      packTo(r, xs, xe + 1, p);
      return;
    }
    w2 = h >>> 0;
    packTo(r, xs, xe, p);
    return;
  }
  // Magnitude subtraction: x - y, or y - x when y is larger (only possible with equal exponents).
  let s = xs;
  if (xe === ye && (w2 > xh || (w2 === xh && w1 > xl))) {
    s = ys;
    const t2 = w2, t1 = w1; w2 = xh; w1 = xl; xh = t2; xl = t1;
  }
  // (xh:xl:0) - (w2:w1:w0)
  let d0 = -w0, borrow = 0;
  if (d0 < 0) { d0 += 4294967296; borrow = 1; }
  let d1 = xl - w1 - borrow; borrow = 0;
  if (d1 < 0) { d1 += 4294967296; borrow = 1; }
  const d2 = xh - w2 - borrow;
  w2 = d2 >>> 0; w1 = d1 >>> 0; w0 = d0 >>> 0;
  if (w2 === 0 && w1 === 0 && w0 === 0) { env.c1 = 0; setZero(r, env.rc === RC_DOWN ? 1 : 0); return; }
  const sh = normalize96();
  packTo(r, s, xe - sh, p);
}

// Scratch 16-bit limbs for the 64x64 product.
const LA = new Float64Array(4), LB = new Float64Array(4), LP = new Float64Array(8);
/** w2:w1:w0 (+ sticky) = (ah:al) * (bh:bl), normalised; returns 1 when the product had 128 significant bits. */
function mul64(ah: number, al: number, bh: number, bl: number): number {
  LA[0] = al & 0xffff; LA[1] = al >>> 16; LA[2] = ah & 0xffff; LA[3] = ah >>> 16;
  LB[0] = bl & 0xffff; LB[1] = bl >>> 16; LB[2] = bh & 0xffff; LB[3] = bh >>> 16;
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    let sum = carry;
    for (let i = k < 4 ? 0 : k - 3; i <= k && i < 4; i++) sum += LA[i] * LB[k - i];
    carry = Math.floor(sum / 65536);
    LP[k] = sum - carry * 65536; // not %: a double fmod is a slow library call
  }
  w2 = (LP[7] * 65536 + LP[6]) >>> 0;
  w1 = (LP[5] * 65536 + LP[4]) >>> 0;
  w0 = (LP[3] * 65536 + LP[2]) >>> 0;
  if (LP[1] !== 0 || LP[0] !== 0) w0 = (w0 | 1) >>> 0;
  if (w2 & 0x80000000) return 1;
  normalize96();
  return 0;
}

/** r = a * b rounded to env.pc bits (FMUL). */
export function mul(r: F80, a: F80, b: F80, p = env.pc): void {
  const ka = classify(a), kb = classify(b);
  if (specials2(r, a, b, ka, kb)) return;
  const s = a.s ^ b.s;
  if (ka === C_INF || kb === C_INF) {
    if (ka === C_ZERO || kb === C_ZERO) { invalid(r); return; }
    setInf(r, s); env.c1 = 0; return;
  }
  if (ka === C_ZERO || kb === C_ZERO) { setZero(r, s); env.c1 = 0; return; }
  unpack(a); const ae = nE, ah = nH, al = nL;
  unpack(b);
  const top = mul64(ah, al, nH, nL);
  packTo(r, s, ae + nE - 16383 + top, p);
}

/** w2:w1:w0 = (ah:al) / (bh:bl) as a 96-bit quotient with sticky; returns 1 when ah:al >= bh:bl. */
function div64(ah: number, al: number, bh: number, bl: number): number {
  let rh = ah, rl = al; // remainder, rh may reach 2^33
  let q2 = 0, q1 = 0, q0 = 0;
  for (let k = 0; k < 96; k++) {
    let bit = 0;
    if (rh > bh || (rh === bh && rl >= bl)) {
      let l = rl - bl, br = 0;
      if (l < 0) { l += 4294967296; br = 1; }
      rh = rh - bh - br; rl = l; bit = 1;
    }
    if (k < 32) q2 = q2 * 2 + bit; else if (k < 64) q1 = q1 * 2 + bit; else q0 = q0 * 2 + bit;
    rh = rh * 2 + (rl >>> 31); rl = (rl << 1) >>> 0;
  }
  w2 = q2 >>> 0; w1 = q1 >>> 0; w0 = q0 >>> 0;
  if (rh !== 0 || rl !== 0) w0 = (w0 | 1) >>> 0;
  if (w2 & 0x80000000) return 1;
  normalize96();
  return 0;
}

/** r = a / b rounded to env.pc bits (FDIV). */
export function div(r: F80, a: F80, b: F80, p = env.pc): void {
  const ka = classify(a), kb = classify(b);
  // A zero divisor (with a finite dividend) outranks DE: ZE alone (measured).
  if (kb === C_ZERO && (ka === C_NORMAL || ka === C_DENORMAL)) { env.exc |= ZE; setInf(r, a.s ^ b.s); env.c1 = 0; return; }
  if (specials2(r, a, b, ka, kb)) return;
  const s = a.s ^ b.s;
  env.c1 = 0;
  if (ka === C_INF) { if (kb === C_INF) invalid(r); else setInf(r, s); return; }
  if (kb === C_INF) { setZero(r, s); return; }
  if (kb === C_ZERO) {
    if (ka === C_ZERO) { invalid(r); return; }
    env.exc |= ZE; setInf(r, s); return;
  }
  if (ka === C_ZERO) { setZero(r, s); return; }
  unpack(a); const ae = nE, ah = nH, al = nL;
  unpack(b);
  const ge = div64(ah, al, nH, nL);
  packTo(r, s, ae - nE + 16383 - 1 + ge, p);
}

/** Bit n of the 65-bit m65:mh:ml (0 below bit 0). */
function bitAt(n: number, m65: number, mh: number, ml: number): number {
  return n < 0 || n > 64 ? 0 : n === 64 ? m65 : n >= 32 ? (mh >>> (n - 32)) & 1 : (ml >>> n) & 1;
}
// Scratch 16-bit limb arrays for the square root (little-endian limbs).
const SQ_REM = new Int32Array(8), SQ_ROOT = new Int32Array(8), SQ_T = new Int32Array(8);
/** r = sqrt(a) rounded to env.pc bits (FSQRT, SDM Vol. 2 Table 3-?): negative non-zero -> IE. */
export function sqrt(r: F80, a: F80, p = env.pc): void {
  const ka = classify(a);
  if (ka === C_UNSUPPORTED) { invalid(r); return; }
  if (isNaNClass(ka)) { if (ka === C_SNAN) env.exc |= IE; quiet(r, a); return; }
  env.c1 = 0;
  if (ka === C_ZERO) { r.copy(a); return; }
  if (a.s) { invalid(r); return; } // a negative denormal is invalid, not DE (measured)
  if (ka === C_DENORMAL && denormalOperand()) return;
  if (ka === C_INF) { r.copy(a); return; }
  unpack(a);
  // value = M * 2^(E - 63) with E = nE - 16383. Make the power even: M' = M << (1 if odd).
  let E = nE - 16383 - 63;
  let mh = nH, ml = nL, m65 = 0;
  if (E & 1) { m65 = mh >>> 31; mh = ((mh << 1) | (ml >>> 31)) >>> 0; ml = (ml << 1) >>> 0; E -= 1; }
  // Radicand bits: m65 (bit 64), mh:ml, then 70 zero bits (35 pairs): root has 33 + 35 = 68 bits.
  SQ_REM.fill(0); SQ_ROOT.fill(0);
  const pairs = 33 + 35;
  for (let k = pairs - 1; k >= 0; k--) {
    // The next two radicand bits: bits 2k+1, 2k of (M' << 70) counted from bit 0.
    const b0 = 2 * k - 70;
    const two = bitAt(b0 + 1, m65, mh, ml) * 2 + bitAt(b0, m65, mh, ml);
    // rem = rem * 4 + two
    let c = two;
    for (let i = 0; i < 8; i++) { const v = SQ_REM[i] * 4 + c; SQ_REM[i] = v & 0xffff; c = v >>> 16; }
    // trial = root * 4 + 1
    c = 1;
    for (let i = 0; i < 8; i++) { const v = SQ_ROOT[i] * 4 + c; SQ_T[i] = v & 0xffff; c = v >>> 16; }
    let ge = true;
    for (let i = 7; i >= 0; i--) { if (SQ_REM[i] !== SQ_T[i]) { ge = SQ_REM[i] > SQ_T[i]; break; } }
    let bit = 0;
    if (ge) {
      let br = 0;
      for (let i = 0; i < 8; i++) { let v = SQ_REM[i] - SQ_T[i] - br; br = 0; if (v < 0) { v += 65536; br = 1; } SQ_REM[i] = v; }
      bit = 1;
    }
    c = bit;
    for (let i = 0; i < 8; i++) { const v = SQ_ROOT[i] * 2 + c; SQ_ROOT[i] = v & 0xffff; c = v >>> 16; }
  }
  // Root V < 2^68 in limbs 0-4: w2:w1:w0 = V << 28, then normalise (V >= 2^66).
  const L0 = SQ_ROOT[0], L1 = SQ_ROOT[1], L2 = SQ_ROOT[2], L3 = SQ_ROOT[3], L4 = SQ_ROOT[4];
  w2 = ((L4 << 28) | (L3 << 12) | (L2 >>> 4)) >>> 0;
  w1 = (((L2 & 0xf) << 28) | (L1 << 12) | (L0 >>> 4)) >>> 0;
  w0 = ((L0 & 0xf) << 28) >>> 0;
  let remNZ = false;
  for (let i = 0; i < 8; i++) if (SQ_REM[i]) { remNZ = true; break; }
  if (remNZ) w0 = (w0 | 1) >>> 0;
  const sh = normalize96();
  // sqrt(M' * 2^70) = V: value = V * 2^((E - 70) / 2); w2 bit 31 is V's bit 67 - sh.
  packTo(r, 0, 16383 + 67 - sh + (E - 70) / 2, p);
}

// ---------------------------------------------------------------- compares (FCOM/FUCOM/FCOMI/FTST)

/** Compare a with b: -1 less, 0 equal, 1 greater, 2 unordered. `quietNaN`: QNaNs raise no IE (FUCOM). */
export function compare(a: F80, b: F80, quietNaN: boolean): number {
  const ka = classify(a), kb = classify(b);
  if (ka === C_UNSUPPORTED || kb === C_UNSUPPORTED) { env.exc |= IE; return 2; }
  if (isNaNClass(ka) || isNaNClass(kb)) {
    if (!quietNaN || ka === C_SNAN || kb === C_SNAN) env.exc |= IE;
    return 2;
  }
  // DE, even unmasked, still lets the compare report its result (measured).
  if (ka === C_DENORMAL || kb === C_DENORMAL || env.srcDenormal) env.exc |= DE;
  const za = ka === C_ZERO, zb = kb === C_ZERO;
  if (za && zb) return 0;
  if (za) return b.s ? 1 : -1;
  if (zb) return a.s ? -1 : 1;
  if (a.s !== b.s) return a.s ? -1 : 1;
  let m: number;
  if (ka === C_INF || kb === C_INF) m = ka === kb ? 0 : ka === C_INF ? 1 : -1;
  else {
    unpack(a); const ae = nE, ah = nH, al = nL;
    unpack(b);
    m = ae !== nE ? (ae > nE ? 1 : -1) : ah !== nH ? (ah > nH ? 1 : -1) : al !== nL ? (al > nL ? 1 : -1) : 0;
  }
  return a.s ? -m : m;
}

// ---------------------------------------------------------------- integers

/** r = the integer hi:lo (a signed 64-bit two's-complement value, or `neg` with magnitude hi:lo). */
export function fromInt(r: F80, neg: number, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  if (hi === 0 && lo === 0) { setZero(r, neg); return; }
  r.s = neg; r.e = 16383 + 63; r.hi = hi; r.lo = lo;
  unpack(r);
  r.e = nE; r.hi = nH; r.lo = nL;
}
/** r = the signed 64-bit integer hi:lo (FILD m64). */
export function fromInt64(r: F80, hi: number, lo: number): void {
  if (hi < 0 || hi > 0x7fffffff) {
    // Two's-complement negate.
    let l = (~lo + 1) >>> 0, h = (~hi) >>> 0;
    if (l === 0) h = (h + 1) >>> 0;
    fromInt(r, 1, h, l);
    return;
  }
  fromInt(r, 0, hi, lo);
}

/** Integer conversion result (magnitude and sign) and whether it fits. */
export let iNeg = 0, iHi = 0, iLo = 0;
/**
 * Round a to an integer per `rc` (FIST/FISTP/FISTTP/FRNDINT): iNeg/iHi/iLo get the magnitude; returns
 * false when a is NaN, infinite, unsupported or its integer magnitude needs more than 64 bits.
 * Raises PE (and sets C1) when inexact; raises nothing else.
 */
export function roundToInt(a: F80, rc: number): boolean {
  const k = classify(a);
  env.c1 = 0;
  if (k === C_UNSUPPORTED || k === C_INF || isNaNClass(k)) return false;
  iNeg = a.s;
  if (k === C_ZERO) { iHi = 0; iLo = 0; return true; }
  unpack(a);
  const E = nE - 16383; // value = sig * 2^(E - 63)
  if (E >= 64) return false;
  if (E >= 63) { iHi = nH; iLo = nL; return true; }
  // Shift right by 63 - E with the lost bits in w0.
  w2 = nH; w1 = nL; w0 = 0;
  shr96(63 - E);
  // w2:w1 integer part, w0 fraction (with sticky LSB).
  const frac = w0;
  let inc = false;
  if (frac !== 0) {
    env.exc |= PE;
    switch (rc) {
      case RC_NEAREST: inc = frac > 0x80000000 || (frac === 0x80000000 && (w1 & 1) === 1); break;
      case RC_DOWN: inc = a.s === 1; break;
      case RC_UP: inc = a.s === 0; break;
    }
  }
  let lo = w1, hi = w2;
  if (inc) { lo += 1; if (lo > 0xffffffff) { lo = 0; hi += 1; } env.c1 = 1; }
  if (hi > 0xffffffff) return false;
  iHi = hi >>> 0; iLo = lo >>> 0;
  return true;
}

// ---------------------------------------------------------------- memory formats

/** r = the single-precision value with bits v (exact; an SNaN stays an SNaN; a denormal sets env.srcDenormal). */
export function fromF32(r: F80, v: number): void {
  const s = v >>> 31, e = (v >>> 23) & 0xff, f = v & 0x7fffff;
  if (e === 0xff) {
    if (f === 0) { setInf(r, s); return; }
    r.s = s; r.e = 0x7fff; r.hi = (0x80000000 | (f << 8)) >>> 0; r.lo = 0; // an SNaN stays signalling

    return;
  }
  if (e === 0) {
    if (f === 0) { setZero(r, s); return; }
    env.srcDenormal = true;
    r.s = s; r.e = 16383 - 126; r.hi = (f << 8) >>> 0; r.lo = 0; // f * 2^-149 = (f<<8) * 2^(-126-63) ... J = 0
    unpack(r); r.e = nE; r.hi = nH; r.lo = nL;
    return;
  }
  r.s = s; r.e = e - 127 + 16383; r.hi = (0x80000000 | (f << 8)) >>> 0; r.lo = 0;
}
/** r = the double-precision value with bits hi:lo. */
export function fromF64(r: F80, hi: number, lo: number): void {
  hi >>>= 0; lo >>>= 0;
  const s = hi >>> 31, e = (hi >>> 20) & 0x7ff, fh = hi & 0xfffff;
  const sh = ((fh << 11) | (lo >>> 21)) >>> 0, sl = (lo << 11) >>> 0;
  if (e === 0x7ff) {
    if (fh === 0 && lo === 0) { setInf(r, s); return; }
    r.s = s; r.e = 0x7fff; r.hi = (0x80000000 | sh) >>> 0; r.lo = sl;
    return;
  }
  if (e === 0) {
    if (fh === 0 && lo === 0) { setZero(r, s); return; }
    env.srcDenormal = true;
    r.s = s; r.e = 16383 - 1022; r.hi = sh; r.lo = sl;
    unpack(r); r.e = nE; r.hi = nH; r.lo = nL;
    return;
  }
  r.s = s; r.e = e - 1023 + 16383; r.hi = (0x80000000 | sh) >>> 0; r.lo = sl;
}

/** Result bits of toF32 / toF64 (a store is skipped by the caller when rAdjusted: unmasked OE/UE). */
export let outHi = 0, outLo = 0;
/** Source-operand part of FST m32/m64: NaN/unsupported/denormal handling; returns true when out* is final. */
function storeSpecial(k: number): boolean {
  if (k === C_UNSUPPORTED) { env.exc |= IE; return true; }
  if (isNaNClass(k)) { if (k === C_SNAN) env.exc |= IE; return true; }
  return false; // no DE for a denormal source (FST/FSTP list no #D; measured)
}
/** a rounded to single precision (FST m32): bits in outLo. Returns false when nothing is to be stored (unmasked OE/UE). */
export function toF32(a: F80): boolean {
  const k = classify(a);
  env.c1 = 0; rAdjusted = false;
  if (storeSpecial(k)) {
    if (k === C_UNSUPPORTED) outLo = 0xffc00000;
    else if (isNaNClass(k)) outLo = ((a.s << 31) | 0x7fc00000 | ((a.hi >>> 8) & 0x3fffff)) >>> 0;
    return true;
  }
  if (k === C_ZERO) { outLo = (a.s << 31) >>> 0; return true; }
  if (k === C_INF) { outLo = ((a.s << 31) | 0x7f800000) >>> 0; return true; }
  unpack(a); w2 = nH; w1 = nL; w0 = 0;
  const pe = env.exc & PE;
  roundPack(a.s, nE, 24, 127, 0xff, 192);
  if (rAdjusted) { env.exc = (env.exc & ~PE) | pe; env.c1 = 0; return false; } // unmasked OE/UE: nothing stored, no PE
  outLo = ((rS << 31) | (rE << 23) | ((rH >>> 8) & 0x7fffff)) >>> 0;
  return true;
}
/** a rounded to double precision (FST m64): bits in outHi:outLo. */
export function toF64(a: F80): boolean {
  const k = classify(a);
  env.c1 = 0; rAdjusted = false;
  if (storeSpecial(k)) {
    if (k === C_UNSUPPORTED) { outHi = 0xfff80000; outLo = 0; }
    else if (isNaNClass(k)) { outHi = ((a.s << 31) | 0x7ff80000 | ((a.hi >>> 11) & 0x7ffff)) >>> 0; outLo = ((a.hi << 21) | (a.lo >>> 11)) >>> 0; }
    return true;
  }
  if (k === C_ZERO) { outHi = (a.s << 31) >>> 0; outLo = 0; return true; }
  if (k === C_INF) { outHi = ((a.s << 31) | 0x7ff00000) >>> 0; outLo = 0; return true; }
  unpack(a); w2 = nH; w1 = nL; w0 = 0;
  const pe = env.exc & PE;
  roundPack(a.s, nE, 53, 1023, 0x7ff, 1536);
  if (rAdjusted) { env.exc = (env.exc & ~PE) | pe; env.c1 = 0; return false; }
  outHi = ((rS << 31) | (rE << 20) | ((rH >>> 11) & 0xfffff)) >>> 0;
  outLo = ((rH << 21) | (rL >>> 11)) >>> 0;
  return true;
}

/** r = a rounded to env.pc bits at its own exponent (used by loads that must respect PC: none; kept for FSCALE etc.). */
export function roundExtended(r: F80, s: number, e: number, hi: number, lo: number, sticky: number, p: number): void {
  w2 = hi >>> 0; w1 = lo >>> 0; w0 = sticky >>> 0;
  if (w2 === 0 && w1 === 0 && w0 === 0) { setZero(r, s); env.c1 = 0; return; }
  const sh = normalize96();
  packTo(r, s, e - sh, p);
}

// ---------------------------------------------------------------- FPREM/FPREM1, FSCALE, FXTRACT, FRNDINT

/** One-operand NaN/unsupported handling; returns true when r holds the result. */
export function unarySpecial(r: F80, a: F80, k: number): boolean {
  if (k === C_UNSUPPORTED) { invalid(r); return true; }
  if (k === C_SNAN) { env.exc |= IE; quiet(r, a); return true; }
  if (k === C_QNAN) { r.copy(a); return true; }
  return false;
}
/** r = a exactly, normalised (pseudo-denormals and unnormal-looking denormals repacked). */
function repack(r: F80, a: F80): void {
  unpack(a); w2 = nH; w1 = nL; w0 = 0;
  packTo(r, a.s, nE, 64);
}

const FSW_C0 = 0x100, FSW_C1 = 0x200, FSW_C2 = 0x400, FSW_C3 = 0x4000;
/** fprem's result flag: a quotient was developed (C0/C3/C1 carry its low bits). */
export const QUOTIENT = 0x10000;
/**
 * FPREM (truncated quotient) / FPREM1 (`ieee`: quotient rounded to nearest even), SDM Vol. 2: exact
 * remainder when the exponent difference D < 64, else a partial remainder reducing D to
 * N = 32 + D mod 32 (AMD's documented choice, which Intel follows) with C2 = 1. Returns the
 * C0/C1/C2/C3 bits (quotient bits 2/0/-/1), or -1 for a NaN or invalid result.
 */
export function fprem(r: F80, a: F80, b: F80, ieee: boolean): number {
  const ka = classify(a), kb = classify(b);
  // NaN, unsupported and invalid operands: -1 (C0/C3 are left alone, measured).
  if (ka === C_UNSUPPORTED || kb === C_UNSUPPORTED || isNaNClass(ka) || isNaNClass(kb)) { specials2(r, a, b, ka, kb); return -1; }
  if (ka === C_INF || kb === C_ZERO) { invalid(r); return -1; } // before DE (measured)
  if (specials2(r, a, b, ka, kb)) return -1;
  if (ka === C_ZERO) { r.copy(a); return 0; }
  if (kb === C_INF) { repack(r, a); return 0; }
  unpack(a); const ae = nE, ah = nH, al = nL;
  unpack(b); let be = nE; const bh = nH, bl = nL;
  let D = ae - be, partial = false;
  if (D >= 64) { const n = 32 + (D % 32); be += D - n; D = n; partial = true; ieee = false; }
  if (D < -1 || (D === -1 && !ieee)) { repack(r, a); return 0; }
  let rh: number, rl: number, q = 0, s = a.s, base = be;
  if (D === -1) {
    // |a| > |b| / 2 exactly when A > B: quotient 1, remainder (2B - A) * 2^(be - 64) with the sign flipped.
    if (ah > bh || (ah === bh && al > bl)) {
      let l = ((bl << 1) >>> 0) - al, br = 0;
      if (l < 0) { l += 4294967296; br = 1; }
      rh = bh * 2 + (bl >>> 31) - ah - br; rl = l; q = 1; s ^= 1;
    } else { rh = ah; rl = al; }
    base = be - 1;
  } else {
    rh = ah; rl = al;
    for (let k = 0; k <= D; k++) {
      if (k > 0) { rh = rh * 2 + (rl >>> 31); rl = (rl << 1) >>> 0; }
      let bit = 0;
      if (rh > bh || (rh === bh && rl >= bl)) {
        let l = rl - bl, br = 0;
        if (l < 0) { l += 4294967296; br = 1; }
        rh = rh - bh - br; rl = l; bit = 1;
      }
      q = ((q << 1) | bit) & 0xff;
    }
    if (ieee) {
      // Round the quotient to nearest even: compare 2R with B.
      const th = rh * 2 + (rl >>> 31), tl = (rl << 1) >>> 0;
      const cmp = th !== bh ? (th > bh ? 1 : -1) : tl !== bl ? (tl > bl ? 1 : -1) : 0;
      if (cmp > 0 || (cmp === 0 && (q & 1))) {
        let l = bl - rl, br = 0;
        if (l < 0) { l += 4294967296; br = 1; }
        rh = bh - rh - br; rl = l; q = (q + 1) & 0xff; s ^= 1;
      }
    }
  }
  if (rh === 0 && rl === 0) setZero(r, a.s);
  else { w2 = rh >>> 0; w1 = rl >>> 0; w0 = 0; const sh = normalize96(); packTo(r, s, base - sh, 64); }
  env.c1 = 0;
  if (partial) return FSW_C2;
  if (D < 0 && q === 0) return 0;
  return QUOTIENT | (q & 4 ? FSW_C0 : 0) | (q & 2 ? FSW_C3 : 0) | (q & 1 ? FSW_C1 : 0);
}

/** FSCALE: r = a * 2^trunc(b) (SDM Vol. 2 FSCALE Table 3-?). */
export function fscale(r: F80, a: F80, b: F80): void {
  const ka = classify(a), kb = classify(b);
  if (specials2(r, a, b, ka, kb)) return;
  env.c1 = 0;
  if (kb === C_INF) {
    if (b.s === 0) { if (ka === C_ZERO) invalid(r); else setInf(r, a.s); }
    else { if (ka === C_INF) invalid(r); else setZero(r, a.s); }
    return;
  }
  if (ka === C_INF || ka === C_ZERO) { r.copy(a); return; }
  // n = trunc(b), clamped: anything beyond 2^20 in magnitude over- or underflows anyway.
  let n = 0;
  if (kb !== C_ZERO) {
    unpack(b);
    const E = nE - 16383;
    if (E >= 20) n = 1 << 20;
    else if (E >= 0) n = Math.floor(nH / 2 ** (31 - E));
    if (b.s) n = -n;
  }
  unpack(a); w2 = nH; w1 = nL; w0 = 0;
  packTo(r, a.s, nE + n, 64);
}

/** FXTRACT: r = unbiased exponent of a, r2 = its significand with exponent 0 (SDM Vol. 2 FXTRACT). */
export function fxtract(r: F80, r2: F80, a: F80): void {
  const k = classify(a);
  env.c1 = 0;
  if (unarySpecial(r, a, k)) { r2.copy(r); return; }
  if (k === C_ZERO) { env.exc |= ZE; setInf(r, 1); r2.copy(a); return; }
  if (k === C_INF) { setInf(r, 0); r2.copy(a); return; }
  if (k === C_DENORMAL && denormalOperand()) return;
  unpack(a);
  const E = nE - 16383;
  r2.set(a.s, 16383, nH, nL);
  fromInt(r, E < 0 ? 1 : 0, 0, Math.abs(E));
}

/** FRNDINT: round to an integer per FCW.RC (PE when inexact, C1 when rounded up). */
export function frndint(r: F80, a: F80): void {
  const k = classify(a);
  env.c1 = 0;
  if (unarySpecial(r, a, k)) return;
  if (k === C_ZERO || k === C_INF) { r.copy(a); return; }
  if (k === C_DENORMAL && denormalOperand()) return;
  unpack(a);
  if (nE - 16383 >= 63) { r.copy(a); return; }
  roundToInt(a, env.rc);
  if (iHi === 0 && iLo === 0) { setZero(r, a.s); return; }
  const c1 = env.c1;
  fromInt(r, a.s, iHi, iLo);
  env.c1 = c1;
}
