// The shared operand toolkit of instruction handlers. Values of 1-, 2- and 4-byte operands are JS
// int32 numbers (8/16-bit ones zero-extended, 32-bit ones as signed int32); 8-byte operands return
// the low half and leave the high half in c.hi.
import type { Cpu } from '../cpu';
import { Code } from 'iced-x86';
import { Insn, K_IMM, K_MEM, K_REG } from '../insn';
import { define, HandlerFactory } from '../decode';
import type { Handler } from '../insn';
import { RSP, SS } from '../state';

/**
 * The text every string matched by `re` starts with, read off its source: `^` and the literal
 * characters after it, up to the first metacharacter (less the last one when a quantifier follows
 * it); '' where that cannot be read off (no `^`, a top-level `|`, the i, g or y flag).
 */
export function literalPrefix(re: RegExp): string {
  const s = re.source;
  if (s[0] !== '^' || /[igy]/.test(re.flags)) return '';
  for (let k = 0, depth = 0, inClass = false; k < s.length; k++) {
    const ch = s[k];
    if (ch === '\\') k++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return '';
  }
  let end = 1;
  while (end < s.length && /[A-Za-z0-9_]/.test(s[end])) end++;
  if (end > 1 && end < s.length && '?*{'.includes(s[end])) end--;
  return s.slice(1, end);
}

/** iced's Code names sorted, with their values and their order in the enum. */
let codeNames: { name: string; code: number; order: number }[] | undefined;

/**
 * Every iced Code whose name matches `re` (for registering instruction families), in enum order.
 * Only names starting with the regex's literal prefix are tested (a binary search in the sorted
 * names): some 370 families against 4,900 names would otherwise cost the CLI 100 ms at start-up.
 */
export function codesMatching(re: RegExp): number[] {
  if (!codeNames) {
    codeNames = [];
    // Object.keys, not Object.entries: iced's frozen 9,900-property enum makes entries 100 ms slower.
    const byName = Code as unknown as Record<string, number | string>;
    for (const name of Object.keys(byName)) {
      const v = byName[name];
      if (typeof v === 'number') codeNames.push({ name, code: v, order: codeNames.length });
    }
    codeNames.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const prefix = literalPrefix(re);
  let lo = 0, hi = codeNames.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (codeNames[mid].name < prefix) lo = mid + 1; else hi = mid;
  }
  const hits: { code: number; order: number }[] = [];
  for (let k = lo; k < codeNames.length && codeNames[k].name.startsWith(prefix); k++) {
    if (re.test(codeNames[k].name)) hits.push(codeNames[k]);
  }
  return hits.sort((a, b) => a.order - b.order).map((h) => h.code);
}
export function defineMatching(re: RegExp, h: Handler | { factory: HandlerFactory }): void {
  const codes = codesMatching(re);
  if (codes.length === 0) throw new Error(`no iced Code matches ${re}`);
  define(codes, h);
}

/** Linear address of the memory operand, checked for a read or write of `size` bytes. */
export function memLin(c: Cpu, i: Insn, size: number, write: boolean): number {
  const off = i.eaf(c, i);
  if (c.codeBits === 64 && i.seg < 4) {
    // 64-bit mode, no FS/GS base: the offset is the linear address; canonical check (SDM 3.3.7.1).
    if (off >= -0x800000000000 && off <= 0x800000000000 - size) return off;
  }
  return c.linear(i.seg, off, size, write);
}

/** Read a value of `size` bytes at a linear address. */
export function readAt(c: Cpu, lin: number, size: number): number {
  switch (size) {
    case 1: return c.readLin8(lin);
    case 2: return c.readLin16(lin);
    case 4: return c.readLin32(lin);
    default: return c.readLin64(lin);
  }
}
export function writeAt(c: Cpu, lin: number, size: number, v: number, hi: number): void {
  switch (size) {
    case 1: c.writeLin8(lin, v); break;
    case 2: c.writeLin16(lin, v); break;
    case 4: c.writeLin32(lin, v); break;
    default: c.writeLin64(lin, v, hi);
  }
}

/** Register value of `size` bytes (size 8: low half; high half in c.hi). */
export function regVal(c: Cpu, r: number, size: number): number {
  switch (size) {
    case 1: return c.get8(r);
    case 2: return c.R[2 * r] & 0xffff;
    case 4: return c.R[2 * r];
    default: c.hi = c.R[2 * r + 1]; return c.R[2 * r];
  }
}
export function setRegVal(c: Cpu, r: number, size: number, v: number, hi: number): void {
  switch (size) {
    case 1: c.set8(r, v); break;
    case 2: c.R[2 * r] = (c.R[2 * r] & ~0xffff) | (v & 0xffff); break;
    case 4: c.R[2 * r] = v; c.R[2 * r + 1] = 0; break;
    default: c.R[2 * r] = v; c.R[2 * r + 1] = hi;
  }
}

/** Immediate of the instruction at operand size `size` (sign-extended as the encoding defines). */
export function immVal(i: Insn, size: number): number {
  switch (size) {
    case 1: return i.imm & 0xff;
    case 2: return i.imm & 0xffff;
    default: return i.imm;
  }
}

/** Operand `k` (0-2) of kind REG, MEM or IMM, read at `size`. High half of 64-bit values in c.hi. */
export function readOp(c: Cpu, i: Insn, k: number, size: number): number {
  const kind = k === 0 ? i.k0 : k === 1 ? i.k1 : i.k2;
  if (kind === K_REG) return regVal(c, k === 0 ? i.r0 : k === 1 ? i.r1 : i.r2, size);
  if (kind === K_MEM) return readAt(c, memLin(c, i, size, false), size);
  if (kind === K_IMM) { c.hi = i.immHi; return immVal(i, size); }
  return 0;
}

/** Operand `k` as destination. */
export function writeOp(c: Cpu, i: Insn, k: number, size: number, v: number, hi: number): void {
  const kind = k === 0 ? i.k0 : k === 1 ? i.k1 : i.k2;
  if (kind === K_REG) setRegVal(c, k === 0 ? i.r0 : k === 1 ? i.r1 : i.r2, size, v, hi);
  else if (kind === K_MEM) writeAt(c, memLin(c, i, size, true), size, v, hi);
}

// ---------------------------------------------------------------- the stack (SDM Vol. 1 6.2)

/** Current stack pointer as an offset in SS, per the stack-address size. */
export function getSp(c: Cpu): number {
  const R = c.R;
  if (c.stackBits === 64) return R[2 * RSP + 1] * 4294967296 + (R[2 * RSP] >>> 0);
  return c.stackBits === 32 ? R[2 * RSP] >>> 0 : R[2 * RSP] & 0xffff;
}
export function setSp(c: Cpu, v: number): void {
  const R = c.R;
  if (c.stackBits === 64) { R[2 * RSP] = v | 0; R[2 * RSP + 1] = Math.floor(v / 4294967296) | 0; }
  else if (c.stackBits === 32) R[2 * RSP] = v | 0;
  else R[2 * RSP] = (R[2 * RSP] & ~0xffff) | (v & 0xffff);
}
function wrapSp(c: Cpu, v: number): number {
  return c.stackBits === 64 ? v : c.stackBits === 32 ? v >>> 0 : v & 0xffff;
}

/** PUSH of `size` bytes: the write happens before RSP changes, so a fault leaves RSP intact. */
export function push(c: Cpu, size: number, v: number, hi = 0): void {
  const sp = wrapSp(c, getSp(c) - size);
  writeAt(c, c.linear(SS, sp, size, true), size, v, hi);
  setSp(c, sp);
}
/** POP of `size` bytes (high half in c.hi); RSP is updated by the caller via popCommit. */
export function pop(c: Cpu, size: number): number {
  const sp = getSp(c);
  const v = readAt(c, c.linear(SS, sp, size, false), size);
  setSp(c, wrapSp(c, sp + size));
  return v;
}
/** Read the stack at RSP + offset without changing RSP. */
export function peek(c: Cpu, size: number, offset: number): number {
  return readAt(c, c.linear(SS, wrapSp(c, getSp(c) + offset), size, false), size);
}

/** Stack operand size of PUSH/POP/CALL/RET: 8 in 64-bit mode unless 66h gives 2. */
export function stackOpSize(c: Cpu, i: Insn): number {
  return i.osz;
}

export { K_REG, K_MEM, K_IMM };
