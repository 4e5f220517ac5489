// What a bare processor does for events nobody intercepts: CPUID from a built-in table, I/O ports
// that read as all ones, and the MSRs the core does not implement itself (#GP). Under kvm/ these
// are intercepted and handled by the hypervisor model instead.
import type { Cpu } from './cpu';

export interface CpuEnv {
  /** CPUID leaf/subleaf -> eax, ebx, ecx, edx (written into out). */
  cpuid(c: Cpu, leaf: number, subleaf: number, out: Int32Array): void;
  /** IN: returns the value read (size 1, 2 or 4 bytes). */
  ioIn(c: Cpu, port: number, size: number): number;
  ioOut(c: Cpu, port: number, size: number, value: number): void;
  /** RDMSR of an MSR the core does not implement: value via [lo, hi], or undefined for #GP. */
  rdmsr(c: Cpu, msr: number): [number, number] | undefined;
  /** WRMSR of an MSR the core does not implement: false for #GP. */
  wrmsr(c: Cpu, msr: number, lo: number, hi: number): boolean;
}

function str4(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) | 0;
}

// The feature set the core emulates (SDM Vol. 2A CPUID): what a guest may rely on.
export const CPUID_1_ECX = (1 << 0) /* SSE3 */ | (1 << 3) /* MONITOR */ |
  (1 << 9) /* SSSE3 */ | (1 << 13) /* CX16 */ | (1 << 19) /* SSE4.1 */ | (1 << 20) /* SSE4.2 */ |
  (1 << 22) /* MOVBE */ | (1 << 23) /* POPCNT */ | (1 << 26) /* XSAVE */;
export const CPUID_1_EDX = (1 << 0) /* FPU */ | (1 << 3) /* PSE */ | (1 << 4) /* TSC */ | (1 << 5) /* MSR */ |
  (1 << 6) /* PAE */ | (1 << 8) /* CX8 */ | (1 << 9) /* APIC */ | (1 << 11) /* SEP */ | (1 << 13) /* PGE */ |
  (1 << 15) /* CMOV */ | (1 << 16) /* PAT */ | (1 << 19) /* CLFSH */ | (1 << 23) /* MMX */ | (1 << 24) /* FXSR */ |
  (1 << 25) /* SSE */ | (1 << 26) /* SSE2 */;
export const CPUID_7_EBX = (1 << 0) /* FSGSBASE */ | (1 << 3) /* BMI1 */ | (1 << 7) /* SMEP */ | (1 << 8) /* BMI2 */ |
  (1 << 20) /* SMAP */;
export const CPUID_80000001_ECX = (1 << 0) /* LAHF64 */ | (1 << 5) /* LZCNT */;
export const CPUID_80000001_EDX = (1 << 11) /* SYSCALL */ | (1 << 20) /* NX */ | (1 << 26) /* 1G pages */ |
  (1 << 27) /* RDTSCP */ | (1 << 29) /* LM */;

/** The built-in CPUID table of a bare processor (GenuineIntel, family 6). */
export function builtinCpuid(leaf: number, subleaf: number, out: Int32Array): void {
  out[0] = out[1] = out[2] = out[3] = 0;
  switch (leaf >>> 0) {
    case 0: out[0] = 0xd; out[1] = str4('Genu'); out[3] = str4('ineI'); out[2] = str4('ntel'); break;
    case 1: out[0] = 0x000806ec; out[1] = 0x00010800; out[2] = CPUID_1_ECX; out[3] = CPUID_1_EDX; break;
    case 7: if (subleaf === 0) out[1] = CPUID_7_EBX; break;
    // XSAVE (SDM Vol. 1 13.2): x87 and SSE state in a 576-byte area; sub-leaf 1: XSAVEOPT, XSAVEC,
    // XGETBV with ECX = 1 and XSAVES/XRSTORS (IA32_XSS supports no component).
    case 0xd:
      if (subleaf === 0) { out[0] = 3; out[1] = 0x240; out[2] = 0x240; }
      else if (subleaf === 1) { out[0] = 0xf; out[1] = 0x240; }
      break;
    case 0x80000000: out[0] = 0x80000008 | 0; break;
    case 0x80000001: out[2] = CPUID_80000001_ECX; out[3] = CPUID_80000001_EDX; break;
    case 0x80000008: out[0] = 0x3028; break; // 48-bit linear, 40-bit physical
  }
}

export const defaultEnv: CpuEnv = {
  cpuid: (_c, leaf, sub, out) => builtinCpuid(leaf, sub, out),
  ioIn: (_c, _port, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff),
  ioOut: () => {},
  rdmsr: () => undefined,
  wrmsr: () => false,
};
