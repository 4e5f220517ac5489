// MMX technology (SDM Vol. 1 ch. 9, Vol. 2 instruction pages): MM0-MM7 and every instruction that
// operates on them, i.e. the MMX set itself plus the SSE/SSE2/SSSE3 integer instructions with an mm
// form (PSHUFW, PINSRW/PEXTRW, PMOVMSKB, PAVGx, PMINx/PMAXx, PSADBW, PMULHUW, MOVNTQ, MASKMOVQ,
// PADDQ/PSUBQ/PMULUDQ, MOVQ2DQ/MOVDQ2Q, PSHUFB, PHADDx/PHSUBx, PABSx, PSIGNx, PALIGNR, PMADDUBSW,
// PMULHRSW). EMMS is in sse.ts with the other x87-state instructions.
//
// The MMX registers alias the x87 data registers (SDM Vol. 1 9.5): MMn is bits 63:0 of physical
// register Rn. The x87 state lives in c.fxArea as an FXSAVE image (FCW at 0, FSW at 2 with TOP in bits
// 13:11, abridged FTW at 4, ST(k) at 32 + 16k), so Rn is the slot ST((n - TOP) & 7). Every MMX
// instruction (SDM Vol. 1 Table 9-2):
//   - sets TOP = 0 (the slots are rotated so that slot n holds Rn = MMn) and marks every register
//     valid (abridged FTW = FFH); other x87 fields are unchanged;
//   - when it writes MMn, sets bits 79:64 (sign and exponent) of Rn to all ones.
// These changes happen only once the instruction can no longer fault (memory accesses come first),
// so a faulting instruction leaves the x87 state as it was.
//
// Exceptions: #UD if CR0.EM = 1, #NM if CR0.TS = 1, #MF for a pending x87 exception (mmxCheck);
// MOVQ2DQ/MOVDQ2Q also touch an XMM register and follow the SSE rule (#UD when CR4.OSFXSR = 0 too).
// Memory operands are 8 bytes (4 for MOVD and the low-half unpacks, 2 for PINSRW) with no alignment
// rule beyond #AC.
import type { Cpu } from '../cpu';
import { Insn, K_MM, K_REG } from '../insn';
import { defineMatching, memLin } from './operands';
import { CS, DS, ES, FS, GS, RDI, SS } from '../state';
import { mmxCheck, mulHiU32, satS16, satS8, satU16, satU8, sseCheck } from './sse';

// ---------------------------------------------------------------- the x87 register file as MM0-MM7

let viewOf: Uint8Array | null = null;
let F8 = new Uint8Array(0), F16 = new Uint16Array(0), F32 = new Int32Array(0);
/** Point the module's views at this processor's FXSAVE image (rebuilt only for a new Cpu). */
function views(c: Cpu): void {
  const f = c.fxArea;
  if (f === viewOf) return;
  viewOf = f;
  F8 = f;
  F16 = new Uint16Array(f.buffer, f.byteOffset, f.length >> 1);
  F32 = new Int32Array(f.buffer, f.byteOffset, f.length >> 2);
}

const FSW_HI = 3, FTW = 4, ST0 = 32;
const ROT = new Uint8Array(128);

/** x87 TOP (FSW bits 13:11). */
function top(c: Cpu): number { return (c.fxArea[FSW_HI] >> 3) & 7; }

/**
 * The x87 -> MMX transition every MMX instruction but EMMS makes: TOP = 0 (slot k of the image now
 * holds Rk, so the slots rotate when TOP was not 0) and all tags valid.
 */
function enter(c: Cpu): void {
  views(c);
  const t = (F8[FSW_HI] >> 3) & 7;
  if (t !== 0) {
    ROT.set(F8.subarray(ST0, ST0 + 128));
    // Old slot j is ST(j) = R[(t + j) & 7]; new slot k must hold Rk: j = (k - t) & 7.
    for (let k = 0; k < 8; k++) { const j = (k - t) & 7; F8.set(ROT.subarray(16 * j, 16 * j + 16), ST0 + 16 * k); }
    F8[FSW_HI] &= ~0x38;
  }
  F8[FTW] = 0xff;
}

// D: the destination operand's value; S: the source; T: a temporary result.
const D32 = new Int32Array(2), D16 = new Uint16Array(D32.buffer), DS16 = new Int16Array(D32.buffer),
  D8 = new Uint8Array(D32.buffer), DS8 = new Int8Array(D32.buffer);
const S32 = new Int32Array(2), S16 = new Uint16Array(S32.buffer), SS16 = new Int16Array(S32.buffer),
  S8 = new Uint8Array(S32.buffer), SS8 = new Int8Array(S32.buffer);
const T32 = new Int32Array(4), T16 = new Uint16Array(T32.buffer), T8 = new Uint8Array(T32.buffer);

/** MMn into `to` (after enter(): slot n is Rn). */
function get(n: number, to: Int32Array): void { to[0] = F32[8 + 4 * n]; to[1] = F32[9 + 4 * n]; }
/** D into MMn; bits 79:64 of Rn become all ones. */
function put(n: number): void { F32[8 + 4 * n] = D32[0]; F32[9 + 4 * n] = D32[1]; F16[20 + 8 * n] = 0xffff; }
/** Index in F32 of MMn's low half before enter() (while TOP may still be non-zero). */
function slotBefore(c: Cpu, n: number): number { return 8 + 4 * ((n - top(c)) & 7); }

/** Read the `n`-byte memory source operand into S (zero-extended to 8 bytes). */
function loadMem(c: Cpu, i: Insn, n: number): void {
  const lin = memLin(c, i, n, false);
  if (n === 8) { S32[0] = c.readLin64(lin); S32[1] = c.hi; }
  else { S32[0] = n === 4 ? c.readLin32(lin) : c.readLin16(lin); S32[1] = 0; }
}

// ---------------------------------------------------------------- handler builders

type Op = (imm: number) => void;

/** mm <- op(mm, mm/m`memBytes`) (the imm8 of the three-operand forms is passed to op). */
function binary(op: Op, memBytes = 8) {
  return {
    factory: (i: Insn) => {
      const d = i.r0, s = i.r1, imm = i.imm & 0xff;
      if (i.k1 === K_MM) return (c: Cpu) => { mmxCheck(c); enter(c); get(s, S32); get(d, D32); op(imm); put(d); };
      return (c: Cpu, i: Insn) => { mmxCheck(c); loadMem(c, i, memBytes); enter(c); get(d, D32); op(imm); put(d); };
    },
  };
}

// ---------------------------------------------------------------- data movement (SDM Vol. 2 MOVD/MOVQ)

// MOVQ mm, mm/m64 (0F 6F) and MOVQ mm/m64, mm (0F 7F).
defineMatching(/^Movq_mm_mmm64$/, binary(() => { D32[0] = S32[0]; D32[1] = S32[1]; }));
/** Stores of MMs (MOVQ/MOVNTQ m64, MOVD m32): read the register, write memory, then the transition. */
function storeMm(c: Cpu, i: Insn, s: number, n: number): void {
  views(c);
  const o = slotBefore(c, s);
  const lin = memLin(c, i, n, true);
  if (n === 8) c.writeLin64(lin, F32[o], F32[o + 1]);
  else c.writeLin32(lin, F32[o]);
  enter(c);
}
defineMatching(/^Movq_mmm64_mm$|^Movntq_m64_mm$/, {
  factory: (i: Insn) => {
    const s = i.r1, d = i.r0;
    if (i.k0 === K_MM) return (c: Cpu) => { mmxCheck(c); enter(c); get(s, D32); put(d); };
    return (c: Cpu, i: Insn) => { mmxCheck(c); storeMm(c, i, s, 8); };
  },
});
// MOVD mm, r/m32 and MOVQ mm, r/m64 (REX.W): zero-extended into the register.
function movToMm(q: boolean) {
  return {
    factory: (i: Insn) => {
      const d = i.r0;
      if (i.k1 === K_REG) {
        const r = 2 * i.r1;
        return (c: Cpu) => { mmxCheck(c); enter(c); D32[0] = c.R[r]; D32[1] = q ? c.R[r + 1] : 0; put(d); };
      }
      return (c: Cpu, i: Insn) => {
        mmxCheck(c); loadMem(c, i, q ? 8 : 4); enter(c);
        D32[0] = S32[0]; D32[1] = S32[1]; put(d);
      };
    },
  };
}
defineMatching(/^Movd_mm_rm32$/, movToMm(false));
defineMatching(/^Movq_mm_rm64$/, movToMm(true));
// MOVD r/m32, mm (a register destination is zero-extended to 64 bits) and MOVQ r/m64, mm.
function movFromMm(q: boolean) {
  return {
    factory: (i: Insn) => {
      const s = i.r1;
      if (i.k0 === K_REG) {
        const r = 2 * i.r0;
        return (c: Cpu) => { mmxCheck(c); enter(c); c.R[r] = F32[8 + 4 * s]; c.R[r + 1] = q ? F32[9 + 4 * s] : 0; };
      }
      return (c: Cpu, i: Insn) => { mmxCheck(c); storeMm(c, i, s, q ? 8 : 4); };
    },
  };
}
defineMatching(/^Movd_rm32_mm$/, movFromMm(false));
defineMatching(/^Movq_rm64_mm$/, movFromMm(true));

// MOVQ2DQ xmm, mm: low quadword <- mm, high quadword zeroed. MOVDQ2Q mm, xmm: mm <- low quadword.
// Both are SSE2 instructions touching an XMM register: the SSE #UD/#NM rule (CR4.OSFXSR) applies.
defineMatching(/^Movq2dq_xmm_mm$/, {
  factory: (i: Insn) => {
    const d = 4 * i.r0, s = i.r1;
    return (c: Cpu) => {
      sseCheck(c); enter(c);
      const x = c.xmm;
      x[d] = F32[8 + 4 * s]; x[d + 1] = F32[9 + 4 * s]; x[d + 2] = 0; x[d + 3] = 0;
    };
  },
});
defineMatching(/^Movdq2q_mm_xmm$/, {
  factory: (i: Insn) => {
    const d = i.r0, s = 4 * i.r1;
    return (c: Cpu) => { sseCheck(c); enter(c); D32[0] = c.xmm[s]; D32[1] = c.xmm[s + 1]; put(d); };
  },
});

// ---------------------------------------------------------------- logic (SDM Vol. 1 9.4.6)

defineMatching(/^Pand_mm_mmm64$/, binary(() => { D32[0] &= S32[0]; D32[1] &= S32[1]; }));
defineMatching(/^Pandn_mm_mmm64$/, binary(() => { D32[0] = ~D32[0] & S32[0]; D32[1] = ~D32[1] & S32[1]; }));
defineMatching(/^Por_mm_mmm64$/, binary(() => { D32[0] |= S32[0]; D32[1] |= S32[1]; }));
defineMatching(/^Pxor_mm_mmm64$/, binary(() => { D32[0] ^= S32[0]; D32[1] ^= S32[1]; }));

// ---------------------------------------------------------------- arithmetic (SDM Vol. 1 9.4.3, 9.4.4)

defineMatching(/^Paddb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] += S8[k]; }));
defineMatching(/^Paddw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] += S16[k]; }));
defineMatching(/^Paddd_mm_mmm64$/, binary(() => { D32[0] = (D32[0] + S32[0]) | 0; D32[1] = (D32[1] + S32[1]) | 0; }));
defineMatching(/^Paddq_mm_mmm64$/, binary(() => {
  const lo = (D32[0] >>> 0) + (S32[0] >>> 0);
  D32[0] = lo | 0;
  D32[1] = (D32[1] + S32[1] + (lo > 0xffffffff ? 1 : 0)) | 0;
}));
defineMatching(/^Psubb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] -= S8[k]; }));
defineMatching(/^Psubw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] -= S16[k]; }));
defineMatching(/^Psubd_mm_mmm64$/, binary(() => { D32[0] = (D32[0] - S32[0]) | 0; D32[1] = (D32[1] - S32[1]) | 0; }));
defineMatching(/^Psubq_mm_mmm64$/, binary(() => {
  const lo = (D32[0] >>> 0) - (S32[0] >>> 0);
  D32[0] = lo | 0;
  D32[1] = (D32[1] - S32[1] - (lo < 0 ? 1 : 0)) | 0;
}));
defineMatching(/^Paddsb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) DS8[k] = satS8(DS8[k] + SS8[k]); }));
defineMatching(/^Paddsw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) DS16[k] = satS16(DS16[k] + SS16[k]); }));
defineMatching(/^Paddusb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] = satU8(D8[k] + S8[k]); }));
defineMatching(/^Paddusw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = satU16(D16[k] + S16[k]); }));
defineMatching(/^Psubsb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) DS8[k] = satS8(DS8[k] - SS8[k]); }));
defineMatching(/^Psubsw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) DS16[k] = satS16(DS16[k] - SS16[k]); }));
defineMatching(/^Psubusb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] = satU8(D8[k] - S8[k]); }));
defineMatching(/^Psubusw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = satU16(D16[k] - S16[k]); }));

// Multiplies.
defineMatching(/^Pmullw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = Math.imul(D16[k], S16[k]); }));
defineMatching(/^Pmulhw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) DS16[k] = (DS16[k] * SS16[k]) >> 16; }));
defineMatching(/^Pmulhuw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = (D16[k] * S16[k]) >>> 16; }));
defineMatching(/^Pmaddwd_mm_mmm64$/, binary(() => {
  const a = (DS16[0] * SS16[0] + DS16[1] * SS16[1]) | 0, b = (DS16[2] * SS16[2] + DS16[3] * SS16[3]) | 0;
  D32[0] = a; D32[1] = b;
}));
// PMULUDQ (SSE2): the unsigned 64-bit product of the low doublewords.
defineMatching(/^Pmuludq_mm_mmm64$/, binary(() => {
  const a = D32[0], b = S32[0];
  D32[1] = mulHiU32(a, b); D32[0] = Math.imul(a, b);
}));
// PMULHRSW (SSSE3): ((a * b >> 14) + 1) >> 1, the low 16 bits (0x8000 * 0x8000 gives 0x8000).
defineMatching(/^Pmulhrsw_mm_mmm64$/, binary(() => {
  for (let k = 0; k < 4; k++) DS16[k] = (((DS16[k] * SS16[k]) >> 14) + 1) >> 1;
}));
// PMADDUBSW (SSSE3): unsigned destination bytes times signed source bytes, pairs added with saturation.
defineMatching(/^Pmaddubsw_mm_mmm64$/, binary(() => {
  for (let k = 0; k < 4; k++) T16[k] = satS16(D8[2 * k] * SS8[2 * k] + D8[2 * k + 1] * SS8[2 * k + 1]);
  D32[0] = T32[0]; D32[1] = T32[1];
}));

// Compares: all ones where true.
defineMatching(/^Pcmpeqb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] = D8[k] === S8[k] ? 0xff : 0; }));
defineMatching(/^Pcmpeqw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = D16[k] === S16[k] ? 0xffff : 0; }));
defineMatching(/^Pcmpeqd_mm_mmm64$/, binary(() => { for (let k = 0; k < 2; k++) D32[k] = D32[k] === S32[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) DS8[k] = DS8[k] > SS8[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) DS16[k] = DS16[k] > SS16[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtd_mm_mmm64$/, binary(() => { for (let k = 0; k < 2; k++) D32[k] = D32[k] > S32[k] ? -1 : 0; }));

// Minimum / maximum, averages (rounded up), sum of absolute differences (SSE).
defineMatching(/^Pminub_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) if (S8[k] < D8[k]) D8[k] = S8[k]; }));
defineMatching(/^Pmaxub_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) if (S8[k] > D8[k]) D8[k] = S8[k]; }));
defineMatching(/^Pminsw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) if (SS16[k] < DS16[k]) DS16[k] = SS16[k]; }));
defineMatching(/^Pmaxsw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) if (SS16[k] > DS16[k]) DS16[k] = SS16[k]; }));
defineMatching(/^Pavgb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] = (D8[k] + S8[k] + 1) >> 1; }));
defineMatching(/^Pavgw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = (D16[k] + S16[k] + 1) >> 1; }));
defineMatching(/^Psadbw_mm_mmm64$/, binary(() => {
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += Math.abs(D8[k] - S8[k]);
  D32[0] = sum; D32[1] = 0;
}));

// SSSE3: absolute value of the source, sign of the source applied to the destination.
defineMatching(/^Pabsb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) D8[k] = Math.abs(SS8[k]); }));
defineMatching(/^Pabsw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) D16[k] = Math.abs(SS16[k]); }));
defineMatching(/^Pabsd_mm_mmm64$/, binary(() => { for (let k = 0; k < 2; k++) D32[k] = Math.abs(S32[k]) | 0; }));
defineMatching(/^Psignb_mm_mmm64$/, binary(() => { for (let k = 0; k < 8; k++) DS8[k] = SS8[k] < 0 ? -DS8[k] : SS8[k] === 0 ? 0 : DS8[k]; }));
defineMatching(/^Psignw_mm_mmm64$/, binary(() => { for (let k = 0; k < 4; k++) DS16[k] = SS16[k] < 0 ? -DS16[k] : SS16[k] === 0 ? 0 : DS16[k]; }));
defineMatching(/^Psignd_mm_mmm64$/, binary(() => { for (let k = 0; k < 2; k++) D32[k] = S32[k] < 0 ? -D32[k] | 0 : S32[k] === 0 ? 0 : D32[k]; }));

// SSSE3 horizontal add/subtract: adjacent pairs of the destination, then of the source.
function horizontalW(f: (a: number, b: number) => number) {
  return binary(() => {
    T16[0] = f(DS16[0], DS16[1]); T16[1] = f(DS16[2], DS16[3]);
    T16[2] = f(SS16[0], SS16[1]); T16[3] = f(SS16[2], SS16[3]);
    D32[0] = T32[0]; D32[1] = T32[1];
  });
}
defineMatching(/^Phaddw_mm_mmm64$/, horizontalW((a, b) => a + b));
defineMatching(/^Phaddsw_mm_mmm64$/, horizontalW((a, b) => satS16(a + b)));
defineMatching(/^Phsubw_mm_mmm64$/, horizontalW((a, b) => a - b));
defineMatching(/^Phsubsw_mm_mmm64$/, horizontalW((a, b) => satS16(a - b)));
defineMatching(/^Phaddd_mm_mmm64$/, binary(() => { D32[0] = (D32[0] + D32[1]) | 0; D32[1] = (S32[0] + S32[1]) | 0; }));
defineMatching(/^Phsubd_mm_mmm64$/, binary(() => { D32[0] = (D32[0] - D32[1]) | 0; D32[1] = (S32[0] - S32[1]) | 0; }));

// ---------------------------------------------------------------- pack / unpack (SDM Vol. 1 9.4.7)

defineMatching(/^Packsswb_mm_mmm64$/, binary(() => {
  for (let k = 0; k < 4; k++) { T8[k] = satS8(DS16[k]); T8[4 + k] = satS8(SS16[k]); }
  D32[0] = T32[0]; D32[1] = T32[1];
}));
defineMatching(/^Packuswb_mm_mmm64$/, binary(() => {
  for (let k = 0; k < 4; k++) { T8[k] = satU8(DS16[k]); T8[4 + k] = satU8(SS16[k]); }
  D32[0] = T32[0]; D32[1] = T32[1];
}));
defineMatching(/^Packssdw_mm_mmm64$/, binary(() => {
  T16[0] = satS16(D32[0]); T16[1] = satS16(D32[1]); T16[2] = satS16(S32[0]); T16[3] = satS16(S32[1]);
  D32[0] = T32[0]; D32[1] = T32[1];
}));
/** Interleave `size`-byte elements of the low (high = 0) or high (1) halves of the destination and source. */
function unpack(size: number, high: number): Op {
  return () => {
    const base = 4 * high, n = 4 / size;
    for (let e = 0; e < n; e++) {
      for (let b = 0; b < size; b++) {
        T8[2 * e * size + b] = D8[base + e * size + b];
        T8[(2 * e + 1) * size + b] = S8[base + e * size + b];
      }
    }
    D32[0] = T32[0]; D32[1] = T32[1];
  };
}
// The low-half forms read only 32 bits from memory (mm, mm/m32).
defineMatching(/^Punpcklbw_mm_mmm32$/, binary(unpack(1, 0), 4));
defineMatching(/^Punpcklwd_mm_mmm32$/, binary(unpack(2, 0), 4));
defineMatching(/^Punpckldq_mm_mmm32$/, binary(unpack(4, 0), 4));
defineMatching(/^Punpckhbw_mm_mmm64$/, binary(unpack(1, 1)));
defineMatching(/^Punpckhwd_mm_mmm64$/, binary(unpack(2, 1)));
defineMatching(/^Punpckhdq_mm_mmm64$/, binary(unpack(4, 1)));

// ---------------------------------------------------------------- shuffles

// PSHUFW (SSE): word k <- source word (imm >> 2k) & 3.
defineMatching(/^Pshufw_mm_mmm64_imm8$/, binary((imm) => { for (let k = 0; k < 4; k++) D16[k] = S16[(imm >> (2 * k)) & 3]; }));
// PSHUFB (SSSE3): each control byte selects a destination byte (low 3 bits), or zero when bit 7 is set.
defineMatching(/^Pshufb_mm_mmm64$/, binary(() => {
  T32[0] = D32[0]; T32[1] = D32[1];
  for (let k = 0; k < 8; k++) { const s = S8[k]; D8[k] = s & 0x80 ? 0 : T8[s & 7]; }
}));
// PALIGNR (SSSE3): (dest:src) >> (imm * 8), the low 8 bytes (zero beyond the 16).
defineMatching(/^Palignr_mm_mmm64_imm8$/, binary((imm) => {
  T32[0] = S32[0]; T32[1] = S32[1]; T32[2] = D32[0]; T32[3] = D32[1];
  for (let k = 0; k < 8; k++) { const j = k + imm; D8[k] = j < 16 ? T8[j] : 0; }
}));

// ---------------------------------------------------------------- shifts (SDM Vol. 1 9.4.8)

type Shift = (n: number) => void;
function shlW(n: number): void { for (let k = 0; k < 4; k++) D16[k] = n > 15 ? 0 : D16[k] << n; }
function shrW(n: number): void { for (let k = 0; k < 4; k++) D16[k] = n > 15 ? 0 : D16[k] >>> n; }
function sarW(n: number): void { const m = n > 15 ? 15 : n; for (let k = 0; k < 4; k++) DS16[k] = DS16[k] >> m; }
function shlD(n: number): void { for (let k = 0; k < 2; k++) D32[k] = n > 31 ? 0 : D32[k] << n; }
function shrD(n: number): void { for (let k = 0; k < 2; k++) D32[k] = n > 31 ? 0 : D32[k] >>> n; }
function sarD(n: number): void { const m = n > 31 ? 31 : n; for (let k = 0; k < 2; k++) D32[k] = D32[k] >> m; }
function shlQ(n: number): void {
  const lo = D32[0], hi = D32[1];
  if (n > 63) { D32[0] = 0; D32[1] = 0; }
  else if (n >= 32) { D32[1] = lo << (n - 32); D32[0] = 0; }
  else if (n > 0) { D32[1] = (hi << n) | (lo >>> (32 - n)); D32[0] = lo << n; }
}
function shrQ(n: number): void {
  const lo = D32[0], hi = D32[1];
  if (n > 63) { D32[0] = 0; D32[1] = 0; }
  else if (n >= 32) { D32[0] = hi >>> (n - 32); D32[1] = 0; }
  else if (n > 0) { D32[0] = (lo >>> n) | (hi << (32 - n)); D32[1] = hi >>> n; }
}
/** The 64-bit count of the mm/m64 forms, saturated at 255 (every count above 63 acts the same). */
function countFromS(): number {
  return S32[1] !== 0 || S32[0] < 0 || S32[0] > 255 ? 255 : S32[0];
}
const SHIFTS: [string, Shift][] = [['Psllw', shlW], ['Psrlw', shrW], ['Psraw', sarW], ['Pslld', shlD], ['Psrld', shrD],
  ['Psrad', sarD], ['Psllq', shlQ], ['Psrlq', shrQ]];
for (const [name, f] of SHIFTS) {
  defineMatching(new RegExp(`^${name}_mm_imm8$`), {
    factory: (i: Insn) => {
      const d = i.r0, n = i.imm & 0xff;
      return (c: Cpu) => { mmxCheck(c); enter(c); get(d, D32); f(n); put(d); };
    },
  });
  defineMatching(new RegExp(`^${name}_mm_mmm64$`), binary(() => f(countFromS())));
}

// ---------------------------------------------------------------- insert / extract / mask (SSE)

// PINSRW mm, r32/m16, imm8: word (imm & 3) <- the low word of the GPR or the memory word.
defineMatching(/^Pinsrw_mm_r(32|64)m16_imm8$/, {
  factory: (i: Insn) => {
    const d = i.r0, k = i.imm & 3;
    if (i.k1 === K_REG) {
      const r = 2 * i.r1;
      return (c: Cpu) => { mmxCheck(c); enter(c); get(d, D32); D16[k] = c.R[r]; put(d); };
    }
    return (c: Cpu, i: Insn) => { mmxCheck(c); loadMem(c, i, 2); enter(c); get(d, D32); D16[k] = S16[0]; put(d); };
  },
});
// PEXTRW r32/r64, mm, imm8: word (imm & 3), zero-extended into the GPR.
defineMatching(/^Pextrw_r(32|64)_mm_imm8$/, {
  factory: (i: Insn) => {
    const r = 2 * i.r0, s = i.r1, k = i.imm & 3;
    return (c: Cpu) => { mmxCheck(c); enter(c); c.R[r] = F16[16 + 8 * s + k]; c.R[r + 1] = 0; };
  },
});
// PMOVMSKB r32/r64, mm: the byte sign bits, zero-extended into the GPR.
defineMatching(/^Pmovmskb_r(32|64)_mm$/, {
  factory: (i: Insn) => {
    const r = 2 * i.r0, s = i.r1;
    return (c: Cpu) => {
      mmxCheck(c); enter(c);
      let m = 0;
      for (let k = 0; k < 8; k++) m |= (F8[ST0 + 16 * s + k] >> 7) << k;
      c.R[r] = m; c.R[r + 1] = 0;
    };
  },
});

/** Segment of MASKMOVQ's DS:[rDI] operand: DS unless a segment prefix overrides it (FS/GS only in 64-bit mode). */
function prefixSegment(i: Insn): number {
  let seg = DS;
  for (const b of i.bytes) {
    const s = b === 0x26 ? ES : b === 0x2e ? CS : b === 0x36 ? SS : b === 0x3e ? DS : b === 0x64 ? FS : b === 0x65 ? GS : -1;
    if (s >= 0) { if (i.bits !== 64 || s === FS || s === GS) seg = s; continue; }
    if (b === 0x66 || b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3) continue;
    break;
  }
  return seg;
}
// MASKMOVQ mm1, mm2: store the bytes of mm1 whose mask byte (mm2) has bit 7 set at DS:[rDI] (SDM Vol. 2
// MASKMOVQ). The operand is checked as an 8-byte write (segment limit, both pages) before any byte is
// stored, so a fault stores nothing; with an all-zero mask nothing is accessed.
defineMatching(/^Maskmovq_rDI_mm_mm$/, {
  factory: (i: Insn) => {
    const src = i.r1, mask = i.r2, asz = i.asz, seg = prefixSegment(i);
    return (c: Cpu) => {
      mmxCheck(c); views(c);
      const t = top(c), so = ST0 + 16 * ((src - t) & 7), mo = ST0 + 16 * ((mask - t) & 7);
      let m = 0;
      for (let k = 0; k < 8; k++) m |= (F8[mo + k] >> 7) << k;
      if (m !== 0) {
        const R = c.R;
        const off = asz === 64 ? R[2 * RDI + 1] * 4294967296 + (R[2 * RDI] >>> 0)
          : asz === 32 ? R[2 * RDI] >>> 0 : R[2 * RDI] & 0xffff;
        const lin = c.linear(seg, off, 8, true);
        c.probeWrite(lin, 8);
        for (let k = 0; k < 8; k++) {
          if (m & (1 << k)) c.writeLin8(c.codeBits === 64 ? lin + k : (lin + k) >>> 0, F8[so + k]);
        }
      }
      enter(c);
    };
  },
});
