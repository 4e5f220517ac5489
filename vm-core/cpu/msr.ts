// The architectural MSRs the processor implements itself (SDM Vol. 4). The hypervisor model calls
// these too when it emulates RDMSR/WRMSR for the guest (KVM's kvm_get_msr_common / set_msr_common
// end up in the same state).
import type { Cpu } from './cpu';
import { EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, EFER_SVME, CR0_PG, FS, GS } from './state';

export const MSR_IA32_TSC = 0x10, MSR_IA32_APICBASE = 0x1b, MSR_IA32_SYSENTER_CS = 0x174,
  MSR_IA32_SYSENTER_ESP = 0x175, MSR_IA32_SYSENTER_EIP = 0x176, MSR_IA32_MISC_ENABLE = 0x1a0,
  MSR_IA32_CR_PAT = 0x277, MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082,
  MSR_CSTAR = 0xc0000083, MSR_SYSCALL_MASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101,
  MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103, MSR_IA32_XSS = 0xda0;

export const MSR_NAMES: Record<number, string> = {
  [MSR_IA32_TSC]: 'IA32_TSC', [MSR_IA32_APICBASE]: 'IA32_APICBASE', [MSR_IA32_SYSENTER_CS]: 'IA32_SYSENTER_CS',
  [MSR_IA32_SYSENTER_ESP]: 'IA32_SYSENTER_ESP', [MSR_IA32_SYSENTER_EIP]: 'IA32_SYSENTER_EIP',
  [MSR_IA32_MISC_ENABLE]: 'IA32_MISC_ENABLE', [MSR_IA32_CR_PAT]: 'IA32_CR_PAT', [MSR_EFER]: 'EFER',
  [MSR_STAR]: 'STAR', [MSR_LSTAR]: 'LSTAR', [MSR_CSTAR]: 'CSTAR', [MSR_SYSCALL_MASK]: 'SYSCALL_MASK',
  [MSR_FS_BASE]: 'FS_BASE', [MSR_GS_BASE]: 'GS_BASE', [MSR_KERNEL_GS_BASE]: 'KERNEL_GS_BASE',
  [MSR_TSC_AUX]: 'TSC_AUX',
};

/** The host cycle count the TSC is offset from: retired instructions (+ the machine's bias, see clockBias). */
export function hostCycles(c: Cpu): number {
  return c.icount + c.clockBias;
}
/** Virtual TSC: host cycles plus the offset (no wall clock reaches the guest). */
export function readTsc(c: Cpu): number {
  return c.icount + c.clockBias + c.tscOffset;
}

const TWO32 = 4294967296;
function split(c: Cpu, v: number): boolean {
  c.msrLo = v | 0;
  c.msrHi = Math.floor(v / TWO32) | 0;
  return true;
}
function join(lo: number, hi: number): number {
  return hi * TWO32 + (lo >>> 0);
}
function canonical(v: number): boolean {
  return v >= -0x800000000000 && v < 0x800000000000;
}

/** RDMSR of a core MSR: true with the value in c.msrLo/c.msrHi, false if the core has no such MSR. */
export function coreReadMsr(c: Cpu, msr: number): boolean {
  switch (msr >>> 0) {
    case MSR_IA32_TSC: return split(c, readTsc(c));
    case MSR_IA32_APICBASE: return split(c, c.apicBase);
    case MSR_IA32_SYSENTER_CS: return split(c, c.sysenterCs);
    case MSR_IA32_SYSENTER_ESP: return split(c, c.sysenterEsp);
    case MSR_IA32_SYSENTER_EIP: return split(c, c.sysenterEip);
    case MSR_IA32_MISC_ENABLE: return split(c, c.miscEnable);
    case MSR_IA32_CR_PAT: c.msrLo = c.pat[0]; c.msrHi = c.pat[1]; return true;
    case MSR_EFER: return split(c, c.efer);
    case MSR_STAR: c.msrLo = c.star | 0; c.msrHi = c.starHi; return true;
    case MSR_LSTAR: c.msrLo = c.lstarLo; c.msrHi = c.lstarHi; return true;
    case MSR_CSTAR: c.msrLo = c.cstarLo; c.msrHi = c.cstarHi; return true;
    case MSR_SYSCALL_MASK: return split(c, c.sfmask);
    case MSR_FS_BASE: return split(c, c.seg[FS].base);
    case MSR_GS_BASE: return split(c, c.seg[GS].base);
    case MSR_KERNEL_GS_BASE: return split(c, c.kernelGsBase);
    case MSR_TSC_AUX: return split(c, c.tscAux);
  }
  return false;
}

/** Valid EFER bits for this processor (SCE, LME, LMA, NXE; SVME only on AMD). */
export function eferValidBits(c: Cpu): number {
  return EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | (c.vendor === 'amd' ? EFER_SVME : 0);
}

/** WRMSR of a core MSR: 1 done, 0 not a core MSR, -1 the write faults (#GP). */
export function coreWriteMsr(c: Cpu, msr: number, lo: number, hi: number): number {
  const v = join(lo, hi);
  switch (msr >>> 0) {
    case MSR_IA32_TSC: c.tscOffset = v - hostCycles(c); return 1;
    case MSR_IA32_APICBASE: c.apicBase = v; return 1;
    case MSR_IA32_SYSENTER_CS: c.sysenterCs = lo & 0xffff; return 1;
    case MSR_IA32_SYSENTER_ESP: if (!canonical(v)) return -1; c.sysenterEsp = v; return 1;
    case MSR_IA32_SYSENTER_EIP: if (!canonical(v)) return -1; c.sysenterEip = v; return 1;
    case MSR_IA32_MISC_ENABLE: c.miscEnable = v; return 1;
    case MSR_IA32_CR_PAT: {
      // Each byte must be a valid memory type (0, 1, 4, 5, 6, 7), SDM 11.12.2.
      for (let k = 0; k < 8; k++) {
        const t = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
        if (t === 2 || t === 3 || t > 7) return -1;
      }
      c.pat[0] = lo; c.pat[1] = hi; return 1;
    }
    case MSR_EFER: {
      if (hi !== 0 || (lo & ~eferValidBits(c))) return -1;
      // LME cannot change while paging is on (SDM 9.8.5); LMA is read-only (kept).
      if (((lo ^ c.efer) & EFER_LME) && (c.cr0 & CR0_PG)) return -1;
      c.efer = (lo & ~EFER_LMA) | (c.efer & EFER_LMA);
      c.updateMode();
      c.flushTlb(false);
      return 1;
    }
    case MSR_STAR: c.star = lo >>> 0; c.starHi = hi; return 1;
    case MSR_LSTAR: if (!canonical(v)) return -1; c.lstarLo = lo; c.lstarHi = hi; return 1;
    case MSR_CSTAR: if (!canonical(v)) return -1; c.cstarLo = lo; c.cstarHi = hi; return 1;
    case MSR_SYSCALL_MASK: c.sfmask = lo >>> 0; return 1;
    case MSR_FS_BASE: if (!canonical(v)) return -1; c.seg[FS].base = v; return 1;
    case MSR_GS_BASE: if (!canonical(v)) return -1; c.seg[GS].base = v; return 1;
    case MSR_KERNEL_GS_BASE: if (!canonical(v)) return -1; c.kernelGsBase = v; return 1;
    case MSR_TSC_AUX: if (hi !== 0) return -1; c.tscAux = lo >>> 0; return 1;
  }
  return 0;
}
