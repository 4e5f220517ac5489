// The rest of the general-purpose group (SDM Vol. 1 7.3.1.2, 7.3.1.3, 7.3.13-7.3.16; Vol. 2):
// CMPXCHG, CMPXCHG8B/16B, XADD, MOVBE, CMOVcc, SETcc, ENTER/LEAVE, LAHF/SAHF, the flag-control
// instructions CLC/STC/CMC/CLD/STD, XLAT, ADX's ADCX/ADOX, and the legacy PUSHA/POPA, BOUND, SALC.
import type { Cpu } from '../cpu';
import { Code } from 'iced-x86';
import { Insn, K_MEM } from '../insn';
import { AF, CF, DF, OF, PF, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP, SF, SS, ZF } from '../state';
import { condition, getCF, getOF, getRflags, setArithFlags } from '../flags';
import { ALU_ADD, ALU_CMP, alu, alu64 } from './arith';
import { defineMatching, getSp, memLin, peek, push, readAt, regVal, setRegVal, setSp, writeAt } from './operands';
import { sizeOfCode } from './shift';
import { bswap32 } from './bitops';

const SZ_INDEX = [0, 0, 1, 0, 2, 0, 0, 0, 3];

// ---------------------------------------------------------------- CMPXCHG, CMPXCHG8B/16B, XADD

/**
 * CMPXCHG r/m, r: compare the accumulator with the destination (flags as CMP). Equal: destination
 * <- source. Otherwise the accumulator <- destination, and a memory destination is written back
 * with its own value (the processor always writes, SDM Vol. 2 CMPXCHG); a register destination is
 * not written, so a 32-bit one keeps its upper half.
 */
defineMatching(/^Cmpxchg_rm(8|16|32|64)_r(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => {
      const mem = i.k0 === K_MEM;
      const lin = mem ? memLin(c, i, size, true) : 0;
      const d = mem ? readAt(c, lin, size) : regVal(c, i.r0, size), dh = c.hi;
      const a = regVal(c, RAX, size), ah = c.hi;
      const s = regVal(c, i.r1, size), sh = c.hi;
      const equal = a === d && (size !== 8 || ah === dh);
      // Memory is written before any register or flag changes, so a #PF leaves the state intact.
      if (mem) writeAt(c, lin, size, equal ? s : d, equal ? sh : dh);
      if (size === 8) alu64(c, ALU_CMP, a, ah, d, dh); else alu(c, ALU_CMP, SZ_INDEX[size], a, d);
      if (equal) { if (!mem) setRegVal(c, i.r0, size, s, sh); }
      else setRegVal(c, RAX, size, d, dh);
    };
  },
});

// CMPXCHG8B m64 / CMPXCHG16B m128: EDX:EAX (RDX:RAX) against memory; only ZF changes.
defineMatching(/^Cmpxchg8b_m64$/, (c: Cpu, i: Insn) => {
  const lin = memLin(c, i, 8, true);
  const lo = c.readLin64(lin), hi = c.hi, R = c.R;
  const equal = lo === R[0] && hi === R[4];
  if (equal) c.writeLin64(lin, R[2 * RBX], R[2 * RCX]);
  else {
    c.writeLin64(lin, lo, hi);
    R[0] = lo; R[1] = 0; R[4] = hi; R[5] = 0;
  }
  setArithFlags(c, ZF, equal ? ZF : 0);
});
defineMatching(/^Cmpxchg16b_m128$/, (c: Cpu, i: Insn) => {
  const lin = c.linear(i.seg, c.ea(i), 16, true);
  if (lin % 16 !== 0) c.gp(0); // the operand must be 16-byte aligned (SDM Vol. 2 CMPXCHG16B)
  const l0 = c.readLin64(lin), h0 = c.hi, l1 = c.readLin64(lin + 8), h1 = c.hi, R = c.R;
  const equal = l0 === R[0] && h0 === R[1] && l1 === R[4] && h1 === R[5];
  if (equal) {
    c.writeLin64(lin, R[2 * RBX], R[2 * RBX + 1]);
    c.writeLin64(lin + 8, R[2 * RCX], R[2 * RCX + 1]);
  } else {
    c.writeLin64(lin, l0, h0);
    c.writeLin64(lin + 8, l1, h1);
    R[0] = l0; R[1] = h0; R[4] = l1; R[5] = h1;
  }
  setArithFlags(c, ZF, equal ? ZF : 0);
});

// XADD r/m, r: TEMP <- SRC + DEST; SRC <- DEST; DEST <- TEMP (flags as ADD).
defineMatching(/^Xadd_rm(8|16|32|64)_r(8|16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code);
    return (c: Cpu, i: Insn) => {
      const mem = i.k0 === K_MEM;
      const lin = mem ? memLin(c, i, size, true) : 0;
      const d = mem ? readAt(c, lin, size) : regVal(c, i.r0, size), dh = c.hi;
      const s = regVal(c, i.r1, size), sh = c.hi;
      if (mem) {
        // Write the sum before the flags and the source register change (all-or-nothing on #PF).
        let t: number, th = 0;
        if (size === 8) { const lo = (d >>> 0) + (s >>> 0); t = lo | 0; th = (dh + sh + (lo > 0xffffffff ? 1 : 0)) | 0; }
        else t = (d + s) | 0;
        writeAt(c, lin, size, t, th);
      }
      let t: number, th = 0;
      if (size === 8) { t = alu64(c, ALU_ADD, d, dh, s, sh); th = c.hi; }
      else t = alu(c, ALU_ADD, SZ_INDEX[size], d, s);
      setRegVal(c, i.r1, size, d, dh);
      if (!mem) setRegVal(c, i.r0, size, t, th);
    };
  },
});

// ---------------------------------------------------------------- MOVBE

// MOVBE r, m / m, r: move with the bytes reversed (SDM Vol. 2 MOVBE).
defineMatching(/^Movbe_(r|m)(16|32|64)_(r|m)(16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code), toReg = i.k0 !== K_MEM;
    return (c: Cpu, i: Insn) => {
      let v: number, vh = 0;
      if (toReg) { v = readAt(c, memLin(c, i, size, false), size); vh = c.hi; }
      else { v = regVal(c, i.r1, size); vh = c.hi; }
      let r: number, rh = 0;
      if (size === 2) r = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
      else if (size === 4) r = bswap32(v);
      else { r = bswap32(vh); rh = bswap32(v); }
      if (toReg) setRegVal(c, i.r0, size, r, rh);
      else writeAt(c, memLin(c, i, size, true), size, r, rh);
    };
  },
});

// ---------------------------------------------------------------- CMOVcc, SETcc

// CMOVcc r, r/m: the source is read (and may fault) whatever the condition; a 32-bit destination
// is zero-extended even when the condition is false (SDM Vol. 2 CMOVcc, 64-bit mode note).
defineMatching(/^Cmov(o|no|b|ae|e|ne|be|a|s|ns|p|np|l|ge|le|g)_r(16|32|64)_rm(16|32|64)$/, {
  factory: (i: Insn) => {
    const size = sizeOfCode(i.code), cc = i.cc;
    return (c: Cpu, i: Insn) => {
      const v = i.k1 === K_MEM ? readAt(c, memLin(c, i, size, false), size) : regVal(c, i.r1, size), vh = c.hi;
      if (condition(c, cc)) setRegVal(c, i.r0, size, v, vh);
      else if (size === 4) c.R[2 * i.r0 + 1] = 0;
    };
  },
});

// SETcc r/m8.
defineMatching(/^Set(o|no|b|ae|e|ne|be|a|s|ns|p|np|l|ge|le|g)_rm8$/, {
  factory: (i: Insn) => {
    const cc = i.cc;
    return (c: Cpu, i: Insn) => {
      const v = condition(c, cc) ? 1 : 0;
      if (i.k0 === K_MEM) c.writeLin8(memLin(c, i, 1, true), v);
      else c.set8(i.r0, v);
    };
  },
});

// ---------------------------------------------------------------- ENTER, LEAVE (SDM Vol. 2)

/** rBP at the stack-address size. */
function getBp(c: Cpu): number {
  const R = c.R;
  if (c.stackBits === 64) return R[2 * RBP + 1] * 4294967296 + (R[2 * RBP] >>> 0);
  return c.stackBits === 32 ? R[2 * RBP] >>> 0 : R[2 * RBP] & 0xffff;
}

// ENTER imm16, imm8: push rBP, copy NestingLevel-1 frame pointers, push the frame pointer, allocate.
defineMatching(/^Enter(w|d|q)_imm16_imm8$/, {
  factory: (i: Insn) => {
    const size = { w: 2, d: 4, q: 8 }[Code[i.code].charAt(5)] ?? 4;
    const alloc = i.imm & 0xffff, level = i.imm2 & 31;
    return (c: Cpu) => {
      const R = c.R, spSaved0 = R[2 * 4], spSaved1 = R[2 * 4 + 1], bp0 = R[2 * RBP], bp1 = R[2 * RBP + 1];
      try {
        push(c, size, R[2 * RBP], R[2 * RBP + 1]);
        const frameTemp = getSp(c);
        if (level > 0) {
          let bp = getBp(c);
          for (let k = 1; k < level; k++) {
            bp = wrapStack(c, bp - size);
            const v = readAt(c, c.linear(SS, bp, size, false), size);
            push(c, size, v, c.hi);
          }
          push(c, size, frameTemp | 0, Math.floor(frameTemp / 4294967296) | 0);
        }
        // rBP <- FrameTemp at the operand size: `enterw` in 64-bit code writes BP only (as the hardware and QEMU's gen_enter do).
        if (size === 8) { R[2 * RBP] = frameTemp | 0; R[2 * RBP + 1] = Math.floor(frameTemp / 4294967296) | 0; }
        else if (size === 2) c.set16(RBP, frameTemp);
        else R[2 * RBP] = frameTemp | 0;
        setSp(c, wrapStack(c, getSp(c) - alloc));
      } catch (e) {
        R[8] = spSaved0; R[9] = spSaved1; R[2 * RBP] = bp0; R[2 * RBP + 1] = bp1;
        throw e;
      }
    };
  },
});

function wrapStack(c: Cpu, v: number): number {
  return c.stackBits === 64 ? v : c.stackBits === 32 ? v >>> 0 : v & 0xffff;
}

// LEAVE: rSP <- rBP (stack-address size), then pop rBP (operand size).
defineMatching(/^Leave(w|d|q)$/, {
  factory: (i: Insn) => {
    const size = { w: 2, d: 4, q: 8 }[Code[i.code].charAt(5)] ?? 4;
    return (c: Cpu) => {
      const R = c.R, sp0 = R[8], sp1 = R[9];
      const bp = getBp(c);
      setSp(c, bp);
      let v: number;
      try { v = readAt(c, c.linear(SS, bp, size, false), size); } catch (e) { R[8] = sp0; R[9] = sp1; throw e; }
      const vh = c.hi;
      setSp(c, wrapStack(c, bp + size));
      if (size === 2) c.set16(RBP, v);
      else { R[2 * RBP] = v; R[2 * RBP + 1] = size === 8 ? vh : 0; }
    };
  },
});

// ---------------------------------------------------------------- LAHF, SAHF, flag control

// LAHF: AH <- SF:ZF:0:AF:0:PF:1:CF. Valid in 64-bit mode when CPUID.80000001H:ECX.LAHF-SAHF = 1 (reported).
defineMatching(/^Lahf$/, (c: Cpu) => {
  const f = getRflags(c);
  c.set8(16 + RAX, (f & (SF | ZF | AF | PF | CF)) | 2);
});
// SAHF: SF, ZF, AF, PF, CF <- AH; OF unchanged.
defineMatching(/^Sahf$/, (c: Cpu) => {
  setArithFlags(c, SF | ZF | AF | PF | CF, c.get8(16 + RAX));
});

defineMatching(/^Clc$/, (c: Cpu) => setArithFlags(c, CF, 0));
defineMatching(/^Stc$/, (c: Cpu) => setArithFlags(c, CF, CF));
defineMatching(/^Cmc$/, (c: Cpu) => setArithFlags(c, CF, getCF(c) ? 0 : CF));
defineMatching(/^Cld$/, (c: Cpu) => { c.rflags &= ~DF; });
defineMatching(/^Std$/, (c: Cpu) => { c.rflags |= DF; });

// ---------------------------------------------------------------- XLAT

// XLAT: AL <- [seg:rBX + zero-extended AL] at the address size (segment override allowed).
defineMatching(/^Xlat_m8$/, (c: Cpu, i: Insn) => {
  const R = c.R, al = R[0] & 0xff;
  let off: number;
  if (i.asz === 64) off = R[2 * RBX + 1] * 4294967296 + (R[2 * RBX] >>> 0) + al;
  else if (i.asz === 32) off = ((R[2 * RBX] >>> 0) + al) >>> 0;
  else off = ((R[2 * RBX] & 0xffff) + al) & 0xffff;
  c.set8(RAX, c.read8(i.seg, off));
});

// ---------------------------------------------------------------- ADCX, ADOX (ADX)

// ADCX adds with CF as carry in and out; ADOX with OF. No other flag changes.
function adxFactory(useOf: boolean) {
  return {
    factory: (i: Insn) => {
      const size = sizeOfCode(i.code);
      return (c: Cpu, i: Insn) => {
        const s = i.k1 === K_MEM ? readAt(c, memLin(c, i, size, false), size) : regVal(c, i.r1, size), sh = c.hi;
        const cin = (useOf ? getOF(c) : getCF(c)) ? 1 : 0;
        const R = c.R, d = 2 * i.r0;
        let cout: boolean;
        if (size === 4) {
          const t = (R[d] >>> 0) + (s >>> 0) + cin;
          R[d] = t | 0; R[d + 1] = 0; cout = t > 0xffffffff;
        } else {
          const tl = (R[d] >>> 0) + (s >>> 0) + cin;
          const th = (R[d + 1] >>> 0) + (sh >>> 0) + (tl > 0xffffffff ? 1 : 0);
          R[d] = tl | 0; R[d + 1] = th | 0; cout = th > 0xffffffff;
        }
        setArithFlags(c, useOf ? OF : CF, cout ? (useOf ? OF : CF) : 0);
      };
    },
  };
}
defineMatching(/^Adcx_r(32|64)_rm(32|64)$/, adxFactory(false));
defineMatching(/^Adox_r(32|64)_rm(32|64)$/, adxFactory(true));

// ---------------------------------------------------------------- PUSHA/POPA, BOUND, SALC (not in 64-bit mode)

const PUSHA_ORDER = [RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI];

// PUSHA/PUSHAD: push AX, CX, DX, BX, the original SP, BP, SI, DI (SDM Vol. 2 PUSHA).
defineMatching(/^Pusha(w|d)$/, {
  factory: (i: Insn) => {
    const size = Code[i.code].endsWith('d') ? 4 : 2;
    return (c: Cpu) => {
      const R = c.R, sp0 = R[8], sp1 = R[9], temp = R[8];
      try {
        for (let k = 0; k < 8; k++) {
          const r = PUSHA_ORDER[k], v = r === RSP ? temp : R[2 * r];
          push(c, size, size === 2 ? v & 0xffff : v, 0);
        }
      } catch (e) { R[8] = sp0; R[9] = sp1; throw e; }
    };
  },
});

// POPA/POPAD: pop DI, SI, BP, (skip SP), BX, DX, CX, AX; all reads happen before any register changes.
const popaValues = new Int32Array(8);
defineMatching(/^Popa(w|d)$/, {
  factory: (i: Insn) => {
    const size = Code[i.code].endsWith('d') ? 4 : 2;
    return (c: Cpu) => {
      // The saved (E)SP slot is skipped, not read (SDM Vol. 2 POPA: "Skip next 2/4 bytes of stack").
      for (let k = 0; k < 8; k++) if (PUSHA_ORDER[7 - k] !== RSP) popaValues[k] = peek(c, size, k * size);
      for (let k = 0; k < 8; k++) {
        const r = PUSHA_ORDER[7 - k];
        if (r === RSP) continue;
        if (size === 2) c.set16(r, popaValues[k]); else c.R[2 * r] = popaValues[k];
      }
      setSp(c, wrapStack(c, getSp(c) + 8 * size));
    };
  },
});

// BOUND r, m: #BR (vector 5) unless lower <= r <= upper, the signed bounds read from m (SDM Vol. 2 BOUND).
defineMatching(/^Bound_r(16|32)_m(1616|3232)$/, {
  factory: (i: Insn) => {
    const size = Code[i.code].startsWith('Bound_r16') ? 2 : 4;
    return (c: Cpu, i: Insn) => {
      const ea = c.ea(i);
      const wrap = i.asz === 16 ? 0xffff : 0xffffffff;
      let lo = readAt(c, c.linear(i.seg, ea, size, false), size);
      let hi = readAt(c, c.linear(i.seg, (ea + size) & wrap, size, false), size);
      let v = c.R[2 * i.r0];
      if (size === 2) { lo = (lo << 16) >> 16; hi = (hi << 16) >> 16; v = (v << 16) >> 16; }
      if (v < lo || v > hi) c.fault(5);
    };
  },
});

// SALC (undocumented, D6): AL <- CF ? FFh : 00h; invalid in 64-bit mode.
defineMatching(/^Salc$/, (c: Cpu) => {
  if (c.codeBits === 64) c.ud();
  c.set8(RAX, getCF(c) ? 0xff : 0);
});

// 3DNow! (0F 0F ib) and FEMMS (0F 0E): AMD's extension, which neither modelled processor has
// (CPUID.80000001H:EDX bits 31 and 30 clear; Intel never had it, AMD dropped it with Zen): #UD.
defineMatching(/^D3NOW_|^Femms$/, (c: Cpu) => c.ud());
