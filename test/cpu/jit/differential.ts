// Shared harness of the block compiler's differential tests: run the same processor set-up with the
// compiler off (the reference interpreter) and on, in the same budget slices, and compare every
// run() result, instruction count, RIP and the final architectural state.
import { Cpu, RUN_BUDGET } from '../../../vm-core/cpu';
import { getRflags } from '../../../vm-core/cpu/flags';

/** What one run() slice returned, and where the processor stood after it. */
export interface Step { r: number; icount: number; rip: number }

export interface Outcome {
  steps: Step[];
  state: Record<string, unknown>;
  /** Instructions compiled code retired (0 with the compiler off). */
  jitRetired: number;
  jitCompiled: number;
}

/** Run until run() returns something other than RUN_BUDGET or `maxSteps` slices pass. */
export function runSliced(cpu: Cpu, slices: number[], maxSteps = 10_000): Step[] {
  const steps: Step[] = [];
  for (let k = 0; k < maxSteps; k++) {
    const r = cpu.run(slices[k % slices.length]);
    steps.push({ r, icount: cpu.icount, rip: cpu.rip });
    if (r !== RUN_BUDGET) break;
  }
  return steps;
}

/** The architectural state compared between the two runs. */
export function stateOf(cpu: Cpu, mem: Uint8Array): Record<string, unknown> {
  const e = cpu.exit;
  return {
    R: Array.from(cpu.R), rip: cpu.rip, rflags: getRflags(cpu), icount: cpu.icount,
    segs: cpu.seg.map((s) => [s.selector, s.base, s.limit, s.ar]), cr0: cpu.cr0, cr2: cpu.cr2, cr3: cpu.cr3, cr4: cpu.cr4,
    efer: cpu.efer, halted: cpu.halted, shutdown: cpu.shutdown, evType: cpu.evType, evVector: cpu.evVector, evError: cpu.evError,
    faultChain: Array.from(cpu.faultChain.subarray(0, cpu.faultChainLen)), faultChainRip: cpu.faultChainRip,
    exit: [e.reason, e.qual, e.gpa, e.gla, e.instrLen, e.message], xmm: Array.from(cpu.xmm),
    memHash: hash(mem),
  };
}

function hash(b: Uint8Array): string {
  let h1 = 0x811c9dc5, h2 = 0;
  for (let k = 0; k < b.length; k++) { h1 = Math.imul(h1 ^ b[k], 0x01000193); h2 = (h2 + b[k] * (k + 1)) | 0; }
  return (h1 >>> 0).toString(16) + ':' + (h2 >>> 0).toString(16);
}

/**
 * Build the machine twice (`make` must be deterministic) and run it with the compiler off and on
 * (`threshold`: block-head executions before compiling).
 */
export function differential(make: () => { cpu: Cpu; mem: Uint8Array }, slices: number[], threshold = 1, maxSteps = 10_000):
  { off: Outcome; on: Outcome } {
  const run = (jit: boolean): Outcome => {
    const { cpu, mem } = make();
    if (jit) { cpu.setJit(true); cpu.jit!.threshold = threshold; }
    const steps = runSliced(cpu, slices, maxSteps);
    return { steps, state: stateOf(cpu, mem), jitRetired: cpu.jit?.retired ?? 0, jitCompiled: cpu.jit?.compiled ?? 0 };
  };
  return { off: run(false), on: run(true) };
}
