// The block compiler's IR: decoded instructions (insn.ts) the compiler handles, classified into a
// few typed operations with every operand resolved to numbers. Anything else ends the block.
import { Code } from 'iced-x86';
import { BASE_RIP, Insn, K_IMM, K_MEM, K_REG, K_REL } from '../insn';

/** ALU operations, as in exec/arith.ts. */
export const A_ADD = 0, A_OR = 1, A_AND = 4, A_SUB = 5, A_XOR = 6, A_CMP = 7, A_TEST = 8;

/** A memory operand: effective address = base + index * scale + disp (mod 2^asz), in segment `seg`. */
export interface Addr {
  seg: number;
  asz: 32 | 64;
  /** -1 none; RIP-relative addresses are folded into `disp` with `base` -1 and `absolute` set. */
  base: number;
  index: number;
  scale: number;
  /** Displacement as low/high int32 halves (asz 32 uses the low half). */
  dispLo: number;
  dispHi: number;
}

export type Src = { k: 'reg'; r: number } | { k: 'imm'; lo: number; hi: number } | { k: 'mem'; a: Addr };
export type Dst = { k: 'reg'; r: number } | { k: 'mem'; a: Addr };

export type JOp =
  | { t: 'mov'; size: 4 | 8; dst: Dst; src: Src }
  | { t: 'alu'; op: number; size: 4 | 8; dst: Dst; src: Src }
  | { t: 'incdec'; dec: boolean; size: 4 | 8; r: number }
  | { t: 'lea'; size: 4 | 8; r: number; a: Addr }
  | { t: 'nop' }
  /** SHL/SHR/SAR of a register by a non-zero (masked) immediate count. */
  | { t: 'shift'; kind: 'shl' | 'shr' | 'sar'; size: 4 | 8; r: number; count: number }
  /** MOVZX/MOVSX/MOVSXD: `from` bytes (8-bit registers numbered as in insn.ts) into a 4/8-byte register. */
  | { t: 'ext'; signed: boolean; from: 1 | 2 | 4; size: 4 | 8; r: number; src: { k: 'reg'; r: number } | { k: 'mem'; a: Addr } }
  | { t: 'setcc'; cc: number; r: number }
  | { t: 'cmov'; cc: number; size: 4 | 8; r: number; s: number }
  /** PUSH/POP of a 64-bit register (64-bit code: RSP-relative, SS). */
  | { t: 'push' | 'pop'; r: number }
  | { t: 'not' | 'neg'; size: 4 | 8; r: number }
  /** Jcc (cc 0-15) or JMP (cc -1) to a target already checked (canonical / within the CS limit). */
  | { t: 'branch'; cc: number; target: number };

export interface IrInsn { op: JOp; rip: number; next: number }

const ALU_BY_MNEMONIC: Record<string, number> = { add: A_ADD, or: A_OR, and: A_AND, sub: A_SUB, xor: A_XOR, cmp: A_CMP, test: A_TEST };

/**
 * The IR of one instruction at `rip` (next = RIP after it), or null when the compiler does not
 * handle it. `codeBits`/`csLimit` are the mode the block is compiled for.
 */
export function classify(i: Insn, rip: number, next: number, codeBits: number, csLimit: number): JOp | null {
  if (i.lock || i.len === 0) return null;
  const m = i.mnemonic;
  if (m === 'nop') return { t: 'nop' };
  if (i.k0 === K_REL && (m === 'jmp' || (i.cc >= 0 && m[0] === 'j'))) {
    const bits = i.r0;
    let t = next + i.rel;
    if (bits === 64) { if (t < -0x800000000000 || t >= 0x800000000000) return null; }
    else {
      t = bits === 32 ? t >>> 0 : t & 0xffff;
      if (codeBits !== 64 && t > csLimit) return null; // #GP(0): the interpreter raises it
    }
    return { t: 'branch', cc: m === 'jmp' ? -1 : i.cc, target: t };
  }
  if (i.cc >= 0 && m.startsWith('set') && i.k0 === K_REG && i.r0 < 20) return { t: 'setcc', cc: i.cc, r: i.r0 };
  const size = i.osz;
  if (size !== 4 && size !== 8) return null;
  if ((m === 'push' || m === 'pop') && i.k0 === K_REG && size === 8 && codeBits === 64 && i.r0 < 16) return { t: m, r: i.r0 };
  if ((m === 'not' || m === 'neg') && i.k0 === K_REG && i.r0 < 16) return { t: m, size, r: i.r0 };
  if (i.cc >= 0 && m.startsWith('cmov') && i.k0 === K_REG && i.k1 === K_REG && i.r0 < 16 && i.r1 < 16) return { t: 'cmov', cc: i.cc, size, r: i.r0, s: i.r1 };
  if ((m === 'shl' || m === 'sal' || m === 'shr' || m === 'sar') && i.k0 === K_REG && i.k1 === K_IMM && i.r0 < 16) {
    const count = (i.imm & 0xff) & (size === 8 ? 0x3f : 0x1f);
    if (count === 0) return null;
    return { t: 'shift', kind: m === 'sal' ? 'shl' : m, size, r: i.r0, count };
  }
  if ((m === 'movzx' || m === 'movsx' || m === 'movsxd') && i.k0 === K_REG && i.r0 < 16) {
    const name = Code[i.code] ?? '';
    const from = /rm8$/.test(name) ? 1 : /rm16$/.test(name) ? 2 : /rm32$/.test(name) && m === 'movsxd' ? 4 : 0;
    if (from === 0 || (from === 4 && size !== 8)) return null;
    const signed = m !== 'movzx';
    if (i.k1 === K_REG) return { t: 'ext', signed, from, size, r: i.r0, src: { k: 'reg', r: i.r1 } };
    if (i.k1 === K_MEM) { const a = addrOf(i, next, codeBits); return a && i.msz === from ? { t: 'ext', signed, from, size, r: i.r0, src: { k: 'mem', a } } : null; }
    return null;
  }
  const memOk = (): Addr | null => addrOf(i, next, codeBits);
  if (m === 'mov' || ALU_BY_MNEMONIC[m] !== undefined) {
    let dst: Dst, src: Src;
    if (i.k0 === K_REG) dst = { k: 'reg', r: i.r0 };
    else if (i.k0 === K_MEM) { const a = memOk(); if (!a || i.msz !== size) return null; dst = { k: 'mem', a }; }
    else return null;
    if (i.k1 === K_REG) src = { k: 'reg', r: i.r1 };
    else if (i.k1 === K_IMM) src = { k: 'imm', lo: size === 8 ? i.imm : i.imm, hi: size === 8 ? i.immHi : 0 };
    else if (i.k1 === K_MEM && dst.k === 'reg') { const a = memOk(); if (!a || i.msz !== size) return null; src = { k: 'mem', a }; }
    else return null;
    if (i.k2 !== 0) return null;
    if (dst.k === 'reg' && dst.r > 15) return null;
    if (src.k === 'reg' && src.r > 15) return null;
    if (m === 'mov') return { t: 'mov', size, dst, src };
    return { t: 'alu', op: ALU_BY_MNEMONIC[m], size, dst, src };
  }
  if ((m === 'inc' || m === 'dec') && i.k0 === K_REG && i.r0 < 16) return { t: 'incdec', dec: m === 'dec', size, r: i.r0 };
  if (m === 'lea' && i.k0 === K_REG && i.k1 === K_MEM && i.r0 < 16) {
    const a = addrOf(i, next, codeBits, true);
    return a ? { t: 'lea', size, r: i.r0, a } : null;
  }
  return null;
}

/** The memory operand in IR form; null for forms the compiler leaves to the interpreter. */
function addrOf(i: Insn, next: number, codeBits: number, lea = false): Addr | null {
  if (i.asz !== 32 && i.asz !== 64) return null;
  // 64-bit code: FS/GS bases go through the interpreter (their canonical checks differ).
  if (!lea && codeBits === 64 && i.seg >= 4) return null;
  if (i.mIndex > 15 || (i.mBase > 15 && i.mBase !== BASE_RIP)) return null;
  if (i.mBase === BASE_RIP) {
    if (i.asz === 32) { const v = (next + i.disp) >>> 0; return { seg: i.seg, asz: 32, base: -1, index: -1, scale: 1, dispLo: v | 0, dispHi: 0 }; }
    const v = next + i.disp;
    if (!Number.isSafeInteger(v)) return null;
    return { seg: i.seg, asz: 64, base: -1, index: -1, scale: 1, dispLo: v | 0, dispHi: Math.floor(v / 4294967296) | 0 };
  }
  const d = i.disp;
  if (!Number.isSafeInteger(d)) return null;
  return { seg: i.seg, asz: i.asz, base: i.mBase, index: i.mIndex, scale: i.mScale, dispLo: d | 0,
    dispHi: i.asz === 64 ? Math.floor(d / 4294967296) | 0 : 0 };
}
