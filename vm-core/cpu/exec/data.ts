// Data transfer (SDM Vol. 1 7.3.1): MOV, MOVZX, MOVSX/MOVSXD, LEA, XCHG, PUSH, POP, CBW family,
// CWD family, and the NOP family.
import type { Cpu } from '../cpu';
import { BASE_RIP, Insn, K_IMM, K_MEM, K_REG, FOP_LD32, FOP_ST32, FOP_LD64, FOP_ST64 } from '../insn';
import { defineMatching, memLin, pop, push, readAt, readOp, regVal, setRegVal, writeAt, writeOp } from './operands';
import { RAX, RDX } from '../state';

// MOV r/m, r / r, r/m / r, imm / r/m, imm / moffs (segment-register forms live in system.ts).
defineMatching(/^Mov_(rm|r)(8|16|32|64)_(r|rm|imm)(8|16|32|64)$|^Mov_(AL|AX|EAX|RAX)_moffs(8|16|32|64)$|^Mov_moffs(8|16|32|64)_(AL|AX|EAX|RAX)$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    // The execute loop's inline loads and stores: [base + disp] in 64-bit code without FS/GS.
    if ((size === 4 || size === 8) && i.asz === 64 && i.mBase >= 0 && i.mBase !== BASE_RIP && i.mIndex < 0 && i.seg < 4) {
      if (i.k0 === K_REG && i.k1 === K_MEM) { i.fop = size === 4 ? FOP_LD32 : FOP_LD64; i.fd = 2 * i.r0; i.fs = 2 * i.mBase; }
      if (i.k0 === K_MEM && i.k1 === K_REG) { i.fop = size === 4 ? FOP_ST32 : FOP_ST64; i.fd = 2 * i.r1; i.fs = 2 * i.mBase; }
    }
    if (i.k0 === K_REG && i.k1 === K_REG) {
      const d = i.r0, s = i.r1;
      if (size === 8) return (c: Cpu) => { c.R[2 * d] = c.R[2 * s]; c.R[2 * d + 1] = c.R[2 * s + 1]; };
      if (size === 4) return (c: Cpu) => { c.R[2 * d] = c.R[2 * s]; c.R[2 * d + 1] = 0; };
    }
    if (i.k0 === K_REG && i.k1 === K_IMM) {
      const d = i.r0, lo = i.imm, hi = size === 8 ? i.immHi : 0;
      if (size >= 4) return (c: Cpu) => { c.R[2 * d] = lo; c.R[2 * d + 1] = hi; };
    }
    if (i.k0 === K_REG && i.k1 === K_MEM && size === 4) {
      const d = i.r0;
      return (c: Cpu, i: Insn) => { c.R[2 * d] = c.readLin32(memLin(c, i, 4, false)); c.R[2 * d + 1] = 0; };
    }
    if (i.k0 === K_MEM && i.k1 === K_REG && size === 4) {
      const s = i.r1;
      return (c: Cpu, i: Insn) => { c.writeLin32(memLin(c, i, 4, true), c.R[2 * s]); };
    }
    if (i.k0 === K_REG && i.k1 === K_MEM && size === 8) {
      const d = i.r0;
      return (c: Cpu, i: Insn) => { const lo = c.readLin64(memLin(c, i, 8, false)); c.R[2 * d] = lo; c.R[2 * d + 1] = c.hi; };
    }
    if (i.k0 === K_MEM && i.k1 === K_REG && size === 8) {
      const s = i.r1;
      return (c: Cpu, i: Insn) => { c.writeLin64(memLin(c, i, 8, true), c.R[2 * s], c.R[2 * s + 1]); };
    }
    return (c: Cpu, i: Insn) => {
      const v = readOp(c, i, 1, size);
      writeOp(c, i, 0, size, v, size === 8 ? c.hi : 0);
    };
  },
});

// MOVZX / MOVSX / MOVSXD (source size from the memory operand or source register).
function extendFactory(signed: boolean, srcSize: number) {
  return {
    factory: (i: Insn) => {
      const dsize = i.osz;
      return (c: Cpu, i: Insn) => {
        let v = i.k1 === K_REG ? regVal(c, i.r1, srcSize) : readAt(c, memLin(c, i, srcSize, false), srcSize);
        let hi = 0;
        if (signed) {
          v = srcSize === 1 ? (v << 24) >> 24 : srcSize === 2 ? (v << 16) >> 16 : v | 0;
          hi = v < 0 ? -1 : 0;
        }
        setRegVal(c, i.r0, dsize, dsize === 2 ? v & 0xffff : v, hi);
      };
    },
  };
}
defineMatching(/^Movzx_r(16|32|64)_rm8$/, extendFactory(false, 1));
defineMatching(/^Movzx_r(16|32|64)_rm16$/, extendFactory(false, 2));
defineMatching(/^Movsx_r(16|32|64)_rm8$/, extendFactory(true, 1));
defineMatching(/^Movsx_r(16|32|64)_rm16$/, extendFactory(true, 2));
defineMatching(/^Movsxd_r64_rm32$/, extendFactory(true, 4));
defineMatching(/^Movsxd_r(16|32)_rm(16|32)$/, { factory: (i: Insn) => { const sz = i.osz; return (c: Cpu, i: Insn) => setRegVal(c, i.r0, sz, readOp(c, i, 1, sz), 0); } });

/**
 * Exact 64-bit effective address modulo 2^64 on int32 halves (low half returned, high in c.hi).
 * LEA needs all 64 bits even when the address is not canonical, which c.ea() does not keep.
 */
function ea64(c: Cpu, i: Insn): number {
  const R = c.R;
  if (i.mBase === BASE_RIP) { const v = c.rip + i.disp; c.hi = Math.floor(v / 4294967296) | 0; return v | 0; }
  let lo = i.disp | 0, hi = i.disp < 0 ? -1 : 0;
  if (i.mBase >= 0) {
    const t = (lo >>> 0) + (R[2 * i.mBase] >>> 0);
    hi = (hi + R[2 * i.mBase + 1] + (t > 0xffffffff ? 1 : 0)) | 0; lo = t | 0;
  }
  if (i.mIndex >= 0) {
    const sh = Math.log2(i.mScale), xl = R[2 * i.mIndex], xh = R[2 * i.mIndex + 1];
    const il = xl << sh, ih = sh === 0 ? xh : (xh << sh) | (xl >>> (32 - sh));
    const t = (lo >>> 0) + (il >>> 0);
    hi = (hi + ih + (t > 0xffffffff ? 1 : 0)) | 0; lo = t | 0;
  }
  c.hi = hi;
  return lo;
}

// LEA: the effective address, truncated to the operand size (SDM Vol. 2 LEA).
defineMatching(/^Lea_r(16|32|64)_m$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      if (i.asz === 64) {
        const lo = ea64(c, i);
        setRegVal(c, i.r0, size, size === 2 ? lo & 0xffff : lo, c.hi);
        return;
      }
      const ea = c.ea(i);
      setRegVal(c, i.r0, size, size === 2 ? ea & 0xffff : ea | 0, 0);
    };
  },
});

// XCHG (memory forms are implicitly locked; the write happens before any register changes).
defineMatching(/^Xchg_(rm|r)(8|16|32|64)_(r|AX|EAX|RAX)(8|16|32|64)?$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      const b = regVal(c, i.r1, size), bh = c.hi;
      if (i.k0 === K_REG) {
        const a = regVal(c, i.r0, size), ah = c.hi;
        setRegVal(c, i.r0, size, b, bh);
        setRegVal(c, i.r1, size, a, ah);
      } else {
        const lin = memLin(c, i, size, true);
        const a = readAt(c, lin, size), ah = c.hi;
        writeAt(c, lin, size, b, bh);
        setRegVal(c, i.r1, size, a, ah);
      }
    };
  },
});

// PUSH / POP of general registers, memory and immediates (segment registers in system.ts).
defineMatching(/^Push_(r|rm)(16|32|64)$|^Pushq?_imm(8|16|32)$|^Push(w|d|q)?_imm(8|16|32)$/, {
  factory: (i: Insn) => {
    const size = i.osz; // PUSH imm: the stack decrement (decode.ts), 8 in 64-bit mode
    if (i.k0 === K_REG && size === 8) {
      const r = i.r0;
      return (c: Cpu) => push(c, 8, c.R[2 * r], c.R[2 * r + 1]);
    }
    return (c: Cpu, i: Insn) => {
      if (i.k0 === K_IMM) { push(c, size, size === 2 ? i.imm & 0xffff : i.imm, i.imm < 0 ? -1 : 0); return; }
      const v = readOp(c, i, 0, size);
      push(c, size, v, c.hi);
    };
  },
});
defineMatching(/^Pop_(r|rm)(16|32|64)$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      if (i.k0 === K_REG) {
        const v = pop(c, size);
        setRegVal(c, i.r0, size, v, c.hi);
      } else {
        // POP r/m: the address is computed with the incremented RSP (SDM Vol. 2 POP).
        const saved0 = c.R[8], saved1 = c.R[9];
        const v = pop(c, size), vh = c.hi;
        try { writeOp(c, i, 0, size, v, vh); } catch (e) { c.R[8] = saved0; c.R[9] = saved1; throw e; }
      }
    };
  },
});

// CBW/CWDE/CDQE and CWD/CDQ/CQO.
defineMatching(/^Cbw$/, (c: Cpu) => c.set16(RAX, (c.get8(RAX) << 24) >> 24));
defineMatching(/^Cwde$/, (c: Cpu) => c.set32(RAX, (c.get16(RAX) << 16) >> 16));
defineMatching(/^Cdqe$/, (c: Cpu) => { c.R[1] = c.R[0] >> 31; });
defineMatching(/^Cwd$/, (c: Cpu) => c.set16(RDX, (c.get16(RAX) & 0x8000) ? 0xffff : 0));
defineMatching(/^Cdq$/, (c: Cpu) => c.set32(RDX, c.R[0] >> 31));
defineMatching(/^Cqo$/, (c: Cpu) => { const s = c.R[1] >> 31; c.R[4] = s; c.R[5] = s; });

// The NOP family: NOP, multi-byte NOP, PAUSE (exit handled in system.ts), ENDBR, PREFETCH, fences.
defineMatching(/^(Nopw|Nopd|Nopq|Nop_rm(16|32|64)|Nopw_rm16|Nopd_rm32|Nopq_rm64|Endbr32|Endbr64|(Lfence|Sfence|Mfence)(_[0-9A-F]{2})?|Prefetch\w*|Reservednop_\w+|Clflush_m8|Clflushopt_m8|Cldemote_m8)$/, () => {});
