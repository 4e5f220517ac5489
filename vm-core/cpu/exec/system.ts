// System instructions whose intercepts the hypervisor configures (SDM Vol. 3C 25.1.2-25.1.3 and
// Vol. 2): HLT, CPUID, port I/O, RDMSR/WRMSR, MOV CR/DR, CLTS, LMSW/SMSW, INVLPG, RDTSC/RDTSCP,
// RDPMC, PAUSE, MONITOR/MWAIT, XGETBV/XSETBV, INVD/WBINVD, RDRAND/RDSEED, VMCALL/VMMCALL, the VMX
// instructions, UD0/UD1/UD2. Exit qualifications use the layouts of SDM Vol. 3C 28.2.1.
import type { Cpu } from '../cpu';
import { BASE_RIP, Insn, K_IMM, K_MEM, K_REG } from '../insn';
import { defineMatching, memLin, readAt, regVal, setRegVal, writeAt } from './operands';
import {
  EXIT_REASON_CPUID, EXIT_REASON_CR_ACCESS, EXIT_REASON_DR_ACCESS, EXIT_REASON_HLT, EXIT_REASON_INVD,
  EXIT_REASON_INVLPG, EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_MONITOR_INSTRUCTION, EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE, EXIT_REASON_MWAIT_INSTRUCTION, EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_RDPMC,
  EXIT_REASON_RDRAND, EXIT_REASON_RDSEED, EXIT_REASON_RDTSC, EXIT_REASON_RDTSCP, EXIT_REASON_VMCALL,
  EXIT_REASON_WBINVD, EXIT_REASON_XSETBV, HW_VMMCALL, EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH,
  EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE,
  EXIT_REASON_VMOFF, EXIT_REASON_VMON, EXIT_REASON_INVEPT, EXIT_REASON_INVVPID, EXIT_REASON_VMFUNC,
  EXIT_REASON_INVPCID,
} from '../exits';
import {
  CR0_CD, CR0_ET, CR0_MP, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR4_DE, CR4_OSXSAVE, CR4_PAE, CR4_PCIDE, CR4_TSD, CR4_VMXE,
  EFER_LMA, EFER_LME, IOPL, RAX, RBX, RCX, RDX, TR, VM, CS, CR4_PGE, CR4_PSE, CR4_SMEP, CR4_SMAP, CR0_WP,
  CR4_LA57, CR4_PKE, CR4_SMXE,
} from '../state';
import { getRflags } from '../flags';
import { coreReadMsr, coreWriteMsr, readTsc } from '../msr';
import { loadPdptrs } from '../mmu';
import { setArithFlags } from '../flags';
import { CF, ARITH_FLAGS } from '../state';
import { xinuse } from './xsave';

/** Privileged instruction: #GP(0) unless CPL 0 (SDM Vol. 3A 5.9). */
function requireCpl0(c: Cpu): void {
  if (c.cpl !== 0) c.gp(0);
}

// ---------------------------------------------------------------- HLT, PAUSE, MONITOR/MWAIT

// HLT: exits when intercepted; otherwise the processor halts until an event (run() returns RUN_HALTED).
defineMatching(/^Hlt$/, (c: Cpu) => {
  requireCpl0(c);
  if (c.intercepts.hlt) return c.vmExit(EXIT_REASON_HLT);
  c.halted = true;
  c.slow = true;
});
defineMatching(/^Pause$/, (c: Cpu) => {
  if (c.intercepts.pause) return c.vmExit(EXIT_REASON_PAUSE_INSTRUCTION);
});
defineMatching(/^Monitor(w|d|q)$/, (c: Cpu) => {
  if (c.cpl !== 0) c.ud();
  if (c.intercepts.monitor) return c.vmExit(EXIT_REASON_MONITOR_INSTRUCTION);
});
defineMatching(/^Mwait$/, (c: Cpu) => {
  if (c.cpl !== 0) c.ud();
  if (c.intercepts.mwait) return c.vmExit(EXIT_REASON_MWAIT_INSTRUCTION);
  // Without an intercept MWAIT behaves as a NOP here: no monitored store can arrive.
});

// ---------------------------------------------------------------- CPUID

const cpuidOut = new Int32Array(4);
defineMatching(/^Cpuid$/, (c: Cpu) => {
  if (c.intercepts.cpuid) return c.vmExit(EXIT_REASON_CPUID);
  c.env.cpuid(c, c.R[2 * RAX], c.R[2 * RCX], cpuidOut);
  c.set32(RAX, cpuidOut[0]); c.set32(RBX, cpuidOut[1]); c.set32(RCX, cpuidOut[2]); c.set32(RDX, cpuidOut[3]);
});

// ---------------------------------------------------------------- port I/O (SDM Vol. 1 ch. 19)

/** I/O permission (SDM Vol. 1 19.5): CPL <= IOPL, else the TSS I/O bitmap must allow every port. */
export function checkIoPermission(c: Cpu, port: number, size: number): void {
  if (!c.isProtected()) return;
  const iopl = (c.rflags & IOPL) >> 12;
  if (!(c.rflags & VM) && c.cpl <= iopl) return;
  const tr = c.seg[TR];
  const tss32 = (tr.ar & 0xf) === 0xb || (tr.ar & 0xf) === 0x9;
  if (!tss32 || tr.limit < 0x67) c.gp(0);
  const base = c.readSys(tr.base + 0x66, 2);
  const byte = base + (port >> 3);
  if (byte + 1 > tr.limit) c.gp(0);
  const bits = c.readSys(tr.base + byte, 2);
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) c.gp(0);
}

/** Exit qualification for I/O instructions (SDM Vol. 3C Table 28-5). */
export function ioQual(port: number, size: number, isIn: boolean, str: boolean, rep: boolean, imm: boolean): number {
  return (size - 1) | (isIn ? 8 : 0) | (str ? 16 : 0) | (rep ? 32 : 0) | (imm ? 64 : 0) | (port << 16);
}

function ioExit(c: Cpu, i: Insn, port: number, size: number, isIn: boolean, str: boolean): void {
  const e = c.beginExit(EXIT_REASON_IO_INSTRUCTION, ioQual(port, size, isIn, str, i.rep !== 0, i.k0 === K_IMM || i.k1 === K_IMM));
  e.port = port; e.size = size; e.isIn = isIn; e.isString = str; e.isRep = i.rep !== 0;
  c.endExit();
}

function portIn(c: Cpu, port: number, size: number): number {
  return c.mmioHandler ? c.mmioHandler.pioIn(port, size) : c.env.ioIn(c, port, size);
}
function portOut(c: Cpu, port: number, size: number, v: number): void {
  if (c.mmioHandler) c.mmioHandler.pioOut(port, size, v); else c.env.ioOut(c, port, size, v);
}

defineMatching(/^In_(AL|AX|EAX)_(imm8|DX)$/, {
  factory: (i: Insn) => {
    const size = i.osz;
    return (c: Cpu, i: Insn) => {
      const port = i.k1 === K_IMM ? i.imm & 0xff : c.R[2 * RDX] & 0xffff;
      checkIoPermission(c, port, size);
      if (c.intercepts.io && !c.mmioHandler) return ioExit(c, i, port, size, true, false);
      setRegVal(c, RAX, size, portIn(c, port, size), 0);
    };
  },
});
// The access size is the accumulator's (SDM Vol. 2B OUT): the decoder's operand size comes from the
// first register operand, which for OUT DX, AL/EAX is DX.
for (const [acc, size] of [['AL', 1], ['AX', 2], ['EAX', 4]] as const) {
  defineMatching(new RegExp(`^Out_(imm8|DX)_${acc}$`), {
    factory: () => (c: Cpu, i: Insn) => {
      const port = i.k0 === K_IMM ? i.imm & 0xff : c.R[2 * RDX] & 0xffff;
      checkIoPermission(c, port, size);
      if (c.intercepts.io && !c.mmioHandler) return ioExit(c, i, port, size, false, false);
      portOut(c, port, size, regVal(c, RAX, size));
    },
  });
}

// INS/OUTS with REP (SDM Vol. 2): at most a page of iterations per execution, then resume.
const STRING_IO_BATCH = 4096;
function strIo(isIn: boolean) {
  return {
    factory: (i: Insn) => {
      const size = i.osz === 16 ? 4 : i.msz || i.osz;
      return (c: Cpu, i: Insn) => {
        const port = c.R[2 * RDX] & 0xffff;
        checkIoPermission(c, port, size);
        if (c.intercepts.io && !c.mmioHandler) return ioExit(c, i, port, size, isIn, true);
        const asz = i.asz;
        const step = (c.rflags & 0x400) ? -size : size;
        let n = 0;
        for (;;) {
          if (i.rep && countOf(c, asz) === 0) return;
          if (isIn) {
            const off = idx(c, 7, asz);
            const lin = c.linear(0, off, size, true); // ES:(E/R)DI, no override (SDM Vol. 1 3.7.5)
            c.probeWrite(lin, size);
            writeAt(c, lin, size, portIn(c, port, size), 0);
            setIdx(c, 7, asz, off + step);
          } else {
            const off = idx(c, 6, asz);
            const v = readAt(c, c.linear(i.seg, off, size, false), size);
            portOut(c, port, size, v);
            setIdx(c, 6, asz, off + step);
          }
          if (!i.rep) return;
          decCount(c, asz);
          // Under KVM's emulator one iteration per execution (string.ts: a re-execution replays from its start).
          if ((++n >= STRING_IO_BATCH || c.mmioHandler) && countOf(c, asz) !== 0) { c.rip = c.insnRip; c.stringRestart = true; return; }
        }
      };
    },
  };
}
function idx(c: Cpu, r: number, asz: number): number {
  if (asz === 64) return c.R[2 * r + 1] * 4294967296 + (c.R[2 * r] >>> 0);
  return asz === 32 ? c.R[2 * r] >>> 0 : c.R[2 * r] & 0xffff;
}
function setIdx(c: Cpu, r: number, asz: number, v: number): void {
  if (asz === 64) { c.R[2 * r] = v | 0; c.R[2 * r + 1] = Math.floor(v / 4294967296) | 0; }
  else if (asz === 32) c.set32(r, v | 0);
  else c.set16(r, v);
}
function countOf(c: Cpu, asz: number): number { return idx(c, RCX, asz); }
function decCount(c: Cpu, asz: number): void { setIdx(c, RCX, asz, countOf(c, asz) - 1); }
defineMatching(/^Ins(b|w|d)_m(8|16|32)_DX$/, strIo(true));
defineMatching(/^Outs(b|w|d)_DX_m(8|16|32)$/, strIo(false));

// ---------------------------------------------------------------- MSRs

function msrPassthrough(c: Cpu, msr: number, write: boolean): boolean {
  return (write ? c.intercepts.msrPassthroughWrite : c.intercepts.msrPassthroughRead).has(msr >>> 0);
}
defineMatching(/^Rdmsr$/, (c: Cpu) => {
  requireCpl0(c);
  const msr = c.R[2 * RCX] >>> 0;
  if (c.intercepts.msr && !msrPassthrough(c, msr, false)) {
    const e = c.beginExit(EXIT_REASON_MSR_READ); e.msr = msr; return c.endExit();
  }
  if (!coreReadMsr(c, msr)) {
    const v = c.env.rdmsr(c, msr);
    if (!v) c.gp(0);
    c.msrLo = v[0]; c.msrHi = v[1];
  }
  c.set32(RAX, c.msrLo); c.set32(RDX, c.msrHi);
});
defineMatching(/^Wrmsr$/, (c: Cpu) => {
  requireCpl0(c);
  const msr = c.R[2 * RCX] >>> 0;
  if (c.intercepts.msr && !msrPassthrough(c, msr, true)) {
    const e = c.beginExit(EXIT_REASON_MSR_WRITE); e.msr = msr; return c.endExit();
  }
  const r = coreWriteMsr(c, msr, c.R[2 * RAX], c.R[2 * RDX]);
  if (r < 0) c.gp(0);
  if (r === 0 && !c.env.wrmsr(c, msr, c.R[2 * RAX], c.R[2 * RDX])) c.gp(0);
});

// ---------------------------------------------------------------- TSC, PMC

defineMatching(/^Rdtsc$/, (c: Cpu) => {
  if ((c.cr4 & CR4_TSD) && c.cpl !== 0) c.gp(0);
  if (c.intercepts.rdtsc) return c.vmExit(EXIT_REASON_RDTSC);
  const t = readTsc(c);
  c.set32(RAX, t | 0); c.set32(RDX, Math.floor(t / 4294967296) | 0);
});
defineMatching(/^Rdtscp$/, (c: Cpu) => {
  if (c.intercepts.rdtscpUd) c.ud();
  if ((c.cr4 & CR4_TSD) && c.cpl !== 0) c.gp(0);
  if (c.intercepts.rdtscp) return c.vmExit(EXIT_REASON_RDTSCP);
  const t = readTsc(c);
  c.set32(RAX, t | 0); c.set32(RDX, Math.floor(t / 4294967296) | 0); c.set32(RCX, c.tscAux);
});
// RDPID (SDM Vol. 2B): IA32_TSC_AUX into a register; #UD like RDTSCP when VMX "enable RDTSCP" is clear.
defineMatching(/^Rdpid_r(32|64)$/, (c: Cpu, i: Insn) => {
  if (c.intercepts.rdtscpUd) c.ud();
  setRegVal(c, i.r0, i.osz === 8 ? 8 : 4, c.tscAux, 0);
});
defineMatching(/^Rdpmc$/, (c: Cpu) => {
  if (c.intercepts.rdpmc) return c.vmExit(EXIT_REASON_RDPMC);
  c.gp(0); // no performance counters are emulated
});

// ---------------------------------------------------------------- control registers (SDM Vol. 3A 2.5)

/** CR4 bits this processor supports; others are reserved (#GP). */
export const CR4_SUPPORTED = 0x1 | 0x2 | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | 0x40 | CR4_PGE | 0x100 | 0x200 | 0x400 |
  0x800 | CR4_VMXE | CR4_SMXE | 0x10000 | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP;

/** CR access exit qualification (SDM Vol. 3C Table 28-3). */
export function crQual(cr: number, type: number, gpr: number, lmswData = 0, lmswMem = false): number {
  return cr | (type << 4) | (lmswMem ? 64 : 0) | (gpr << 8) | (lmswData << 16);
}

/** The value a guest read of CR0/CR4 returns: shadow bits where the guest/host mask is set. */
export function readCr0Guest(c: Cpu): number {
  const m = c.intercepts.cr0Mask;
  return ((c.cr0 & ~m) | (c.intercepts.cr0Shadow & m)) | 0;
}
export function readCr4Guest(c: Cpu): number {
  const m = c.intercepts.cr4Mask;
  return ((c.cr4 & ~m) | (c.intercepts.cr4Shadow & m)) | 0;
}

/** MOV to CR0 semantics (SDM Vol. 3A 2.5, 9.8.5); `hi` is bits 63:32 (must be 0). */
export function setCr0(c: Cpu, v: number, hi: number): void {
  if (hi !== 0 && c.codeBits === 64) c.gp(0);
  v |= CR0_ET;
  if ((v & CR0_PG) && !(v & CR0_PE)) c.gp(0);
  if ((v & CR0_NW) && !(v & CR0_CD)) c.gp(0);
  const old = c.cr0;
  if ((v & CR0_PG) && !(old & CR0_PG) && (c.efer & EFER_LME)) {
    if (!(c.cr4 & CR4_PAE)) c.gp(0);
    if (c.seg[CS].ar & 0x2000) c.gp(0); // CS.L must be 0 when activating IA-32e mode
    c.efer |= EFER_LMA;
  }
  if (!(v & CR0_PG) && (old & CR0_PG)) {
    if (c.codeBits === 64) c.gp(0);
    c.efer &= ~EFER_LMA;
  }
  if ((v & CR0_PG) && !(c.efer & EFER_LMA) && (c.cr4 & CR4_PAE) && !((old & CR0_PG))) {
    if (!loadPdptrs(c, c.cr3)) c.gp(0);
  }
  c.cr0 = v | 0;
  if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) c.flushTlb(false);
  c.updateMode();
  c.updateAcCheck();
}

export function setCr3(c: Cpu, lo: number, hi: number): void {
  const v = (hi >>> 0) * 4294967296 + (lo >>> 0);
  if (c.isLongMode() && (hi & ~0xfffff)) c.gp(0);
  if ((c.cr0 & CR0_PG) && (c.cr4 & CR4_PAE) && !c.isLongMode()) {
    if (!loadPdptrs(c, lo)) c.gp(0);
  }
  c.cr3 = c.codeBits === 64 || c.isLongMode() ? v : lo >>> 0;
  c.flushTlb((c.cr4 & CR4_PGE) !== 0);
}

export function setCr4(c: Cpu, v: number, hi: number): void {
  if (hi !== 0 || (v & ~CR4_SUPPORTED)) c.gp(0);
  if (c.isLongMode() && !(v & CR4_PAE)) c.gp(0);
  if ((v & CR4_PCIDE) && !c.isLongMode()) c.gp(0);
  if (v & CR4_LA57 || v & CR4_PKE) c.gp(0);
  const old = c.cr4;
  if ((c.cr0 & CR0_PG) && (v & CR4_PAE) && !c.isLongMode() && ((old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP))) {
    if (!loadPdptrs(c, c.cr3)) c.gp(0);
  }
  c.cr4 = v | 0;
  if ((old ^ v) & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PCIDE)) c.flushTlb(false);
  c.updateMode();
}

/** SVM: does a write of `v` to CR0 change a bit other than TS or MP (the selective CR0 write intercept)? */
function cr0SelectiveHit(c: Cpu, v: number): boolean {
  return c.intercepts.cr0SelectiveWrite && ((v ^ c.cr0) & ~(CR0_TS | CR0_MP)) !== 0;
}

// MOV to CR0/CR4 in VMX non-root operation (SDM Vol. 3C 26.3): exits when a bit set in the
// guest/host mask would differ from the read shadow; otherwise the host-owned (masked) bits keep
// their value and only guest-owned bits change. SVM (APM Vol. 2 15.9): per-CR write intercepts
// (CLTS and LMSW are CR0 writes) and the selective CR0 write intercept.
defineMatching(/^Mov_cr_r(32|64)$/, (c: Cpu, i: Insn) => {
  requireCpl0(c);
  const cr = i.r0, g = i.r1;
  const lo = c.R[2 * g], hi = i.osz === 8 ? c.R[2 * g + 1] : 0;
  const x = c.intercepts;
  if ((x.crWrite >>> cr) & 1) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(cr, 0, g));
  switch (cr) {
    case 0:
      if (((lo ^ x.cr0Shadow) & x.cr0Mask) !== 0 || cr0SelectiveHit(c, lo)) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(0, 0, g));
      setCr0(c, (c.cr0 & x.cr0Mask) | (lo & ~x.cr0Mask), hi);
      return;
    case 2: c.cr2 = i.osz === 8 ? hi * 4294967296 + (lo >>> 0) : lo >>> 0; return;
    case 3:
      if (x.cr3Load) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(3, 0, g));
      setCr3(c, lo, hi);
      return;
    case 4:
      if (((lo ^ x.cr4Shadow) & x.cr4Mask) !== 0) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(4, 0, g));
      setCr4(c, (c.cr4 & x.cr4Mask) | (lo & ~x.cr4Mask), hi);
      return;
    case 8:
      if (c.codeBits !== 64) c.ud();
      if (x.cr8Load) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(8, 0, g));
      if (hi !== 0 || (lo & ~0xf)) c.gp(0);
      c.cr8 = lo & 0xf;
      return;
  }
  c.ud();
});
defineMatching(/^Mov_r(32|64)_cr$/, (c: Cpu, i: Insn) => {
  requireCpl0(c);
  const g = i.r0, cr = i.r1;
  const x = c.intercepts;
  let v = 0;
  if ((cr === 0 || cr === 2 || cr === 3 || cr === 4 || cr === 8) && ((x.crRead >>> cr) & 1)) {
    if (cr === 8 && c.codeBits !== 64) c.ud();
    return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(cr, 1, g));
  }
  switch (cr) {
    case 0: v = readCr0Guest(c) >>> 0; break;
    case 2: v = c.cr2; break;
    case 3: if (x.cr3Store) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(3, 1, g)); v = c.cr3; break;
    case 4: v = readCr4Guest(c) >>> 0; break;
    case 8:
      if (c.codeBits !== 64) c.ud();
      if (x.cr8Store) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(8, 1, g));
      v = c.cr8; break;
    default: c.ud();
  }
  if (i.osz === 8) setRegVal(c, g, 8, v | 0, Math.floor(v / 4294967296) | 0);
  else c.set32(g, v | 0);
});

// CLTS (SDM Vol. 2): exits when CR0.TS is host-owned and the shadow has TS set (Vol. 3C 25.1.3);
// when TS is host-owned without an exit, CR0.TS is left alone (26.3). SVM: a CR0 write intercept.
defineMatching(/^Clts$/, (c: Cpu) => {
  requireCpl0(c);
  const x = c.intercepts;
  if ((x.crWrite & 1) || ((x.cr0Mask & CR0_TS) && (x.cr0Shadow & CR0_TS))) return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(0, 2, 0));
  if (!(x.cr0Mask & CR0_TS)) c.cr0 &= ~CR0_TS;
});
// LMSW: loads CR0 bits 3:0 but can only set PE, never clear it; host-owned bits are left alone.
defineMatching(/^Lmsw_(rm16|r32m16|r64m16)$/, (c: Cpu, i: Insn) => {
  requireCpl0(c);
  const v = i.k0 === K_REG ? c.get16(i.r0) : readAt(c, memLin(c, i, 2, false), 2);
  const x = c.intercepts, m = x.cr0Mask & 0xe; // bit 0: LMSW cannot clear PE (SDM Vol. 3C 25.1.3)
  const want = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & CR0_PE);
  if ((x.crWrite & 1) || ((v ^ x.cr0Shadow) & m) !== 0 || ((x.cr0Mask & CR0_PE) && !(x.cr0Shadow & CR0_PE) && (v & CR0_PE)) ||
    cr0SelectiveHit(c, want)) {
    return c.vmExit(EXIT_REASON_CR_ACCESS, crQual(0, 3, 0, v & 0xffff, i.k0 === K_MEM));
  }
  setCr0(c, (c.cr0 & (x.cr0Mask | ~0xf)) | (want & ~x.cr0Mask & 0xf), 0);
});
defineMatching(/^Smsw_(rm16|r32m16|r64m16)$/, {
  factory: (i: Insn) => {
    const size = i.k0 === K_REG ? i.osz : 2;
    return (c: Cpu, i: Insn) => {
      const v = readCr0Guest(c);
      if (i.k0 === K_REG) setRegVal(c, i.r0, size, size === 8 ? v : v & (size === 2 ? 0xffff : -1), 0);
      else writeAt(c, memLin(c, i, 2, true), 2, v & 0xffff, 0);
    };
  },
});

// ---------------------------------------------------------------- debug registers (SDM Vol. 3B 17.2)

defineMatching(/^Mov_dr_r(32|64)$/, (c: Cpu, i: Insn) => {
  const dr = i.r0, g = i.r1;
  if ((dr === 4 || dr === 5) && (c.cr4 & CR4_DE)) c.ud();
  requireCpl0(c);
  if (c.dr7 & 0x2000) { c.dr6 |= 0x2000; c.fault(1); } // DR7.GD: general-detect #DB
  if (c.intercepts.movDr) return c.vmExit(EXIT_REASON_DR_ACCESS, (dr & 7) | (g << 8));
  const lo = c.R[2 * g], hi = i.osz === 8 ? c.R[2 * g + 1] : 0;
  const r = dr === 4 ? 6 : dr === 5 ? 7 : dr;
  if (r < 4) { c.dr[r] = i.osz === 8 ? hi * 4294967296 + (lo >>> 0) : lo >>> 0; c.slow = true; return; }
  if (hi !== 0) c.gp(0);
  if (r === 6) c.dr6 = (lo | 0xffff0ff0) & ~0x1000;
  else if (r === 7) { c.dr7 = (lo | 0x400) & ~0xd800; c.slow = true; }
  else c.ud();
});
defineMatching(/^Mov_r(32|64)_dr$/, (c: Cpu, i: Insn) => {
  const g = i.r0, dr = i.r1;
  if ((dr === 4 || dr === 5) && (c.cr4 & CR4_DE)) c.ud();
  requireCpl0(c);
  if (c.dr7 & 0x2000) { c.dr6 |= 0x2000; c.fault(1); }
  if (c.intercepts.movDr) return c.vmExit(EXIT_REASON_DR_ACCESS, (dr & 7) | 16 | (g << 8));
  const r = dr === 4 ? 6 : dr === 5 ? 7 : dr;
  let v = 0;
  if (r < 4) v = c.dr[r]; else if (r === 6) v = c.dr6 >>> 0; else if (r === 7) v = c.dr7 >>> 0; else c.ud();
  if (i.osz === 8) setRegVal(c, g, 8, v | 0, Math.floor(v / 4294967296) | 0);
  else c.set32(g, v | 0);
});

// ---------------------------------------------------------------- TLB and cache control

defineMatching(/^Invlpg_m$/, (c: Cpu, i: Insn) => {
  requireCpl0(c);
  const off = c.ea(i);
  const lin = c.codeBits === 64 ? (i.seg >= 4 ? off + c.seg[i.seg].base : off) : (c.seg[i.seg].base + off) >>> 0;
  if (c.intercepts.invlpg) { const e = c.beginExit(EXIT_REASON_INVLPG, lin); e.gla = lin; return c.endExit(); }
  c.invlpg(lin);
});
defineMatching(/^Invd$/, (c: Cpu) => { requireCpl0(c); if (c.intercepts.invd) return c.vmExit(EXIT_REASON_INVD); });
// WBNOINVD (F3 0F 09) is not in CPUID: the F3 prefix is ignored and it runs as WBINVD (SDM Vol. 2 WBNOINVD).
defineMatching(/^Wbinvd$|^Wbnoinvd$/, (c: Cpu) => { requireCpl0(c); if (c.intercepts.wbinvd) return c.vmExit(EXIT_REASON_WBINVD); });
defineMatching(/^Invpcid_r(32|64)_m128$/, (c: Cpu) => { requireCpl0(c); return c.vmExit(EXIT_REASON_INVPCID); });

// ---------------------------------------------------------------- XCR0 (SDM Vol. 1 13.3)

defineMatching(/^Xgetbv$/, (c: Cpu) => {
  if (!(c.cr4 & CR4_OSXSAVE)) c.ud();
  const n = c.R[2 * RCX] >>> 0;
  // ECX = 1 (CPUID.(EAX=0DH,ECX=1):EAX[2]): XCR0 AND XINUSE (SDM Vol. 1 13.6).
  if (n > 1) c.gp(0);
  c.set32(RAX, n === 0 ? c.xcr0 : c.xcr0 & xinuse(c)); c.set32(RDX, 0);
});
defineMatching(/^Xsetbv$/, (c: Cpu) => {
  if (!(c.cr4 & CR4_OSXSAVE)) c.ud();
  requireCpl0(c);
  if (c.intercepts.xsetbv) return c.vmExit(EXIT_REASON_XSETBV);
  setXcr(c, c.R[2 * RCX] >>> 0, c.R[2 * RAX], c.R[2 * RDX]);
});
/** XSETBV checks: XCR0 only; x87 bit set; AVX requires SSE; only x87|SSE|AVX supported here. */
export function setXcr(c: Cpu, n: number, lo: number, hi: number): void {
  if (n !== 0 || hi !== 0 || !(lo & 1) || (lo & ~3)) c.gp(0);
  c.xcr0 = lo;
}

// ---------------------------------------------------------------- RDRAND/RDSEED (deterministic)

function nextRandom(c: Cpu): number {
  // xorshift32 with per-processor state: deterministic "randomness", the same every run.
  let x = c.rngState;
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  c.rngState = x;
  return x | 0;
}
function rdrandFactory(reason: number) {
  return {
    factory: (i: Insn) => {
      const size = i.osz;
      return (c: Cpu, i: Insn) => {
        if ((reason === EXIT_REASON_RDRAND ? c.intercepts.rdrand : c.intercepts.rdseed)) return c.vmExit(reason);
        const lo = nextRandom(c), hi = size === 8 ? nextRandom(c) : 0;
        setRegVal(c, i.r0, size, size === 2 ? lo & 0xffff : lo, hi);
        setArithFlags(c, ARITH_FLAGS, CF);
      };
    },
  };
}
defineMatching(/^Rdrand_r(16|32|64)$/, rdrandFactory(EXIT_REASON_RDRAND));
defineMatching(/^Rdseed_r(16|32|64)$/, rdrandFactory(EXIT_REASON_RDSEED));

// ---------------------------------------------------------------- hypercall instructions

// VMCALL (Intel): exits in VMX non-root; elsewhere #UD. On an AMD processor it is #UD (KVM's
// #UD intercept then sees the wrong-vendor instruction — seed 000).
defineMatching(/^Vmcall$/, (c: Cpu) => {
  if (c.vendor === 'intel' && c.intercepts.vmcall) return c.vmExit(EXIT_REASON_VMCALL);
  c.ud();
});
// VMMCALL (AMD): #VMEXIT(VMMCALL) when intercepted; #UD on Intel and when not intercepted.
defineMatching(/^Vmmcall$/, (c: Cpu) => {
  if (c.vendor === 'amd' && c.intercepts.vmmcall) return c.vmExit(HW_VMMCALL);
  c.ud();
});

// The VMX instructions: VM exits in VMX non-root operation (SDM Vol. 3C 25.1.2); #UD otherwise
// (CR4.VMXE = 0, no VMXON). SVM's VMRUN/VMLOAD/VMSAVE: #UD without EFER.SVME.
const VMX_EXITS: [RegExp, number][] = [
  [/^Vmclear_m64$/, EXIT_REASON_VMCLEAR], [/^Vmlaunch$/, EXIT_REASON_VMLAUNCH], [/^Vmptrld_m64$/, EXIT_REASON_VMPTRLD],
  [/^Vmptrst_m64$/, EXIT_REASON_VMPTRST], [/^Vmread_rm(32|64)_r(32|64)$/, EXIT_REASON_VMREAD],
  [/^Vmresume$/, EXIT_REASON_VMRESUME], [/^Vmwrite_r(32|64)_rm(32|64)$/, EXIT_REASON_VMWRITE],
  [/^Vmxoff$/, EXIT_REASON_VMOFF], [/^Vmxon_m64$/, EXIT_REASON_VMON], [/^Invept_r(32|64)_m128$/, EXIT_REASON_INVEPT],
  [/^Invvpid_r(32|64)_m128$/, EXIT_REASON_INVVPID], [/^Vmfunc$/, EXIT_REASON_VMFUNC],
];
for (const [re, reason] of VMX_EXITS) {
  defineMatching(re, (c: Cpu, i: Insn) => {
    if (!c.intercepts.vmx || c.vendor !== 'intel') c.ud();
    const e = c.beginExit(reason, 0);
    vmxInstructionInfo(c, i, reason, e);
    c.endExit();
  });
}

/**
 * The exit qualification (the memory operand's displacement) and VM-exit instruction information
 * of a VMX instruction (SDM Vol. 3C 28.2.1 Table 28-1, 28.2.5 Table 28-13): scaling 1:0, reg1 6:3,
 * address size 9:7, register operand 10, segment 17:15, index 21:18 (invalid 22), base 26:23
 * (invalid 27), reg2 31:28. A RIP-relative operand is reported as its full offset with no base.
 */
function vmxInstructionInfo(c: Cpu, i: Insn, reason: number, e: { qual: number; insnInfo: number }): void {
  // Which operand is the r/m one and which the register-only one (reg2).
  let rm = -1, reg2 = -1;
  if (reason === EXIT_REASON_VMREAD) { rm = 0; reg2 = i.r1; }
  else if (reason === EXIT_REASON_VMWRITE || reason === EXIT_REASON_INVEPT || reason === EXIT_REASON_INVVPID) {
    rm = 1; reg2 = i.r0;
  } else if (i.k0 === K_MEM) rm = 0;
  let info = (reg2 >= 0 ? (reg2 & 15) << 28 : 0) >>> 0;
  info |= (i.asz === 16 ? 0 : i.asz === 32 ? 1 : 2) << 7;
  if (rm < 0) { e.insnInfo = info >>> 0; return; }
  const kind = rm === 0 ? i.k0 : i.k1;
  if (kind !== K_MEM) {
    e.insnInfo = (info | (1 << 10) | (((rm === 0 ? i.r0 : i.r1) & 15) << 3)) >>> 0;
    return;
  }
  info |= (i.seg & 7) << 15;
  if (i.mBase === BASE_RIP) {
    e.qual = i.eaf(c, i);
    info |= (1 << 22) | (1 << 27);
  } else {
    e.qual = i.asz === 64 ? i.disp : i.asz === 32 ? i.disp >>> 0 : i.disp & 0xffff;
    info |= i.mIndex < 0 ? 1 << 22 : ((i.mIndex & 15) << 18) | ((31 - Math.clz32(i.mScale)) & 3);
    info |= i.mBase < 0 ? 1 << 27 : (i.mBase & 15) << 23;
  }
  e.insnInfo = info >>> 0;
}
defineMatching(/^(Vmrun|Vmload|Vmsave)(w|d|q)$|^Stgi$|^Clgi$|^Skinit$|^Invlpga(w|d|q)$/, (c: Cpu) => c.ud());

// UD0/UD1/UD2: always #UD.
defineMatching(/^Ud0(_r(16|32|64)_rm(16|32|64))?$|^Ud1_r(16|32|64)_rm(16|32|64)$|^Ud2$/, (c: Cpu) => c.ud());

export { getRflags };
