// Builds and runs the system-level guests (NASM sources in this folder) on a bare processor.
// Guests are flat binaries at 0x8000 entered in real mode; they write results below 0x1000
// (see lib.inc) and stop with HLT.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cpu, PhysBus, RUN_HALTED } from '../../../vm-core/cpu';
import { CS, DS, ES, SS, FS, GS, CR4_PAE, EFER_LME, EFER_LMA } from '../../../vm-core/cpu/state';
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

/**
 * A bare processor with RAM and the image at 0x8000, in real mode at 0000:8000, or (`long`) in
 * 64-bit mode exactly as test/native/kvm-oracle.c sets it up: identity-mapped 2 MiB pages over
 * 4 GiB (PML4 0x20000, PDPT 0x21000, PDs 0x22000), a GDT at 0x7000, CS 0x10, RSP 0x7f000.
 */
export function machine(image: Uint8Array, env: CpuEnv = defaultEnv, long = false, memSize = MEM_SIZE): Machine {
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
  const dv = new DataView(mem.buffer);
  if (long) {
    dv.setUint32(0x20000, 0x21000 | 7, true);
    for (let k = 0; k < 4; k++) dv.setUint32(0x21000 + k * 8, (0x22000 + k * 0x1000) | 7, true);
    for (let k = 0; k < 2048; k++) dv.setBigUint64(0x22000 + k * 8, (BigInt(k) << 21n) | 0x87n, true);
    const gdt = [0n, 0x00cf9a000000ffffn, 0x00af9a000000ffffn, 0x00cf92000000ffffn, 0x00cffa000000ffffn,
      0x00cff2000000ffffn, 0x00affa000000ffffn];
    gdt.forEach((g, k) => dv.setBigUint64(0x7000 + k * 8, g, true));
    cpu.gdtr.base = 0x7000; cpu.gdtr.limit = gdt.length * 8 - 1;
    cpu.cr3 = 0x20000; cpu.cr4 = CR4_PAE; cpu.efer = EFER_LME | EFER_LMA; cpu.cr0 = 0x80000011;
    for (const s of [CS, DS, ES, SS, FS, GS]) {
      const seg = cpu.seg[s];
      seg.selector = s === CS ? 0x10 : 0x18; seg.base = 0; seg.limit = 0xffffffff;
      seg.ar = s === CS ? 0xa09b : 0xc093;
    }
    cpu.R[8] = 0x7f000;
    cpu.updateMode();
    cpu.flushTlb(false);
  }
  return { cpu, bus, mem, dv };
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
  const m = machine(assemble(file, defines), env, 'LONG_ENTRY' in defines);
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

// ---------------------------------------------------------------- the KVM oracle (test/native/kvm-oracle.c)

let oracle: string | null | undefined;
/** Build the KVM oracle with gcc; null (with the reason in oracleSkip) when /dev/kvm or gcc is missing. */
export function kvmOracle(): string | null {
  if (oracle !== undefined) return oracle;
  oracle = null;
  try {
    const fs = require('node:fs') as typeof import('node:fs');
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch { oracleSkip = '/dev/kvm is not available'; return oracle; }
  if (spawnSync('gcc', ['--version']).status !== 0) { oracleSkip = 'gcc is not installed'; return oracle; }
  const dir = join(tmpdir(), 'kvm-guest-sys');
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, 'kvm-oracle');
  const r = spawnSync('gcc', ['-O1', '-o', exe, join(GUEST_DIR, '..', '..', 'native', 'kvm-oracle.c')], { encoding: 'utf8' });
  if (r.status !== 0) { oracleSkip = 'kvm-oracle.c did not build: ' + r.stderr; return oracle; }
  oracle = exe;
  return oracle;
}
export let oracleSkip = '';

export interface OracleResult { stop: string; exit_reason: number; regs: Record<string, string>; sregs: Record<string, string | number>; mem: Record<string, string>; out: string; error?: string; }

/** Run an assembled guest under the real KVM; `ranges` are [addr, len] to dump. */
export function runOnKvm(image: Uint8Array, long: boolean, ranges: [number, number][]): OracleResult {
  const exe = kvmOracle();
  if (!exe) throw new Error(oracleSkip);
  const dir = join(tmpdir(), 'kvm-guest-sys');
  const img = join(dir, `img-${process.pid}-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(img, image);
  const r = spawnSync(exe, [img, long ? 'long' : 'real', ...ranges.map(([a, l]) => `${a.toString(16)}:${l.toString(16)}`)],
    { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`kvm-oracle failed: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult;
}
/** Hex dump of emulator memory in the oracle's format. */
export function hexRange(m: Machine, addr: number, len: number): string {
  return Array.from(m.mem.subarray(addr, addr + len), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A CpuEnv capturing port output and feeding input element n as bytes n, n+1, ... (like the KVM oracle). */
export function captureEnv(): CpuEnv & { out: number[]; ports: number[] } {
  let ins = 0;
  const env = {
    ...defaultEnv,
    out: [] as number[],
    ports: [] as number[],
    ioIn: (_c: unknown, _port: number, size: number) => {
      let v = 0;
      for (let b = 0; b < size; b++) v |= ((ins + b) & 0xff) << (8 * b);
      ins++;
      return v >>> 0;
    },
    ioOut: (_c: unknown, port: number, size: number, value: number) => {
      for (let b = 0; b < size; b++) env.out.push((value >>> (8 * b)) & 0xff);
      env.ports.push(port);
    },
  };
  return env;
}

