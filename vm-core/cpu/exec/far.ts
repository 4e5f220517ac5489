// Far control transfers and privilege changes (SDM Vol. 2 JMP/CALL/RET/IRET/INT n/SYSCALL/SYSRET/
// SYSENTER/SYSEXIT/SWAPGS; Vol. 3A 5.8 call gates, 6.12-6.14 interrupt returns).
// Task switches and virtual-8086 mode are not emulated: they stop with a clear report.
import type { Cpu } from '../cpu';
import { Code } from 'iced-x86';
import { Insn, K_FAR, K_MEM, K_REG } from '../insn';
import { defineMatching, getSp, setSp, readAt, writeAt } from './operands';
import {
  CS, SS, FS, GS, TR, IF, IOPL, VM, VIF, VIP, RF, TF, NT, AC, ID, OF, EFER_SCE, EFER_LMA, RCX, R11, RDX,
} from '../state';
import { getOF, getRflags, OP_NONE } from '../flags';
import {
  RawDescriptor, arFromDescriptor, arDpl, arIsCode, arIsConforming, arPresent, baseFromDescriptor, checkStackSegment,
  invalidateDataSegments, limitFromDescriptor, readDescriptor, selErr, setFlat, setSegmentRaw,
} from '../segmentation';
import { EVT_PRIV_SOFT, EVT_SOFT_EXC, EVT_SOFT_INT, softwareInterrupt, afterInstruction } from '../events';

const TWO32 = 4294967296;
function canonical(v: number): boolean { return v >= -0x800000000000 && v < 0x800000000000; }
function sizeOf(code: number, re: RegExp): number {
  const m = re.exec(Code[code]);
  return !m ? 4 : m[1] === 'w' || m[1] === '16' ? 2 : m[1] === 'q' || m[1] === '64' ? 8 : 4;
}

/** The far pointer of a JMP/CALL operand: ptr16:16/32 immediate or m16:16/32/64. */
function farOperand(c: Cpu, i: Insn, size: number): { sel: number; off: number } {
  if (i.k0 === K_FAR) return { sel: i.imm2 & 0xffff, off: size === 2 ? i.imm & 0xffff : i.imm >>> 0 };
  const ea = c.ea(i);
  const v = readAt(c, c.linear(i.seg, ea, size, false), size);
  const off = size === 8 ? c.hi * TWO32 + (v >>> 0) : size === 4 ? v >>> 0 : v;
  const selOff = i.asz === 64 ? ea + size : i.asz === 32 ? (ea + size) >>> 0 : (ea + size) & 0xffff;
  return { sel: c.readLin16(c.linear(i.seg, selOff, 2, false)), off };
}

/** A stack the instruction writes before loading SS (the new stack of a call gate). */
interface NewStack { base: number; limit: number; bits: 16 | 32 | 64; sel: number; sp: number; }

/** Write values (width `w`) downwards on a new stack, with limit checks first (#SS(sel)); returns the new SP. */
function pushFrame(c: Cpu, st: NewStack, w: number, vals: number[]): number {
  let sp = st.sp;
  const offs: number[] = [];
  for (let k = 0; k < vals.length; k++) {
    sp -= w;
    if (st.bits === 16) sp &= 0xffff; else if (st.bits === 32) sp >>>= 0;
    if (st.bits !== 64 && sp + w - 1 > st.limit) c.fault(12, selErr(st.sel));
    if (st.bits === 64 && !canonical(sp)) c.fault(12, 0);
    offs.push(sp);
  }
  for (let k = 0; k < vals.length; k++) {
    const lin = st.bits === 64 ? offs[k] : (st.base + offs[k]) >>> 0;
    const v = vals[k];
    if (w === 8) c.writeSys(lin, 8, v | 0, Math.floor(v / TWO32) | 0);
    else c.writeSys(lin, w, w === 2 ? v & 0xffff : v | 0);
  }
  return sp;
}

/** Push on the current stack, all or nothing: every address is checked before RSP changes. */
function pushAll(c: Cpu, w: number, vals: number[]): void {
  let sp = getSp(c);
  const lins: number[] = [];
  for (let k = 0; k < vals.length; k++) {
    sp = c.stackBits === 64 ? sp - w : c.stackBits === 32 ? (sp - w) >>> 0 : (sp - w) & 0xffff;
    lins.push(c.linear(SS, sp, w, true));
  }
  for (let k = 0; k < vals.length; k++) {
    const v = vals[k];
    writeAt(c, lins[k], w, w === 8 ? v | 0 : w === 2 ? v & 0xffff : v | 0, w === 8 ? Math.floor(v / TWO32) | 0 : 0);
  }
  setSp(c, sp);
}

/** Read `n` values of width `w` from the current stack at RSP + skip (no RSP change). */
function readStack(c: Cpu, w: number, n: number, skip = 0): number[] {
  const out: number[] = [];
  const sp = getSp(c);
  for (let k = 0; k < n; k++) {
    const o = sp + skip + k * w;
    const off = c.stackBits === 64 ? o : c.stackBits === 32 ? o >>> 0 : o & 0xffff;
    const v = readAt(c, c.linear(SS, off, w, false), w);
    out.push(w === 8 ? c.hi * TWO32 + (v >>> 0) : w === 4 ? v >>> 0 : v);
  }
  return out;
}

function notEmulated(c: Cpu, what: string): never {
  return c.notEmulated(c.cur!, `${what} at 0x${BigInt.asUintN(64, BigInt(c.insnRip)).toString(16)} is not emulated`);
}

/** Check a branch target offset against the new CS (limit, or canonical for 64-bit code). */
function checkTarget(c: Cpu, d: RawDescriptor, off: number): number {
  const ar = arFromDescriptor(d.hi);
  if (c.isLongMode() && (ar & 0x2000)) {
    if (!canonical(off)) c.gp(0);
    return off;
  }
  if (off > limitFromDescriptor(d.lo, d.hi)) c.gp(0);
  return off >>> 0;
}

/** Load CS (RPL := cpl) and RIP, then recompute the mode. */
function enterCode(c: Cpu, sel: number, d: RawDescriptor, cpl: number, rip: number): void {
  setSegmentRaw(c, CS, (sel & 0xfffc) | cpl, d);
  c.rip = rip;
  c.updateMode();
}

// ---------------------------------------------------------------- far JMP and CALL

/** Real-address mode far transfer: CS base = selector << 4 (SDM Vol. 3A 20.1.1). */
function realFar(c: Cpu, sel: number, off: number, size: number, isCall: boolean): void {
  if (off > c.seg[CS].limit) c.gp(0);
  if (isCall) pushAll(c, size, [c.seg[CS].selector, c.rip]);
  const s = c.seg[CS];
  s.selector = sel; s.base = sel << 4;
  c.rip = off;
  c.updateMode();
}

function farTransfer(c: Cpu, i: Insn, sel: number, off: number, size: number, isCall: boolean): void {
  if (!c.isProtected()) { realFar(c, sel, off & (size === 2 ? 0xffff : 0xffffffff), size, isCall); return; }
  if (c.rflags & VM) notEmulated(c, 'far transfer in virtual-8086 mode');
  if ((sel & 0xfffc) === 0) c.gp(0);
  const d = readDescriptor(c, sel);
  if (!d) return c.gp(selErr(sel));
  const ar = arFromDescriptor(d.hi);
  const cpl = c.cpl;
  if (ar & 0x10) {
    // Code segment: conforming needs DPL <= CPL; non-conforming needs RPL <= CPL and DPL = CPL.
    if (!arIsCode(ar)) c.gp(selErr(sel));
    if (arIsConforming(ar) ? arDpl(ar) > cpl : ((sel & 3) > cpl || arDpl(ar) !== cpl)) c.gp(selErr(sel));
    if (!arPresent(ar)) c.fault(11, selErr(sel));
    if (c.isLongMode() && (ar & 0x6000) === 0x6000) c.gp(selErr(sel));
    const target = checkTarget(c, d, size === 2 ? off & 0xffff : off);
    if (isCall) pushAll(c, size, [c.seg[CS].selector, c.rip]);
    enterCode(c, sel, d, cpl, target);
    return;
  }
  const type = ar & 0xf;
  if (type === 5 || type === 1 || type === 9) notEmulated(c, `far ${isCall ? 'CALL' : 'JMP'} to a task gate or TSS (task switch)`);
  const long = c.isLongMode();
  if (!(long ? type === 0xc : type === 4 || type === 0xc)) c.gp(selErr(sel));
  callGate(c, sel, d, ar, isCall);
}

/** Transfer through a call gate (SDM Vol. 3A 5.8.3-5.8.6, Vol. 2 CALL "CALL-GATE"). */
function callGate(c: Cpu, gateSel: number, g: RawDescriptor, gar: number, isCall: boolean): void {
  const cpl = c.cpl;
  if (arDpl(gar) < cpl || arDpl(gar) < (gateSel & 3)) c.gp(selErr(gateSel));
  if (!arPresent(gar)) c.fault(11, selErr(gateSel));
  const long = c.isLongMode();
  let gateOff = ((g.lo & 0xffff) | (g.hi & 0xffff0000)) >>> 0;
  if (long) {
    // 64-bit call gate: 16 bytes, the upper dword of the offset in bytes 8-11 (SDM 5.8.3.1).
    const base = gateSel & 4 ? c.seg[6].base : c.gdtr.base;
    const lim = gateSel & 4 ? c.seg[6].limit : c.gdtr.limit;
    if ((gateSel & 0xfff8) + 15 > lim) c.gp(selErr(gateSel));
    const up = c.readSys(base + (gateSel & 0xfff8) + 8, 4) | 0;
    const upType = (c.readSys(base + (gateSel & 0xfff8) + 12, 4) >> 8) & 0x1f;
    if (upType !== 0) c.gp(selErr(gateSel));
    gateOff = up * TWO32 + gateOff;
  }
  const gate16 = !long && (gar & 0xf) === 4;
  const w = long ? 8 : gate16 ? 2 : 4;
  const tsel = (g.lo >>> 16) & 0xffff;
  if ((tsel & 0xfffc) === 0) c.gp(0);
  const d = readDescriptor(c, tsel);
  if (!d) return c.gp(selErr(tsel));
  const ar = arFromDescriptor(d.hi);
  if (!arIsCode(ar) || arDpl(ar) > cpl) c.gp(selErr(tsel));
  if (long && (ar & 0x6000) !== 0x2000) c.gp(selErr(tsel)); // target must be 64-bit code
  if (!isCall && !arIsConforming(ar) && arDpl(ar) !== cpl) c.gp(selErr(tsel));
  if (!arPresent(ar)) c.fault(11, selErr(tsel));
  const target = checkTarget(c, d, gate16 ? gateOff & 0xffff : gateOff);
  const newCpl = arIsConforming(ar) ? cpl : arDpl(ar);
  if (!isCall) { enterCode(c, tsel, d, cpl, target); return; }
  const retCs = c.seg[CS].selector, retIp = c.rip;
  if (newCpl < cpl) {
    // More privileged: new stack from the TSS, old SS:ESP and the parameters copied (SDM 5.8.5).
    const oldSs = c.seg[SS].selector, oldSp = getSp(c);
    const tr = c.seg[TR];
    let st: NewStack;
    let ssDesc: RawDescriptor | undefined;
    let ssSel: number;
    if (long) {
      const o = 4 + newCpl * 8;
      if (o + 7 > tr.limit) c.fault(10, selErr(tr.selector));
      const lo = c.readSys(tr.base + o, 4), hi = c.readSys(tr.base + o + 4, 4) | 0;
      const rsp = hi * TWO32 + (lo >>> 0);
      if (!canonical(rsp)) c.fault(12, 0);
      ssSel = newCpl;
      st = { base: 0, limit: Infinity, bits: 64, sel: 0, sp: rsp };
    } else {
      const tss32 = (tr.ar & 8) !== 0;
      const o = tss32 ? 4 + newCpl * 8 : 2 + newCpl * 4;
      if (o + (tss32 ? 5 : 3) > tr.limit) c.fault(10, selErr(tr.selector));
      const sp = tss32 ? c.readSys(tr.base + o, 4) >>> 0 : c.readSys(tr.base + o, 2);
      ssSel = c.readSys(tr.base + o + (tss32 ? 4 : 2), 2);
      if ((ssSel & 0xfffc) === 0) c.fault(10, 0);
      ssDesc = checkStackSegment(c, ssSel, newCpl, 10, 0);
      const sar = arFromDescriptor(ssDesc.hi);
      st = { base: baseFromDescriptor(ssDesc.lo, ssDesc.hi), limit: limitFromDescriptor(ssDesc.lo, ssDesc.hi),
        bits: (sar & 0x4000) ? 32 : 16, sel: ssSel, sp };
    }
    const count = long ? 0 : g.hi & 0x1f;
    const params = count ? readStack(c, w, count).reverse() : [];
    const sp = pushFrame(c, st, w, [oldSs, oldSp, ...params, retCs, retIp]);
    if (ssDesc) setSegmentRaw(c, SS, ssSel, ssDesc);
    else { const s = c.seg[SS]; s.selector = ssSel; s.base = 0; s.limit = 0; s.ar = 0x10000 | (newCpl << 5) | 0x93; }
    setSegmentRaw(c, CS, (tsel & 0xfffc) | newCpl, d);
    c.rip = target;
    c.updateMode();
    setSp(c, sp);
    c.updateAcCheck();
    return;
  }
  pushAll(c, w, [retCs, retIp]);
  enterCode(c, tsel, d, cpl, target);
}

defineMatching(/^(Jmp|Call)_(ptr16(16|32)|m16(16|32|64))$/, {
  factory: (i: Insn) => {
    const size = sizeOf(i.code, /_(?:ptr|m)16(16|32|64)$/);
    const isCall = Code[i.code].startsWith('Call');
    return (c: Cpu, i: Insn) => {
      const { sel, off } = farOperand(c, i, size);
      farTransfer(c, i, sel, off, size, isCall);
    };
  },
});

// ---------------------------------------------------------------- far RET (SDM Vol. 2 RET)

function farReturn(c: Cpu, size: number, imm: number): void {
  const [ip, csRaw] = readStack(c, size, 2);
  const sel = csRaw & 0xffff;
  const wrap = (v: number) => c.stackBits === 64 ? v : c.stackBits === 32 ? v >>> 0 : v & 0xffff;
  if (!c.isProtected()) {
    if ((ip & (size === 2 ? 0xffff : 0xffffffff)) > c.seg[CS].limit) c.gp(0);
    setSp(c, wrap(getSp(c) + 2 * size + imm));
    const s = c.seg[CS];
    s.selector = sel; s.base = sel << 4;
    c.rip = size === 2 ? ip & 0xffff : ip;
    c.updateMode();
    return;
  }
  if (c.rflags & VM) notEmulated(c, 'far RET in virtual-8086 mode');
  const d = checkReturnCs(c, sel);
  const rpl = sel & 3;
  if (rpl === c.cpl) {
    const target = checkTarget(c, d, size === 2 ? ip & 0xffff : ip);
    const sp = wrap(getSp(c) + 2 * size + imm);
    enterCode(c, sel, d, rpl, target);
    setSp(c, sp);
    return;
  }
  // Return to an outer privilege level: SS:ESP follow the parameters (SDM 5.8.6).
  const [spv, ssRaw] = readStack(c, size, 2, 2 * size + imm);
  const ssSel = ssRaw & 0xffff;
  const toLong64 = c.isLongMode() && (arFromDescriptor(d.hi) & 0x2000) !== 0;
  const ssDesc = loadOuterSs(c, ssSel, rpl, toLong64);
  const target = checkTarget(c, d, size === 2 ? ip & 0xffff : ip);
  setSegmentRaw(c, CS, sel, d);
  setOuterSs(c, ssSel, ssDesc, rpl);
  c.rip = target;
  c.updateMode();
  setSp(c, wrapNew(c, spv + imm, size));
  invalidateDataSegments(c, rpl);
  c.updateMode();
  c.updateAcCheck();
}

/** Stack pointer after a return to an outer level, in the new stack's width. */
function wrapNew(c: Cpu, v: number, size: number): number {
  if (c.stackBits === 64) return v;
  return size === 2 && c.stackBits === 16 ? v & 0xffff : v >>> 0;
}

/** Return CS checks shared by RET and IRET (SDM Vol. 2 RET "PROTECTED-MODE"). */
function checkReturnCs(c: Cpu, sel: number): RawDescriptor {
  if ((sel & 0xfffc) === 0) c.gp(0);
  const d = readDescriptor(c, sel);
  if (!d) return c.gp(selErr(sel));
  const ar = arFromDescriptor(d.hi);
  const rpl = sel & 3;
  if (!arIsCode(ar) || rpl < c.cpl) c.gp(selErr(sel));
  if (arIsConforming(ar) ? arDpl(ar) > rpl : arDpl(ar) !== rpl) c.gp(selErr(sel));
  if (!arPresent(ar)) c.fault(11, selErr(sel));
  if (c.isLongMode() && (ar & 0x6000) === 0x6000) c.gp(selErr(sel));
  return d;
}

/** SS checks for a return to privilege `rpl`; a null SS is allowed for 64-bit code at RPL < 3. */
function loadOuterSs(c: Cpu, ssSel: number, rpl: number, toLong64: boolean): RawDescriptor | undefined {
  if ((ssSel & 0xfffc) === 0) {
    if (toLong64 && rpl < 3 && (ssSel & 3) === rpl) return undefined;
    c.gp(0);
  }
  return checkStackSegment(c, ssSel, rpl, 13, 0);
}
function setOuterSs(c: Cpu, ssSel: number, d: RawDescriptor | undefined, rpl: number): void {
  if (d) { setSegmentRaw(c, SS, ssSel, d); return; }
  const s = c.seg[SS];
  s.selector = ssSel; s.base = 0; s.limit = 0; s.ar = 0x10000 | (rpl << 5) | 0x93;
}

defineMatching(/^Retf(w|d|q)(_imm16)?$/, {
  factory: (i: Insn) => {
    const size = sizeOf(i.code, /^Retf(w|d|q)/);
    return (c: Cpu, i: Insn) => farReturn(c, size, i.k0 !== 0 ? i.imm & 0xffff : 0);
  },
});

// ---------------------------------------------------------------- IRET (SDM Vol. 2 IRET)

/** RFLAGS bits IRET may restore, by operand size; VM/VIF/VIP only with a 32/64-bit image. */
const IRET_BASE = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | TF | 0x400 | 0x800 | NT;

function iretFlags(c: Cpu, img: number, size: number, oldCpl: number): void {
  const old = getRflags(c);
  let mask = IRET_BASE;
  const iopl = (old & IOPL) >> 12;
  if (!c.isProtected() || oldCpl <= iopl) mask |= IF;
  if (!c.isProtected() || oldCpl === 0) mask |= IOPL;
  if (size !== 2) mask |= RF | AC | ID | (c.isProtected() && oldCpl === 0 ? VIF | VIP : 0);
  if (size === 2) mask &= 0xffff;
  c.lfOp = OP_NONE;
  c.rflags = ((old & ~mask) | (img & mask) | 2) >>> 0;
  c.slow = true;
}

function iret(c: Cpu, size: number): void {
  // Executing IRET unblocks NMIs (SDM Vol. 3A 6.7.1), even if it faults later on some CPUs;
  // here only a completed IRET unblocks.
  if (!c.isProtected()) {
    const [ip, cs, fl] = readStack(c, size, 3);
    if ((size === 2 ? ip & 0xffff : ip) > c.seg[CS].limit) c.gp(0);
    setSp(c, (c.stackBits === 32 ? (getSp(c) + 3 * size) >>> 0 : (getSp(c) + 3 * size) & 0xffff));
    const s = c.seg[CS];
    s.selector = cs & 0xffff; s.base = (cs & 0xffff) << 4;
    c.rip = size === 2 ? ip & 0xffff : ip;
    iretFlags(c, fl, size, 0);
    c.nmiBlocked = false;
    c.updateMode();
    c.updateAcCheck();
    return;
  }
  if (c.rflags & VM) notEmulated(c, 'IRET in virtual-8086 mode');
  const long = c.isLongMode();
  if (c.rflags & NT) {
    if (long) c.gp(0);
    notEmulated(c, 'IRET with NT=1 (nested task return, a task switch)');
  }
  const [ip, csRaw, fl] = readStack(c, size, 3);
  const sel = csRaw & 0xffff;
  if (!long && (fl & VM) && c.cpl === 0 && size === 4) notEmulated(c, 'IRET to virtual-8086 mode');
  const d = checkReturnCs(c, sel);
  const rpl = sel & 3;
  const oldCpl = c.cpl;
  const popsStack = c.codeBits === 64 || rpl > oldCpl;
  const target = checkTarget(c, d, size === 2 ? ip & 0xffff : ip);
  if (!popsStack) {
    const sp = c.stackBits === 32 ? (getSp(c) + 3 * size) >>> 0 : (getSp(c) + 3 * size) & 0xffff;
    setSegmentRaw(c, CS, sel, d);
    c.rip = target;
    iretFlags(c, fl, size, oldCpl);
    c.updateMode();
    setSp(c, sp);
  } else {
    const [spv, ssRaw] = readStack(c, size, 2, 3 * size);
    const ssSel = ssRaw & 0xffff;
    const toLong64 = long && (arFromDescriptor(d.hi) & 0x2000) !== 0;
    const ssDesc = loadOuterSs(c, ssSel, rpl, toLong64);
    setSegmentRaw(c, CS, sel, d);
    setOuterSs(c, ssSel, ssDesc, rpl);
    c.rip = target;
    iretFlags(c, fl, size, oldCpl);
    c.updateMode();
    setSp(c, wrapNew(c, spv, size));
    if (rpl > oldCpl) invalidateDataSegments(c, rpl);
    c.updateMode();
  }
  c.nmiBlocked = false;
  c.updateAcCheck();
}

defineMatching(/^Iret(w|d|q)$/, {
  factory: (i: Insn) => {
    const size = sizeOf(i.code, /^Iret(w|d|q)$/);
    return (c: Cpu) => iret(c, size);
  },
});

// ---------------------------------------------------------------- INT n, INT3, INTO, INT1

function v86Int(c: Cpu): void {
  if (c.rflags & VM) notEmulated(c, 'INT n in virtual-8086 mode');
}
defineMatching(/^Int_imm8$/, (c: Cpu, i: Insn) => { v86Int(c); softwareInterrupt(c, EVT_SOFT_INT, i.imm & 0xff, i.len); });
defineMatching(/^Int3$/, (c: Cpu, i: Insn) => { v86Int(c); softwareInterrupt(c, EVT_SOFT_EXC, 3, i.len); });
defineMatching(/^Into$/, (c: Cpu, i: Insn) => { if (getOF(c)) { v86Int(c); softwareInterrupt(c, EVT_SOFT_EXC, 4, i.len); } });
// INT1 (ICEBP): a privileged software exception, delivered like a hardware #DB (no DPL check).
defineMatching(/^Int1$/, (c: Cpu, i: Insn) => softwareInterrupt(c, EVT_PRIV_SOFT, 1, i.len));

// ---------------------------------------------------------------- SYSCALL / SYSRET (SDM Vol. 2)

const AR_CODE64 = 0xa09b, AR_CODE32 = 0xc09b, AR_DATA = 0xc093;
const TO_USER = 0x60; // DPL 3 in the access-rights word

/**
 * SYSCALL and SYSRET single-step on the RFLAGS they leave: #DB after the instruction iff TF is 1 at
 * its end (SYSCALL masked by FMASK: none; SYSRET loading TF from R11: a trap in user mode).
 */
function singleStepAtEnd(c: Cpu): void {
  c.tfAtEnd = true;
  if (c.rflags & TF) afterInstruction(c, true);
}

defineMatching(/^Syscall$/, (c: Cpu) => {
  if (!(c.efer & EFER_SCE)) c.ud();
  const long = (c.efer & EFER_LMA) !== 0;
  // Intel: 64-bit mode only; AMD also in compatibility and legacy protected mode (APM Vol. 3).
  if (c.codeBits !== 64 && (c.vendor === 'intel' || !c.isProtected())) c.ud();
  const csSel = c.starHi & 0xfffc;
  const flags = getRflags(c);
  const ret = c.rip;
  if (long) {
    c.set64(RCX, ret | 0, Math.floor(ret / TWO32) | 0);
    c.set64(R11, flags & ~RF, 0);
    c.rflags = (flags & ~c.sfmask & ~RF) | 2;
    setFlat(c, CS, csSel, AR_CODE64);
    setFlat(c, SS, csSel + 8, AR_DATA);
    c.rip = c.codeBits === 64 ? c.lstarHi * TWO32 + (c.lstarLo >>> 0) : c.cstarHi * TWO32 + (c.cstarLo >>> 0);
  } else {
    c.set32(RCX, ret | 0);
    c.rflags = flags & ~(VM | IF | RF) | 2;
    setFlat(c, CS, csSel, AR_CODE32);
    setFlat(c, SS, csSel + 8, AR_DATA);
    c.rip = c.star >>> 0;
  }
  c.lfOp = OP_NONE;
  c.updateMode();
  c.updateAcCheck();
  singleStepAtEnd(c);
});

defineMatching(/^Sysret(d|q)$/, {
  factory: (i: Insn) => {
    const to64 = Code[i.code] === 'Sysretq';
    return (c: Cpu) => {
      if (!(c.efer & EFER_SCE)) c.ud();
      if (c.codeBits !== 64 && (c.vendor === 'intel' || !c.isProtected())) c.ud();
      if (c.cpl !== 0) c.gp(0);
      const base = (c.starHi >>> 16) & 0xffff;
      const long = (c.efer & EFER_LMA) !== 0;
      let rip: number;
      if (to64) {
        rip = c.R[2 * RCX + 1] * TWO32 + (c.R[2 * RCX] >>> 0);
        // Intel raises #GP(0) at CPL 0 for a non-canonical RCX (the SYSRET erratum class).
        if (!canonical(rip)) c.gp(0);
        setFlat(c, CS, (base + 16) | 3, AR_CODE64 | TO_USER);
      } else {
        rip = c.R[2 * RCX] >>> 0;
        setFlat(c, CS, base | 3, AR_CODE32 | TO_USER);
      }
      if (long) { c.lfOp = OP_NONE; c.rflags = (c.R[2 * R11] & 0x3c7fd7) | 2; }
      else c.rflags |= IF;
      setFlat(c, SS, (base + 8) | 3, AR_DATA | TO_USER);
      c.rip = rip;
      c.updateMode();
      c.updateAcCheck();
      singleStepAtEnd(c);
    };
  },
});

// ---------------------------------------------------------------- SYSENTER / SYSEXIT (SDM Vol. 2)

defineMatching(/^Sysenter$/, (c: Cpu) => {
  if (!c.isProtected()) c.gp(0);
  if (c.vendor === 'amd' && c.isLongMode()) c.ud();
  if ((c.sysenterCs & 0xfffc) === 0) c.gp(0);
  const long = c.isLongMode();
  getRflags(c);
  c.rflags &= ~(VM | IF | RF);
  const cs = c.sysenterCs & 0xfffc;
  setFlat(c, CS, cs, long ? AR_CODE64 : AR_CODE32);
  setFlat(c, SS, cs + 8, AR_DATA);
  const esp = c.sysenterEsp, eip = c.sysenterEip;
  if (long) { c.set64(4, esp | 0, Math.floor(esp / TWO32) | 0); c.rip = eip; }
  else { c.set32(4, esp | 0); c.rip = eip >>> 0; }
  c.updateMode();
  c.updateAcCheck();
});

defineMatching(/^Sysexit(d|q)$/, {
  factory: (i: Insn) => {
    const to64 = Code[i.code] === 'Sysexitq';
    return (c: Cpu) => {
      if (!c.isProtected() || (c.sysenterCs & 0xfffc) === 0 || c.cpl !== 0) c.gp(0);
      const cs = c.sysenterCs & 0xfffc;
      if (to64) {
        const rip = c.R[2 * RDX + 1] * TWO32 + (c.R[2 * RDX] >>> 0);
        const rsp = c.R[2 * RCX + 1] * TWO32 + (c.R[2 * RCX] >>> 0);
        if (!canonical(rip) || !canonical(rsp)) c.gp(0);
        setFlat(c, CS, (cs + 32) | 3, AR_CODE64 | TO_USER);
        setFlat(c, SS, (cs + 40) | 3, AR_DATA | TO_USER);
        c.set64(4, c.R[2 * RCX], c.R[2 * RCX + 1]);
        c.rip = rip;
      } else {
        setFlat(c, CS, (cs + 16) | 3, AR_CODE32 | TO_USER);
        setFlat(c, SS, (cs + 24) | 3, AR_DATA | TO_USER);
        c.set32(4, c.R[2 * RCX]);
        c.rip = c.R[2 * RDX] >>> 0;
      }
      c.updateMode();
      c.updateAcCheck();
    };
  },
});

// SWAPGS: 64-bit mode, CPL 0 (SDM Vol. 2): exchange GS.base with IA32_KERNEL_GS_BASE.
defineMatching(/^Swapgs$/, (c: Cpu) => {
  if (c.codeBits !== 64) c.ud();
  if (c.cpl !== 0) c.gp(0);
  const g = c.seg[GS];
  const t = g.base;
  g.base = c.kernelGsBase;
  c.kernelGsBase = t;
});

export { FS, K_MEM, K_REG, IF, VIF, VIP, OF };
