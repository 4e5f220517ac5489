// Shared set-up of the SSE and MMX unit tests: a 64-bit processor with CR4.OSFXSR set, RSI -> SRC,
// RDI -> DST, code at CODE followed by HLT, and the given exceptions intercepted.
import assert from 'node:assert/strict';
import { bareCpu, longMode, load } from './helpers';
import { RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI } from '../../vm-core/cpu';
import { CR4_OSFXSR, RSI, RDI } from '../../vm-core/cpu/state';
import type { Cpu } from '../../vm-core/cpu';

export const CODE = 0x10000, SRC = 0x20000, DST = 0x30000;

export function hex(parts: string[]): Uint8Array {
  return Uint8Array.from(parts.join('').match(/../g)!.map((b) => parseInt(b, 16)));
}

export function simdSetup(code: string[], exceptionBitmap: number): { cpu: Cpu; mem: Uint8Array; dv: DataView } {
  const { cpu, mem } = bareCpu();
  longMode(cpu, mem, CODE);
  cpu.cr4 |= CR4_OSFXSR;
  cpu.intercepts.exceptionBitmap = exceptionBitmap;
  cpu.R[2 * RSI] = SRC; cpu.R[2 * RDI] = DST;
  load(mem, CODE, hex([...code, 'f4']));
  return { cpu, mem, dv: new DataView(mem.buffer) };
}

/** Run to the final HLT. */
export function halts(cpu: Cpu): void {
  const r = cpu.run(1000);
  assert.equal(r, RUN_HALTED, r === RUN_EXIT ? `exit ${cpu.exit.reason} ${cpu.exit.message} vector ${cpu.exit.intrInfo & 0xff}` : `run ${r}`);
}

/** Expect an exception exit with `vector` at the first instruction. */
export function faults(cpu: Cpu, vector: number): void {
  const r = cpu.run(1000);
  assert.equal(r, RUN_EXIT);
  assert.equal(cpu.exit.reason, EXIT_REASON_EXCEPTION_NMI, cpu.exit.message);
  assert.equal(cpu.exit.intrInfo & 0xff, vector);
  assert.equal(cpu.rip, CODE);
}
