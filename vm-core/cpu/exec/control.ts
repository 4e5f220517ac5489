// Near control transfers (SDM Vol. 1 6.3, 7.3.8): JMP, Jcc, CALL, RET, LOOP/LOOPcc, JCXZ family.
// Far transfers, INT and IRET live in system.ts.
import type { Cpu } from '../cpu';
import { Insn, K_REG, FOP_JNZ64, FOP_JZ64, FOP_JMP64 } from '../insn';
import { condition, getZF } from '../flags';
import { defineMatching, memLin, pop, push, readAt, regVal, getSp, setSp } from './operands';
import { CS, RCX } from '../state';
import { Code } from 'iced-x86';

const RET_SIZE: Record<string, number> = { w: 2, d: 4, q: 8 };

/** Set RIP to a branch target of width `bits`, with the CS-limit / canonical checks (#GP(0)). */
export function branchTo(c: Cpu, target: number, bits: number): void {
  if (bits === 64) {
    if (target < -0x800000000000 || target >= 0x800000000000) c.gp(0);
    c.rip = target;
  } else {
    const t = bits === 32 ? target >>> 0 : target & 0xffff;
    if (c.codeBits !== 64 && t > c.seg[CS].limit) c.gp(0);
    c.rip = t;
  }
}

/** A 64-bit register/memory value as a canonical-address number (non-canonical stays out of range). */
export function toAddr(lo: number, hi: number): number {
  return hi * 4294967296 + (lo >>> 0);
}

// JMP rel / Jcc rel.
defineMatching(/^Jmp_rel(8|16|32)_?(16|32|64)?$/, {
  factory: (i: Insn) => {
    const bits = i.r0, rel = i.rel;
    if (bits === 64) i.fop = FOP_JMP64;
    return (c: Cpu) => branchTo(c, c.rip + rel, bits);
  },
});
defineMatching(/^J(o|no|b|ae|e|ne|be|a|s|ns|p|np|l|ge|le|g)_rel(8|16|32)_?(16|32|64)?$/, {
  factory: (i: Insn) => {
    const bits = i.r0, rel = i.rel, cc = i.cc;
    if ((cc === 5 || cc === 4) && bits === 64) i.fop = cc === 5 ? FOP_JNZ64 : FOP_JZ64;
    if (cc === 5 && bits === 64) {
      // JNZ in 64-bit code: the hot loop branch of most guests.
      return (c: Cpu) => { if (!getZF(c)) branchTo(c, c.rip + rel, 64); };
    }
    return (c: Cpu) => { if (condition(c, cc)) branchTo(c, c.rip + rel, bits); };
  },
});

// JMP r/m (near absolute indirect).
defineMatching(/^Jmp_rm(16|32|64)$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      const v = i.k0 === K_REG ? regVal(c, i.r0, size) : readAt(c, memLin(c, i, size, false), size);
      branchTo(c, size === 8 ? toAddr(v, c.hi) : v >>> 0, size * 8);
    };
  },
});

// CALL rel / r/m: push the return address, then branch (the push faults before RIP changes).
defineMatching(/^Call_rel(16|32)_?(32|64)?$/, {
  factory: (i: Insn) => {
    const bits = i.r0, rel = i.rel, size = bits / 8;
    return (c: Cpu) => {
      const ret = c.rip, target = c.rip + rel;
      const sp = getSp(c);
      push(c, size, ret | 0, Math.floor(ret / 4294967296) | 0);
      try { branchTo(c, target, bits); } catch (e) { setSp(c, sp); throw e; }
      if (c.callTrack) c.callTrack.call(c, ret, c.rip, getSp(c));
    };
  },
});
defineMatching(/^Call_rm(16|32|64)$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      const v = i.k0 === K_REG ? regVal(c, i.r0, size) : readAt(c, memLin(c, i, size, false), size);
      const target = size === 8 ? toAddr(v, c.hi) : v >>> 0;
      const ret = c.rip, sp = getSp(c);
      push(c, size, ret | 0, Math.floor(ret / 4294967296) | 0);
      try { branchTo(c, target, size * 8); } catch (e) { setSp(c, sp); throw e; }
      if (c.callTrack) c.callTrack.call(c, ret, c.rip, getSp(c));
    };
  },
});

// RET / RET imm16 (near).
defineMatching(/^Retn(w|d|q)(_imm16)?$/, {
  factory: (i: Insn) => {
    const size = RET_SIZE[Code[i.code].charAt(4)] ?? 4;
    return (c: Cpu, i: Insn) => {
      const sp = getSp(c);
      const v = pop(c, size);
      const target = size === 8 ? toAddr(v, c.hi) : v >>> 0;
      try { branchTo(c, target, size * 8); } catch (e) { setSp(c, sp); throw e; }
      if (i.k0 !== 0) setSp(c, stackWrap(c, getSp(c) + (i.imm & 0xffff)));
      if (c.callTrack) c.callTrack.ret(c, c.rip, getSp(c));
    };
  },
});

function stackWrap(c: Cpu, v: number): number {
  return c.stackBits === 64 ? v : c.stackBits === 32 ? v >>> 0 : v & 0xffff;
}

/** The count register of LOOP/JCXZ per address size. */
function countReg(c: Cpu, asz: number): number {
  if (asz === 64) return c.R[2 * RCX + 1] * 4294967296 + (c.R[2 * RCX] >>> 0);
  return asz === 32 ? c.R[2 * RCX] >>> 0 : c.R[2 * RCX] & 0xffff;
}
function decCount(c: Cpu, asz: number): boolean {
  const R = c.R;
  if (asz === 64) {
    const lo = R[2 * RCX];
    if (lo === 0) R[2 * RCX + 1] = (R[2 * RCX + 1] - 1) | 0;
    R[2 * RCX] = (lo - 1) | 0;
    return (R[2 * RCX] | R[2 * RCX + 1]) !== 0;
  }
  if (asz === 32) { R[2 * RCX] = (R[2 * RCX] - 1) | 0; return R[2 * RCX] !== 0; }
  const v = (R[2 * RCX] - 1) & 0xffff;
  R[2 * RCX] = (R[2 * RCX] & ~0xffff) | v;
  return v !== 0;
}

// LOOP / LOOPE / LOOPNE / JCXZ / JECXZ / JRCXZ (SDM Vol. 2).
defineMatching(/^Loop(e|ne)?_rel8_(16|32|64)_(CX|ECX|RCX)$/, {
  factory: (i: Insn) => {
    const bits = i.r0, rel = i.rel, asz = i.asz;
    const kind = /^loope$|^loopz$/.test(i.mnemonic) ? 1 : /^loopne$|^loopnz$/.test(i.mnemonic) ? 2 : 0;
    return (c: Cpu) => {
      const nz = decCount(c, asz);
      const take = kind === 0 ? nz : kind === 1 ? nz && getZF(c) : nz && !getZF(c);
      if (take) branchTo(c, c.rip + rel, bits);
    };
  },
});
defineMatching(/^J(cx|ecx|rcx)z_rel8_(16|32|64)$/, {
  factory: (i: Insn) => {
    const bits = i.r0, rel = i.rel, asz = i.asz;
    return (c: Cpu) => { if (countReg(c, asz) === 0) branchTo(c, c.rip + rel, bits); };
  },
});
