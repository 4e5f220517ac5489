// SSE4.2 packed string compares (SDM Vol. 2B PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM and Vol. 1
// 12.2.1 "String and text processing"): imm8[1:0] element format (unsigned/signed bytes/words),
// [3:2] aggregation (equal any, ranges, equal each, equal ordered), [5:4] polarity, [6] output
// selection. Implicit-length forms end each operand at its first zero element, explicit-length forms
// take |EAX| / |EDX| (RAX/RDX with REX.W), saturated. glibc's SSE4.2 string functions (strcmp,
// strcspn...) use them once CPUID.1:ECX.SSE4_2 is set, which the modelled CPUID advertises.
import type { Cpu } from '../cpu';
import { type Insn, K_XMM } from '../insn';
import { defineMatching, memLin } from './operands';
import { AF, CF, OF, PF, SF, ZF } from '../state';
import { setArithFlags } from '../flags';
import { sseCheck } from './sse';

const A = new Int32Array(16), B = new Int32Array(16);
const RAW = new Int32Array(4), RAW8 = new Uint8Array(RAW.buffer), RAW16 = new Uint16Array(RAW.buffer);
const RAWS8 = new Int8Array(RAW.buffer), RAWS16 = new Int16Array(RAW.buffer);

/** Unpack 16 bytes (RAW) into `out` as n elements of the format. */
function elements(out: Int32Array, fmt: number): void {
  const n = fmt & 1 ? 8 : 16;
  for (let k = 0; k < n; k++) out[k] = fmt === 0 ? RAW8[k] : fmt === 1 ? RAW16[k] : fmt === 2 ? RAWS8[k] : RAWS16[k];
}

function implicitLength(v: Int32Array, n: number): number {
  for (let k = 0; k < n; k++) if (v[k] === 0) return k;
  return n;
}

function explicitLength(c: Cpu, reg: number, wide: boolean, n: number): number {
  const lo = c.R[2 * reg], hi = c.R[2 * reg + 1];
  // |value| saturated to n: a 64-bit value is negative by its high half, a 32-bit one by its low half.
  const neg = wide ? hi < 0 : lo < 0;
  let mag: number;
  if (wide) mag = neg ? (hi !== -1 ? Infinity : -lo) : (hi !== 0 ? Infinity : lo >>> 0);
  else mag = neg ? -lo : lo;
  return mag > n ? n : mag;
}

/** The comparison core: IntRes2 as a bit mask; la/lb the valid lengths of xmm1 (a) and xmm2/m (b). */
function compare(imm: number, n: number, la: number, lb: number): number {
  const agg = (imm >> 2) & 3;
  let res = 0;
  for (let j = 0; j < n; j++) {
    let bit = 0;
    switch (agg) {
      case 0: // equal any: b[j] is one of a's valid elements
        if (j < lb) for (let i = 0; i < la; i++) if (A[i] === B[j]) { bit = 1; break; }
        break;
      case 1: // ranges: a[i] <= b[j] <= a[i+1] for some valid pair
        if (j < lb) for (let i = 0; i + 1 < la; i += 2) if (A[i] <= B[j] && B[j] <= A[i + 1]) { bit = 1; break; }
        break;
      case 2: // equal each: both invalid is a match, one invalid is not
        bit = j >= la && j >= lb ? 1 : j >= la || j >= lb ? 0 : A[j] === B[j] ? 1 : 0;
        break;
      default: { // equal ordered: a (up to its end) occurs in b at j
        bit = 1;
        for (let i = 0; i < n - j; i++) {
          const k = j + i;
          if (i >= la) break;            // a ended: the rest matches
          if (k >= lb || A[i] !== B[k]) { bit = 0; break; }
        }
      }
    }
    res |= bit << j;
  }
  const full = n === 16 ? 0xffff : 0xff;
  switch ((imm >> 4) & 3) {
    case 1: res = ~res & full; break;                                   // negative polarity
    case 3: res = (res ^ ((1 << lb) - 1)) & full; break;                // masked negative: only valid b elements
  }
  return res;
}

function run(c: Cpu, i: Insn, explicit: boolean, wide: boolean): { res: number; n: number; la: number; lb: number } {
  sseCheck(c);
  const imm = i.imm & 0xff, fmt = imm & 3, n = fmt & 1 ? 8 : 16;
  // Operand 2 (xmm/m128, no alignment requirement) first: a fault leaves everything unchanged.
  if (i.k1 === K_XMM) { const o = 4 * i.r1; for (let k = 0; k < 4; k++) RAW[k] = c.xmm[o + k]; }
  else {
    const lin = memLin(c, i, 16, false);
    RAW[0] = c.readLin64(lin); RAW[1] = c.hi;
    RAW[2] = c.readLin64(c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0); RAW[3] = c.hi;
  }
  elements(B, fmt);
  { const o = 4 * i.r0; for (let k = 0; k < 4; k++) RAW[k] = c.xmm[o + k]; }
  elements(A, fmt);
  const la = explicit ? explicitLength(c, 0, wide, n) : implicitLength(A, n);
  const lb = explicit ? explicitLength(c, 2, wide, n) : implicitLength(B, n);
  return { res: compare(imm, n, la, lb), n, la, lb };
}

/** CF: any match, ZF: xmm2/m shorter than n, SF: xmm1 shorter than n, OF: IntRes2[0]; AF = PF = 0. */
function flags(c: Cpu, r: { res: number; n: number; la: number; lb: number }): void {
  setArithFlags(c, CF | PF | AF | ZF | SF | OF,
    (r.res ? CF : 0) | (r.lb < r.n ? ZF : 0) | (r.la < r.n ? SF : 0) | (r.res & 1 ? OF : 0));
}

function index(explicit: boolean, wide = false) {
  return (c: Cpu, i: Insn) => {
    const r = run(c, i, explicit, wide);
    const msb = (i.imm & 0x40) !== 0;
    const idx = r.res === 0 ? r.n : msb ? 31 - Math.clz32(r.res) : 31 - Math.clz32(r.res & -r.res);
    c.set32(1, idx); // ECX (RCX's upper half cleared)
    flags(c, r);
  };
}

function mask(explicit: boolean, wide = false) {
  return (c: Cpu, i: Insn) => {
    const r = run(c, i, explicit, wide);
    const x = c.xmm;
    if (i.imm & 0x40) { // expanded: each element all ones where its bit is set
      const elem = r.n === 16 ? 1 : 2;
      for (let k = 0; k < r.n; k++) for (let b = 0; b < elem; b++) RAW8[k * elem + b] = (r.res >> k) & 1 ? 0xff : 0;
      for (let k = 0; k < 4; k++) x[k] = RAW[k];
    } else { x[0] = r.res; x[1] = 0; x[2] = 0; x[3] = 0; }
    flags(c, r);
  };
}

defineMatching(/^Pcmpistri_xmm_xmmm128_imm8$/, index(false));
defineMatching(/^Pcmpestri_xmm_xmmm128_imm8$/, index(true));
defineMatching(/^Pcmpestri64_xmm_xmmm128_imm8$/, index(true, true));
defineMatching(/^Pcmpistrm_xmm_xmmm128_imm8$/, mask(false));
defineMatching(/^Pcmpestrm_xmm_xmmm128_imm8$/, mask(true));
defineMatching(/^Pcmpestrm64_xmm_xmmm128_imm8$/, mask(true, true));
