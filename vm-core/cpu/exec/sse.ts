// SSE/SSE2 (and the SSSE3/SSE4.1 integer operations gcc emits): XMM data movement, packed integer
// arithmetic, logic, compares, shuffles and shifts, MXCSR and FXSAVE/FXRSTOR state management, plus
// the x87 control instructions a C runtime touches (SDM Vol. 1 ch. 10-12, Vol. 2 instruction pages).
// Floating-point arithmetic, conversions and compares are not emulated (they stop with a report).
// XMM registers live in c.xmm as four little-endian 32-bit lanes each; handlers work on typed-array
// views of that buffer and on module-level scratch registers, so nothing is allocated per instruction.
import type { Cpu } from '../cpu';
import { Insn, K_REG, K_XMM } from '../insn';
import { defineMatching, memLin } from './operands';
import { AF, CF, CR0_EM, CR0_TS, CR4_OSFXSR, OF, PF, SF, ZF } from '../state';
import { setArithFlags } from '../flags';
import { x87PendingCheck } from './x87';

// ---------------------------------------------------------------- availability (SDM Vol. 3A 2.5, 13.1)

/** Legacy SSE rule: #UD if CR0.EM=1 or CR4.OSFXSR=0, then #NM if CR0.TS=1 (SDM Vol. 1 Table 13-?/Vol. 3A 2.5). */
export function sseCheck(c: Cpu): void {
  if ((c.cr0 & CR0_EM) || !(c.cr4 & CR4_OSFXSR)) c.ud();
  if (c.cr0 & CR0_TS) c.fault(7);
}
/** x87 rule (FNINIT, FNSTCW, FXSAVE...): #NM if CR0.EM=1 or CR0.TS=1 (SDM Vol. 3A 2.5, Table 2-2). */
function x87Check(c: Cpu): void {
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(7);
}
/** MMX-state rule (EMMS): #UD if CR0.EM=1, #NM if CR0.TS=1, then #MF for a pending x87 exception (SDM Vol. 2 EMMS). */
export function mmxCheck(c: Cpu): void {
  if (c.cr0 & CR0_EM) c.ud();
  if (c.cr0 & CR0_TS) c.fault(7);
  x87PendingCheck(c);
}

// ---------------------------------------------------------------- register views and scratch

let viewOf: Int32Array | null = null;
let X32 = new Int32Array(0), X16 = new Uint16Array(0), XS16 = new Int16Array(0), X8 = new Uint8Array(0),
  XS8 = new Int8Array(0);
/** Point the module's views at this processor's XMM file (identity check; rebuilt only on a new Cpu). */
function views(c: Cpu): void {
  const x = c.xmm;
  if (x === viewOf) return;
  viewOf = x;
  X32 = x;
  X16 = new Uint16Array(x.buffer, x.byteOffset, x.length * 2);
  XS16 = new Int16Array(x.buffer, x.byteOffset, x.length * 2);
  X8 = new Uint8Array(x.buffer, x.byteOffset, x.length * 4);
  XS8 = new Int8Array(x.buffer, x.byteOffset, x.length * 4);
}

// S: the source operand; T: a temporary result (so a destination can also be a source).
const S32 = new Int32Array(4), S16 = new Uint16Array(S32.buffer), SS16 = new Int16Array(S32.buffer),
  S8 = new Uint8Array(S32.buffer), SS8 = new Int8Array(S32.buffer);
const T32 = new Int32Array(8), T16 = new Uint16Array(T32.buffer), T8 = new Uint8Array(T32.buffer);

function copyToX(d: number): void {
  const o = 4 * d;
  X32[o] = T32[0]; X32[o + 1] = T32[1]; X32[o + 2] = T32[2]; X32[o + 3] = T32[3];
}

// ---------------------------------------------------------------- memory operands

function plus8(c: Cpu, lin: number): number {
  return c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0;
}
/** Read the 16-byte memory operand into dst[o..o+3]; `aligned`: #GP(0) unless 16-byte aligned (SDM Vol. 1 10.4.1.1). */
function readM128(c: Cpu, i: Insn, aligned: boolean, dst: Int32Array, o: number): void {
  const lin = memLin(c, i, 16, false);
  if (aligned && (lin & 15)) c.gp(0);
  const a = c.readLin64(lin), b = c.hi;
  const d = c.readLin64(plus8(c, lin)), e = c.hi;
  dst[o] = a; dst[o + 1] = b; dst[o + 2] = d; dst[o + 3] = e;
}
/** Before a page-crossing write: check the next page (CR2 = its first byte) so nothing is written on a #PF. */
function probeNextPage(c: Cpu, lin: number): void {
  c.probeWrite(lin, 1);
  const next = lin - (lin & 0xfff) + 0x1000;
  c.probeWrite(c.codeBits === 64 ? next : next >>> 0, 1);
}
/** Write src[o..o+3] to the 16-byte memory operand, checking both pages before writing anything. */
function writeM128(c: Cpu, i: Insn, aligned: boolean, src: Int32Array, o: number): void {
  const lin = memLin(c, i, 16, true);
  if (aligned && (lin & 15)) c.gp(0);
  if ((lin & 0xfff) > 0xff0) probeNextPage(c, lin);
  c.writeLin64(lin, src[o], src[o + 1]);
  c.writeLin64(plus8(c, lin), src[o + 2], src[o + 3]);
}
/** Load the source operand (xmm or m128) into S. */
function loadSrc(c: Cpu, i: Insn, aligned: boolean): void {
  if (i.k1 === K_XMM) {
    const o = 4 * i.r1;
    S32[0] = X32[o]; S32[1] = X32[o + 1]; S32[2] = X32[o + 2]; S32[3] = X32[o + 3];
  } else readM128(c, i, aligned, S32, 0);
}
/** Load the low `n` bytes of the source (xmm, or an n-byte memory operand) into S, zeroing the rest. */
function loadSrcLow(c: Cpu, i: Insn, n: number): void {
  if (i.k1 === K_XMM) {
    const o = 4 * i.r1;
    S32[0] = X32[o]; S32[1] = X32[o + 1]; S32[2] = X32[o + 2]; S32[3] = X32[o + 3];
    return;
  }
  const lin = memLin(c, i, n, false);
  S32[0] = 0; S32[1] = 0; S32[2] = 0; S32[3] = 0;
  switch (n) {
    case 2: S32[0] = c.readLin16(lin); break;
    case 4: S32[0] = c.readLin32(lin); break;
    default: S32[0] = c.readLin64(lin); S32[1] = c.hi;
  }
}

// ---------------------------------------------------------------- handler builders

type Op = (d: number, imm: number) => void;

/** dst xmm <- op(dst, src xmm/m128); legacy SSE m128 operands must be 16-byte aligned. */
function packed(op: Op) {
  return {
    factory: (i: Insn) => {
      const d = i.r0, imm = i.imm & 0xff;
      return (c: Cpu, i: Insn) => {
        sseCheck(c); views(c);
        loadSrc(c, i, true);
        op(d, imm);
      };
    },
  };
}
/** Like packed() but the memory source has `n` bytes (PMOVZX/PMOVSX, MOVDDUP). */
function packedLow(n: number, op: Op) {
  return {
    factory: (i: Insn) => {
      const d = i.r0, imm = i.imm & 0xff;
      return (c: Cpu, i: Insn) => {
        sseCheck(c); views(c);
        loadSrcLow(c, i, n);
        op(d, imm);
      };
    },
  };
}

// ---------------------------------------------------------------- data movement (SDM Vol. 1 10.4.1, 11.4.1)

/** MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU/LDDQU/MOVNTDQA loads and register moves. */
function moveLoad(aligned: boolean) {
  return {
    factory: (i: Insn) => {
      const d = 4 * i.r0;
      if (i.k1 === K_XMM) {
        const s = 4 * i.r1;
        return (c: Cpu) => {
          sseCheck(c);
          const x = c.xmm;
          x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
        };
      }
      return (c: Cpu, i: Insn) => { sseCheck(c); readM128(c, i, aligned, c.xmm, d); };
    },
  };
}
/** Store forms (xmm/m128, xmm), including MOVNTPS/MOVNTPD/MOVNTDQ (always aligned). */
function moveStore(aligned: boolean) {
  return {
    factory: (i: Insn) => {
      const s = 4 * i.r1;
      if (i.k0 === K_XMM) {
        const d = 4 * i.r0;
        return (c: Cpu) => {
          sseCheck(c);
          const x = c.xmm;
          x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
        };
      }
      return (c: Cpu, i: Insn) => { sseCheck(c); writeM128(c, i, aligned, c.xmm, s); };
    },
  };
}
defineMatching(/^(Movaps|Movapd|Movdqa)_xmm_xmmm128$|^Movntdqa_xmm_m128$/, moveLoad(true));
defineMatching(/^(Movups|Movupd|Movdqu)_xmm_xmmm128$|^Lddqu_xmm_m128$/, moveLoad(false));
defineMatching(/^(Movaps|Movapd|Movdqa)_xmmm128_xmm$|^(Movntps|Movntpd|Movntdq)_m128_xmm$/, moveStore(true));
defineMatching(/^(Movups|Movupd|Movdqu)_xmmm128_xmm$/, moveStore(false));

// MOVD/MOVQ xmm, r/m32|r/m64: zero-extend into the whole register (SDM Vol. 2 MOVD/MOVQ).
function movToXmm(q: boolean) {
  return {
    factory: (i: Insn) => {
      const d = 4 * i.r0;
      return (c: Cpu, i: Insn) => {
        sseCheck(c);
        let lo: number, hi = 0;
        if (i.k1 === K_REG) { lo = c.R[2 * i.r1]; if (q) hi = c.R[2 * i.r1 + 1]; }
        else if (q) { lo = c.readLin64(memLin(c, i, 8, false)); hi = c.hi; }
        else lo = c.readLin32(memLin(c, i, 4, false));
        const x = c.xmm;
        x[d] = lo; x[d + 1] = hi; x[d + 2] = 0; x[d + 3] = 0;
      };
    },
  };
}
// MOVD/MOVQ r/m32|r/m64, xmm (a 32-bit register destination is zero-extended).
function movFromXmm(q: boolean) {
  return {
    factory: (i: Insn) => {
      const s = 4 * i.r1;
      return (c: Cpu, i: Insn) => {
        sseCheck(c);
        const x = c.xmm;
        if (i.k0 === K_REG) { c.R[2 * i.r0] = x[s]; c.R[2 * i.r0 + 1] = q ? x[s + 1] : 0; }
        else if (q) c.writeLin64(memLin(c, i, 8, true), x[s], x[s + 1]);
        else c.writeLin32(memLin(c, i, 4, true), x[s]);
      };
    },
  };
}
defineMatching(/^Movd_xmm_rm32$/, movToXmm(false));
defineMatching(/^Movq_xmm_rm64$/, movToXmm(true));
defineMatching(/^Movd_rm32_xmm$/, movFromXmm(false));
defineMatching(/^Movq_rm64_xmm$/, movFromXmm(true));

// MOVQ xmm, xmm/m64 (F3 0F 7E): low quadword, upper zeroed. MOVQ xmm/m64, xmm (66 0F D6).
defineMatching(/^Movq_xmm_xmmm64$/, {
  factory: (i: Insn) => {
    const d = 4 * i.r0;
    return (c: Cpu, i: Insn) => {
      sseCheck(c); views(c);
      loadSrcLow(c, i, 8);
      X32[d] = S32[0]; X32[d + 1] = S32[1]; X32[d + 2] = 0; X32[d + 3] = 0;
    };
  },
});
defineMatching(/^Movq_xmmm64_xmm$/, {
  factory: (i: Insn) => {
    const s = 4 * i.r1;
    return (c: Cpu, i: Insn) => {
      sseCheck(c);
      const x = c.xmm;
      if (i.k0 === K_XMM) { const d = 4 * i.r0; x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = 0; x[d + 3] = 0; }
      else c.writeLin64(memLin(c, i, 8, true), x[s], x[s + 1]);
    };
  },
});

// MOVSS/MOVSD: a load from memory zeroes the upper lanes; a register move merges the low element.
function movScalarLoad(lanes: number) {
  return {
    factory: (i: Insn) => {
      const d = 4 * i.r0;
      return (c: Cpu, i: Insn) => {
        sseCheck(c);
        const x = c.xmm;
        if (i.k1 === K_XMM) {
          const s = 4 * i.r1;
          x[d] = x[s]; if (lanes === 2) x[d + 1] = x[s + 1];
          return;
        }
        const lin = memLin(c, i, 4 * lanes, false);
        if (lanes === 2) { const lo = c.readLin64(lin); x[d] = lo; x[d + 1] = c.hi; }
        else { x[d] = c.readLin32(lin); x[d + 1] = 0; }
        x[d + 2] = 0; x[d + 3] = 0;
      };
    },
  };
}
function movScalarStore(lanes: number) {
  return {
    factory: (i: Insn) => {
      const s = 4 * i.r1;
      return (c: Cpu, i: Insn) => {
        sseCheck(c);
        const x = c.xmm;
        if (i.k0 === K_XMM) { const d = 4 * i.r0; x[d] = x[s]; if (lanes === 2) x[d + 1] = x[s + 1]; return; }
        if (lanes === 2) c.writeLin64(memLin(c, i, 8, true), x[s], x[s + 1]);
        else c.writeLin32(memLin(c, i, 4, true), x[s]);
      };
    },
  };
}
defineMatching(/^Movss_xmm_xmmm32$/, movScalarLoad(1));
defineMatching(/^Movsd_xmm_xmmm64$/, movScalarLoad(2));
defineMatching(/^Movss_xmmm32_xmm$|^Movntss_m32_xmm$/, movScalarStore(1));
defineMatching(/^Movsd_xmmm64_xmm$|^Movntsd_m64_xmm$/, movScalarStore(2));

// MOVLPS/MOVLPD/MOVHPS/MOVHPD: load or store one quadword half, the other half unchanged.
function movHalfLoad(half: number) {
  return {
    factory: (i: Insn) => {
      const d = 4 * i.r0 + 2 * half;
      return (c: Cpu, i: Insn) => {
        sseCheck(c);
        const lo = c.readLin64(memLin(c, i, 8, false));
        c.xmm[d] = lo; c.xmm[d + 1] = c.hi;
      };
    },
  };
}
function movHalfStore(half: number) {
  return {
    factory: (i: Insn) => {
      const s = 4 * i.r1 + 2 * half;
      return (c: Cpu, i: Insn) => { sseCheck(c); c.writeLin64(memLin(c, i, 8, true), c.xmm[s], c.xmm[s + 1]); };
    },
  };
}
defineMatching(/^(Movlps|Movlpd)_xmm_m64$/, movHalfLoad(0));
defineMatching(/^(Movhps|Movhpd)_xmm_m64$/, movHalfLoad(1));
defineMatching(/^(Movlps|Movlpd)_m64_xmm$/, movHalfStore(0));
defineMatching(/^(Movhps|Movhpd)_m64_xmm$/, movHalfStore(1));
// MOVLHPS: dst.high <- src.low; MOVHLPS: dst.low <- src.high.
defineMatching(/^Movlhps_xmm_xmm$/, {
  factory: (i: Insn) => {
    const d = 4 * i.r0, s = 4 * i.r1;
    return (c: Cpu) => { sseCheck(c); const x = c.xmm; x[d + 2] = x[s]; x[d + 3] = x[s + 1]; };
  },
});
defineMatching(/^Movhlps_xmm_xmm$/, {
  factory: (i: Insn) => {
    const d = 4 * i.r0, s = 4 * i.r1;
    return (c: Cpu) => { sseCheck(c); const x = c.xmm; x[d] = x[s + 2]; x[d + 1] = x[s + 3]; };
  },
});
// MOVDDUP (SSE3): both quadwords <- the low source quadword; MOVSLDUP/MOVSHDUP duplicate even/odd dwords.
defineMatching(/^Movddup_xmm_xmmm64$/, packedLow(8, (d) => {
  const o = 4 * d; X32[o] = S32[0]; X32[o + 1] = S32[1]; X32[o + 2] = S32[0]; X32[o + 3] = S32[1];
}));
defineMatching(/^Movsldup_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d; X32[o] = S32[0]; X32[o + 1] = S32[0]; X32[o + 2] = S32[2]; X32[o + 3] = S32[2];
}));
defineMatching(/^Movshdup_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d; X32[o] = S32[1]; X32[o + 1] = S32[1]; X32[o + 2] = S32[3]; X32[o + 3] = S32[3];
}));

// MOVNTI m32/m64, r (SSE2, an integer store with a non-temporal hint: no CR0/CR4 checks).
defineMatching(/^Movnti_m(32|64)_r(32|64)$/, {
  factory: (i: Insn) => {
    const q = i.osz === 8, s = 2 * i.r1;
    return (c: Cpu, i: Insn) => {
      if (q) c.writeLin64(memLin(c, i, 8, true), c.R[s], c.R[s + 1]);
      else c.writeLin32(memLin(c, i, 4, true), c.R[s]);
    };
  },
});

// MOVMSKPS/MOVMSKPD/PMOVMSKB r, xmm: the sign bits, zero-extended into the GPR.
defineMatching(/^Movmskps_r(32|64)_xmm$/, {
  factory: (i: Insn) => {
    const d = 2 * i.r0, s = 4 * i.r1;
    return (c: Cpu) => {
      sseCheck(c);
      const x = c.xmm;
      c.R[d] = (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3);
      c.R[d + 1] = 0;
    };
  },
});
defineMatching(/^Movmskpd_r(32|64)_xmm$/, {
  factory: (i: Insn) => {
    const d = 2 * i.r0, s = 4 * i.r1;
    return (c: Cpu) => { sseCheck(c); const x = c.xmm; c.R[d] = (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1); c.R[d + 1] = 0; };
  },
});
defineMatching(/^Pmovmskb_r(32|64)_xmm$/, {
  factory: (i: Insn) => {
    const d = 2 * i.r0, s = 16 * i.r1;
    return (c: Cpu) => {
      sseCheck(c); views(c);
      let m = 0;
      for (let k = 0; k < 16; k++) m |= (X8[s + k] >> 7) << k;
      c.R[d] = m; c.R[d + 1] = 0;
    };
  },
});

// ---------------------------------------------------------------- logic (SDM Vol. 1 11.4.2, 10.4.3)

defineMatching(/^(Pand|Andps|Andpd)_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d; X32[o] &= S32[0]; X32[o + 1] &= S32[1]; X32[o + 2] &= S32[2]; X32[o + 3] &= S32[3];
}));
defineMatching(/^(Pandn|Andnps|Andnpd)_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  X32[o] = ~X32[o] & S32[0]; X32[o + 1] = ~X32[o + 1] & S32[1];
  X32[o + 2] = ~X32[o + 2] & S32[2]; X32[o + 3] = ~X32[o + 3] & S32[3];
}));
defineMatching(/^(Por|Orps|Orpd)_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d; X32[o] |= S32[0]; X32[o + 1] |= S32[1]; X32[o + 2] |= S32[2]; X32[o + 3] |= S32[3];
}));
// PXOR/XORPS/XORPD; `pxor x, x` zeroes the register whatever it held.
defineMatching(/^(Pxor|Xorps|Xorpd)_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d; X32[o] ^= S32[0]; X32[o + 1] ^= S32[1]; X32[o + 2] ^= S32[2]; X32[o + 3] ^= S32[3];
}));

// PTEST (SSE4.1): ZF = (dst AND src) == 0, CF = (NOT dst AND src) == 0; AF, OF, PF, SF cleared.
defineMatching(/^Ptest_xmm_xmmm128$/, {
  factory: (i: Insn) => {
    const d = i.r0;
    return (c: Cpu, i: Insn) => {
      sseCheck(c); views(c);
      loadSrc(c, i, true);
      const o = 4 * d;
      let z = 0, cz = 0;
      for (let k = 0; k < 4; k++) { z |= X32[o + k] & S32[k]; cz |= ~X32[o + k] & S32[k]; }
      setArithFlags(c, CF | PF | AF | ZF | SF | OF, (z === 0 ? ZF : 0) | (cz === 0 ? CF : 0));
    };
  },
});

// ---------------------------------------------------------------- packed integer arithmetic (SDM Vol. 1 11.4.4)

defineMatching(/^Paddb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] += S8[k]; }));
defineMatching(/^Paddw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] += S16[k]; }));
defineMatching(/^Paddd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = (X32[o + k] + S32[k]) | 0; }));
defineMatching(/^Paddq_xmm_xmmm128$/, packed((d) => { add64(4 * d, 0); add64(4 * d + 2, 2); }));
defineMatching(/^Psubb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] -= S8[k]; }));
defineMatching(/^Psubw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] -= S16[k]; }));
defineMatching(/^Psubd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = (X32[o + k] - S32[k]) | 0; }));
defineMatching(/^Psubq_xmm_xmmm128$/, packed((d) => { sub64(4 * d, 0); sub64(4 * d + 2, 2); }));
function add64(o: number, s: number): void {
  const lo = (X32[o] >>> 0) + (S32[s] >>> 0);
  X32[o] = lo | 0;
  X32[o + 1] = (X32[o + 1] + S32[s + 1] + (lo > 0xffffffff ? 1 : 0)) | 0;
}
function sub64(o: number, s: number): void {
  const lo = (X32[o] >>> 0) - (S32[s] >>> 0);
  X32[o] = lo | 0;
  X32[o + 1] = (X32[o + 1] - S32[s + 1] - (lo < 0 ? 1 : 0)) | 0;
}

// Saturating add/subtract.
export function satS8(v: number): number { return v > 127 ? 127 : v < -128 ? -128 : v; }
export function satU8(v: number): number { return v > 255 ? 255 : v < 0 ? 0 : v; }
export function satS16(v: number): number { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
export function satU16(v: number): number { return v > 65535 ? 65535 : v < 0 ? 0 : v; }
defineMatching(/^Paddsb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) XS8[o + k] = satS8(XS8[o + k] + SS8[k]); }));
defineMatching(/^Paddsw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) XS16[o + k] = satS16(XS16[o + k] + SS16[k]); }));
defineMatching(/^Paddusb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] = satU8(X8[o + k] + S8[k]); }));
defineMatching(/^Paddusw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = satU16(X16[o + k] + S16[k]); }));
defineMatching(/^Psubsb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) XS8[o + k] = satS8(XS8[o + k] - SS8[k]); }));
defineMatching(/^Psubsw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) XS16[o + k] = satS16(XS16[o + k] - SS16[k]); }));
defineMatching(/^Psubusb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] = satU8(X8[o + k] - S8[k]); }));
defineMatching(/^Psubusw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = satU16(X16[o + k] - S16[k]); }));

// Compares: all-ones where true.
defineMatching(/^Pcmpeqb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] = X8[o + k] === S8[k] ? 0xff : 0; }));
defineMatching(/^Pcmpeqw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = X16[o + k] === S16[k] ? 0xffff : 0; }));
defineMatching(/^Pcmpeqd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = X32[o + k] === S32[k] ? -1 : 0; }));
defineMatching(/^Pcmpeqq_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k += 2) {
    const e = X32[o + k] === S32[k] && X32[o + k + 1] === S32[k + 1] ? -1 : 0;
    X32[o + k] = e; X32[o + k + 1] = e;
  }
}));
defineMatching(/^Pcmpgtb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) XS8[o + k] = XS8[o + k] > SS8[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) XS16[o + k] = XS16[o + k] > SS16[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = X32[o + k] > S32[k] ? -1 : 0; }));
defineMatching(/^Pcmpgtq_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k += 2) {
    const ah = X32[o + k + 1], bh = S32[k + 1];
    const gt = ah > bh || (ah === bh && (X32[o + k] >>> 0) > (S32[k] >>> 0));
    X32[o + k] = gt ? -1 : 0; X32[o + k + 1] = gt ? -1 : 0;
  }
}));

// Minimum / maximum.
defineMatching(/^Pminub_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) if (S8[k] < X8[o + k]) X8[o + k] = S8[k]; }));
defineMatching(/^Pmaxub_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) if (S8[k] > X8[o + k]) X8[o + k] = S8[k]; }));
defineMatching(/^Pminsb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) if (SS8[k] < XS8[o + k]) XS8[o + k] = SS8[k]; }));
defineMatching(/^Pmaxsb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) if (SS8[k] > XS8[o + k]) XS8[o + k] = SS8[k]; }));
defineMatching(/^Pminsw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) if (SS16[k] < XS16[o + k]) XS16[o + k] = SS16[k]; }));
defineMatching(/^Pmaxsw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) if (SS16[k] > XS16[o + k]) XS16[o + k] = SS16[k]; }));
defineMatching(/^Pminuw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) if (S16[k] < X16[o + k]) X16[o + k] = S16[k]; }));
defineMatching(/^Pmaxuw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) if (S16[k] > X16[o + k]) X16[o + k] = S16[k]; }));
defineMatching(/^Pminsd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) if (S32[k] < X32[o + k]) X32[o + k] = S32[k]; }));
defineMatching(/^Pmaxsd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) if (S32[k] > X32[o + k]) X32[o + k] = S32[k]; }));
defineMatching(/^Pminud_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) if ((S32[k] >>> 0) < (X32[o + k] >>> 0)) X32[o + k] = S32[k]; }));
defineMatching(/^Pmaxud_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) if ((S32[k] >>> 0) > (X32[o + k] >>> 0)) X32[o + k] = S32[k]; }));

// Absolute value (SSSE3): dst <- |src|.
defineMatching(/^Pabsb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] = Math.abs(SS8[k]); }));
defineMatching(/^Pabsw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = Math.abs(SS16[k]); }));
defineMatching(/^Pabsd_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = Math.abs(S32[k]) | 0; }));

// Averages (rounded up), sum of absolute differences.
defineMatching(/^Pavgb_xmm_xmmm128$/, packed((d) => { const o = 16 * d; for (let k = 0; k < 16; k++) X8[o + k] = (X8[o + k] + S8[k] + 1) >> 1; }));
defineMatching(/^Pavgw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = (X16[o + k] + S16[k] + 1) >> 1; }));
defineMatching(/^Psadbw_xmm_xmmm128$/, packed((d) => {
  const o = 16 * d;
  for (let h = 0; h < 16; h += 8) {
    let sum = 0;
    for (let k = h; k < h + 8; k++) sum += Math.abs(X8[o + k] - S8[k]);
    X32[4 * d + h / 4] = sum; X32[4 * d + h / 4 + 1] = 0;
  }
}));

// Multiplies.
defineMatching(/^Pmullw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = Math.imul(X16[o + k], S16[k]); }));
defineMatching(/^Pmulhw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) XS16[o + k] = (XS16[o + k] * SS16[k]) >> 16; }));
defineMatching(/^Pmulhuw_xmm_xmmm128$/, packed((d) => { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = (X16[o + k] * S16[k]) >>> 16; }));
defineMatching(/^Pmulld_xmm_xmmm128$/, packed((d) => { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = Math.imul(X32[o + k], S32[k]); }));
defineMatching(/^Pmaddwd_xmm_xmmm128$/, packed((d) => {
  const o = 8 * d;
  for (let k = 0; k < 4; k++) {
    T32[k] = (XS16[o + 2 * k] * SS16[2 * k] + XS16[o + 2 * k + 1] * SS16[2 * k + 1]) | 0;
  }
  copyToX(d);
}));
/** High 32 bits of the unsigned 64-bit product a*b (exact, 16-bit limbs). */
export function mulHiU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}
// PMULUDQ: unsigned 32x32 -> 64 of the even dwords; PMULDQ (SSE4.1): signed.
defineMatching(/^Pmuludq_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k += 2) {
    const a = X32[o + k], b = S32[k];
    X32[o + k + 1] = mulHiU32(a, b); X32[o + k] = Math.imul(a, b);
  }
}));
defineMatching(/^Pmuldq_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k += 2) {
    const a = X32[o + k], b = S32[k];
    X32[o + k + 1] = (mulHiU32(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0; X32[o + k] = Math.imul(a, b);
  }
}));

// ---------------------------------------------------------------- pack / unpack (SDM Vol. 1 11.4.5)

defineMatching(/^Packsswb_xmm_xmmm128$/, packed((d) => {
  const o = 8 * d;
  for (let k = 0; k < 8; k++) { T8[k] = satS8(XS16[o + k]); T8[8 + k] = satS8(SS16[k]); }
  copyToX(d);
}));
defineMatching(/^Packuswb_xmm_xmmm128$/, packed((d) => {
  const o = 8 * d;
  for (let k = 0; k < 8; k++) { T8[k] = satU8(XS16[o + k]); T8[8 + k] = satU8(SS16[k]); }
  copyToX(d);
}));
defineMatching(/^Packssdw_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k++) { T16[k] = satS16(X32[o + k]); T16[4 + k] = satS16(S32[k]); }
  copyToX(d);
}));
defineMatching(/^Packusdw_xmm_xmmm128$/, packed((d) => {
  const o = 4 * d;
  for (let k = 0; k < 4; k++) { T16[k] = satU16(X32[o + k]); T16[4 + k] = satU16(S32[k]); }
  copyToX(d);
}));

/** Interleave elements of `size` bytes from the low (hi=0) or high (hi=1) halves of dst and src. */
function unpack(size: number, high: number): Op {
  return (d) => {
    const o = 16 * d, base = high * 8, n = 8 / size;
    for (let e = 0; e < n; e++) {
      for (let b = 0; b < size; b++) {
        T8[2 * e * size + b] = X8[o + base + e * size + b];
        T8[(2 * e + 1) * size + b] = S8[base + e * size + b];
      }
    }
    copyToX(d);
  };
}
defineMatching(/^Punpcklbw_xmm_xmmm128$/, packed(unpack(1, 0)));
defineMatching(/^Punpcklwd_xmm_xmmm128$/, packed(unpack(2, 0)));
defineMatching(/^(Punpckldq|Unpcklps)_xmm_xmmm128$/, packed(unpack(4, 0)));
defineMatching(/^(Punpcklqdq|Unpcklpd)_xmm_xmmm128$/, packed(unpack(8, 0)));
defineMatching(/^Punpckhbw_xmm_xmmm128$/, packed(unpack(1, 1)));
defineMatching(/^Punpckhwd_xmm_xmmm128$/, packed(unpack(2, 1)));
defineMatching(/^(Punpckhdq|Unpckhps)_xmm_xmmm128$/, packed(unpack(4, 1)));
defineMatching(/^(Punpckhqdq|Unpckhpd)_xmm_xmmm128$/, packed(unpack(8, 1)));

// PMOVZX/PMOVSX (SSE4.1): widen the low elements of the source.
function extend(from: number, to: number, signed: boolean): Op {
  return (d) => {
    const n = 16 / to;
    for (let e = 0; e < n; e++) {
      let v = from === 1 ? (signed ? SS8[e] : S8[e]) : from === 2 ? (signed ? SS16[e] : S16[e]) : S32[e];
      if (from === 4 && !signed) v = v >>> 0;
      const sign = v < 0 ? -1 : 0;
      if (to === 2) T16[e] = v;
      else if (to === 4) T32[e] = v;
      else { T32[2 * e] = v; T32[2 * e + 1] = sign; }
    }
    copyToX(d);
  };
}
for (const [name, from, to] of [['bw', 1, 2], ['bd', 1, 4], ['bq', 1, 8], ['wd', 2, 4], ['wq', 2, 8], ['dq', 4, 8]] as const) {
  const bytes = (16 / to) * from;
  defineMatching(new RegExp(`^Pmovzx${name}_xmm_xmmm${bytes * 8}$`), packedLow(bytes, extend(from, to, false)));
  defineMatching(new RegExp(`^Pmovsx${name}_xmm_xmmm${bytes * 8}$`), packedLow(bytes, extend(from, to, true)));
}

// ---------------------------------------------------------------- shuffles (SDM Vol. 1 11.4.5, 12.3, 12.7)

defineMatching(/^Pshufd_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 4 * d;
  X32[o] = S32[imm & 3]; X32[o + 1] = S32[(imm >> 2) & 3]; X32[o + 2] = S32[(imm >> 4) & 3]; X32[o + 3] = S32[imm >> 6];
}));
defineMatching(/^Pshuflw_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 8 * d;
  for (let k = 0; k < 4; k++) X16[o + k] = S16[(imm >> (2 * k)) & 3];
  X32[4 * d + 2] = S32[2]; X32[4 * d + 3] = S32[3];
}));
defineMatching(/^Pshufhw_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 8 * d;
  for (let k = 0; k < 4; k++) X16[o + 4 + k] = S16[4 + ((imm >> (2 * k)) & 3)];
  X32[4 * d] = S32[0]; X32[4 * d + 1] = S32[1];
}));
// PSHUFB (SSSE3): each control byte selects a destination byte, or zero when its bit 7 is set.
defineMatching(/^Pshufb_xmm_xmmm128$/, packed((d) => {
  const o = 16 * d;
  for (let k = 0; k < 16; k++) T8[k] = X8[o + k];
  for (let k = 0; k < 16; k++) { const s = S8[k]; X8[o + k] = s & 0x80 ? 0 : T8[s & 15]; }
}));
// SHUFPS: dst lanes 0-1 from dst, lanes 2-3 from src; SHUFPD likewise for quadwords.
defineMatching(/^Shufps_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 4 * d;
  T32[0] = X32[o + (imm & 3)]; T32[1] = X32[o + ((imm >> 2) & 3)];
  T32[2] = S32[(imm >> 4) & 3]; T32[3] = S32[imm >> 6];
  copyToX(d);
}));
defineMatching(/^Shufpd_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 4 * d, a = o + 2 * (imm & 1), b = 2 * ((imm >> 1) & 1);
  T32[0] = X32[a]; T32[1] = X32[a + 1]; T32[2] = S32[b]; T32[3] = S32[b + 1];
  copyToX(d);
}));
// PALIGNR (SSSE3): (dst:src) >> (imm * 8), low 16 bytes.
defineMatching(/^Palignr_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 16 * d;
  for (let k = 0; k < 16; k++) { T8[k] = S8[k]; T8[16 + k] = X8[o + k]; }
  for (let k = 0; k < 16; k++) { const j = k + imm; X8[o + k] = j < 32 ? T8[j] : 0; }
}));
// PBLENDW (SSE4.1): imm bit k selects src word k. PBLENDVB: XMM0 byte bit 7 selects src byte.
defineMatching(/^Pblendw_xmm_xmmm128_imm8$/, packed((d, imm) => {
  const o = 8 * d;
  for (let k = 0; k < 8; k++) if (imm & (1 << k)) X16[o + k] = S16[k];
}));
defineMatching(/^Pblendvb_xmm_xmmm128$/, packed((d) => {
  const o = 16 * d;
  for (let k = 0; k < 16; k++) if (X8[k] & 0x80) X8[o + k] = S8[k];
}));

// ---------------------------------------------------------------- shifts (SDM Vol. 1 11.4.6)

/** Shift count of the xmm/m128 form: the low quadword of S, saturated. */
function countFromS(): number {
  return S32[1] !== 0 || S32[0] < 0 || S32[0] > 255 ? 255 : S32[0];
}
function shlW(d: number, n: number): void { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = n > 15 ? 0 : X16[o + k] << n; }
function shrW(d: number, n: number): void { const o = 8 * d; for (let k = 0; k < 8; k++) X16[o + k] = n > 15 ? 0 : X16[o + k] >>> n; }
function sarW(d: number, n: number): void { const o = 8 * d, m = n > 15 ? 15 : n; for (let k = 0; k < 8; k++) XS16[o + k] = XS16[o + k] >> m; }
function shlD(d: number, n: number): void { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = n > 31 ? 0 : X32[o + k] << n; }
function shrD(d: number, n: number): void { const o = 4 * d; for (let k = 0; k < 4; k++) X32[o + k] = n > 31 ? 0 : X32[o + k] >>> n; }
function sarD(d: number, n: number): void { const o = 4 * d, m = n > 31 ? 31 : n; for (let k = 0; k < 4; k++) X32[o + k] = X32[o + k] >> m; }
function shlQ(d: number, n: number): void {
  for (let o = 4 * d; o < 4 * d + 4; o += 2) {
    const lo = X32[o], hi = X32[o + 1];
    if (n > 63) { X32[o] = 0; X32[o + 1] = 0; }
    else if (n >= 32) { X32[o + 1] = lo << (n - 32); X32[o] = 0; }
    else if (n > 0) { X32[o + 1] = (hi << n) | (lo >>> (32 - n)); X32[o] = lo << n; }
  }
}
function shrQ(d: number, n: number): void {
  for (let o = 4 * d; o < 4 * d + 4; o += 2) {
    const lo = X32[o], hi = X32[o + 1];
    if (n > 63) { X32[o] = 0; X32[o + 1] = 0; }
    else if (n >= 32) { X32[o] = hi >>> (n - 32); X32[o + 1] = 0; }
    else if (n > 0) { X32[o] = (lo >>> n) | (hi << (32 - n)); X32[o + 1] = hi >>> n; }
  }
}
/** PSLLDQ/PSRLDQ: whole-register byte shifts (counts above 15 clear it). */
function shlDQ(d: number, n: number): void {
  const o = 16 * d;
  for (let k = 15; k >= 0; k--) X8[o + k] = k - n >= 0 ? X8[o + k - n] : 0;
}
function shrDQ(d: number, n: number): void {
  const o = 16 * d;
  for (let k = 0; k < 16; k++) X8[o + k] = k + n < 16 ? X8[o + k + n] : 0;
}
type Shift = (d: number, n: number) => void;
function shiftImm(f: Shift) {
  return {
    factory: (i: Insn) => {
      const d = i.r0, n = i.imm & 0xff;
      return (c: Cpu) => { sseCheck(c); views(c); f(d, n); };
    },
  };
}
function shiftXmm(f: Shift) {
  return packed((d) => f(d, countFromS()));
}
const SHIFTS: [string, Shift][] = [['Psllw', shlW], ['Psrlw', shrW], ['Psraw', sarW], ['Pslld', shlD], ['Psrld', shrD],
  ['Psrad', sarD], ['Psllq', shlQ], ['Psrlq', shrQ]];
for (const [name, f] of SHIFTS) {
  defineMatching(new RegExp(`^${name}_xmm_imm8$`), shiftImm(f));
  defineMatching(new RegExp(`^${name}_xmm_xmmm128$`), shiftXmm(f));
}
defineMatching(/^Pslldq_xmm_imm8$/, shiftImm(shlDQ));
defineMatching(/^Psrldq_xmm_imm8$/, shiftImm(shrDQ));

// ---------------------------------------------------------------- insert / extract (SDM Vol. 2 PINSRx/PEXTRx)

/** PINSRB/W/D/Q xmm, r/m, imm: element imm (mod count) <- the GPR or memory value. */
function insert(size: number) {
  return {
    factory: (i: Insn) => {
      const d = i.r0, imm = i.imm & 0xff;
      return (c: Cpu, i: Insn) => {
        sseCheck(c); views(c);
        let lo: number, hi = 0;
        if (i.k1 === K_REG) { lo = c.R[2 * i.r1]; hi = c.R[2 * i.r1 + 1]; }
        else {
          const lin = memLin(c, i, size, false);
          lo = size === 1 ? c.readLin8(lin) : size === 2 ? c.readLin16(lin) : size === 4 ? c.readLin32(lin) : c.readLin64(lin);
          hi = c.hi;
        }
        switch (size) {
          case 1: X8[16 * d + (imm & 15)] = lo; break;
          case 2: X16[8 * d + (imm & 7)] = lo; break;
          case 4: X32[4 * d + (imm & 3)] = lo; break;
          default: X32[4 * d + 2 * (imm & 1)] = lo; X32[4 * d + 2 * (imm & 1) + 1] = hi;
        }
      };
    },
  };
}
defineMatching(/^Pinsrb_xmm_r(32|64)m8_imm8$/, insert(1));
defineMatching(/^Pinsrw_xmm_r(32|64)m16_imm8$/, insert(2));
defineMatching(/^Pinsrd_xmm_rm32_imm8$/, insert(4));
defineMatching(/^Pinsrq_xmm_rm64_imm8$/, insert(8));
/** PEXTRB/W/D/Q r/m, xmm, imm: a register destination is zero-extended (SDM Vol. 2 PEXTRx). */
function extract(size: number) {
  return {
    factory: (i: Insn) => {
      const s = i.r1, imm = i.imm & 0xff;
      return (c: Cpu, i: Insn) => {
        sseCheck(c); views(c);
        let lo: number, hi = 0;
        switch (size) {
          case 1: lo = X8[16 * s + (imm & 15)]; break;
          case 2: lo = X16[8 * s + (imm & 7)]; break;
          case 4: lo = X32[4 * s + (imm & 3)]; break;
          default: lo = X32[4 * s + 2 * (imm & 1)]; hi = X32[4 * s + 2 * (imm & 1) + 1];
        }
        if (i.k0 === K_REG) { c.R[2 * i.r0] = lo; c.R[2 * i.r0 + 1] = hi; return; }
        const lin = memLin(c, i, size, true);
        if (size === 1) c.writeLin8(lin, lo);
        else if (size === 2) c.writeLin16(lin, lo);
        else if (size === 4) c.writeLin32(lin, lo);
        else c.writeLin64(lin, lo, hi);
      };
    },
  };
}
defineMatching(/^Pextrb_r(32|64)m8_xmm_imm8$/, extract(1));
defineMatching(/^Pextrw_r(32|64)_xmm_imm8$|^Pextrw_r(32|64)m16_xmm_imm8$/, extract(2));
defineMatching(/^Pextrd_rm32_xmm_imm8$/, extract(4));
defineMatching(/^Pextrq_rm64_xmm_imm8$/, extract(8));

// ---------------------------------------------------------------- MXCSR and FXSAVE/FXRSTOR (SDM Vol. 1 10.2.3, 10.5)

/** Bits of MXCSR software may set (the MXCSR_MASK we report: DAZ supported). */
export const MXCSR_MASK = 0xffff;

// LDMXCSR m32: #GP(0) if reserved bits are set. STMXCSR m32.
defineMatching(/^Ldmxcsr_m32$/, (c: Cpu, i: Insn) => {
  sseCheck(c);
  const v = c.readLin32(memLin(c, i, 4, false));
  if (v & ~MXCSR_MASK) c.gp(0);
  c.mxcsr = v;
});
defineMatching(/^Stmxcsr_m32$/, (c: Cpu, i: Insn) => {
  sseCheck(c);
  c.writeLin32(memLin(c, i, 4, true), c.mxcsr);
});

// The FXSAVE image (SDM Vol. 1 Table 10-2): x87 state at 0-23 and 32-159 (kept verbatim in
// c.fxArea), MXCSR at 24, MXCSR_MASK at 28, XMM0-7 at 160, XMM8-15 at 288 (64-bit mode only).
const FX = new Uint8Array(512);
const FXV = new DataView(FX.buffer);
const FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_XMM = 160;

/** The bytes FXSAVE writes: through XMM7 outside 64-bit mode, through XMM15 in it (416-511 untouched). */
function fxLength(c: Cpu): number { return c.codeBits === 64 ? 416 : 288; }

function fxLin(c: Cpu, i: Insn, write: boolean): number {
  x87Check(c); // FXSAVE/FXRSTOR: #NM if CR0.TS or CR0.EM (SDM Vol. 2 FXSAVE)
  const lin = memLin(c, i, 512, write);
  if (lin & 15) c.gp(0);
  return lin;
}

/** FOP (6-7), FIP (8-15) and FDP (16-23) in the FXSAVE image; FSW.ES, the x87 exception summary. */
const FX_FOP = 6, FX_POINTERS_END = 24, FX_FSW = 2, FSW_ES = 0x80;

/**
 * The x87 error pointers as `vendor` saves them into an FXSAVE image `img` (x87 part filled): AMD
 * processors store FOP, FIP and FDP only while FSW.ES is set and zeros otherwise (AMD APM Vol. 4
 * FXSAVE; Linux's X86_BUG_FXSAVE_LEAK); Intel stores them always (SDM Vol. 1 10.5.1). The modelled
 * CPUID does not set 8000_0008H EBX[2] (RstrFpErrPtrs), so an AMD guest sees the zeros.
 */
export function fxsaveErrorPointers(c: Cpu, img: Uint8Array): void {
  if (c.vendor === 'amd' && (img[FX_FSW] & FSW_ES) === 0) img.fill(0, FX_FOP, FX_POINTERS_END);
}

defineMatching(/^Fxsave(64)?_m512byte$/, (c: Cpu, i: Insn) => {
  const lin = fxLin(c, i, true);
  const n = fxLength(c);
  FX.set(c.fxArea.subarray(0, FX_XMM));
  fxsaveErrorPointers(c, FX);
  FXV.setInt32(FX_MXCSR, c.mxcsr, true);
  FXV.setInt32(FX_MXCSR_MASK, MXCSR_MASK, true);
  const x = c.xmm;
  for (let k = 0; k < (n - FX_XMM) / 4; k++) FXV.setInt32(FX_XMM + 4 * k, x[k], true);
  if ((lin & 0xfff) + n > 0x1000) probeNextPage(c, lin);
  for (let k = 0; k < n; k += 8) c.writeLin64(c.codeBits === 64 ? lin + k : (lin + k) >>> 0, FXV.getInt32(k, true), FXV.getInt32(k + 4, true));
});

defineMatching(/^Fxrstor(64)?_m512byte$/, (c: Cpu, i: Insn) => {
  const lin = fxLin(c, i, false);
  const n = fxLength(c);
  for (let k = 0; k < n; k += 8) {
    const lo = c.readLin64(c.codeBits === 64 ? lin + k : (lin + k) >>> 0);
    FXV.setInt32(k, lo, true); FXV.setInt32(k + 4, c.hi, true);
  }
  const mx = FXV.getInt32(FX_MXCSR, true);
  if (mx & ~MXCSR_MASK) c.gp(0); // reserved MXCSR bits: #GP(0) (SDM Vol. 2 FXRSTOR)
  c.fxArea.set(FX.subarray(0, FX_XMM));
  c.mxcsr = mx;
  const x = c.xmm;
  for (let k = 0; k < (n - FX_XMM) / 4; k++) x[k] = FXV.getInt32(FX_XMM + 4 * k, true);
});

// The x87 control instructions (FNINIT, FLDCW, FNSTSW...) and WAIT are in x87.ts.

const FTW = 4;
// EMMS: mark every x87 register empty (abridged tag word 0 in the FXSAVE image).
defineMatching(/^Emms$/, (c: Cpu) => { mmxCheck(c); c.fxArea[FTW] = 0; });
