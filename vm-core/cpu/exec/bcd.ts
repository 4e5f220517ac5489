// Decimal arithmetic (SDM Vol. 1 7.3.2.4, 7.3.2.5; Vol. 2 "DAA", "DAS", "AAA", "AAS", "AAM",
// "AAD"). All are invalid in 64-bit mode (#UD). Flags the SDM leaves undefined are cleared.
import type { Cpu } from '../cpu';
import { Insn } from '../insn';
import { AF, CF, RAX } from '../state';
import { getAF, getCF } from '../flags';
import { defineMatching } from './operands';
import { setAllFlags, szp } from './wide';

function noLongMode(c: Cpu): void {
  if (c.codeBits === 64) c.ud();
}

// DAA: decimal adjust AL after addition.
defineMatching(/^Daa$/, (c: Cpu) => {
  noLongMode(c);
  const oldAl = c.get8(RAX), oldCf = getCF(c);
  let al = oldAl, cf = false, af = false;
  if ((al & 0x0f) > 9 || getAF(c)) { cf = oldCf || al + 6 > 0xff; al = (al + 6) & 0xff; af = true; }
  if (oldAl > 0x99 || oldCf) { al = (al + 0x60) & 0xff; cf = true; } else cf = false;
  c.set8(RAX, al);
  setAllFlags(c, szp(al, 0x80) | (cf ? CF : 0) | (af ? AF : 0));
});

// DAS: decimal adjust AL after subtraction.
defineMatching(/^Das$/, (c: Cpu) => {
  noLongMode(c);
  const oldAl = c.get8(RAX), oldCf = getCF(c);
  let al = oldAl, cf = false, af = false;
  if ((al & 0x0f) > 9 || getAF(c)) { cf = oldCf || al < 6; al = (al - 6) & 0xff; af = true; }
  if (oldAl > 0x99 || oldCf) { al = (al - 0x60) & 0xff; cf = true; }
  c.set8(RAX, al);
  setAllFlags(c, szp(al, 0x80) | (cf ? CF : 0) | (af ? AF : 0));
});

// AAA: ASCII adjust after addition (AX <- AX + 106h when adjusting; AL keeps its low nibble).
defineMatching(/^Aaa$/, (c: Cpu) => {
  noLongMode(c);
  let ax = c.get16(RAX);
  const adjust = (ax & 0x0f) > 9 || getAF(c);
  if (adjust) ax = (ax + 0x106) & 0xffff;
  c.set16(RAX, ax & 0xff0f);
  setAllFlags(c, szp(ax & 0x0f, 0x80) | (adjust ? CF | AF : 0));
});

// AAS: ASCII adjust after subtraction (AX <- AX - 6, AH <- AH - 1 when adjusting).
defineMatching(/^Aas$/, (c: Cpu) => {
  noLongMode(c);
  let ax = c.get16(RAX);
  const adjust = (ax & 0x0f) > 9 || getAF(c);
  if (adjust) { ax = (ax - 6) & 0xffff; ax = (ax - 0x100) & 0xffff; }
  c.set16(RAX, ax & 0xff0f);
  setAllFlags(c, szp(ax & 0x0f, 0x80) | (adjust ? CF | AF : 0));
});

// AAM imm8: AH <- AL / imm8, AL <- AL MOD imm8; imm8 = 0 raises #DE.
defineMatching(/^Aam_imm8$/, {
  factory: (i: Insn) => {
    const base = i.imm & 0xff;
    return (c: Cpu) => {
      noLongMode(c);
      if (base === 0) c.fault(0);
      const al = c.get8(RAX), q = Math.floor(al / base), r = al - q * base;
      c.set16(RAX, (q << 8) | r);
      setAllFlags(c, szp(r, 0x80));
    };
  },
});

// AAD imm8: AL <- (AL + AH * imm8) AND FFh, AH <- 0.
defineMatching(/^Aad_imm8$/, {
  factory: (i: Insn) => {
    const base = i.imm & 0xff;
    return (c: Cpu) => {
      noLongMode(c);
      const ax = c.get16(RAX), al = ((ax & 0xff) + (ax >>> 8) * base) & 0xff;
      c.set16(RAX, al);
      setAllFlags(c, szp(al, 0x80));
    };
  },
});
