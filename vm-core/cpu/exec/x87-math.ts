// The x87 transcendental instructions (SDM Vol. 2 F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS,
// FSINCOS; special operands per their tables). Values are computed in double-double arithmetic
// (about 104 significant bits) on the normalised operand and rounded once to 64 bits per FCW.RC
// (precision control does not apply, SDM Vol. 1 8.1.5.2); results are inexact (PE) except the exact
// special cases. FSIN/FCOS/FSINCOS/FPTAN reduce the argument exactly against the 66-bit pi the
// hardware uses (SDM Vol. 1 8.3.10), in 16-bit limbs; |x| >= 2^63 sets C2 and leaves ST(0) alone.
// Module-level scratch only: nothing is allocated per instruction.
import {
  F80, env, classify, add, setIndefinite, unpack, nE, nH, nL, setInf, setZero, unarySpecial, roundExtended,
  IE, ZE, PE, denormalOperand, C_ZERO, C_DENORMAL, C_INF, C_SNAN, C_UNSUPPORTED, isNaNClass,
} from '../softfloat80';

export const T_F2XM1 = 0, T_FYL2X = 1, T_FYL2XP1 = 2, T_FPTAN = 3, T_FPATAN = 4, T_FSIN = 5, T_FCOS = 6, T_FSINCOS = 7;
const FSW_C2 = 0x400;

// ---------------------------------------------------------------- double-double arithmetic

let H = 0, L = 0;
const SPLIT = 134217729; // 2^27 + 1
function twoSum(a: number, b: number): void { const s = a + b, bb = s - a; L = (a - (s - bb)) + (b - bb); H = s; }
function quick(a: number, b: number): void { const s = a + b; L = b - (s - a); H = s; }
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = SPLIT * a; const ah = t - (t - a), al = a - ah;
  t = SPLIT * b; const bh = t - (t - b), bl = b - bh;
  L = ((ah * bh - p) + ah * bl + al * bh) + al * bl; H = p;
}
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  twoSum(ah, bh); const s = H, e = L;
  twoSum(al, bl); const t = H, f = L;
  quick(s, e + t); quick(H, L + f);
}
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh); const p = H, e = L + (ah * bl + al * bh);
  quick(p, e);
}
/** Exact remainder-corrected division: (ah + al) / (bh + bl). */
function div2(ah: number, al: number, bh: number, bl: number): void {
  const q1 = ah / bh;
  ddMul(q1, 0, bh, bl); ddAdd(ah, al, -H, -L); const r1h = H, r1l = L;
  const q2 = r1h / bh;
  ddMul(q2, 0, bh, bl); ddAdd(r1h, r1l, -H, -L);
  const q3 = H / bh;
  quick(q1, q2); ddAdd(H, L, q3, 0);
}
function ddSqrt(ah: number, al: number): void {
  const s = Math.sqrt(ah);
  twoProd(s, s); ddAdd(ah, al, -H, -L);
  quick(s, H / (2 * s));
}

// Constants as double-double.
const LN2_H = 0.6931471805599453, LN2_L = 2.3190468138462996e-17;
const PI_H = 3.141592653589793, PI_L = 1.2246467991473532e-16;
const PIO2_H = 1.5707963267948966, PIO2_L = 6.123233995736766e-17;
const PIO4_H = 0.7853981633974483, PIO4_L = 3.061616997868383e-17;
const LOG2E_H = 1.4426950408889634, LOG2E_L = 2.0355273740931033e-17;

// ---------------------------------------------------------------- F80 <-> double-double

const F64 = new Float64Array(1), U32 = new Uint32Array(F64.buffer);
/** Significand of a finite non-zero F80 as a double-double in [1, 2), its exponent in xE. */
let xH = 0, xL = 0, xE = 0;
function toDD(a: F80): void {
  unpack(a);
  const top = nH * 4294967296 + (nL - (nL & 0x7ff));
  xH = top / 9223372036854775808; xL = (nL & 0x7ff) / 9223372036854775808; xE = nE - 16383;
}
const T1 = new F80(), T2 = new F80();
/** F80 holding the double d exactly (d finite, non-zero, normal). */
function dToF80(r: F80, d: number): void {
  F64[0] = d;
  const hi = U32[1], lo = U32[0];
  const e = (hi >>> 20) & 0x7ff;
  r.s = hi >>> 31; r.e = e - 1023 + 16383;
  r.hi = (0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0; r.lo = (lo << 11) >>> 0;
}
const FAKE = 16383 + 200;
/** r = (-1)^sign (h + l) * 2^scale rounded once to 64 bits per FCW.RC (h > 0, |l| <= ulp(h)); raises PE. */
function packDD(r: F80, h: number, l: number, scale: number, sign: number): void {
  if (h === 0) { setZero(r, sign); return; }
  dToF80(T1, h);
  const base = T1.e;
  T1.e = FAKE; T1.s = 0;
  const saveExc = env.exc, saveRc = env.rc;
  // The magnitude is rounded: directed modes flip for a negative result.
  if (sign && (saveRc === 1 || saveRc === 2)) env.rc = 3 - saveRc;
  env.c1 = 0;
  if (l === 0) r.copy(T1);
  else {
    dToF80(T2, l);
    T2.e = T2.e - base + FAKE;
    if (T2.e >= 1) add(r, T1, T2, false, 64);
    else if (T2.s) { // far below, negative: just under h
      let lo = T1.lo - 1, hi = T1.hi;
      if (lo < 0) { lo += 4294967296; hi -= 1; }
      roundExtended(r, 0, FAKE, hi, lo, 0xffffffff, 64);
    } else roundExtended(r, 0, FAKE, T1.hi, T1.lo, 1, 64);
  }
  env.rc = saveRc;
  env.exc = saveExc | PE;
  r.s = sign;
  const e = r.e - FAKE + base + scale;
  if (e >= 1 && e < 0x7fff) r.e = e;
  else { const c1 = env.c1; roundExtended(r, sign, e, r.hi, r.lo, 1, 64); env.c1 |= c1; } // denormal/overflow: inexact
}

// ---------------------------------------------------------------- series

/** expm1(t) for |t| <= 0.7 in double-double. */
function expm1DD(th: number, tl: number): void {
  let sh = th, sl = tl, ph = th, pl = tl;
  for (let n = 2; n < 40; n++) {
    ddMul(ph, pl, th, tl); div2(H, L, n, 0); ph = H; pl = L;
    ddAdd(sh, sl, ph, pl); sh = H; sl = L;
    if (Math.abs(ph) < Math.abs(sh) * 1e-34) break;
  }
  H = sh; L = sl;
}
/** 2 * atanh(s) for |s| <= 0.2 (= ln((1 + s) / (1 - s))). */
function atanh2DD(sh0: number, sl0: number): void {
  ddMul(sh0, sl0, sh0, sl0); const s2h = H, s2l = L;
  let ph = sh0, pl = sl0, sumh = sh0, suml = sl0;
  for (let n = 3; n < 200; n += 2) {
    ddMul(ph, pl, s2h, s2l); ph = H; pl = L;
    div2(ph, pl, n, 0);
    const th = H, tl = L;
    ddAdd(sumh, suml, th, tl); sumh = H; suml = L;
    if (Math.abs(th) < Math.abs(sumh) * 1e-34) break;
  }
  H = 2 * sumh; L = 2 * suml;
}
/** ln(m) for m = mh + ml in [sqrt(2)/2, sqrt(2)]. */
function lnDD(mh: number, ml: number): void {
  ddAdd(mh, ml, -1, 0); const nh = H, nl = L;
  ddAdd(mh, ml, 1, 0);
  div2(nh, nl, H, L);
  atanh2DD(H, L);
}
/** atan(t) for 0 <= t <= 1. */
function atanDD(th: number, tl: number): void {
  // Three halvings: atan(t) = 2 atan(t / (1 + sqrt(1 + t^2))).
  for (let k = 0; k < 3; k++) {
    ddMul(th, tl, th, tl); ddAdd(H, L, 1, 0); ddSqrt(H, L); ddAdd(H, L, 1, 0);
    div2(th, tl, H, L); th = H; tl = L;
  }
  ddMul(th, tl, th, tl); const t2h = H, t2l = L;
  let ph = th, pl = tl, sh = th, sl = tl;
  for (let n = 3; n < 200; n += 2) {
    ddMul(ph, pl, t2h, t2l); ph = -H; pl = -L;
    div2(ph, pl, n, 0);
    const qh = H, ql = L;
    ddAdd(sh, sl, qh, ql); sh = H; sl = L;
    if (Math.abs(qh) < Math.abs(sh) * 1e-34) break;
  }
  H = 8 * sh; L = 8 * sl;
}
/** sin (which = 0) or cos (which = 1) of r, |r| <= pi/4. */
function sinCosDD(rh: number, rl: number, which: number): void {
  ddMul(rh, rl, rh, rl); const r2h = -H, r2l = -L;
  let ph: number, pl: number, n: number;
  if (which === 0) { ph = rh; pl = rl; n = 1; } else { ph = 1; pl = 0; n = 0; }
  let sh = ph, sl = pl;
  for (let k = 0; k < 40; k++) {
    ddMul(ph, pl, r2h, r2l); div2(H, L, (n + 1) * (n + 2), 0); ph = H; pl = L; n += 2;
    ddAdd(sh, sl, ph, pl); sh = H; sl = L;
    if (Math.abs(ph) < 1e-36) break;
  }
  H = sh; L = sl;
}

// ---------------------------------------------------------------- argument reduction (16-bit limbs)

// pi/2 as the hardware's 66-bit pi (C90FDAA2 2168C234 C, SDM Vol. 1 8.3.10): P = 0x3243F6A8885A308D3 / 2^65... as limbs.
// P66 = round(pi * 2^64) with 66 significant bits = 0x3_243F_6A88_85A3_08D3; pi/2 = P66 * 2^-65.
const P66 = [0x08d3, 0x85a3, 0x6a88, 0x243f, 0x3];
const NUM = new Float64Array(16), REM = new Float64Array(16), DIVS = new Float64Array(16);
let kMod4 = 0, redH = 0, redL = 0;
/**
 * Reduce x = X * 2^(E - 63) (X = hi:lo, -1 <= E <= 62) by pi/2: x = k * pi/2 + r with |r| <= pi/4;
 * kMod4 and r (double-double, exact for the 66-bit pi) as results.
 */
function reduce(hi: number, lo: number, E: number): void {
  // N = X << (E + 2) in units of 2^-65.
  NUM.fill(0);
  NUM[0] = lo & 0xffff; NUM[1] = lo >>> 16; NUM[2] = hi & 0xffff; NUM[3] = hi >>> 16;
  shiftLeft(NUM, E + 2);
  // Long division by P66, bit by bit from the top: REM = N mod P, k bits low.
  REM.fill(0);
  let k = 0;
  const bits = 64 + E + 2;
  for (let b = bits - 1; b >= 0; b--) {
    shiftLeft(REM, 1);
    REM[0] += (NUM[b >> 4] >> (b & 15)) & 1;
    k = (k * 2) % 64;
    if (cmpLimbs(REM, P66) >= 0) { subLimbs(REM, P66); k += 1; }
  }
  // Round to nearest: if 2 REM > P then k + 1 and r = REM - P.
  DIVS.set(REM); shiftLeft(DIVS, 1);
  let neg = false;
  if (cmpLimbs(DIVS, P66) > 0) {
    k += 1;
    // REM = P - REM (magnitude), negative.
    for (let i = 0; i < 16; i++) DIVS[i] = i < P66.length ? P66[i] : 0;
    subLimbs(DIVS, REM); REM.set(DIVS); neg = true;
  }
  kMod4 = k & 3;
  // r = REM * 2^-65 (at most 66 bits): as a double-double.
  let hv = 0;
  for (let i = 4; i >= 0; i--) hv = hv * 65536 + REM[i];
  // hv may exceed 2^53: split exactly into high and low parts.
  const low = REM[0] + (REM[1] % 2) * 65536; // low 17 bits
  const high = hv - low;
  quick(high * 2 ** -65, low * 2 ** -65);
  redH = neg ? -H : H; redL = neg ? -L : L;
}
function shiftLeft(a: Float64Array, n: number): void {
  while (n >= 16) { for (let i = a.length - 1; i > 0; i--) a[i] = a[i - 1]; a[0] = 0; n -= 16; }
  if (!n) return;
  let carry = 0;
  for (let i = 0; i < a.length; i++) { const v = a[i] * (1 << n) + carry; a[i] = v & 0xffff; carry = v >>> 16; }
}
function cmpLimbs(a: Float64Array, p: number[]): number {
  for (let i = a.length - 1; i >= 0; i--) { const b = i < p.length ? p[i] : 0; if (a[i] !== b) return a[i] > b ? 1 : -1; }
  return 0;
}
function subLimbs(a: Float64Array, p: number[] | Float64Array): void {
  let br = 0;
  for (let i = 0; i < a.length; i++) { let v = a[i] - (i < p.length ? p[i] : 0) - br; br = 0; if (v < 0) { v += 65536; br = 1; } a[i] = v; }
}

// ---------------------------------------------------------------- the instructions

/** Tiny-argument results f(x) = x (+/- a hair): x rounded toward `dir` (-1 below, +1 above). */
function nearX(r: F80, a: F80, dir: number): void {
  const hi = a.hi, lo = a.lo;
  // x * (1 + dir * 2^-100): significand with a sticky below; dir < 0 subtracts one unit far below.
  if (dir < 0) {
    let l = lo - 1, h = hi;
    if (l < 0) { l += 4294967296; h -= 1; }
    roundExtended(r, a.s, a.e === 0 ? 1 : a.e, h, l, 0xffffffff, 64);
  } else roundExtended(r, a.s, a.e === 0 ? 1 : a.e, hi, lo, 1, 64);
  env.exc |= PE;
}

/**
 * Compute `kind` into r (and r2 for FPTAN's 1.0 / FSINCOS's cosine). a is ST(0), b is ST(1).
 * Returns FSW_C2 when the operand is out of range (FSIN/FCOS/FSINCOS/FPTAN, |x| >= 2^63).
 */
export function transcendental(kind: number, r: F80, r2: F80, a: F80, b: F80): number {
  const ka = classify(a);
  env.c1 = 0;
  switch (kind) {
    case T_F2XM1: return f2xm1(r, a, ka);
    case T_FSIN: case T_FCOS: case T_FPTAN: case T_FSINCOS: return trig(kind, r, r2, a, ka);
    case T_FPATAN: fpatan(r, b, a, classify(b), ka); return 0;
    default: fyl2x(kind === T_FYL2XP1, r, b, a, classify(b), ka); return 0;
  }
}

function f2xm1(r: F80, a: F80, ka: number): number {
  if (unarySpecial(r, a, ka)) return 0;
  if (ka === C_ZERO) { r.copy(a); return 0; }
  if (ka === C_INF) { if (a.s) r.set(1, 16383, 0x80000000, 0); else r.copy(a); return 0; }
  if (ka === C_DENORMAL && denormalOperand()) return 0;
  toDD(a);
  // Outside -1..+1 the result is undefined (SDM); the measured hardware leaves ST(0) as it was.
  if (xE >= 0 && !(xE === 0 && xH === 1 && xL === 0)) { r.copy(a); env.exc = 0; return 0; }
  if (xE < -80) {
    // 2^x - 1 = x ln2 (1 + x ln2 / 2 + ...): the correction is far below the last place.
    ddMul(xH, xL, LN2_H, LN2_L);
    packDD(r, H, L + (a.s ? -1 : 1) * H * 2 ** -120, xE, a.s);
    return 0;
  }
  ddMul(xH * 2 ** xE, xL * 2 ** xE, LN2_H, LN2_L);
  const th = a.s ? -H : H, tl = a.s ? -L : L;
  expm1DD(th, tl);
  const s = H < 0 ? 1 : 0;
  packDD(r, Math.abs(H), s ? -L : L, 0, s);
  return 0;
}

function one(x: F80): void { x.set(0, 16383, 0x80000000, 0); }
function putSigned(x: F80, h: number, l: number): void { if (h < 0) packDD(x, -h, -l, 0, 1); else packDD(x, h, l, 0, 0); }

function trig(kind: number, r: F80, r2: F80, a: F80, ka: number): number {
  if (ka === C_UNSUPPORTED || isNaNClass(ka)) {
    unarySpecial(r, a, ka);
    r2.copy(r);
    return 0;
  }
  if (ka === C_INF) { env.exc |= IE; setIndefinite(r); setIndefinite(r2); return 0; }
  if (ka === C_ZERO) {
    if (kind === T_FCOS) one(r);
    else { r.copy(a); if (kind === T_FPTAN) one(r2); else if (kind === T_FSINCOS) { r.copy(a); one(r2); } }
    return 0;
  }
  if (ka === C_DENORMAL && denormalOperand()) return 0;
  toDD(a);
  if (xE >= 63) return FSW_C2;
  if (xE < -40) {
    // sin x = x - x^3/6, tan x = x + x^3/3, cos x = 1 - x^2/2: one rounding of x (or 1) nudged.
    if (kind === T_FCOS) { T1.set(0, 16383, 0x80000000, 0); nearX(r, T1, -1); return 0; }
    if (kind === T_FSIN) { nearX(r, a, -1); return 0; }
    if (kind === T_FPTAN) { nearX(r, a, 1); one(r2); return 0; }
    nearX(r, a, -1); T1.set(0, 16383, 0x80000000, 0); nearX(r2, T1, -1);
    return 0;
  }
  let rh: number, rl: number, q = 0;
  if (xE >= 0 || xH * 2 ** xE > PIO4_H) {
    reduce(a.hi, a.lo, xE === -1 ? -1 : xE);
    rh = redH; rl = redL; q = kMod4;
  } else { rh = xH * 2 ** xE; rl = xL * 2 ** xE; }
  sinCosDD(rh, rl, 0); const sh = H, sl = L;
  sinCosDD(rh, rl, 1); const ch = H, cl = L;
  // sin(x) and cos(x) from the quadrant q.
  let SH: number, SL: number, CH: number, CL: number;
  switch (q) {
    case 0: SH = sh; SL = sl; CH = ch; CL = cl; break;
    case 1: SH = ch; SL = cl; CH = -sh; CL = -sl; break;
    case 2: SH = -sh; SL = -sl; CH = -ch; CL = -cl; break;
    default: SH = -ch; SL = -cl; CH = sh; CL = sl; break;
  }
  if (a.s) { SH = -SH; SL = -SL; }
  switch (kind) {
    case T_FSIN: putSigned(r, SH, SL); break;
    case T_FCOS: putSigned(r, CH, CL); break;
    case T_FSINCOS: { putSigned(r2, CH, CL); putSigned(r, SH, SL); break; } // C1 from the sine (measured)
    default: div2(SH, SL, CH, CL); putSigned(r, H, L); one(r2); break;
  }
  return 0;
}

/** FPATAN: r = atan2(y, x) (y = ST(1), x = ST(0)). */
function fpatan(r: F80, y: F80, x: F80, ky: number, kx: number): void {
  if (ky === C_UNSUPPORTED || kx === C_UNSUPPORTED) { env.exc |= IE; setIndefinite(r); return; }
  if (isNaNClass(ky) || isNaNClass(kx)) { nanPair(r, x, y, kx, ky); return; }
  if ((ky === C_DENORMAL || kx === C_DENORMAL) && denormalOperand()) return;
  const sy = y.s;
  // Special operands: SDM Vol. 2 FPATAN Table 3-?.
  if (ky === C_ZERO) {
    if (x.s === 0) { setZero(r, sy); return; }
    packDD(r, PI_H, PI_L, 0, sy); return;
  }
  if (ky === C_INF) {
    if (kx === C_INF) { if (x.s) ddMul(PIO4_H, PIO4_L, 3, 0); else { H = PIO4_H; L = PIO4_L; } packDD(r, H, L, 0, sy); return; }
    packDD(r, PIO2_H, PIO2_L, 0, sy); return;
  }
  if (kx === C_ZERO) { packDD(r, PIO2_H, PIO2_L, 0, sy); return; }
  if (kx === C_INF) { if (x.s) packDD(r, PI_H, PI_L, 0, sy); else setZero(r, sy); return; }
  toDD(y); const yh = xH, yl = xL, ye = xE;
  toDD(x); const ex = xE;
  const d = ye - ex;
  let ah: number, al: number;
  if (d < -200) {
    // |y/x| tiny: atan = y/x (x > 0) or pi - |y/x| (x < 0).
    div2(yh, yl, xH, xL);
    if (!x.s) { packDD(r, H, L - H * 2 ** -200, d, sy); return; }
    ah = PI_H; al = PI_L;
  } else if (d > 200) {
    if (x.s) { ah = PIO2_H; al = PIO2_L + 2 ** -200; } else { ah = PIO2_H; al = PIO2_L - 2 ** -200; }
  } else {
    div2(yh * 2 ** d, yl * 2 ** d, xH, xL);
    const th = H, tl = L;
    if (th > 1) { div2(1, 0, th, tl); atanDD(H, L); ddAdd(PIO2_H, PIO2_L, -H, -L); }
    else atanDD(th, tl);
    ah = H; al = L;
    if (x.s) { ddAdd(PI_H, PI_L, -ah, -al); ah = H; al = L; }
  }
  packDD(r, ah, al, 0, sy);
}

/** NaN result of a two-operand transcendental: as the arithmetic rule (SNaN -> IE, QNaN wins, larger significand). */
function nanPair(r: F80, a: F80, b: F80, ka: number, kb: number): void {
  // FADD's NaN rule gives the same answer; reuse it with the values as operands.
  const save = env.exc;
  add(r, a, b, false, 64);
  env.exc = save | (ka === C_SNAN || kb === C_SNAN ? IE : 0);
}

/** FYL2X (r = y * log2 x) and FYL2XP1 (r = y * log2(x + 1)); y = ST(1), x = ST(0). */
function fyl2x(p1: boolean, r: F80, y: F80, x: F80, ky: number, kx: number): void {
  if (ky === C_UNSUPPORTED || kx === C_UNSUPPORTED) { env.exc |= IE; setIndefinite(r); return; }
  if (isNaNClass(ky) || isNaNClass(kx)) { nanPair(r, x, y, kx, ky); return; }
  // A negative argument (FYL2X) is invalid before any DE (measured).
  if (!p1 && x.s && kx !== C_ZERO) { env.exc |= IE; setIndefinite(r); return; }
  if ((ky === C_DENORMAL || kx === C_DENORMAL) && denormalOperand()) return;
  if (p1) {
    // log2(1 + x): x = 0 -> 0; y infinite with x = 0 -> invalid.
    if (kx === C_ZERO) { if (ky === C_INF) { env.exc |= IE; setIndefinite(r); } else setZero(r, x.s ^ y.s); return; }
    if (kx === C_INF) {
      if (x.s || ky === C_ZERO) { env.exc |= IE; setIndefinite(r); } else setInf(r, y.s);
      return;
    }
    toDD(x);
    if (x.s && xE >= 0) { env.exc |= IE; setIndefinite(r); return; }
    if (ky === C_ZERO) { setZero(r, x.s ^ y.s); return; }
    if (ky === C_INF) { setInf(r, x.s ^ y.s); return; }
    const ex = xE;
    let lh: number, ll: number, scale = 0;
    if (ex < -200) {
      // log2(1 + x) = x * log2(e) (1 - x/2 ...): x scaled.
      ddMul(xH, xL, LOG2E_H, LOG2E_L); lh = H; ll = L - H * 2 ** -200 * (x.s ? -1 : 1); scale = ex;
      if (x.s) { lh = -lh; ll = -ll; }
    } else {
      const xv = x.s ? -xH * 2 ** ex : xH * 2 ** ex, xvl = x.s ? -xL * 2 ** ex : xL * 2 ** ex;
      if (Math.abs(xv) < 0.4) {
        ddAdd(2, 0, xv, xvl); div2(xv, xvl, H, L); atanh2DD(H, L);
      } else {
        ddAdd(1, 0, xv, xvl); lnOf(H, L);
      }
      ddMul(H, L, LOG2E_H, LOG2E_L); lh = H; ll = L;
    }
    multiplyY(r, y, lh, ll, scale);
    return;
  }
  // FYL2X.
  if (kx !== C_ZERO && x.s) { env.exc |= IE; setIndefinite(r); return; }
  if (kx === C_ZERO) {
    if (ky === C_ZERO) { env.exc |= IE; setIndefinite(r); return; }
    if (ky !== C_INF) env.exc |= ZE;
    setInf(r, y.s ^ 1); return;
  }
  if (kx === C_INF) {
    if (ky === C_ZERO) { env.exc |= IE; setIndefinite(r); return; }
    setInf(r, y.s); return;
  }
  toDD(x);
  const isOne = xE === 0 && xH === 1 && xL === 0;
  if (isOne) { if (ky === C_INF) { env.exc |= IE; setIndefinite(r); } else setZero(r, y.s); return; }
  const below = xE < 0;
  if (ky === C_INF) { setInf(r, y.s ^ (below ? 1 : 0)); return; }
  if (ky === C_ZERO) { setZero(r, y.s ^ (below ? 1 : 0)); return; }
  let mh = xH, ml = xL, E = xE;
  if (mh > Math.SQRT2) { mh /= 2; ml /= 2; E += 1; }
  lnDD(mh, ml);
  ddMul(H, L, LOG2E_H, LOG2E_L);
  ddAdd(H, L, E, 0);
  multiplyY(r, y, H, L, 0);
}
/** ln(v) for v in (0.5, 2) as a double-double (v = vh + vl). */
function lnOf(vh: number, vl: number): void {
  if (vh > Math.SQRT2) { lnDD(vh / 2, vl / 2); ddAdd(H, L, LN2_H, LN2_L); }
  else if (vh < Math.SQRT1_2) { lnDD(vh * 2, vl * 2); ddAdd(H, L, -LN2_H, -LN2_L); }
  else lnDD(vh, vl);
}
/** r = y * (lh + ll) * 2^scale. */
function multiplyY(r: F80, y: F80, lh: number, ll: number, scale: number): void {
  toDD(y);
  ddMul(xH, xL, lh, ll);
  const s = (H < 0 ? 1 : 0) ^ y.s;
  packDD(r, Math.abs(H), H < 0 ? -L : L, scale + xE, s);
}

