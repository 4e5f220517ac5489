// The x87 FPU (SDM Vol. 1 ch. 8, Vol. 2 instruction pages D8-DF and WAIT): every instruction on the
// register stack, with the arithmetic of softfloat80.ts.
//
// State: the FXSAVE image c.fxArea shared with FXSAVE/FXRSTOR and MMX (mmx.ts): FCW at 0, FSW at 2
// (TOP in bits 13:11), abridged FTW at 4 (bit n: physical register Rn valid), FOP at 6, FIP at 8,
// FDP at 16, and ST(k) in the 16-byte slot 32 + 16k. A push or pop rotates the slots so that slot k
// always holds ST(k). FIP/FDP are kept as offsets with FCS/FDS at 12/20 outside 64-bit mode and as
// 64-bit offsets in 64-bit mode (the FXSAVE64 layout).
//
// Exceptions (SDM Vol. 1 8.4-8.7): flags accumulate in FSW; an unmasked one sets ES and B and is
// reported by the next waiting x87 instruction (or WAIT) as #MF. Under KVM on Intel the guest runs
// with CR0.NE forced to 1 by VMX, so #MF is raised whatever the guest's CR0.NE; on AMD a guest with
// CR0.NE = 0 gets FERR# (counted in c.x87FerrCount for the platform) and continues as with IGNNE#.
// Unmasked IE/DE/ZE leave the destination and TOP unchanged; unmasked OE/UE store the bias-adjusted
// result to registers and nothing to memory. Stack overflow/underflow: IE + SF with C1 = 1/0.
// #NM when CR0.EM or CR0.TS (WAIT: CR0.MP and CR0.TS).
import type { Cpu } from '../cpu';
import { Insn, K_MEM } from '../insn';
import { defineMatching, memLin } from './operands';
import { CF, CR0_EM, CR0_MP, CR0_NE, CR0_TS, CS, PF, ZF, AF, OF, SF as EF_SF, VM, CR0_PE } from '../state';
import { setArithFlags, condition } from '../flags';
import {
  F80, env, classify, IE, DE, ZE, PE, C_ZERO, C_NORMAL, C_INF, C_QNAN, C_SNAN, C_UNSUPPORTED,
  setIndefinite, add, mul, div, sqrt, compare, fromInt, fromInt64, roundToInt, iNeg, iHi, iLo, fromF32, fromF64,
  toF32, toF64, outHi, outLo, RC_ZERO, fprem, fscale, fxtract, frndint,
} from '../softfloat80';
import { transcendental, T_F2XM1, T_FYL2X, T_FYL2XP1, T_FPTAN, T_FPATAN, T_FSIN, T_FCOS, T_FSINCOS } from './x87-math';

const SF_FLAG = 0x40, ES = 0x80, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
const ST0 = 32;

// ---------------------------------------------------------------- views of c.fxArea

let viewOf: Uint8Array | null = null;
let F8 = new Uint8Array(0), F16 = new Uint16Array(0), F32 = new Uint32Array(0);
function views(c: Cpu): void {
  const f = c.fxArea;
  if (f === viewOf) return;
  viewOf = f;
  F8 = f;
  F16 = new Uint16Array(f.buffer, f.byteOffset, f.length >> 1);
  F32 = new Uint32Array(f.buffer, f.byteOffset, f.length >> 2);
}
function top(): number { return (F16[1] >> 11) & 7; }
function setTop(t: number): void { F16[1] = (F16[1] & ~0x3800) | (t << 11); }

/** Read ST(k) into x. */
function get(k: number, x: F80): F80 {
  const w = 8 + 4 * k, se = F16[20 + 8 * k];
  x.lo = F32[w]; x.hi = F32[w + 1]; x.s = se >>> 15; x.e = se & 0x7fff;
  return x;
}
/** Write x to ST(k) and tag it valid. */
function put(k: number, x: F80): void {
  const w = 8 + 4 * k;
  F32[w] = x.lo; F32[w + 1] = x.hi; F16[20 + 8 * k] = (x.s << 15) | x.e;
  F16[21 + 8 * k] = 0; F16[22 + 8 * k] = 0; F16[23 + 8 * k] = 0;
  F8[4] |= 1 << ((top() + k) & 7);
}
function empty(k: number): boolean { return !((F8[4] >> ((top() + k) & 7)) & 1); }
function free(k: number): void { F8[4] &= ~(1 << ((top() + k) & 7)); }

/** TOP - 1: slot k+1 <- slot k, slot 0 <- the old slot 7 (physical register TOP - 1). No allocation. */
function rotPush(): void {
  const a = F32[36], b = F32[37], c = F32[38], d = F32[39];
  F32.copyWithin(12, 8, 36);
  F32[8] = a; F32[9] = b; F32[10] = c; F32[11] = d;
  setTop((top() - 1) & 7);
}
/** TOP + 1: slot k <- slot k+1, slot 7 <- the old slot 0. */
function rotPop(): void {
  const a = F32[8], b = F32[9], c = F32[10], d = F32[11];
  F32.copyWithin(8, 12, 40);
  F32[36] = a; F32[37] = b; F32[38] = c; F32[39] = d;
  setTop((top() + 1) & 7);
}
function pop(): void { free(0); rotPop(); }
const ROT = new Uint8Array(128);
/** Set TOP keeping every physical register in place: slot k must hold R((k + TOP) & 7). */
function setTopKeep(t: number): void {
  const old = top();
  if (t === old) return;
  ROT.set(F8.subarray(ST0, ST0 + 128));
  // New slot k holds R((k + t) & 7), which was in old slot (k + t - old) & 7.
  for (let k = 0; k < 8; k++) { const j = (k + t - old) & 7; F8.set(ROT.subarray(16 * j, 16 * j + 16), ST0 + 16 * k); }
  setTop(t);
}
/** FNINIT's state (SDM Vol. 1 Table 8-?): FCW 037FH, FSW 0 (TOP 0), all empty, pointers 0. */
function fninit(): void {
  setTopKeep(0);
  F8.fill(0, 0, 24);
  F16[0] = 0x037f;
}

// Scratch operands.
const A = new F80(), Bv = new F80(), R = new F80(), R2 = new F80();

// ---------------------------------------------------------------- instruction framing

/** #NM (CR0.EM or CR0.TS, SDM Vol. 3A Table 2-2), then a pending unmasked exception (#MF or FERR#). */
function begin(c: Cpu, wait: boolean): void {
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(7);
  views(c);
  if (wait && (F16[1] & ES)) pendingException(c);
  const cw = F16[0];
  env.rc = (cw >> 10) & 3;
  env.pc = PC_BITS[(cw >> 8) & 3];
  env.masks = cw & 0x3f;
  env.exc = 0; env.c1 = 0; env.srcDenormal = false;
}
/** FCW.PC: 00 single, 01 reserved (behaves as double extended), 10 double, 11 double extended. */
const PC_BITS = [24, 64, 53, 64];

/** A pending unmasked x87 exception (FSW.ES) for MMX instructions and EMMS (SDM Vol. 2: #MF). */
export function x87PendingCheck(c: Cpu): void {
  if (c.fxArea[2] & ES) pendingException(c);
}
/** SDM Vol. 1 8.7: #MF (CR0.NE = 1, or under VMX always), else FERR# with IGNNE# (execution continues). */
function pendingException(c: Cpu): void {
  if ((c.cr0 & CR0_NE) || c.vendor === 'intel') c.fault(16);
  c.x87FerrCount++;
}

/** Merge the accumulated flags into FSW (ES and B when any is unmasked); sets C1 from env.c1 when `c1`. */
function finish(c1: boolean): void {
  let sw = F16[1] | env.exc;
  if (env.exc & ~env.masks & 0x3f) sw |= ES | B;
  if (c1) sw = env.c1 ? sw | C1 : sw & ~C1;
  F16[1] = sw;
}
/** True when an unmasked IE, DE or ZE occurred: the destination and TOP stay unchanged. */
function preFault(): boolean { return (env.exc & ~env.masks & (IE | DE | ZE)) !== 0; }

/** Stack fault (IE + SF, C1 = 1 overflow / 0 underflow); returns true when masked (the default result is used). */
function stackFault(overflow: boolean): boolean {
  env.exc |= IE | SF_FLAG;
  env.c1 = overflow ? 1 : 0;
  return (env.masks & IE) !== 0;
}

/** Offset of the D8-DF opcode byte within the instruction (after prefixes and REX). */
function opcodeIndex(i: Insn): number {
  const b = i.bytes;
  for (let k = 0; k < b.length; k++) if (b[k] >= 0xd8 && b[k] <= 0xdf) return k;
  return 0;
}
/** FOP of the instruction (SDM Vol. 1 8.1.9): opcode bits 2:0 and the ModR/M byte. */
function fopOf(i: Insn): number {
  const k = opcodeIndex(i);
  return ((i.bytes[k] & 7) << 8) | (i.bytes[k + 1] ?? 0);
}

/** Last instruction and data pointers (SDM Vol. 1 8.1.8/8.1.9) for a non-control instruction. */
function pointers(c: Cpu, i: Insn, dataOff: number): void {
  F16[3] = fopOf(i);
  const ip = c.insnRip;
  if (c.codeBits === 64) {
    F32[2] = ip >>> 0; F32[3] = Math.floor(ip / 4294967296) >>> 0;
    if (i.k0 === K_MEM || i.k1 === K_MEM) { F32[4] = dataOff >>> 0; F32[5] = Math.floor(dataOff / 4294967296) >>> 0; }
  } else {
    F32[2] = ip >>> 0; F32[3] = c.seg[CS].selector;
    if (i.k0 === K_MEM || i.k1 === K_MEM) { F32[4] = dataOff >>> 0; F32[5] = c.seg[i.seg].selector; }
  }
}

/** Effective address (offset) of the memory operand, for FDP. */
let lastOff = 0;
function mem(c: Cpu, i: Insn, size: number, write: boolean): number {
  lastOff = i.eaf(c, i);
  return memLin(c, i, size, write);
}

/** The register operand ST(i) of a register form: ModR/M bits 2:0 (the last byte). */
function stIndex(i: Insn): number { return i.bytes[i.len - 1] & 7; }

// ---------------------------------------------------------------- arithmetic (FADD ... FDIVR)

const OP_ADD = 0, OP_MUL = 1, OP_COM = 2, OP_COMP = 3, OP_SUB = 4, OP_SUBR = 5, OP_DIV = 6, OP_DIVR = 7;

/** R = ST(d) op src with the operands x (ST(d) / ST(0)) and y. */
function arith(op: number, x: F80, y: F80): void {
  switch (op) {
    case OP_ADD: add(R, x, y, false); break;
    case OP_MUL: mul(R, x, y); break;
    case OP_SUB: add(R, x, y, true); break;
    case OP_SUBR: add(R, y, x, true); break;
    case OP_DIV: div(R, x, y); break;
    case OP_DIVR: div(R, y, x); break;
  }
}

/** Register form: ST(d) = ST(d) op ST(s) (op reversed by the *R forms), popping when `popAfter`. */
function arithReg(c: Cpu, i: Insn, op: number, d: number, s: number, popAfter: boolean): void {
  begin(c, true);
  pointers(c, i, 0);
  if (empty(d) || empty(s)) {
    if (!stackFault(false)) { finish(true); return; }
    setIndefinite(R);
  } else {
    get(d, A); get(s, Bv);
    // Operand order as the SDM writes it: DEST op SRC; the R forms compute SRC op DEST.
    arith(op, A, Bv);
    if (preFault()) { env.c1 = 0; finish(true); return; }
  }
  put(d, R);
  finish(true);
  if (popAfter) pop();
}

/** Memory form: ST(0) = ST(0) op m (float or integer already converted into Bv). */
function arithMem(op: number): void {
  if (empty(0)) {
    if (!stackFault(false)) { finish(true); return; }
    setIndefinite(R);
  } else {
    get(0, A);
    if (preFault()) { finish(true); return; } // unmasked IE/DE from converting the operand
    arith(op, A, Bv);
    if (preFault()) { env.c1 = 0; finish(true); return; }
  }
  put(0, R);
  finish(true);
}

// ---------------------------------------------------------------- compares

/** Set C3/C2/C0 from a compare result (C1 = 0), SDM Vol. 2 FCOM Table 3-21. */
function setCc(r: number): void {
  let sw = F16[1] & ~(C0 | C1 | C2 | C3);
  if (r === 2) sw |= C0 | C2 | C3; else if (r === 0) sw |= C3; else if (r < 0) sw |= C0;
  F16[1] = sw;
}
/** FCOM family on ST(0) and y (in Bv unless `s` >= 0: ST(s)). Returns false when the pops must not happen. */
function com(s: number, unordered: boolean): boolean {
  let r: number;
  if (empty(0) || (s >= 0 && empty(s))) {
    if (!stackFault(false)) { setCc(2); finish(false); return false; }
    r = 2;
  } else {
    get(0, A);
    if (s >= 0) get(s, Bv);
    r = compare(A, Bv, unordered);
    // Unmasked IE or DE still set the condition codes (measured); the pop does not happen.
    if (preFault()) { setCc(r); finish(false); return false; }
  }
  setCc(r);
  finish(false);
  return true;
}
/** FCOMI/FUCOMI: ZF, PF, CF from the compare; OF, SF, AF cleared (SDM Vol. 2 FCOMI). */
function comi(c: Cpu, s: number, unordered: boolean): boolean {
  let r: number, ok = true;
  if (empty(0) || empty(s)) {
    ok = stackFault(false);
    r = 2;
  } else {
    get(0, A); get(s, Bv);
    r = compare(A, Bv, unordered);
    if (preFault()) ok = false;
  }
  // The result is reported even when IE or DE is unmasked (measured).
  setArithFlags(c, ZF | PF | CF | OF | EF_SF | AF, r === 2 ? ZF | PF | CF : r === 0 ? ZF : r < 0 ? CF : 0);
  // C1: Intel clears it (SDM Vol. 2 FCOMI); AMD leaves it (measured) except on a stack fault.
  if (c.vendor === 'intel' || (env.exc & SF_FLAG)) F16[1] &= ~C1;
  finish(false);
  return ok;
}

// ---------------------------------------------------------------- loads and stores

/** Push x (FLD and friends): stack overflow when ST(7) is in use. */
function pushValue(x: F80, amd = false): void {
  if (!empty(7)) {
    if (!stackFault(true)) { finish(true); return; }
    setIndefinite(x);
  } else if (preFault() && !(amd && !(env.exc & ~env.masks & (IE | ZE)))) { finish(true); return; }
  rotPush();
  put(0, x);
  finish(true);
}

/** Read the memory operand of an arithmetic/load form into Bv (m32fp, m64fp, m16int, m32int, m64int). */
const M_F32 = 0, M_F64 = 1, M_I16 = 2, M_I32 = 3, M_I64 = 4;
const M_SIZE = [4, 8, 2, 4, 8];
function loadOperand(c: Cpu, i: Insn, kind: number): void {
  const lin = mem(c, i, M_SIZE[kind], false);
  switch (kind) {
    case M_F32: { const v = c.readLin32(lin); begin2(c, i); fromF32(Bv, v); break; }
    case M_F64: { const lo = c.readLin64(lin), hi = c.hi; begin2(c, i); fromF64(Bv, hi, lo); break; }
    case M_I16: { const v = (c.readLin16(lin) << 16) >> 16; begin2(c, i); fromInt(Bv, v < 0 ? 1 : 0, 0, Math.abs(v)); break; }
    case M_I32: { const v = c.readLin32(lin) | 0; begin2(c, i); fromInt(Bv, v < 0 ? 1 : 0, 0, Math.abs(v)); break; }
    default: { const lo = c.readLin64(lin), hi = c.hi; begin2(c, i); fromInt64(Bv, hi | 0, lo); break; }
  }
}
/** After the memory operand has been read (no fault possible any more): update the pointers. */
function begin2(c: Cpu, i: Insn): void { pointers(c, i, lastOff); }

function memForm(kind: number, op: number) {
  return (c: Cpu, i: Insn) => {
    begin(c, true);
    loadOperand(c, i, kind);
    if (op === OP_COM || op === OP_COMP) {
      if (preFault()) { finish(false); return; }
      if (com(-1, false) && op === OP_COMP) pop();
      return;
    }
    arithMem(op);
  };
}
for (const [name, kind] of [['m32fp', M_F32], ['m64fp', M_F64], ['m16int', M_I16], ['m32int', M_I32]] as const) {
  const p = name.endsWith('int') ? 'Fi' : 'F';
  const names = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];
  names.forEach((n, op) => defineMatching(new RegExp(`^${p}${n}_${name}$`), memForm(kind, op)));
}

// Register forms.
function regForm(op: number, toSti: boolean, popAfter: boolean) {
  return {
    factory: (i: Insn) => {
      const s = stIndex(i);
      return toSti
        ? (c: Cpu, i: Insn) => arithReg(c, i, op, s, 0, popAfter)
        : (c: Cpu, i: Insn) => arithReg(c, i, op, 0, s, popAfter);
    },
  };
}
['add', 'mul', '', '', 'sub', 'subr', 'div', 'divr'].forEach((n, op) => {
  if (!n) return;
  const cap = 'F' + n;
  defineMatching(new RegExp(`^${cap}_st0_sti$`), regForm(op, false, false));
  defineMatching(new RegExp(`^${cap}_sti_st0$`), regForm(op, true, false));
  defineMatching(new RegExp(`^${cap}p_sti_st0$`), regForm(op, true, true));
});

// FCOM/FCOMP/FUCOM/FUCOMP ST(i) (with the undocumented aliases DC D0, DC D8, DE D0), FCOMPP, FUCOMPP.
function comReg(pops: number, unordered: boolean, fixed = -1) {
  return {
    factory: (i: Insn) => {
      const s = fixed >= 0 ? fixed : stIndex(i);
      return (c: Cpu, i: Insn) => {
        begin(c, true); pointers(c, i, 0);
        if (com(s, unordered)) for (let k = 0; k < pops; k++) pop();
      };
    },
  };
}
defineMatching(/^Fcom_st0_sti(_DCD0)?$/, comReg(0, false));
defineMatching(/^Fcomp_st0_sti(_DCD8|_DED0)?$/, comReg(1, false));
defineMatching(/^Fucom_st0_sti$/, comReg(0, true));
defineMatching(/^Fucomp_st0_sti$/, comReg(1, true));
defineMatching(/^Fcompp$/, comReg(2, false, 1));
defineMatching(/^Fucompp$/, comReg(2, true, 1));
function comiReg(popAfter: boolean, unordered: boolean) {
  return {
    factory: (i: Insn) => {
      const s = stIndex(i);
      return (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); if (comi(c, s, unordered) && popAfter) pop(); };
    },
  };
}
defineMatching(/^Fcomi_st0_sti$/, comiReg(false, false));
defineMatching(/^Fcomip_st0_sti$/, comiReg(true, false));
defineMatching(/^Fucomi_st0_sti$/, comiReg(false, true));
defineMatching(/^Fucomip_st0_sti$/, comiReg(true, true));
// FTST: compare ST(0) with +0.0.
defineMatching(/^Ftst$/, (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); Bv.set(0, 0, 0, 0); com(-1, false); });

// FXAM (SDM Vol. 2 FXAM Table 3-?): C3 C2 C0 = class, C1 = sign; works on an empty register too.
defineMatching(/^Fxam$/, (c: Cpu, i: Insn) => {
  begin(c, true); pointers(c, i, 0);
  get(0, A);
  let cc: number;
  if (empty(0)) cc = C3 | C0;
  else switch (classify(A)) {
    case C_UNSUPPORTED: cc = 0; break;
    case C_QNAN: case C_SNAN: cc = C0; break;
    case C_NORMAL: cc = C2; break;
    case C_INF: cc = C2 | C0; break;
    case C_ZERO: cc = C3; break;
    default: cc = C3 | C2; break; // denormal, pseudo-denormal
  }
  F16[1] = (F16[1] & ~(C0 | C1 | C2 | C3)) | cc | (A.s ? C1 : 0);
});

// FLD m32fp/m64fp/m80fp, FILD m16/m32/m64, FLD ST(i), FBLD.
function fldMem(kind: number) {
  return (c: Cpu, i: Insn) => {
    begin(c, true);
    loadOperand(c, i, kind);
    // Conversion exceptions of FLD m32fp/m64fp (SDM Vol. 2 FLD): SNaN -> IE (quieted), denormal -> DE;
    // a stack overflow takes precedence over both (measured).
    if (empty(7)) {
      if (classify(Bv) === C_SNAN) { env.exc |= IE; Bv.hi = (Bv.hi | 0x40000000) >>> 0; }
      else if (env.srcDenormal) env.exc |= DE;
    }
    // An unmasked DE: Intel does not load (SDM Vol. 1 8.5.2); AMD loads the value anyway (measured).
    pushValue(Bv, c.vendor === 'amd');
  };
}
defineMatching(/^Fld_m32fp$/, fldMem(M_F32));
defineMatching(/^Fld_m64fp$/, fldMem(M_F64));
defineMatching(/^Fild_m16int$/, fldMem(M_I16));
defineMatching(/^Fild_m32int$/, fldMem(M_I32));
defineMatching(/^Fild_m64int$/, fldMem(M_I64));
defineMatching(/^Fld_m80fp$/, (c: Cpu, i: Insn) => {
  begin(c, true);
  const lin = mem(c, i, 10, false);
  const lo = c.readLin64(lin), hi = c.hi, se = c.readLin16(c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0);
  begin2(c, i);
  Bv.set(se >>> 15, se & 0x7fff, hi, lo);
  pushValue(Bv);
});
defineMatching(/^Fld_sti$/, {
  factory: (i: Insn) => {
    const s = stIndex(i);
    return (c: Cpu, i: Insn) => {
      begin(c, true); pointers(c, i, 0);
      if (empty(s)) {
        // Underflow of the source, then the push (SDM Vol. 2 FLD: #IS).
        if (!stackFault(false)) { finish(true); return; }
        setIndefinite(Bv);
        rotPush(); put(0, Bv); finish(true);
        return;
      }
      get(s, Bv);
      pushValue(Bv);
    };
  },
});
// Constants (SDM Vol. 1 8.3.8: rounded to 64 bits per FCW.RC, no PE).
function constant(e: number, hi: number, lo: number, roundsUp: number) {
  return (c: Cpu, i: Insn) => {
    begin(c, true); pointers(c, i, 0);
    // roundsUp: 1 when the infinitely precise value rounds up to lo + 1 under round-to-nearest.
    const rc = env.rc;
    let l = lo;
    if (roundsUp >= 0 && (rc === 2 || (rc === 0 && roundsUp === 1))) l = lo + 1;
    R2.set(0, e, hi, l >>> 0);
    pushValue(R2);
  };
}
defineMatching(/^Fld1$/, constant(0x3fff, 0x80000000, 0, -1));
defineMatching(/^Fldz$/, constant(0, 0, 0, -1));
defineMatching(/^Fldpi$/, constant(0x4000, 0xc90fdaa2, 0x2168c234, 1));
defineMatching(/^Fldl2t$/, constant(0x4000, 0xd49a784b, 0xcd1b8afe, 0));
defineMatching(/^Fldl2e$/, constant(0x3fff, 0xb8aa3b29, 0x5c17f0bb, 1));
defineMatching(/^Fldlg2$/, constant(0x3ffd, 0x9a209a84, 0xfbcff798, 1));
defineMatching(/^Fldln2$/, constant(0x3ffe, 0xb17217f7, 0xd1cf79ab, 1));

// FST/FSTP m32fp/m64fp/m80fp and ST(i) (with the aliases D9 D8, DF D0, DF D8).
function fstMem(size: 4 | 8 | 10, popAfter: boolean) {
  return (c: Cpu, i: Insn) => {
    begin(c, true);
    const lin = mem(c, i, size, true);
    let lo = 0, hi = 0, se = 0, store = true;
    if (empty(0)) {
      if (!stackFault(false)) { pointers(c, i, lastOff); finish(true); return; }
      if (size === 4) lo = 0xffc00000; else if (size === 8) { hi = 0xfff80000; } else { hi = 0xc0000000; se = 0xffff; }
    } else {
      get(0, A);
      if (size === 10) { lo = A.lo; hi = A.hi; se = (A.s << 15) | A.e; }
      else if (size === 4) { store = toF32(A); lo = outLo; }
      else { store = toF64(A); lo = outLo; hi = outHi; }
      if (preFault()) store = false;
    }
    if (store) {
      if (size === 4) c.writeLin32(lin, lo);
      else {
        c.writeLin64(lin, lo | 0, hi | 0);
        if (size === 10) c.writeLin16(c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0, se);
      }
    }
    pointers(c, i, lastOff);
    finish(true);
    if (popAfter && store) pop();
  };
}
defineMatching(/^Fst_m32fp$/, fstMem(4, false));
defineMatching(/^Fstp_m32fp$/, fstMem(4, true));
defineMatching(/^Fst_m64fp$/, fstMem(8, false));
defineMatching(/^Fstp_m64fp$/, fstMem(8, true));
defineMatching(/^Fstp_m80fp$/, fstMem(10, true));
function fstReg(popAfter: boolean) {
  return {
    factory: (i: Insn) => {
      const d = stIndex(i);
      return (c: Cpu, i: Insn) => {
        begin(c, true); pointers(c, i, 0);
        if (empty(0)) {
          if (!stackFault(false)) { finish(true); return; }
          setIndefinite(A);
        } else get(0, A);
        put(d, A);
        finish(true);
        if (popAfter) pop();
      };
    },
  };
}
defineMatching(/^Fst_sti$/, fstReg(false));
defineMatching(/^Fstp_sti(_DFD0|_DFD8)?$|^Fstpnce_sti$/, fstReg(true));

// FIST/FISTP m16/m32/m64, FISTTP (truncating, SSE3): out of range, NaN, infinity -> IE, integer indefinite.
function fist(size: 2 | 4 | 8, popAfter: boolean, truncate: boolean) {
  return (c: Cpu, i: Insn) => {
    begin(c, true);
    const lin = mem(c, i, size, true);
    let lo = 0, hi = 0, store = true;
    if (empty(0)) {
      if (!stackFault(false)) { pointers(c, i, lastOff); finish(true); return; }
      lo = size === 2 ? 0x8000 : size === 4 ? 0x80000000 : 0; hi = size === 8 ? 0x80000000 : 0;
    } else {
      get(0, A);
      let ok = roundToInt(A, truncate ? RC_ZERO : env.rc);
      if (ok) {
        // Range of the destination: magnitude up to 2^(n-1) for negatives, 2^(n-1) - 1 otherwise.
        const bits = size * 8;
        if (bits < 64) {
          const lim = 2 ** (bits - 1) - (iNeg ? 0 : 1);
          ok = iHi === 0 && iLo <= lim;
          if (ok) { const v = iNeg ? -iLo : iLo; lo = bits === 16 ? v & 0xffff : v >>> 0; }
        } else {
          ok = iHi < 0x80000000 || (iNeg === 1 && iHi === 0x80000000 && iLo === 0);
          if (ok) {
            if (iNeg) { lo = (~iLo + 1) >>> 0; hi = (~iHi + (lo === 0 ? 1 : 0)) >>> 0; } else { lo = iLo; hi = iHi; }
          }
        }
      }
      if (!ok) {
        env.exc = (env.exc & ~PE) | IE; env.c1 = 0;
        if (!(env.masks & IE)) store = false;
        lo = size === 2 ? 0x8000 : size === 4 ? 0x80000000 : 0; hi = size === 8 ? 0x80000000 : 0;
      }
      if (preFault()) store = false;
    }
    if (store) {
      if (size === 2) c.writeLin16(lin, lo); else if (size === 4) c.writeLin32(lin, lo); else c.writeLin64(lin, lo | 0, hi | 0);
    }
    pointers(c, i, lastOff);
    finish(true);
    if (popAfter && store) pop();
  };
}
defineMatching(/^Fist_m16int$/, fist(2, false, false));
defineMatching(/^Fistp_m16int$/, fist(2, true, false));
defineMatching(/^Fist_m32int$/, fist(4, false, false));
defineMatching(/^Fistp_m32int$/, fist(4, true, false));
defineMatching(/^Fistp_m64int$/, fist(8, true, false));
defineMatching(/^Fisttp_m16int$/, fist(2, true, true));
defineMatching(/^Fisttp_m32int$/, fist(4, true, true));
defineMatching(/^Fisttp_m64int$/, fist(8, true, true));

// FBLD m80bcd: 18 packed BCD digits and a sign (SDM Vol. 1 4.7); FBSTP: rounded per RC.
defineMatching(/^Fbld_m80bcd$/, (c: Cpu, i: Insn) => {
  begin(c, true);
  const lin = mem(c, i, 10, false);
  const lo = c.readLin64(lin), hi = c.hi, top2 = c.readLin16(c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0);
  begin2(c, i);
  // Digits from the most significant (byte 8) down; value kept as vh * 2^32 + vl.
  let vh = 0, vl = 0;
  for (let n = 17; n >= 0; n--) {
    const k = n >> 1;
    const b = k === 8 ? top2 & 0xff : k >= 4 ? (hi >>> (8 * (k - 4))) & 0xff : (lo >>> (8 * k)) & 0xff;
    const l = vl * 10 + (n & 1 ? b >> 4 : b & 15);
    vl = l % 4294967296;
    vh = vh * 10 + Math.floor(l / 4294967296);
  }
  fromInt(Bv, (top2 >> 15) & 1, vh >>> 0, vl >>> 0);
  pushValue(Bv);
});
defineMatching(/^Fbstp_m80bcd$/, (c: Cpu, i: Insn) => {
  begin(c, true);
  const lin = mem(c, i, 10, true);
  // The packed BCD indefinite (SDM Vol. 1 Table 4-?): FFFF C000 0000 0000 0000H.
  let lo = 0, hi = 0xc0000000, se = 0xffff, store = true;
  if (empty(0)) {
    if (!stackFault(false)) { pointers(c, i, lastOff); finish(true); return; }
  } else {
    get(0, A);
    let ok = roundToInt(A, env.rc);
    // |value| must be below 10^18 (SDM Vol. 2 FBSTP).
    if (ok && (iHi > 0x0de0b6b3 || (iHi === 0x0de0b6b3 && iLo >= 0xa7640000))) ok = false;
    if (!ok) {
      env.exc = (env.exc & ~PE) | IE; env.c1 = 0;
      if (!(env.masks & IE)) store = false;
    } else {
      let vh = iHi, vl = iLo;
      let digits = 0, dhi = 0, b8 = 0;
      for (let k = 0; k < 18; k++) {
        const r = vh % 10; vh = Math.floor(vh / 10);
        const t = r * 4294967296 + vl;
        const d = t % 10; vl = Math.floor(t / 10);
        if (k < 8) digits += d * 2 ** (4 * k);
        else if (k < 16) dhi += d * 2 ** (4 * (k - 8));
        else b8 += d << (4 * (k - 16));
      }
      lo = digits >>> 0; hi = dhi >>> 0; se = b8 | (iNeg ? 0x8000 : 0);
    }
    if (preFault()) store = false;
  }
  if (store) {
    c.writeLin64(lin, lo | 0, hi | 0);
    c.writeLin16(c.codeBits === 64 ? lin + 8 : (lin + 8) >>> 0, se);
  }
  pointers(c, i, lastOff);
  finish(true);
  if (store) pop();
});

// ---------------------------------------------------------------- register manipulation

defineMatching(/^Fxch_st0_sti(_DDC8|_DFC8)?$/, {
  factory: (i: Insn) => {
    const s = stIndex(i);
    return (c: Cpu, i: Insn) => {
      begin(c, true); pointers(c, i, 0);
      const e0 = empty(0), es = empty(s);
      if (e0 || es) {
        if (!stackFault(false)) { finish(true); return; }
        if (e0) setIndefinite(A); else get(0, A);
        if (es) setIndefinite(Bv); else get(s, Bv);
      } else { get(0, A); get(s, Bv); }
      put(0, Bv); put(s, A);
      finish(true);
    };
  },
});
function unaryStack(op: (x: F80) => void) {
  return (c: Cpu, i: Insn) => {
    begin(c, true); pointers(c, i, 0);
    if (empty(0)) {
      if (!stackFault(false)) { finish(true); return; }
      setIndefinite(A);
      put(0, A);
    } else { get(0, A); op(A); put(0, A); }
    finish(true);
  };
}
defineMatching(/^Fchs$/, unaryStack((x) => { x.s ^= 1; }));
defineMatching(/^Fabs$/, unaryStack((x) => { x.s = 0; }));
defineMatching(/^Ffree_sti$/, { factory: (i: Insn) => { const s = stIndex(i); return (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); free(s); }; } });
defineMatching(/^Ffreep_sti$/, { factory: (i: Insn) => { const s = stIndex(i); return (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); free(s); pop(); }; } });
defineMatching(/^Fincstp$/, (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); rotPop(); F16[1] &= ~C1; });
defineMatching(/^Fdecstp$/, (c: Cpu, i: Insn) => { begin(c, true); pointers(c, i, 0); rotPush(); F16[1] &= ~C1; });
// FNOP, and the 8087/287 control instructions a 387 and later treat as FNOP (FENI, FDISI, FSETPM).
defineMatching(/^Fnop$|^F(n)?eni$|^F(n)?disi$|^F(n)?setpm$/, (c: Cpu, i: Insn) => {
  begin(c, i.mnemonic === 'fnop' || !/^fn/.test(i.mnemonic)); // FNOP waits; FNENI/FNDISI/FNSETPM do not
  if (i.mnemonic === 'fnop') pointers(c, i, 0);
});

// FCMOVcc ST(0), ST(i) (SDM Vol. 2 FCMOVcc): B, E, BE, U and their negations.
const FCMOV_CC: [RegExp, number][] = [
  [/^Fcmovb_st0_sti$/, 2], [/^Fcmove_st0_sti$/, 4], [/^Fcmovbe_st0_sti$/, 6], [/^Fcmovu_st0_sti$/, 10],
  [/^Fcmovnb_st0_sti$/, 3], [/^Fcmovne_st0_sti$/, 5], [/^Fcmovnbe_st0_sti$/, 7], [/^Fcmovnu_st0_sti$/, 11],
];
for (const [re, cc] of FCMOV_CC) {
  defineMatching(re, {
    factory: (i: Insn) => {
      const s = stIndex(i);
      return (c: Cpu, i: Insn) => {
        begin(c, true); pointers(c, i, 0);
        if (empty(0) || empty(s)) {
          if (!stackFault(false)) { finish(true); return; }
          setIndefinite(A); put(0, A);
          finish(true);
          return;
        }
        if (condition(c, cc)) { get(s, A); put(0, A); }
      };
    },
  });
}

// ---------------------------------------------------------------- FSQRT, FPREM, FSCALE, FXTRACT, FRNDINT

defineMatching(/^Fsqrt$/, (c: Cpu, i: Insn) => {
  begin(c, true); pointers(c, i, 0);
  if (empty(0)) {
    if (!stackFault(false)) { finish(true); return; }
    setIndefinite(R);
  } else {
    get(0, A); sqrt(R, A);
    if (preFault()) { env.c1 = 0; finish(true); return; }
  }
  put(0, R); finish(true);
});
defineMatching(/^Frndint$/, (c: Cpu, i: Insn) => {
  begin(c, true); pointers(c, i, 0);
  if (empty(0)) {
    if (!stackFault(false)) { finish(true); return; }
    setIndefinite(R);
  } else {
    get(0, A); frndint(R, A);
    if (preFault()) { env.c1 = 0; finish(true); return; }
  }
  put(0, R); finish(true);
});
/** Two-operand ST(0)/ST(1) instructions writing ST(0) (FSCALE, FPREM, FPREM1). */
function st01(op: (r: F80, a: F80, b: F80) => number, remainder: boolean) {
  return (c: Cpu, i: Insn) => {
    begin(c, true); pointers(c, i, 0);
    let cc = -1, stack = false;
    if (empty(0) || empty(1)) {
      stack = true;
      if (!stackFault(false)) { remainderCc(remainder, -1); finish(true); return; }
      setIndefinite(R);
    } else {
      get(0, A); get(1, Bv);
      cc = op(R, A, Bv);
      if (preFault()) { env.c1 = 0; remainderCc(remainder, -1); finish(true); return; }
    }
    put(0, R);
    remainderCc(remainder, cc);
    if (remainder && !stack) env.c1 = cc > 0 && (cc & C1) ? 1 : 0;
    finish(true);
  };
}
/**
 * FPREM/FPREM1 condition codes: C2 = incomplete; C0/C3/C1 = quotient bits 2/1/0 (all clear for a
 * partial remainder or no quotient). NaN/invalid results and stack faults (cc -1) leave C0/C3 (measured).
 */
function remainderCc(remainder: boolean, cc: number): void {
  if (!remainder) return;
  if (cc < 0) { F16[1] &= ~C2; return; }
  F16[1] = (F16[1] & ~(C0 | C2 | C3)) | (cc & (C0 | C2 | C3));
}
defineMatching(/^Fprem$/, st01((r, a, b) => fprem(r, a, b, false), true));
defineMatching(/^Fprem1$/, st01((r, a, b) => fprem(r, a, b, true), true));
defineMatching(/^Fscale$/, st01((r, a, b) => { fscale(r, a, b); return -1; }, false));
defineMatching(/^Fxtract$/, (c: Cpu, i: Insn) => {
  begin(c, true); pointers(c, i, 0);
  if (empty(0)) {
    if (!stackFault(false)) { finish(true); return; }
    setIndefinite(R); setIndefinite(R2);
  } else if (!empty(7)) {
    if (!stackFault(true)) { finish(true); return; }
    setIndefinite(R); setIndefinite(R2);
  } else {
    get(0, A); fxtract(R, R2, A);
    if (preFault()) { finish(true); return; }
  }
  // ST(0) <- exponent, then push the significand.
  put(0, R); rotPush(); put(0, R2);
  finish(true);
});

// ---------------------------------------------------------------- transcendental instructions

/** ST(0) = f(ST(0)) [FSIN, FCOS, F2XM1]; FPTAN/FSINCOS push a second result; FYL2X/FYL2XP1/FPATAN pop. */
function trans(kind: number) {
  const pushes = kind === T_FPTAN || kind === T_FSINCOS;
  const binary = kind === T_FYL2X || kind === T_FYL2XP1 || kind === T_FPATAN;
  const trig = kind === T_FSIN || kind === T_FCOS || kind === T_FPTAN || kind === T_FSINCOS;
  return (c: Cpu, i: Insn) => {
    begin(c, true); pointers(c, i, 0);
    if (trig) F16[1] &= ~C2; // C2 = 1 only for an out-of-range operand (measured: also on faults)
    let cc = 0;
    if (empty(0) || (binary && empty(1))) {
      if (!stackFault(false)) { finish(true); return; }
      setIndefinite(R); setIndefinite(R2);
      if (pushes && !empty(7)) { /* both underflow and overflow: underflow reported */ }
    } else if (pushes && !empty(7)) {
      if (!stackFault(true)) { finish(true); return; }
      setIndefinite(R); setIndefinite(R2);
    } else {
      get(0, A); if (binary) get(1, Bv);
      cc = transcendental(kind, R, R2, A, Bv);
      if (preFault()) { env.c1 = 0; finish(true); return; }
    }
    if (cc & C2) {
      // Operand out of range (|x| >= 2^63): C2 = 1, ST(0) unchanged, nothing pushed.
      F16[1] |= C2;
      finish(true);
      return;
    }
    if (binary) { put(1, R); finish(true); pop(); return; }
    put(0, R);
    if (pushes) { rotPush(); put(0, R2); }
    finish(true);
  };
}
defineMatching(/^F2xm1$/, trans(T_F2XM1));
defineMatching(/^Fyl2x$/, trans(T_FYL2X));
defineMatching(/^Fyl2xp1$/, trans(T_FYL2XP1));
defineMatching(/^Fptan$/, trans(T_FPTAN));
defineMatching(/^Fpatan$/, trans(T_FPATAN));
defineMatching(/^Fsin$/, trans(T_FSIN));
defineMatching(/^Fcos$/, trans(T_FCOS));
defineMatching(/^Fsincos$/, trans(T_FSINCOS));

// ---------------------------------------------------------------- control instructions

function wait(mn: string): boolean { return !/^fn/.test(mn); }

// FINIT/FNINIT: FCW = 037FH, FSW = 0, all tags empty, FOP/FIP/FDP = 0 (SDM Vol. 1 8.1.1, Table 8-?).
defineMatching(/^F(n)?init$/, (c: Cpu, i: Insn) => {
  begin(c, wait(i.mnemonic));
  fninit();
});
// FCLEX/FNCLEX: clear the exception flags, SF, ES and B.
defineMatching(/^F(n)?clex$/, (c: Cpu, i: Insn) => { begin(c, wait(i.mnemonic)); F16[1] &= 0x7f00; });
defineMatching(/^F(n)?stcw_m2byte$/, (c: Cpu, i: Insn) => {
  begin(c, wait(i.mnemonic));
  c.writeLin16(memLin(c, i, 2, true), F16[0]);
});
// FLDCW: a new FCW unmasking a flagged exception makes it pending (ES, B), SDM Vol. 1 8.5.
defineMatching(/^Fldcw_m2byte$/, (c: Cpu, i: Insn) => {
  begin(c, true);
  const v = c.readLin16(memLin(c, i, 2, false));
  F16[0] = v;
  updateEs();
});
/** ES and B follow the unmasked flags in FSW. */
function updateEs(): void {
  F16[1] = F16[1] & 0x3f & ~F16[0] ? F16[1] | ES | B : F16[1] & ~(ES | B);
}
defineMatching(/^F(n)?stsw_m2byte$/, (c: Cpu, i: Insn) => { begin(c, wait(i.mnemonic)); c.writeLin16(memLin(c, i, 2, true), F16[1]); });
defineMatching(/^F(n)?stsw_AX$/, (c: Cpu, i: Insn) => { begin(c, wait(i.mnemonic)); c.set16(0, F16[1]); });

// WAIT/FWAIT: #NM when CR0.MP and CR0.TS; then a pending unmasked exception.
defineMatching(/^Wait$/, (c: Cpu) => {
  if ((c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) c.fault(7);
  views(c);
  if (F16[1] & ES) pendingException(c);
});

/** Full tag word (SDM Vol. 1 8.1.7): 00 valid, 01 zero, 10 special, 11 empty, per physical register. */
function fullTagWord(): number {
  const t = top();
  let w = 0;
  for (let r = 0; r < 8; r++) {
    let tag = 3;
    if ((F8[4] >> r) & 1) {
      get((r - t) & 7, A);
      const k = classify(A);
      tag = k === C_ZERO ? 1 : k === C_NORMAL ? 0 : 2;
    }
    w |= tag << (2 * r);
  }
  return w;
}
function abridged(full: number): number {
  let a = 0;
  for (let r = 0; r < 8; r++) if (((full >> (2 * r)) & 3) !== 3) a |= 1 << r;
  return a;
}

/** Real-address or virtual-8086 mode: the real-mode environment layout (SDM Vol. 1 Figures 8-10, 8-12). */
function realLayout(c: Cpu): boolean { return !(c.cr0 & CR0_PE) || (c.rflags & VM) !== 0; }

/** Store the environment (14 or 28 bytes) at lin; returns its size. SDM Vol. 1 8.1.10, Figures 8-9 to 8-12. */
function storeEnv(c: Cpu, lin: number, big: boolean): number {
  const at = (k: number) => c.codeBits === 64 ? lin + k : (lin + k) >>> 0;
  const fip = F32[2], fdp = F32[4], fop = F16[3] & 0x7ff;
  const real = realLayout(c);
  const fcs = c.codeBits === 64 ? 0 : F32[3] & 0xffff, fds = c.codeBits === 64 ? 0 : F32[5] & 0xffff;
  // Real mode stores 20-bit linear pointers (offset + selector * 16).
  const ripL = real ? (fip + fcs * 16) >>> 0 : fip, rdpL = real ? (fdp + fds * 16) >>> 0 : fdp;
  const tw = fullTagWord();
  if (big) {
    c.writeLin32(at(0), 0xffff0000 | F16[0]);
    c.writeLin32(at(4), 0xffff0000 | F16[1]);
    c.writeLin32(at(8), 0xffff0000 | tw);
    if (real) {
      c.writeLin32(at(12), 0xffff0000 | (ripL & 0xffff));
      c.writeLin32(at(16), ((ripL >>> 16) << 12) | fop);
      c.writeLin32(at(20), 0xffff0000 | (rdpL & 0xffff));
      c.writeLin32(at(24), (rdpL >>> 16) << 12);
    } else {
      c.writeLin32(at(12), fip);
      c.writeLin32(at(16), (fop << 16) | fcs);
      c.writeLin32(at(20), fdp);
      c.writeLin32(at(24), 0xffff0000 | fds);
    }
    return 28;
  }
  c.writeLin16(at(0), F16[0]);
  c.writeLin16(at(2), F16[1]);
  c.writeLin16(at(4), tw);
  if (real) {
    c.writeLin16(at(6), ripL & 0xffff);
    c.writeLin16(at(8), (((ripL >>> 16) & 0xf) << 12) | fop);
    c.writeLin16(at(10), rdpL & 0xffff);
    c.writeLin16(at(12), ((rdpL >>> 16) & 0xf) << 12);
  } else {
    c.writeLin16(at(6), fip & 0xffff);
    c.writeLin16(at(8), fcs);
    c.writeLin16(at(10), fdp & 0xffff);
    c.writeLin16(at(12), fds);
  }
  return 14;
}
/** Load the environment (FLDENV/FRSTOR); reads everything before changing state. */
const ENV = new Uint32Array(7);
function readEnv(c: Cpu, lin: number, big: boolean): number {
  const at = (k: number) => c.codeBits === 64 ? lin + k : (lin + k) >>> 0;
  if (big) { for (let k = 0; k < 7; k++) ENV[k] = c.readLin32(at(4 * k)) >>> 0; return 28; }
  for (let k = 0; k < 7; k++) ENV[k] = c.readLin16(at(2 * k));
  return 14;
}
/** `keepRegs`: FLDENV (the physical registers stay, so the ST slots rotate with the new TOP). */
function applyEnv(c: Cpu, big: boolean, keepRegs: boolean): void {
  const real = realLayout(c);
  F16[0] = ENV[0] & 0xffff;
  if (keepRegs) setTopKeep((ENV[1] >> 11) & 7);
  F16[1] = ENV[1] & 0xffff;
  F8[4] = abridged(ENV[2] & 0xffff);
  if (big) {
    if (real) {
      F16[3] = ENV[4] & 0x7ff;
      F32[2] = ((ENV[3] & 0xffff) | (((ENV[4] >>> 12) & 0xffff) << 16)) >>> 0; F32[3] = 0;
      F32[4] = ((ENV[5] & 0xffff) | (((ENV[6] >>> 12) & 0xffff) << 16)) >>> 0; F32[5] = 0;
    } else {
      F16[3] = (ENV[4] >>> 16) & 0x7ff;
      F32[2] = ENV[3]; F32[3] = c.codeBits === 64 ? 0 : ENV[4] & 0xffff;
      F32[4] = ENV[5]; F32[5] = c.codeBits === 64 ? 0 : ENV[6] & 0xffff;
    }
  } else if (real) {
    F16[3] = ENV[4] & 0x7ff;
    F32[2] = (ENV[3] | ((ENV[4] >>> 12) << 16)) >>> 0; F32[3] = 0;
    F32[4] = (ENV[5] | ((ENV[6] >>> 12) << 16)) >>> 0; F32[5] = 0;
  } else {
    F16[3] = 0;
    F32[2] = ENV[3]; F32[3] = ENV[4]; F32[4] = ENV[5]; F32[5] = ENV[6];
  }
}

// FSTENV/FNSTENV: store the environment, then mask all exceptions (SDM Vol. 2 FSTENV).
defineMatching(/^F(n)?stenv_m(14|28)byte$/, (c: Cpu, i: Insn) => {
  begin(c, wait(i.mnemonic));
  const big = i.msz === 28;
  const lin = memLin(c, i, big ? 28 : 14, true);
  storeEnv(c, lin, big);
  F16[0] |= 0x3f;
});
defineMatching(/^Fldenv_m(14|28)byte$/, (c: Cpu, i: Insn) => {
  begin(c, false); // FLDENV does not check for pending exceptions before loading (SDM Vol. 1 8.6)
  const big = i.msz === 28;
  readEnv(c, memLin(c, i, big ? 28 : 14, false), big);
  applyEnv(c, big, true);
});
// FSAVE/FNSAVE: environment + ST(0)-ST(7), then FNINIT. FRSTOR: the reverse.
const REGS = new Uint8Array(80);
defineMatching(/^F(n)?save_m(94|108)byte$/, (c: Cpu, i: Insn) => {
  begin(c, wait(i.mnemonic));
  const big = i.msz === 108;
  const lin = memLin(c, i, big ? 108 : 94, true);
  const n = storeEnv(c, lin, big);
  for (let k = 0; k < 8; k++) {
    const a = c.codeBits === 64 ? lin + n + 10 * k : (lin + n + 10 * k) >>> 0;
    c.writeLin32(a, F32[8 + 4 * k]); c.writeLin32(c.codeBits === 64 ? a + 4 : (a + 4) >>> 0, F32[9 + 4 * k]);
    c.writeLin16(c.codeBits === 64 ? a + 8 : (a + 8) >>> 0, F16[20 + 8 * k]);
  }
  fninit();
});
defineMatching(/^Frstor_m(94|108)byte$/, (c: Cpu, i: Insn) => {
  begin(c, false);
  const big = i.msz === 108;
  const lin = memLin(c, i, big ? 108 : 94, false);
  const n = readEnv(c, lin, big);
  for (let k = 0; k < 80; k++) REGS[k] = c.readLin8(c.codeBits === 64 ? lin + n + k : (lin + n + k) >>> 0);
  applyEnv(c, big, false);
  for (let k = 0; k < 8; k++) {
    F8.set(REGS.subarray(10 * k, 10 * k + 10), ST0 + 16 * k);
    F8.fill(0, ST0 + 16 * k + 10, ST0 + 16 * k + 16);
  }
});
