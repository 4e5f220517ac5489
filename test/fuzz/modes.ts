// Processor set-ups for the fuzz test: real mode with an IVT, 32-bit protected mode with flat
// segments, a TSS and an IDT, and 64-bit long mode with identity paging, a 64-bit TSS and an IDT.
// Exception vectors (0-31) go to a handler that halts; the other vectors go to one that returns.
import { Cpu } from '../../vm-core/cpu';
import { CS, DS, ES, SS, FS, GS, TR, LDTR, CR0_PE, CR4_OSFXSR, RSP } from '../../vm-core/cpu/state';
import { realMode, longMode } from '../cpu/helpers';
import { setRflagsRaw } from '../cpu/raw';

export type FuzzMode = 16 | 32 | 64;

/** Guest-physical layout shared by every mode (all below 64 KiB except the code). */
export const GDT = 0x0800, IDT32 = 0x0c00, TSS = 0x0600, HANDLERS = 0x0500, IDT64 = 0x4000, STACK = 0x9000;
export const CODE16 = 0x7c00, CODE = 0x10000;
/** Handler stubs: HANDLERS: hlt; jmp $-1. HANDLERS+4: iret (32-bit) / iretq (64-bit) / iret (16-bit). */
const HLT_STUB = HANDLERS, IRET_STUB = HANDLERS + 4;

// GDT selectors.
export const SEL_CODE32 = 0x08, SEL_DATA = 0x10, SEL_CODE16 = 0x18, SEL_DATA16 = 0x20, SEL_CODE32_R3 = 0x2b,
  SEL_DATA_R3 = 0x33, SEL_TSS = 0x38, SEL_CODE64 = 0x48, SEL_CODE64_R3 = 0x53;

function desc(dv: DataView, sel: number, base: number, limit: number, access: number, flags: number): void {
  const a = GDT + (sel & ~7);
  dv.setUint16(a, limit & 0xffff, true);
  dv.setUint16(a + 2, base & 0xffff, true);
  dv.setUint8(a + 4, (base >>> 16) & 0xff);
  dv.setUint8(a + 5, access);
  dv.setUint8(a + 6, ((limit >>> 16) & 0xf) | (flags << 4));
  dv.setUint8(a + 7, (base >>> 24) & 0xff);
}

/** The GDT: flat 32-bit ring 0/3 code and data, 16-bit code/data, a TSS, 64-bit ring 0/3 code. */
function writeGdt(mem: Uint8Array, tss64: boolean): void {
  const dv = new DataView(mem.buffer);
  desc(dv, SEL_CODE32, 0, 0xfffff, 0x9b, 0xc);
  desc(dv, SEL_DATA, 0, 0xfffff, 0x93, 0xc);
  desc(dv, SEL_CODE16, 0, 0xffff, 0x9b, 0x0);
  desc(dv, SEL_DATA16, 0, 0xffff, 0x93, 0x0);
  desc(dv, SEL_CODE32_R3, 0, 0xfffff, 0xfb, 0xc);
  desc(dv, SEL_DATA_R3, 0, 0xfffff, 0xf3, 0xc);
  desc(dv, SEL_TSS, TSS, 0x67, 0x8b, 0x0);            // busy 32-bit TSS / busy 64-bit TSS (same type 0xB)
  if (tss64) dv.setUint32(GDT + SEL_TSS + 8, 0, true);  // upper half of the 16-byte system descriptor
  desc(dv, SEL_CODE64, 0, 0xfffff, 0x9b, 0xa);
  desc(dv, SEL_CODE64_R3, 0, 0xfffff, 0xfb, 0xa);
}

function loadSeg(cpu: Cpu, s: number, selector: number, ar: number, limit: number): void {
  const seg = cpu.seg[s];
  seg.selector = selector; seg.base = 0; seg.limit = limit; seg.ar = ar;
}

/** Real mode at 0000:7C00 with an IVT whose exception vectors halt and whose others IRET. */
export function setupReal(cpu: Cpu, mem: Uint8Array): void {
  const dv = new DataView(mem.buffer);
  mem[HLT_STUB] = 0xf4; mem[HLT_STUB + 1] = 0xeb; mem[HLT_STUB + 2] = 0xfd; // hlt; jmp $-1
  mem[IRET_STUB] = 0xcf;                                                    // iret
  for (let v = 0; v < 256; v++) {
    dv.setUint16(v * 4, v < 32 ? HLT_STUB : IRET_STUB, true);
    dv.setUint16(v * 4 + 2, 0, true);
  }
  realMode(cpu, CODE16);
  cpu.idtr.base = 0; cpu.idtr.limit = 0x3ff;
  cpu.R[2 * RSP] = 0x7000;
  cpu.cr4 |= CR4_OSFXSR;
}

/** 32-bit protected mode, CPL 0, flat segments, a busy 32-bit TSS (SS0:ESP0) and a 32-bit IDT. */
export function setupProtected(cpu: Cpu, mem: Uint8Array): void {
  const dv = new DataView(mem.buffer);
  writeGdt(mem, false);
  mem[HLT_STUB] = 0xf4; mem[HLT_STUB + 1] = 0xeb; mem[HLT_STUB + 2] = 0xfd;
  mem[IRET_STUB] = 0xcf;
  dv.setUint32(TSS + 4, STACK, true);        // ESP0
  dv.setUint32(TSS + 8, SEL_DATA, true);     // SS0
  dv.setUint16(TSS + 0x66, 0x68, true);      // no I/O permission bitmap
  for (let v = 0; v < 256; v++) {
    const a = IDT32 + v * 8, off = v < 32 ? HLT_STUB : IRET_STUB;
    dv.setUint16(a, off, true);
    dv.setUint16(a + 2, SEL_CODE32, true);
    dv.setUint8(a + 4, 0);
    dv.setUint8(a + 5, v < 32 ? 0x8e : 0xee); // 32-bit interrupt gate; software vectors DPL 3
    dv.setUint16(a + 6, 0, true);
  }
  cpu.gdtr.base = GDT; cpu.gdtr.limit = 0x5f;
  cpu.idtr.base = IDT32; cpu.idtr.limit = 256 * 8 - 1;
  cpu.cr0 = CR0_PE | 0x10;
  cpu.cr4 = CR4_OSFXSR;
  loadSeg(cpu, CS, SEL_CODE32, 0xc09b, 0xffffffff);
  for (const s of [DS, ES, SS, FS, GS]) loadSeg(cpu, s, SEL_DATA, 0xc093, 0xffffffff);
  const tr = cpu.seg[TR];
  tr.selector = SEL_TSS; tr.base = TSS; tr.limit = 0x67; tr.ar = 0x8b;
  const ldtr = cpu.seg[LDTR];
  ldtr.selector = 0; ldtr.base = 0; ldtr.limit = 0; ldtr.ar = 0x10000;
  cpu.rip = CODE;
  cpu.R[2 * RSP] = STACK;
  setRflagsRaw(cpu, 2);
  cpu.updateMode();
  cpu.flushTlb(false);
}

/** 64-bit long mode, CPL 0, identity paging (test/cpu/helpers), a 64-bit TSS (RSP0, IST1) and a 64-bit IDT. */
export function setupLong(cpu: Cpu, mem: Uint8Array): void {
  const dv = new DataView(mem.buffer);
  longMode(cpu, mem, CODE);
  writeGdt(mem, true);
  mem[HLT_STUB] = 0xf4; mem[HLT_STUB + 1] = 0xeb; mem[HLT_STUB + 2] = 0xfd;
  mem[IRET_STUB] = 0x48; mem[IRET_STUB + 1] = 0xcf; // iretq
  dv.setUint32(TSS + 4, STACK, true);        // RSP0
  dv.setUint32(TSS + 0x24, STACK - 0x800, true); // IST1
  dv.setUint16(TSS + 0x66, 0x68, true);
  for (let v = 0; v < 256; v++) {
    const a = IDT64 + v * 16, off = v < 32 ? HLT_STUB : IRET_STUB;
    dv.setUint16(a, off, true);
    dv.setUint16(a + 2, SEL_CODE64, true);
    dv.setUint8(a + 4, v === 8 ? 1 : 0);      // #DF on IST1
    dv.setUint8(a + 5, v < 32 ? 0x8e : 0xee);
    dv.setUint16(a + 6, 0, true);
    dv.setUint32(a + 8, 0, true);
    dv.setUint32(a + 12, 0, true);
  }
  cpu.gdtr.base = GDT; cpu.gdtr.limit = 0x5f;
  cpu.idtr.base = IDT64; cpu.idtr.limit = 256 * 16 - 1;
  cpu.cr4 |= CR4_OSFXSR;
  loadSeg(cpu, CS, SEL_CODE64, 0xa09b, 0xffffffff);
  for (const s of [DS, ES, SS, FS, GS]) loadSeg(cpu, s, SEL_DATA, 0xc093, 0xffffffff);
  const tr = cpu.seg[TR];
  tr.selector = SEL_TSS; tr.base = TSS; tr.limit = 0x67; tr.ar = 0x8b;
  const ldtr = cpu.seg[LDTR];
  ldtr.selector = 0; ldtr.base = 0; ldtr.limit = 0; ldtr.ar = 0x10000;
  cpu.R[2 * RSP] = STACK;
  cpu.updateMode();
  cpu.flushTlb(false);
}

export function setupMode(mode: FuzzMode, cpu: Cpu, mem: Uint8Array): number {
  if (mode === 16) { setupReal(cpu, mem); return CODE16; }
  if (mode === 32) { setupProtected(cpu, mem); return CODE; }
  setupLong(cpu, mem); return CODE;
}
