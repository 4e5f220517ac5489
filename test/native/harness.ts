// Builds and drives test/native/native-runner.c: runs instruction sequences on the host CPU in
// user mode and returns the register, RFLAGS and data-region state afterwards (or at a fault).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DATA_ADDR = 0x10000000;
export const DATA_SIZE = 0x2000;

export interface NativeCase {
  /** 16 GPRs (SDM order) as unsigned 64-bit BigInts. */
  regs: bigint[];
  rflags: number;
  data: Uint8Array;
  code: Uint8Array;
}
export interface NativeResult {
  /** 0 when the code ran to its end, else the signal number (SIGFPE = 8 for #DE, ...). */
  signal: number;
  /** Offset in the code of the faulting instruction (code length when it ran to the end). */
  offset: number;
  regs: bigint[];
  rflags: number;
  data: Uint8Array;
}

const here = __dirname;

/** Compile the runner (when gcc is there); returns its path or a reason why not. */
export function buildRunner(): { path?: string; reason?: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `needs Linux on x86-64 (this is ${process.platform}/${process.arch})` };
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) return { reason: 'gcc not found (install gcc to run the differential test against the host CPU)' };
  const src = join(here, 'native-runner.c');
  const dir = join(here, 'build');
  const out = join(dir, 'native-runner');
  mkdirSync(dir, { recursive: true });
  if (existsSync(out) && statSync(out).mtimeMs > statSync(src).mtimeMs) return { path: out };
  const r = spawnSync('gcc', ['-O1', '-Wall', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) return { reason: `gcc failed to build native-runner.c:\n${r.stderr}` };
  return { path: out };
}

/** CPU feature flags of the host (from /proc/cpuinfo), for skipping instructions it lacks. */
export function hostCpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** Run every case on the host CPU (one process for the batch). */
export function runNative(runner: string, cases: NativeCase[]): NativeResult[] {
  const inSize = cases.reduce((n, c) => n + 4 + 17 * 8 + DATA_SIZE + c.code.length, 0);
  const input = Buffer.alloc(inSize);
  let p = 0;
  for (const c of cases) {
    input.writeUInt32LE(c.code.length, p); p += 4;
    for (let k = 0; k < 16; k++) { input.writeBigUInt64LE(c.regs[k], p); p += 8; }
    input.writeBigUInt64LE(BigInt(c.rflags >>> 0), p); p += 8;
    input.set(c.data, p); p += DATA_SIZE;
    input.set(c.code, p); p += c.code.length;
  }
  const outSize = 4 + 8 + 17 * 8 + DATA_SIZE;
  const r = spawnSync(runner, [], { input, maxBuffer: outSize * cases.length + 1024 });
  if (r.status !== 0 || r.stdout.length !== outSize * cases.length) {
    throw new Error(`native-runner failed (status ${r.status}, ${r.stdout?.length} bytes): ${r.stderr?.toString()}`);
  }
  const out = r.stdout;
  const res: NativeResult[] = [];
  for (let k = 0, q = 0; k < cases.length; k++) {
    const signal = out.readUInt32LE(q); q += 4;
    const offset = Number(out.readBigUInt64LE(q)); q += 8;
    const regs: bigint[] = [];
    for (let n = 0; n < 16; n++) { regs.push(out.readBigUInt64LE(q)); q += 8; }
    const rflags = Number(out.readBigUInt64LE(q) & 0xffffffffn); q += 8;
    const data = new Uint8Array(out.subarray(q, q + DATA_SIZE)); q += DATA_SIZE;
    res.push({ signal, offset, regs, rflags, data });
  }
  return res;
}
