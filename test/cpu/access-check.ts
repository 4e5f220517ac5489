// Runs one instruction form on the bare processor and compares the bytes it read and wrote, and
// the port accesses it made, with iced-x86's instruction information (InstructionInfoFactory):
// the independent statement of each form's operand sizes.
import { Decoder, DecoderOptions, Instruction, InstructionInfoFactory, MemorySizeExt, Mnemonic, OpAccess, OpKind, Register } from 'iced-x86';
import { setup, CODE } from './gp';
import { RUN_HALTED, RUN_BUDGET } from '../../vm-core/cpu';
import { CR4_OSFXSR, CR4_OSXMMEXCPT, CS, DS, ES, FS, GS, SS, setReg64 } from '../../vm-core/cpu/state';
import type { Form } from './forms';
import { EVT_NONE } from '../../vm-core/cpu/events';

const SEG_OF: Record<number, number> = { [Register.ES]: ES, [Register.CS]: CS, [Register.SS]: SS, [Register.DS]: DS, [Register.FS]: FS, [Register.GS]: GS };

/** Initial GPR values: bases near the data area, RCX a small count, RSP the stack. */
export function initialGpr(mode: number, n: number): bigint {
  if (n === 4) return mode === 16 ? 0xfff0n : 0x80000n;
  if (n === 1) return 2n;
  return mode === 16 ? 0x2000n + BigInt(n) * 0x10n : 0x20000n + BigInt(n) * 0x10n;
}

function gprValue(mode: number, r: Register): bigint {
  if (r >= Register.AL && r <= Register.BL) return BigInt.asUintN(8, initialGpr(mode, r - Register.AL));
  if (r >= Register.AX && r <= Register.R15W) return BigInt.asUintN(16, initialGpr(mode, r - Register.AX));
  if (r >= Register.EAX && r <= Register.R15D) return BigInt.asUintN(32, initialGpr(mode, r - Register.EAX));
  if (r >= Register.RAX && r <= Register.R15) return initialGpr(mode, r - Register.RAX);
  throw new Error(`address register ${Register[r]}`);
}

export interface Accesses {
  read: Set<number>; write: Set<number>; ports: { size: number; isIn: boolean }[]; faulted: boolean;
  /** Per GPR, a bit mask of the bytes (0-7) whose value changed. */
  gprBytes: number[];
}

/** Run the form once; collect the linear bytes read and written and the port accesses. */
export function runForm(f: Form): Accesses {
  const s = setup(f.mode, [Buffer.from(f.bytes).toString('hex')]);
  for (let n = 0; n < 16; n++) if (f.mode === 64 || n < 8) setReg64(s.cpu, n, initialGpr(f.mode, n));
  s.cpu.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  const acc: Accesses = { read: new Set(), write: new Set(), ports: [], faulted: false, gprBytes: [] };
  const before = Int32Array.from(s.cpu.R);
  s.cpu.memWatch = (lin, len, write) => { for (let k = 0; k < len; k++) (write ? acc.write : acc.read).add(lin + k); };
  s.cpu.updateMode(); // every access takes the slow path, where memWatch sees it
  s.cpu.env = {
    ...s.cpu.env,
    ioIn: (_c, _p, size) => { acc.ports.push({ size, isIn: true }); return 0; },
    ioOut: (_c, _p, size) => { acc.ports.push({ size, isIn: false }); },
  };
  const r = s.cpu.run(1);
  // A fault is a pending event, delivered at the next boundary (events.ts).
  acc.faulted = !(r === RUN_BUDGET || r === RUN_HALTED) || s.cpu.evType !== EVT_NONE;
  for (let n = 0; n < 16; n++) {
    let mask = 0;
    for (let k = 0; k < 8; k++) {
      const w = 2 * n + (k >> 2), sh = 8 * (k & 3);
      if (((before[w] >>> sh) & 0xff) !== ((s.cpu.R[w] >>> sh) & 0xff)) mask |= 1 << k;
    }
    acc.gprBytes.push(mask);
  }
  // Descriptor-table reads of segment loads are system accesses iced does not list.
  const g = s.cpu.gdtr;
  if (f.mode !== 16) for (const b of acc.read) if (b >= g.base && b <= g.base + g.limit) acc.read.delete(b);
  return acc;
}

export interface Expected {
  read: Set<number>; write: Set<number>; maybe: Set<number>; ioSize: number; opaque: boolean;
  /** Per GPR, the bytes the form may write (a 32-bit write in 64-bit mode zero-extends: all 8). */
  gprBytes: number[];
}

const infoFactory = new InstructionInfoFactory();

/** What iced-x86 says the form accesses, with the same register values and segment bases. */
export function expectedAccesses(f: Form, segBase: (seg: number) => number): Expected {
  const x = new Instruction();
  const d = new Decoder(f.mode, f.bytes, DecoderOptions.None);
  d.ip = BigInt(f.mode === 16 ? 0 : CODE);
  d.decodeOut(x);
  d.free();
  const e: Expected = { read: new Set(), write: new Set(), maybe: new Set(), ioSize: 0, opaque: false, gprBytes: new Array(16).fill(0) };
  const asz = f.mode; // the generated forms carry no 67h prefix
  const info = infoFactory.info(x);
  const m = x.mnemonic, name = Mnemonic[m];
  // CLFLUSH/CLFLUSHOPT/PREFETCHh check the address but transfer no data (SDM Vol. 2).
  if (/^(Clflush|Clflushopt|Prefetch)/.test(name)) { info.free?.(); return e; }
  for (const um of info.usedMemory()) {
    let size = MemorySizeExt.size(um.memorySize);
    if (size === 0) { e.opaque = true; continue; }
    let ea = um.displacement;
    if (um.base !== Register.None && um.base !== Register.RIP && um.base !== Register.EIP) ea += gprValue(f.mode, um.base);
    if (um.index !== Register.None) {
      if (!(um.index >= Register.AX && um.index <= Register.R15)) { e.opaque = true; continue; }
      ea += gprValue(f.mode, um.index) * BigInt(um.scale);
    }
    // BT/BTS/BTR/BTC m, r: the register's signed bit offset selects the operand (SDM Vol. 2 BT).
    if (/^Bt[src]?$/.test(name) && x.op1Kind === OpKind.Register) {
      const bits = BigInt(size * 8);
      ea += BigInt.asIntN(size * 8, gprValue(f.mode, x.op1Register)) / bits * BigInt(size);
    }
    ea = BigInt.asUintN(asz, ea);
    const lin = Number(ea) + (um.segment === Register.None ? 0 : segBase(SEG_OF[um.segment]));
    // PUSH Sreg with a 32/64-bit operand size writes only the selector's 16 bits (SDM Vol. 2 PUSH:
    // "all recent Core and Atom processors perform a 16-bit move"); POP Sreg reads those 16 bits.
    if ((m === Mnemonic.Push || m === Mnemonic.Pop) && x.op0Kind === OpKind.Register && x.op0Register >= Register.ES && x.op0Register <= Register.GS) size = 2;
    // Areas FXSAVE/FXRSTOR/MASKMOVQ may leave untouched: reserved bytes, XMM8-15 outside 64-bit mode, mask bits clear.
    const partial = m === Mnemonic.Fxsave || m === Mnemonic.Fxsave64 || m === Mnemonic.Fxrstor || m === Mnemonic.Fxrstor64 ||
      m === Mnemonic.Maskmovq || m === Mnemonic.Maskmovdqu;
    const set = partial ? e.maybe : um.access === OpAccess.Read ? e.read : um.access === OpAccess.Write ? e.write :
      um.access === OpAccess.ReadWrite ? null : e.maybe;
    for (let k = 0; k < size; k++) {
      if (set) set.add(lin + k);
      else { e.read.add(lin + k); e.write.add(lin + k); }
    }
  }
  for (const ur of info.usedRegisters()) {
    const a = ur.access, r = ur.register as Register;
    if (a !== OpAccess.Write && a !== OpAccess.ReadWrite && a !== OpAccess.CondWrite && a !== OpAccess.ReadCondWrite) continue;
    const g = gprBytes(r, f.mode);
    if (g) e.gprBytes[g[0]] |= g[1];
  }
  info.free?.();
  if (m === Mnemonic.In || m === Mnemonic.Out) {
    for (let k = 0; k < x.opCount; k++) if (x.opKind(k) === OpKind.Register && x.opRegister(k) !== Register.DX) e.ioSize = regBytes(x.opRegister(k));
    if (e.ioSize === 0) e.ioSize = 2; // in ax, dx / out dx, ax
  } else if (m === Mnemonic.Insb || m === Mnemonic.Insw || m === Mnemonic.Insd || m === Mnemonic.Outsb || m === Mnemonic.Outsw || m === Mnemonic.Outsd) {
    e.ioSize = MemorySizeExt.size(x.memorySize);
  }
  return e;
}

function regBytes(r: Register): number {
  if (r >= Register.AL && r <= Register.R15L) return 1;
  if (r >= Register.AX && r <= Register.R15W) return 2;
  if (r >= Register.EAX && r <= Register.R15D) return 4;
  return 8;
}

/** GPR number and written-byte mask of an iced register, or undefined for other registers. */
function gprBytes(r: Register, mode: number): [number, number] | undefined {
  if (r >= Register.AL && r <= Register.BL) return [r - Register.AL, 1];
  if (r >= Register.AH && r <= Register.BH) return [r - Register.AH, 2];
  if (r >= Register.SPL && r <= Register.R15L) return [r - Register.SPL + 4, 1];
  if (r >= Register.AX && r <= Register.R15W) return [r - Register.AX, 3];
  if (r >= Register.EAX && r <= Register.R15D) return [r - Register.EAX, mode === 64 ? 0xff : 0xf];
  if (r >= Register.RAX && r <= Register.R15) return [r - Register.RAX, 0xff];
  return undefined;
}
