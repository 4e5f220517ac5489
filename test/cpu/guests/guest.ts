// Builds and runs the system-level guests (NASM sources in this folder) on a bare processor.
// Guests are flat binaries at 0x8000 entered in real mode; they write results below 0x1000
// (see lib.inc) and stop with HLT.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cpu, PhysBus, RUN_HALTED } from '../../../vm-core/cpu';
import { CS, DS, ES, SS, FS, GS } from '../../../vm-core/cpu/state';
import type { CpuEnv } from '../../../vm-core/cpu/env';
import { defaultEnv } from '../../../vm-core/cpu/env';

export const GUEST_DIR = __dirname;
export const LOAD_ADDR = 0x8000;
export const MEM_SIZE = 8 << 20;

let nasmChecked: boolean | undefined;
/** True when nasm is installed (tests that need it skip otherwise). */
export function haveNasm(): boolean {
  if (nasmChecked === undefined) nasmChecked = spawnSync('nasm', ['-v']).status === 0;
  return nasmChecked;
}
export const NO_NASM = 'nasm is not installed: the system-level guests are NASM sources';

/** Assemble `file` (in this folder) with optional %defines; cached by content hash. */
export function assemble(file: string, defines: Record<string, string | number> = {}): Uint8Array {
  const src = readFileSync(join(GUEST_DIR, file), 'utf8') + readFileSync(join(GUEST_DIR, 'lib.inc'), 'utf8');
  const defs = Object.entries(defines).map(([k, v]) => `-D${k}=${v}`);
  const key = createHash('sha1').update(src).update(defs.join(' ')).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'kvm-guest-sys');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${file.replace(/\W/g, '_')}-${key}.bin`);
  if (!existsSync(out)) {
    const r = spawnSync('nasm', ['-f', 'bin', '-I', GUEST_DIR + '/', ...defs, '-o', out + '.tmp', join(GUEST_DIR, file)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nasm failed for ${file}: ${r.stderr}`);
    writeFileSync(out, readFileSync(out + '.tmp'));
  }
  return new Uint8Array(readFileSync(out));
}

export interface Machine { cpu: Cpu; bus: PhysBus; mem: Uint8Array; dv: DataView; }

/** A bare processor with RAM and the image at 0x8000, in real mode at 0000:8000. */
export function machine(image: Uint8Array, env: CpuEnv = defaultEnv, memSize = MEM_SIZE): Machine {
  const bus = new PhysBus();
  const mem = new Uint8Array(memSize);
  bus.setRegion(0, 0, mem, false);
  mem.set(image, LOAD_ADDR);
  const cpu = new Cpu(bus);
  cpu.env = env;
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = 0; seg.base = 0; seg.limit = 0xffff; seg.ar = s === CS ? 0x9b : 0x93;
  }
  cpu.rip = LOAD_ADDR;
  cpu.updateMode();
  return { cpu, bus, mem, dv: new DataView(mem.buffer) };
}

/** Run until HLT (or another stop); returns the run() code. */
export function runToHalt(m: Machine, budget = 5_000_000): number {
  let left = budget;
  for (;;) {
    const r = m.cpu.run(Math.min(left, 1_000_000));
    if (r !== 0) return r;
    left -= 1_000_000;
    if (left <= 0) return r;
  }
}

/** Assemble, load and run a guest to HLT; fails loudly if it stops for another reason. */
export function runGuest(file: string, defines: Record<string, string | number> = {}, env?: CpuEnv): Machine {
  const m = machine(assemble(file, defines), env);
  const r = runToHalt(m);
  if (r !== RUN_HALTED) {
    throw new Error(`${file} stopped with run code ${r} at rip 0x${m.cpu.rip.toString(16)} (exit ${m.cpu.exit.reason} ${m.cpu.exit.message})`);
  }
  return m;
}

export const RES = 0x600, LOG = 0x1000, LOGIDX = 0x5f8;

export function q(m: Machine, addr: number): bigint { return m.dv.getBigUint64(addr, true); }
export function d(m: Machine, addr: number): number { return m.dv.getUint32(addr, true); }

/** Exception records written by the guests' IDT handlers. */
export interface ExcRecord { vector: number; error: number; cr2: bigint; rip: bigint; }
export function excLog(m: Machine, size: 4 | 8 = 8): ExcRecord[] {
  const n = Number(size === 8 ? q(m, LOGIDX) : d(m, LOGIDX));
  const out: ExcRecord[] = [];
  for (let k = 0; k < n; k++) {
    const a = LOG + k * 32;
    if (size === 8) {
      out.push({ vector: Number(q(m, a)), error: Number(BigInt.asIntN(64, q(m, a + 8))), cr2: q(m, a + 16), rip: q(m, a + 24) });
    } else {
      out.push({ vector: d(m, a), error: m.dv.getInt32(a + 4, true), cr2: BigInt(d(m, a + 8)), rip: BigInt(d(m, a + 12)) });
    }
  }
  return out;
}
