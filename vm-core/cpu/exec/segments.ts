// Segment registers, descriptor tables and the flag instructions with privilege rules (SDM Vol. 2,
// Vol. 3A ch. 3, 5): MOV/PUSH/POP Sreg, LDS/LES/LFS/LGS/LSS, LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR,
// LAR/LSL/VERR/VERW, ARPL, CLI/STI, PUSHF/POPF, CLAC/STAC.
import type { Cpu } from '../cpu';
import { Code } from 'iced-x86';
import { Insn, K_MEM, K_REG } from '../insn';
import { defineMatching, getSp, memLin, readAt, regVal, setRegVal, setSp, writeAt } from './operands';
import {
  AC, CS, SS, LDTR, TR, IF, IOPL, VM, VIF, VIP, RF, TF, ZF, NT, ID, CR4_UMIP, CR4_VME, CR4_PVI, CR4_SMAP,
} from '../state';
import { getRflags, setArithFlags, OP_NONE } from '../flags';
import {
  arFromDescriptor, arDpl, arIsCode, arIsConforming, arIsData, arPresent, baseFromDescriptor, limitFromDescriptor,
  loadDataSegment, readDescriptor, readSystemDescriptor, selErr,
} from '../segmentation';
import { EXIT_REASON_GDTR_IDTR, EXIT_REASON_LDTR_TR } from '../exits';

/** Operand size from an iced Code name's w/d/q marker (Pushw_ES, Popfd, Iretq...). */
export function sizeFromName(code: number, re: RegExp): number {
  const m = re.exec(Code[code]);
  return !m ? 4 : m[1] === 'w' ? 2 : m[1] === 'q' ? 8 : 4;
}

/** Instructions that exist only in protected mode (#UD in real and virtual-8086 mode). */
function requireProtected(c: Cpu): void {
  if (!c.isProtected() || (c.rflags & VM)) c.ud();
}

/** Store instructions blocked by UMIP at CPL > 0 (SDM Vol. 3A 2.5, CR4.UMIP). */
function checkUmip(c: Cpu): void {
  if ((c.cr4 & CR4_UMIP) && c.cpl > 0) c.gp(0);
}

/**
 * VM-exit instruction-information field for descriptor-table exits (SDM Vol. 3C Table 28-10/28-11):
 * scaling 1:0, address size 9:7, reg/mem 10, operand size 11, segment 17:15, index 21:18,
 * index invalid 22, base 26:23, base invalid 27, instruction identity 29:28.
 */
export function descTableInfo(i: Insn, identity: number, regOperand: number): number {
  let v = (identity & 3) << 28;
  if (regOperand >= 0) return v | (1 << 10) | ((regOperand & 15) << 3) | ((i.asz === 64 ? 2 : i.asz === 32 ? 1 : 0) << 7);
  const scale = i.mScale === 8 ? 3 : i.mScale === 4 ? 2 : i.mScale === 2 ? 1 : 0;
  v |= scale | ((i.asz === 64 ? 2 : i.asz === 32 ? 1 : 0) << 7) | ((i.osz === 2 ? 0 : 1) << 11) | ((i.seg & 7) << 15);
  v |= i.mIndex >= 0 && i.mIndex < 16 ? (i.mIndex << 18) : (1 << 22);
  v |= i.mBase >= 0 && i.mBase < 16 ? (i.mBase << 23) : (1 << 27);
  return v;
}
function descTableExit(c: Cpu, i: Insn, reason: number, identity: number, reg: number): never {
  const e = c.beginExit(reason, descTableInfo(i, identity, reg));
  e.gla = i.k0 === K_MEM || i.k1 === K_MEM ? c.ea(i) : 0;
  return c.throwExit();
}

// ---------------------------------------------------------------- MOV Sreg, PUSH/POP Sreg

// MOV Sreg, r/m16: loading SS blocks interrupts and debug traps for one instruction (SDM Vol. 2 MOV).
defineMatching(/^Mov_Sreg_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  const seg = i.r0;
  if (seg === CS || seg > 5) c.ud();
  const sel = i.k1 === K_REG ? c.R[2 * i.r1] & 0xffff : readAt(c, memLin(c, i, 2, false), 2);
  loadDataSegment(c, seg, sel);
  if (seg === SS) { c.movSsShadow = true; c.slow = true; }
});
// MOV r/m, Sreg: a register destination gets the selector zero-extended (32/64-bit operand size).
defineMatching(/^Mov_(rm16|r32m16|r64m16)_Sreg$/, (c: Cpu, i: Insn) => {
  if (i.r1 > 5) c.ud();
  const sel = c.seg[i.r1].selector & 0xffff;
  if (i.k0 === K_REG) setRegVal(c, i.r0, i.osz === 8 ? 8 : i.osz === 4 ? 4 : 2, sel, 0);
  else writeAt(c, memLin(c, i, 2, true), 2, sel, 0);
});

// PUSH Sreg: a 32/64-bit push moves 16 bits and leaves the rest of the slot (recent Intel cores).
defineMatching(/^Push(w|d|q)_(ES|CS|SS|DS|FS|GS)$/, {
  factory: (i: Insn) => {
    const size = sizeFromName(i.code, /^Push(w|d|q)/);
    const seg = i.r0;
    return (c: Cpu) => {
      const sp = wrapStack(c, getSp(c) - size);
      const lin = c.linear(SS, sp, size, true);
      c.writeLin16(lin, c.seg[seg].selector & 0xffff);
      setSp(c, sp);
    };
  },
});
// POP Sreg: POP SS blocks interrupts for one instruction like MOV SS.
defineMatching(/^Pop(w|d|q)_(ES|SS|DS|FS|GS)$/, {
  factory: (i: Insn) => {
    const size = sizeFromName(i.code, /^Pop(w|d|q)/);
    const seg = i.r0;
    return (c: Cpu) => {
      const sp = getSp(c);
      const sel = c.readLin16(c.linear(SS, sp, size, false));
      const oldBits = c.stackBits;
      loadDataSegment(c, seg, sel);
      // The increment uses the stack size in effect before the load (SDM Vol. 2 POP).
      const next = oldBits === 64 ? sp + size : oldBits === 32 ? (sp + size) >>> 0 : (sp + size) & 0xffff;
      if (oldBits === 16) c.set16(4, next); else if (oldBits === 32) c.R[8] = next | 0; else setSp(c, next);
      if (seg === SS) { c.movSsShadow = true; c.slow = true; }
    };
  },
});

function wrapStack(c: Cpu, v: number): number {
  return c.stackBits === 64 ? v : c.stackBits === 32 ? v >>> 0 : v & 0xffff;
}

// LDS/LES/LFS/LGS/LSS: far pointer m16:16/32/64, offset first then selector.
const LXS_SEG: Record<string, number> = { Les: 0, Lss: 2, Lds: 3, Lfs: 4, Lgs: 5 };
defineMatching(/^L(ds|es|fs|gs|ss)_r(16|32|64)_m16(16|32|64)$/, {
  factory: (i: Insn) => {
    const seg = LXS_SEG[Code[i.code].slice(0, 3)];
    const size = Code[i.code].includes('_r64_') ? 8 : Code[i.code].includes('_r32_') ? 4 : 2;
    return (c: Cpu, i: Insn) => {
      const ea = c.ea(i);
      const off = readAt(c, c.linear(i.seg, ea, size, false), size), offHi = c.hi;
      const selOff = i.asz === 64 ? ea + size : i.asz === 32 ? (ea + size) >>> 0 : (ea + size) & 0xffff;
      const sel = c.readLin16(c.linear(i.seg, selOff, 2, false));
      loadDataSegment(c, seg, sel);
      setRegVal(c, i.r0, size, off, offHi);
    };
  },
});

// ---------------------------------------------------------------- GDTR/IDTR (SDM Vol. 2 LGDT/SGDT)

function loadTableRegister(isIdt: boolean) {
  return (c: Cpu, i: Insn) => {
    if (c.isProtected() && c.cpl !== 0) c.gp(0);
    if (c.intercepts.descTable) descTableExit(c, i, EXIT_REASON_GDTR_IDTR, isIdt ? 3 : 2, -1);
    const ea = c.ea(i);
    const limit = c.readLin16(c.linear(i.seg, ea, 2, false));
    const at = (k: number) => i.asz === 64 ? ea + k : i.asz === 32 ? (ea + k) >>> 0 : (ea + k) & 0xffff;
    let base: number;
    if (c.codeBits === 64) {
      const lo = c.readLin64(c.linear(i.seg, at(2), 8, false));
      base = c.hi * 4294967296 + (lo >>> 0);
      if (base < -0x800000000000 || base >= 0x800000000000) c.gp(0);
    } else {
      base = c.readLin32(c.linear(i.seg, at(2), 4, false)) >>> 0;
      if (i.osz === 2) base &= 0xffffff; // 16-bit operand size: 24-bit base
    }
    const t = isIdt ? c.idtr : c.gdtr;
    t.base = base; t.limit = limit;
  };
}
function storeTableRegister(isIdt: boolean) {
  return (c: Cpu, i: Insn) => {
    checkUmip(c);
    if (c.intercepts.descTable) descTableExit(c, i, EXIT_REASON_GDTR_IDTR, isIdt ? 1 : 0, -1);
    const t = isIdt ? c.idtr : c.gdtr;
    const ea = c.ea(i);
    const n = c.codeBits === 64 ? 10 : 6;
    const lin0 = c.linear(i.seg, ea, n, true);
    c.probeWrite(lin0, n);
    c.writeLin16(lin0, t.limit);
    const at = i.asz === 64 ? ea + 2 : i.asz === 32 ? (ea + 2) >>> 0 : (ea + 2) & 0xffff;
    // The full 32-bit base is stored even with a 16-bit operand size (SDM Vol. 2 SGDT).
    if (c.codeBits === 64) c.writeLin64(c.linear(i.seg, at, 8, true), t.base | 0, Math.floor(t.base / 4294967296) | 0);
    else c.writeLin32(c.linear(i.seg, at, 4, true), t.base | 0);
  };
}
defineMatching(/^Lgdt_m16(32_16|32|64)$/, loadTableRegister(false));
defineMatching(/^Lidt_m16(32_16|32|64)$/, loadTableRegister(true));
defineMatching(/^Sgdt_m16(32_16|32|64)$/, storeTableRegister(false));
defineMatching(/^Sidt_m16(32_16|32|64)$/, storeTableRegister(true));

// ---------------------------------------------------------------- LDTR and TR (SDM Vol. 2 LLDT/LTR)

function selectorOperand(c: Cpu, i: Insn): number {
  return i.k0 === K_REG ? c.R[2 * i.r0] & 0xffff : readAt(c, memLin(c, i, 2, false), 2);
}

defineMatching(/^Lldt_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  requireProtected(c);
  if (c.cpl !== 0) c.gp(0);
  if (c.intercepts.descTable) descTableExit(c, i, EXIT_REASON_LDTR_TR, 2, i.k0 === K_REG ? i.r0 : -1);
  const sel = selectorOperand(c, i);
  const l = c.seg[LDTR];
  if ((sel & 0xfffc) === 0) { l.selector = sel; l.base = 0; l.limit = 0; l.ar = 0x10000; return; }
  if (sel & 4) c.gp(selErr(sel));
  const d = readSystemDescriptor(c, sel);
  if (!d) return c.gp(selErr(sel));
  const ar = arFromDescriptor(d.hi);
  if ((ar & 0x1f) !== 2) c.gp(selErr(sel));
  if (!arPresent(ar)) c.fault(11, selErr(sel));
  const base = d.baseHi * 4294967296 + baseFromDescriptor(d.lo, d.hi);
  if (base < -0x800000000000 || base >= 0x800000000000) c.gp(selErr(sel));
  l.selector = sel; l.base = base; l.limit = limitFromDescriptor(d.lo, d.hi); l.ar = ar;
});

// LTR: available TSS only (16-bit type 1 outside IA-32e mode, 32/64-bit type 9); marks it busy.
defineMatching(/^Ltr_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  requireProtected(c);
  if (c.cpl !== 0) c.gp(0);
  if (c.intercepts.descTable) descTableExit(c, i, EXIT_REASON_LDTR_TR, 3, i.k0 === K_REG ? i.r0 : -1);
  const sel = selectorOperand(c, i);
  if ((sel & 0xfffc) === 0) c.gp(0);
  if (sel & 4) c.gp(selErr(sel));
  const d = readSystemDescriptor(c, sel);
  if (!d) return c.gp(selErr(sel));
  const ar = arFromDescriptor(d.hi);
  const type = ar & 0x1f;
  if (!(type === 9 || (type === 1 && !c.isLongMode()))) c.gp(selErr(sel));
  if (!arPresent(ar)) c.fault(11, selErr(sel));
  const base = d.baseHi * 4294967296 + baseFromDescriptor(d.lo, d.hi);
  if (base < -0x800000000000 || base >= 0x800000000000) c.gp(selErr(sel));
  c.writeSys(c.gdtr.base + (sel & 0xfff8) + 4, 4, d.hi | 0x200); // busy bit
  const t = c.seg[TR];
  t.selector = sel; t.base = base; t.limit = limitFromDescriptor(d.lo, d.hi); t.ar = ar | 2;
});

function storeSelector(seg: number, identity: number) {
  return (c: Cpu, i: Insn) => {
    requireProtected(c);
    checkUmip(c);
    if (c.intercepts.descTable) descTableExit(c, i, EXIT_REASON_LDTR_TR, identity, i.k0 === K_REG ? i.r0 : -1);
    const sel = c.seg[seg].selector & 0xffff;
    if (i.k0 === K_REG) setRegVal(c, i.r0, i.osz === 8 ? 8 : i.osz === 4 ? 4 : 2, sel, 0);
    else writeAt(c, memLin(c, i, 2, true), 2, sel, 0);
  };
}
defineMatching(/^Sldt_(rm16|r32m16|r64m16)$/, storeSelector(LDTR, 0));
defineMatching(/^Str_(rm16|r32m16|r64m16)$/, storeSelector(TR, 1));

// ---------------------------------------------------------------- LAR/LSL/VERR/VERW

/** System descriptor types valid for LAR / LSL (SDM Vol. 2 LAR, LSL tables). */
function systemTypeOk(c: Cpu, type: number, forLsl: boolean): boolean {
  if (c.isLongMode()) return type === 2 || type === 9 || type === 0xb || (!forLsl && type === 0xc);
  if (forLsl) return type === 1 || type === 2 || type === 3 || type === 9 || type === 0xb;
  return type === 1 || type === 2 || type === 3 || type === 4 || type === 5 || type === 9 || type === 0xb || type === 0xc;
}

/** The descriptor for LAR/LSL/VERR/VERW when visible at CPL/RPL, else undefined (ZF = 0). */
function visibleDescriptor(c: Cpu, sel: number, forLsl: boolean | null): { lo: number; hi: number; ar: number } | undefined {
  if ((sel & 0xfffc) === 0) return undefined;
  const d = readDescriptor(c, sel);
  if (!d) return undefined;
  const ar = arFromDescriptor(d.hi);
  if (!(ar & 0x10)) {
    if (forLsl === null || !systemTypeOk(c, ar & 0xf, forLsl)) return undefined;
  }
  if (!arIsConforming(ar) && (arDpl(ar) < c.cpl || arDpl(ar) < (sel & 3))) return undefined;
  return { lo: d.lo, hi: d.hi, ar };
}

defineMatching(/^Lar_r(16|32|64)_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  requireProtected(c);
  const sel = i.k1 === K_REG ? c.R[2 * i.r1] & 0xffff : readAt(c, memLin(c, i, 2, false), 2);
  const d = visibleDescriptor(c, sel, false);
  if (!d) { setArithFlags(c, ZF, 0); return; }
  const size = i.osz === 8 ? 8 : i.osz === 4 ? 4 : 2;
  // Mask 00FxFF00H (SDM Vol. 2 LAR): x, the limit's bits 19:16, comes through as on hardware and Bochs.
  setRegVal(c, i.r0, size, size === 2 ? d.hi & 0xff00 : d.hi & 0x00ffff00, 0);
  setArithFlags(c, ZF, ZF);
});
defineMatching(/^Lsl_r(16|32|64)_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  requireProtected(c);
  const sel = i.k1 === K_REG ? c.R[2 * i.r1] & 0xffff : readAt(c, memLin(c, i, 2, false), 2);
  const d = visibleDescriptor(c, sel, true);
  if (!d) { setArithFlags(c, ZF, 0); return; }
  const size = i.osz === 8 ? 8 : i.osz === 4 ? 4 : 2;
  const lim = limitFromDescriptor(d.lo, d.hi);
  setRegVal(c, i.r0, size, size === 2 ? lim & 0xffff : lim | 0, 0);
  setArithFlags(c, ZF, ZF);
});
function verify(write: boolean) {
  return (c: Cpu, i: Insn) => {
    requireProtected(c);
    const sel = selectorOperand(c, i);
    const d = visibleDescriptor(c, sel, null);
    const ok = !!d && (write ? arIsData(d.ar) && (d.ar & 2) !== 0 : arIsData(d.ar) || (arIsCode(d.ar) && (d.ar & 2) !== 0));
    setArithFlags(c, ZF, ok ? ZF : 0);
  };
}
defineMatching(/^Verr_(rm16|r32m16|r64m16)$/, verify(false));
defineMatching(/^Verw_(rm16|r32m16|r64m16)$/, verify(true));

// ARPL r/m16, r16 (legacy and compatibility mode; the 64-bit opcode is MOVSXD).
defineMatching(/^Arpl_(rm16_r16|r32m16_r32)$/, (c: Cpu, i: Insn) => {
  requireProtected(c);
  const src = c.R[2 * i.r1] & 3;
  const lin = i.k0 === K_MEM ? memLin(c, i, 2, true) : 0;
  const dst = i.k0 === K_REG ? c.R[2 * i.r0] & 0xffff : c.readLin16(lin);
  if ((dst & 3) < src) {
    const v = (dst & ~3) | src;
    if (i.k0 === K_REG) c.set16(i.r0, v); else c.writeLin16(lin, v);
    setArithFlags(c, ZF, ZF);
  } else setArithFlags(c, ZF, 0);
});

// ---------------------------------------------------------------- CLI/STI (SDM Vol. 2, Table "Decision table")

/** Protected-mode virtual interrupts: CR4.PVI at CPL 3 (or CR4.VME in virtual-8086 mode) use VIF. */
function virtualInterrupts(c: Cpu): boolean {
  return (c.rflags & VM) ? (c.cr4 & CR4_VME) !== 0 : (c.cpl === 3 && (c.cr4 & CR4_PVI) !== 0);
}
defineMatching(/^Cli$/, (c: Cpu) => {
  if (c.isProtected() && c.cpl > ((c.rflags & IOPL) >> 12)) {
    if (!virtualInterrupts(c)) c.gp(0);
    c.rflags &= ~VIF;
    return;
  }
  c.rflags &= ~IF;
});
// STI: interrupts stay blocked until after the next instruction when IF was 0 (the STI shadow).
defineMatching(/^Sti$/, (c: Cpu) => {
  if (c.isProtected() && c.cpl > ((c.rflags & IOPL) >> 12)) {
    if (!virtualInterrupts(c) || (c.rflags & VIP)) c.gp(0);
    c.rflags |= VIF;
    return;
  }
  if (!(c.rflags & IF)) { c.rflags |= IF; c.stiShadow = true; c.slow = true; }
});

// ---------------------------------------------------------------- PUSHF/POPF (SDM Vol. 2)

defineMatching(/^Pushf(w|d|q)$/, {
  factory: (i: Insn) => {
    const size = sizeFromName(i.code, /^Pushf(w|d|q)/);
    return (c: Cpu) => {
      if ((c.rflags & VM) && ((c.rflags & IOPL) >> 12) < 3) c.notEmulated(c.cur!, 'PUSHF in virtual-8086 mode is not emulated');
      const f = getRflags(c) & ~(RF | VM); // VM and RF are cleared in the image
      const sp = wrapStack(c, getSp(c) - size);
      writeAt(c, c.linear(SS, sp, size, true), size, size === 2 ? f & 0xffff : f, 0);
      setSp(c, sp);
    };
  },
});

/** Bits POPF/IRET may write at all: CF PF AF ZF SF TF IF DF OF IOPL NT AC ID. */
const POPF_BITS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | TF | IF | 0x400 | 0x800 | IOPL | NT | AC | ID;

/** Load RFLAGS from a POPF image: IOPL only at CPL 0, IF only at CPL <= IOPL; RF cleared (SDM Vol. 2 POPF). */
export function popfLoad(c: Cpu, v: number, size: number): void {
  const old = getRflags(c);
  let mask = POPF_BITS;
  if (c.isProtected()) {
    const iopl = (old & IOPL) >> 12;
    if (c.cpl > 0) mask &= ~IOPL;
    if (c.cpl > iopl) mask &= ~IF;
  }
  if (size === 2) mask &= 0xffff;
  const nf = ((old & ~mask) | (v & mask) | 2) & ~RF;
  c.lfOp = OP_NONE;
  c.rflags = nf;
  const changed = old ^ nf;
  if (changed & AC) c.updateAcCheck();
  if (changed & (TF | IF | AC)) c.slow = true;
}

defineMatching(/^Popf(w|d|q)$/, {
  factory: (i: Insn) => {
    const size = sizeFromName(i.code, /^Popf(w|d|q)/);
    return (c: Cpu) => {
      if ((c.rflags & VM) && ((c.rflags & IOPL) >> 12) < 3) c.notEmulated(c.cur!, 'POPF in virtual-8086 mode is not emulated');
      const sp = getSp(c);
      const v = readAt(c, c.linear(SS, sp, size, false), size);
      setSp(c, wrapStack(c, sp + size));
      popfLoad(c, v, size);
    };
  },
});

// CLAC/STAC: CPL 0 only (SDM Vol. 2); AC changes the SMAP override of supervisor accesses.
function setAc(on: boolean) {
  return (c: Cpu) => {
    if (c.cpl !== 0 || (c.rflags & VM)) c.ud();
    if (on) c.rflags |= AC; else c.rflags &= ~AC;
    c.updateAcCheck();
    if (c.cr4 & CR4_SMAP) c.slow = true;
  };
}
defineMatching(/^Clac$/, setAc(false));
defineMatching(/^Stac$/, setAc(true));

export { regVal };
