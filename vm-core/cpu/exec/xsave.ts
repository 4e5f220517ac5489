// The XSAVE feature set (SDM Vol. 1 ch. 13, Vol. 2 XSAVE/XSAVEOPT/XSAVEC/XSAVES/XRSTOR/XRSTORS):
// the state components are x87 (bit 0) and SSE (bit 1), both in the legacy region of the XSAVE
// area (the FXSAVE layout, bytes 0-415), followed by the 64-byte header (XSTATE_BV, XCOMP_BV).
// No extended component (AVX...) is emulated, so the standard and compacted formats coincide.
//
// XINUSE (SDM 13.6) is `c.xinuse` folded with the state itself: XRSTOR sets XINUSE[i] from
// XSTATE_BV[i] (loaded components count as in use, initialised ones as not), and a component that
// is not in its initial configuration is in use. (Hardware also keeps XINUSE[i] = 1 after an
// instruction returns a component to its initial values; here it is 0 from then on, which SDM
// 13.6 permits: XINUSE[i] = 0 only promises the initial configuration.) XSAVEOPT and XSAVEC use
// the init optimisation; XSAVEOPT's modified optimisation is not used (SDM 13.9 allows that).
import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import { defineMatching, memLin } from './operands';
import { CR0_TS, CR4_OSXSAVE } from '../state';
import { fxsaveErrorPointers, MXCSR_MASK } from './sse';

export const XFEATURE_MASK_FP = 1, XFEATURE_MASK_SSE = 2;
/** The user state components this processor supports (CPUID.(EAX=0DH,ECX=0):EAX). */
export const XFEATURES_SUPPORTED = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
/** Size of the XSAVE area for x87 + SSE: legacy region and header (CPUID.(EAX=0DH,ECX=0):EBX/ECX). */
export const XSAVE_AREA_SIZE = 576;

const HDR = 512, XSTATE_BV = 512, XCOMP_BV = 520;
const FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_XMM = 160;
const FCW_INIT = 0x037f, MXCSR_INIT = 0x1f80;

const A = new Uint8Array(XSAVE_AREA_SIZE);
const AV = new DataView(A.buffer);

/** Number of XMM registers the current mode has (XMM8-15 only in 64-bit mode). */
function xmmCount(c: Cpu): number { return c.codeBits === 64 ? 16 : 8; }

/** Is the x87 state in its initial configuration (SDM 13.6: FCW 037FH, FSW 0, all empty, pointers and registers 0)? */
function x87IsInit(c: Cpu): boolean {
  const f = c.fxArea;
  if (f[0] !== (FCW_INIT & 0xff) || f[1] !== FCW_INIT >> 8) return false;
  for (let k = 2; k < 24; k++) if (k !== 5 && f[k] !== 0) return false;
  for (let r = 0; r < 8; r++) {
    const o = 32 + 16 * r;
    for (let k = 0; k < 10; k++) if (f[o + k] !== 0) return false;
  }
  return true;
}
/** The mode's XMM registers are 0. */
function sseIsInit(c: Cpu): boolean {
  const x = c.xmm, n = 4 * xmmCount(c);
  for (let k = 0; k < n; k++) if (x[k] !== 0) return false;
  return true;
}
/**
 * XINUSE for the supported components. Intel (SDM 13.6, 13.8.3): a component XRSTOR loaded stays in
 * use until an XRSTOR initialises it (c.xinuse), and one not in its initial configuration is in use.
 * SSE state is initial with the XMM registers 0 and MXCSR 1F80H (SDM 13.6), so XSAVEC, which saves
 * MXCSR with the SSE component, never drops a changed MXCSR. AMD, as measured on the host
 * (test/cpu/xsave-native.test.ts): XINUSE follows the values alone and ignores MXCSR (but see the
 * compacted forms in xsave()).
 */
export function xinuse(c: Cpu): number {
  if (c.vendor === 'amd') {
    return (x87IsInit(c) ? 0 : XFEATURE_MASK_FP) | (sseIsInit(c) ? 0 : XFEATURE_MASK_SSE);
  }
  let u = c.xinuse;
  if (!(u & XFEATURE_MASK_FP) && !x87IsInit(c)) u |= XFEATURE_MASK_FP;
  if (!(u & XFEATURE_MASK_SSE) && (!sseIsInit(c) || c.mxcsr !== MXCSR_INIT)) u |= XFEATURE_MASK_SSE;
  c.xinuse = u;
  return u;
}

/** The checks every XSAVE-family instruction makes, in priority order; the area's linear address. */
function xsaveLin(c: Cpu, i: Insn, write: boolean, supervisor: boolean): number {
  if (!(c.cr4 & CR4_OSXSAVE)) c.ud();          // #UD: CR4.OSXSAVE = 0
  if (c.cr0 & CR0_TS) c.fault(7);                // #NM: CR0.TS = 1 (CR0.EM is not checked)
  if (supervisor && c.cpl !== 0) c.gp(0);         // XSAVES/XRSTORS: #GP(0) if CPL > 0
  const lin = memLin(c, i, XSAVE_AREA_SIZE, write);
  if (lin & 63) c.gp(0);                          // #GP: not 64-byte aligned
  return lin;
}
function at(c: Cpu, lin: number, k: number): number { return c.codeBits === 64 ? lin + k : (lin + k) >>> 0; }

/** Read bytes [from, to) of the area into A (8 bytes at a time; from/to multiples of 8). */
function readArea(c: Cpu, lin: number, from: number, to: number): void {
  for (let k = from; k < to; k += 8) {
    const lo = c.readLin64(at(c, lin, k));
    AV.setInt32(k, lo, true); AV.setInt32(k + 4, c.hi, true);
  }
}
function writeArea(c: Cpu, lin: number, from: number, to: number): void {
  for (let k = from; k < to; k += 8) c.writeLin64(at(c, lin, k), AV.getInt32(k, true), AV.getInt32(k + 4, true));
}
/** Before writing: both pages of the area are checked, so a #PF leaves memory unchanged. */
function probeArea(c: Cpu, lin: number): void {
  c.probeWrite(lin, 1);
  c.probeWrite(at(c, lin, XSAVE_AREA_SIZE - 1), 1);
}

/** The x87 component into A (bytes 0-23 and 32-159, as FXSAVE stores it for this vendor). */
function putX87(c: Cpu): void {
  A.set(c.fxArea.subarray(0, FX_XMM));
  fxsaveErrorPointers(c, A);
}
function putMxcsr(c: Cpu): void {
  AV.setInt32(FX_MXCSR, c.mxcsr, true);
  AV.setInt32(FX_MXCSR_MASK, MXCSR_MASK, true);
}
function putXmm(c: Cpu): void {
  const x = c.xmm, n = 4 * xmmCount(c);
  for (let k = 0; k < n; k++) AV.setInt32(FX_XMM + 4 * k, x[k], true);
}

const enum SaveForm { Standard, Opt, Compacted, Supervisor }

/** XSAVE, XSAVEOPT, XSAVEC, XSAVES (SDM 13.7, 13.9, 13.10, 13.11). */
function xsave(form: SaveForm) {
  return (c: Cpu, i: Insn) => {
    const lin = xsaveLin(c, i, true, form === SaveForm.Supervisor);
    // RFBM = XCR0 (| IA32_XSS for XSAVES, which supports no supervisor component here) AND EDX:EAX.
    const rfbm = c.xcr0 & c.R[0] & XFEATURES_SUPPORTED;
    const compacted = form === SaveForm.Compacted || form === SaveForm.Supervisor;
    let inuse = xinuse(c);
    // AMD (measured): the compacted forms also count SSE as in use while MXCSR is not 1F80H, since
    // the compacted XRSTOR initialises MXCSR with the component.
    if (compacted && c.vendor === 'amd' && c.mxcsr !== MXCSR_INIT) inuse |= XFEATURE_MASK_SSE;
    const initOpt = form !== SaveForm.Standard;
    // The header: XSAVE/XSAVEOPT update XSTATE_BV[i] for RFBM[i] = 1 only (a read of the old value).
    readArea(c, lin, HDR, HDR + 8);
    probeArea(c, lin);
    const saveX87 = (rfbm & XFEATURE_MASK_FP) !== 0 && (!initOpt || (inuse & XFEATURE_MASK_FP) !== 0);
    const saveSse = (rfbm & XFEATURE_MASK_SSE) !== 0 && (!initOpt || (inuse & XFEATURE_MASK_SSE) !== 0);
    if (saveX87) { putX87(c); writeArea(c, lin, 0, 24); writeArea(c, lin, 32, FX_XMM); }
    // MXCSR: XSAVE and XSAVEOPT store it whenever RFBM[1] (no optimisation applies, SDM 13.9);
    // XSAVEC and XSAVES only with the SSE component.
    if (compacted ? saveSse : (rfbm & XFEATURE_MASK_SSE) !== 0) { putMxcsr(c); writeArea(c, lin, 24, 32); }
    if (saveSse) { putXmm(c); writeArea(c, lin, FX_XMM, FX_XMM + 16 * xmmCount(c)); }
    if (compacted) {
      AV.setInt32(XSTATE_BV, rfbm & inuse, true); AV.setInt32(XSTATE_BV + 4, 0, true);
      AV.setInt32(XCOMP_BV, rfbm, true); AV.setInt32(XCOMP_BV + 4, 0x80000000 | 0, true);
      writeArea(c, lin, HDR, HDR + 16);
    } else {
      const old = AV.getInt32(XSTATE_BV, true);
      AV.setInt32(XSTATE_BV, (old & ~rfbm) | (inuse & rfbm), true);
      writeArea(c, lin, HDR, HDR + 8);
    }
  };
}

/** XRSTOR and XRSTORS (SDM 13.8, 13.12): every check before any state changes. */
function xrstor(supervisor: boolean) {
  return (c: Cpu, i: Insn) => {
    const lin = xsaveLin(c, i, false, supervisor);
    readArea(c, lin, HDR, HDR + 64);
    const xstateLo = AV.getInt32(XSTATE_BV, true), xstateHi = AV.getInt32(XSTATE_BV + 4, true);
    const xcompLo = AV.getInt32(XCOMP_BV, true), xcompHi = AV.getInt32(XCOMP_BV + 4, true);
    const compacted = xcompHi < 0;
    const xcr0 = c.xcr0; // | IA32_XSS (0) for XRSTORS
    if (supervisor && !compacted) c.gp(0);
    if (compacted) {
      // XCOMP_BV[62:0] within XCR0 (| XSS); XSTATE_BV within XCOMP_BV; header bytes 63:16 zero.
      if ((xcompLo & ~xcr0) || (xcompHi & 0x7fffffff)) c.gp(0);
      if ((xstateLo & ~xcompLo) || xstateHi) c.gp(0);
      for (let k = HDR + 16; k < HDR + 64; k++) if (A[k]) c.gp(0);
    } else {
      // XSTATE_BV within XCR0; header bytes 23:8 (XCOMP_BV and the next 8 bytes) zero.
      if ((xstateLo & ~xcr0) || xstateHi) c.gp(0);
      for (let k = HDR + 8; k < HDR + 24; k++) if (A[k]) c.gp(0);
    }
    const rfbm = xcr0 & c.R[0] & XFEATURES_SUPPORTED;
    const loadX87 = (rfbm & XFEATURE_MASK_FP) !== 0 && (xstateLo & XFEATURE_MASK_FP) !== 0;
    const loadSse = (rfbm & XFEATURE_MASK_SSE) !== 0 && (xstateLo & XFEATURE_MASK_SSE) !== 0;
    // MXCSR: the standard form loads it whenever RFBM[1] (or RFBM[2]) is set, the compacted form
    // only with XSTATE_BV[1] = 1 (else 1F80H). An illegal value is #GP(0).
    let mxcsr = c.mxcsr;
    if (rfbm & XFEATURE_MASK_SSE) {
      if (!compacted || loadSse) {
        readArea(c, lin, 24, 32);
        mxcsr = AV.getInt32(FX_MXCSR, true);
        if (mxcsr & ~MXCSR_MASK) c.gp(0);
      } else mxcsr = MXCSR_INIT;
    }
    if (loadX87) { readArea(c, lin, 0, 24); readArea(c, lin, 32, FX_XMM); }
    const nx = xmmCount(c);
    if (loadSse) readArea(c, lin, FX_XMM, FX_XMM + 16 * nx);
    // Nothing faults from here on.
    if (rfbm & XFEATURE_MASK_FP) {
      const f = c.fxArea;
      if (loadX87) {
        // Bytes 24-31 (MXCSR) belong to SSE; the x87 image is bytes 0-23 and 32-159. FCW bit 6
        // reads as 1; FSW.ES and B follow the unmasked exception flags (as the host's XRSTOR).
        f.set(A.subarray(0, 24), 0); f.set(A.subarray(32, FX_XMM), 32);
        f[0] |= 0x40;
        const fsw = f[2] | (f[3] << 8), pending = (fsw & ~(f[0] | (f[1] << 8)) & 0x3f) !== 0;
        const nfsw = pending ? fsw | 0x8080 : fsw & ~0x8080;
        f[2] = nfsw & 0xff; f[3] = (nfsw >> 8) & 0xff;
      } else {
        f.fill(0, 0, FX_XMM);
        f[0] = FCW_INIT & 0xff; f[1] = FCW_INIT >> 8;
      }
      c.xinuse = (c.xinuse & ~XFEATURE_MASK_FP) | (loadX87 ? XFEATURE_MASK_FP : 0);
    }
    if (rfbm & XFEATURE_MASK_SSE) {
      c.mxcsr = mxcsr;
      const x = c.xmm;
      if (loadSse) for (let k = 0; k < 4 * nx; k++) x[k] = AV.getInt32(FX_XMM + 4 * k, true);
      else x.fill(0, 0, 4 * nx);
      c.xinuse = (c.xinuse & ~XFEATURE_MASK_SSE) | (loadSse ? XFEATURE_MASK_SSE : 0);
    }
  };
}

defineMatching(/^Xsave(64)?_mem$/, xsave(SaveForm.Standard));
defineMatching(/^Xsaveopt(64)?_mem$/, xsave(SaveForm.Opt));
defineMatching(/^Xsavec(64)?_mem$/, xsave(SaveForm.Compacted));
defineMatching(/^Xsaves(64)?_mem$/, xsave(SaveForm.Supervisor));
defineMatching(/^Xrstor(64)?_mem$/, xrstor(false));
defineMatching(/^Xrstors(64)?_mem$/, xrstor(true));
