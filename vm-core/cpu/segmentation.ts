// Segment descriptors and segment-register loads (Intel SDM Vol. 3A ch. 3 and 5).
import type { Cpu } from './cpu';
import { CS, SS, Segment, LDTR, TR } from './state';

/** Raw 8-byte descriptor as two int32 halves. */
export interface RawDescriptor { lo: number; hi: number; }

/** Access rights (VMCS layout) from descriptor bits 55:40 of the high dword (SDM 3.4.5). */
export function arFromDescriptor(hi: number): number {
  return ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 12);
}
export function baseFromDescriptor(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function limitFromDescriptor(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) ? ((raw * 4096) + 0xfff) >>> 0 : raw;
}

/**
 * Read the descriptor for `selector` from the GDT or LDT. Returns undefined when it lies beyond
 * the table limit (callers raise #GP(selector) / #TS as their instruction requires).
 */
export function readDescriptor(c: Cpu, selector: number): RawDescriptor | undefined {
  const index = selector & 0xfff8;
  let base: number, limit: number;
  if (selector & 4) {
    const l = c.seg[LDTR];
    if (l.ar & 0x10000 || (l.selector & 0xfffc) === 0) return undefined;
    base = l.base; limit = l.limit;
  } else {
    base = c.gdtr.base; limit = c.gdtr.limit;
  }
  if (index + 7 > limit) return undefined;
  const lo = c.readSys(base + index, 4) | 0;
  const hi = c.readSys(base + index + 4, 4) | 0;
  return { lo, hi };
}

/** Set the accessed bit of a code/data descriptor (SDM 3.4.5.1). */
export function setAccessed(c: Cpu, selector: number, d: RawDescriptor): void {
  if (d.hi & 0x100) return;
  const base = selector & 4 ? c.seg[LDTR].base : c.gdtr.base;
  d.hi |= 0x100;
  c.writeSys(base + (selector & 0xfff8) + 4, 4, d.hi);
}

/** Load a segment register's hidden part from a descriptor. */
export function loadFromDescriptor(s: Segment, selector: number, d: RawDescriptor): void {
  s.selector = selector & 0xffff;
  s.base = baseFromDescriptor(d.lo, d.hi);
  s.limit = limitFromDescriptor(d.lo, d.hi);
  s.ar = arFromDescriptor(d.hi);
}

/** Real and virtual-8086 mode load: base = selector << 4, limit and attributes kept (SDM 20.1.1). */
export function loadReal(c: Cpu, seg: number, selector: number): void {
  const s = c.seg[seg];
  s.selector = selector & 0xffff;
  s.base = (selector & 0xffff) << 4;
  c.updateMode();
}

/** A null selector loaded into a data segment register in protected mode: unusable (SDM 3.4.2). */
export function loadNull(c: Cpu, seg: number, selector: number): void {
  const s = c.seg[seg];
  s.selector = selector & 0xffff;
  s.base = 0;
  s.limit = 0;
  // A null SS (64-bit mode, CPL < 3) keeps DPL = CPL: CPL is SS.DPL (SDM Vol. 3C 24.4.1).
  s.ar = 0x10000 | (seg === SS ? c.cpl << 5 : 0);
  c.updateMode();
}

/**
 * MOV/POP to a data segment register or SS in protected mode, with the checks of SDM Vol. 2
 * (MOV—Move, "IF SS is loaded" / "IF DS, ES, FS, or GS is loaded").
 */
export function loadDataSegment(c: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  if (!c.isProtected() || (c.rflags & 0x20000)) { loadReal(c, seg, selector); return; }
  const rpl = selector & 3, cpl = c.cpl;
  if ((selector & 0xfffc) === 0) {
    // SS may be null only in 64-bit mode at CPL < 3 with RPL = CPL.
    if (seg === SS && !(c.codeBits === 64 && cpl < 3 && rpl === cpl)) c.gp(0);
    loadNull(c, seg, selector);
    return;
  }
  const d = readDescriptor(c, selector);
  if (!d) c.gp(selector & 0xfffc);
  const ar = arFromDescriptor(d.hi);
  const type = ar & 0xf, s = (ar >> 4) & 1, dpl = (ar >> 5) & 3, p = (ar >> 7) & 1;
  if (seg === SS) {
    if (rpl !== cpl || !s || (type & 8) || !(type & 2) || dpl !== cpl) c.gp(selector & 0xfffc);
    if (!p) c.fault(12, selector & 0xfffc);
  } else {
    // Data or readable code; for data and non-conforming code, DPL >= max(CPL, RPL).
    if (!s || ((type & 8) && !(type & 2))) c.gp(selector & 0xfffc);
    const conformingCode = (type & 0xc) === 0xc;
    if (!conformingCode && (dpl < cpl || dpl < rpl)) c.gp(selector & 0xfffc);
    if (!p) c.fault(11, selector & 0xfffc);
  }
  setAccessed(c, selector, d);
  loadFromDescriptor(c.seg[seg], selector, d);
  c.updateMode();
}

/** Load CS for a control transfer after the caller's checks; `cpl` becomes the new CPL. */
export function loadCode(c: Cpu, selector: number, d: RawDescriptor, cpl: number): void {
  setAccessed(c, selector, d);
  const s = c.seg[CS];
  loadFromDescriptor(s, (selector & 0xfffc) | cpl, d);
  c.updateMode();
}

/** Read the system-segment descriptor (LDT/TSS) which is 16 bytes in IA-32e mode. */
export function readSystemDescriptor(c: Cpu, selector: number): { lo: number; hi: number; baseHi: number } | undefined {
  const d = readDescriptor(c, selector);
  if (!d) return undefined;
  let baseHi = 0;
  if (c.isLongMode()) {
    const tbl = c.gdtr;
    if ((selector & 0xfff8) + 15 > tbl.limit) return undefined;
    baseHi = c.readSys(tbl.base + (selector & 0xfff8) + 8, 4) | 0;
  }
  return { lo: d.lo, hi: d.hi, baseHi };
}

export function isTr(seg: number): boolean { return seg === TR; }

/** Error code for a selector (SDM Vol. 3A 6.13): index and TI, RPL bits cleared. */
export function selErr(selector: number): number { return selector & 0xfffc; }

/** Descriptor predicates over the access-rights word (SDM Vol. 3A 3.4.5.1, Table 3-1). */
export function arIsCode(ar: number): boolean { return (ar & 0x18) === 0x18; }
export function arIsData(ar: number): boolean { return (ar & 0x18) === 0x10; }
export function arIsConforming(ar: number): boolean { return (ar & 0x1c) === 0x1c; }
export function arDpl(ar: number): number { return (ar >> 5) & 3; }
export function arPresent(ar: number): boolean { return (ar & 0x80) !== 0; }

/**
 * Checks for an SS loaded on a privilege change (far CALL through a gate, interrupt via the TSS,
 * RET/IRET to an outer level; SDM Vol. 2 CALL/RET/IRET): RPL and DPL equal `cpl`, writable data,
 * present. `vec` is the fault for a bad descriptor (#TS from the TSS, #GP from the stack).
 */
export function checkStackSegment(c: Cpu, sel: number, cpl: number, vec: number, ext: number): RawDescriptor {
  const d = readDescriptor(c, sel);
  if (!d) return c.fault(vec, selErr(sel) + ext);
  const ar = arFromDescriptor(d.hi);
  if ((sel & 3) !== cpl || arDpl(ar) !== cpl || !arIsData(ar) || !(ar & 2)) c.fault(vec, selErr(sel) + ext);
  if (!arPresent(ar)) c.fault(12, selErr(sel) + ext);
  return d;
}

/** Load a segment register from a descriptor without recomputing the mode (callers batch loads). */
export function setSegmentRaw(c: Cpu, seg: number, selector: number, d: RawDescriptor): void {
  setAccessed(c, selector, d);
  loadFromDescriptor(c.seg[seg], selector, d);
}

/** Set a segment register to a flat descriptor cache (SYSCALL/SYSENTER style; SDM Vol. 2 SYSCALL). */
export function setFlat(c: Cpu, seg: number, selector: number, ar: number): void {
  const s = c.seg[seg];
  s.selector = selector & 0xffff; s.base = 0; s.limit = 0xffffffff; s.ar = ar;
}

/**
 * On a return to an outer privilege level, data segment registers that the new CPL may not use
 * are nulled (SDM Vol. 2 RET/IRET: "FOR each of ES, FS, GS, DS ... SegmentSelector <- 0").
 */
export function invalidateDataSegments(c: Cpu, newCpl: number): void {
  for (const seg of [0, 3, 4, 5]) {
    const s = c.seg[seg];
    if (s.ar & 0x10000) continue;
    if ((arIsData(s.ar) || (arIsCode(s.ar) && !arIsConforming(s.ar))) && arDpl(s.ar) < newCpl) {
      // A null selector with the hidden base kept: 64-bit code still addresses FS/GS through their bases
      // (kvm-unit-tests emulator64 test_iret, as the hardware does; QEMU's validate_seg keeps base and limit too).
      s.selector = 0; s.ar = 0x10000;
    }
  }
}
