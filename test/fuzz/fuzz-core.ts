// The fuzz test of issue 2: random byte streams executed in 16-, 32- and 64-bit modes never throw
// out of the core. Each stream is deterministic from its seed: random bytes mixed with prefixes,
// escapes and common opcodes (so that many of them decode), random registers, a fresh processor.
import { Cpu, PhysBus, RUN_BUDGET, RUN_EXIT, RUN_HALTED, RUN_SHUTDOWN, RUN_STOPPED, HW_UNEMULATED, EXIT_REASON_NAMES } from '../../vm-core/cpu';
import { RSP } from '../../vm-core/cpu/state';
import { FuzzMode, setupMode } from './modes';

export const RAM_SIZE = 1 << 20;
export const MODES: FuzzMode[] = [16, 32, 64];

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65];
// One-byte opcodes that take a ModRM byte, plus common short forms (SDM Vol. 2 Appendix A).
const OPCODES = [0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x10, 0x11, 0x19, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33,
  0x39, 0x3b, 0x63, 0x69, 0x6b, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
  0x8e, 0x8f, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2, 0xd3, 0xd8, 0xd9, 0xdb, 0xdd, 0xdf, 0xf6,
  0xf7, 0xfe, 0xff, 0x62, 0xc8, 0xc9, 0x9c, 0x9d, 0xa4, 0xa5, 0xa6, 0xaa, 0xab, 0xac, 0xae, 0xaf, 0xe4, 0xe6,
  0xec, 0xee, 0x6c, 0x6e, 0xcd, 0xcc, 0xce, 0xcf, 0xca, 0xcb, 0xc2, 0xc3, 0x9a, 0xea, 0xe8, 0xe9, 0xeb, 0x70,
  0x74, 0x75, 0xe0, 0xe2, 0xe3, 0xf4, 0xfa, 0xfb, 0x27, 0x37, 0xd4, 0xd5, 0xd7, 0x98, 0x99, 0x9e, 0x9f];
// Two-byte opcodes after 0F (system, SSE, bit operations, CMOV/SETcc, ...).
const OPCODES_0F = [0x00, 0x01, 0x05, 0x06, 0x07, 0x0b, 0x0d, 0x10, 0x11, 0x12, 0x16, 0x18, 0x1f, 0x20, 0x22,
  0x28, 0x29, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x38, 0x3a, 0x40, 0x44, 0x4f, 0x54, 0x57, 0x58, 0x6e,
  0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x7e, 0x7f, 0x80, 0x85, 0x90, 0x95, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
  0xa8, 0xa9, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xba, 0xbb,
  0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xd4, 0xd6, 0xd7, 0xdb, 0xe7, 0xef,
  0xf4, 0xfe, 0xff, 0x02, 0x03, 0x08, 0x09, 0x31, 0x09, 0x0a];

/** The bytes of one stream: biased so prefixes, escapes and ModRM-taking opcodes are common. */
export function streamBytes(seed: number, mode: FuzzMode): Uint8Array {
  const r = rng(seed);
  const len = 16 + Math.floor(r() * 48);
  const out = new Uint8Array(len);
  for (let k = 0; k < len; k++) {
    const p = r();
    if (p < 0.40) out[k] = Math.floor(r() * 256);
    else if (p < 0.52) out[k] = PREFIXES[Math.floor(r() * PREFIXES.length)];
    else if (p < 0.58 && mode === 64) out[k] = 0x40 + Math.floor(r() * 16); // REX
    else if (p < 0.72) {
      out[k] = 0x0f;
      if (k + 1 < len) out[++k] = OPCODES_0F[Math.floor(r() * OPCODES_0F.length)];
    } else out[k] = OPCODES[Math.floor(r() * OPCODES.length)];
  }
  return out;
}

/** Register values: mostly small addresses inside RAM (so memory operands hit it), some arbitrary. */
function randomRegisters(cpu: Cpu, r: () => number, mode: FuzzMode): void {
  for (let n = 0; n < 16; n++) {
    if (n === RSP) continue;
    const p = r();
    let lo: number, hi = 0;
    if (p < 0.6) lo = Math.floor(r() * RAM_SIZE) & ~0xf;
    else if (p < 0.75) lo = Math.floor(r() * 256);
    else { lo = Math.floor(r() * 4294967296) | 0; if (mode === 64) hi = Math.floor(r() * 4294967296) | 0; }
    cpu.R[2 * n] = lo; cpu.R[2 * n + 1] = hi;
  }
  for (let k = 0; k < 64; k++) cpu.xmm[k] = Math.floor(r() * 4294967296) | 0;
}

export interface Failure {
  mode: FuzzMode;
  seed: number;
  bytes: string;
  problem: string;
}

/** Counters gathered over many streams (plain data, so workers can send them to the parent). */
export interface FuzzStats {
  streams: number;
  instructions: number;
  /** How streams ended: budget, halted, shutdown, stopped, exit:<reason>, unemulated, internal-error. */
  endings: Record<string, number>;
  /** Unemulated instruction mnemonics (per mode) -> count. */
  unemulated: Record<string, number>;
  /** A sample seed per unemulated mnemonic, to reproduce it. */
  unemulatedSample: Record<string, string>;
  failures: Failure[];
}

export function newStats(): FuzzStats {
  return { streams: 0, instructions: 0, endings: {}, unemulated: {}, unemulatedSample: {}, failures: [] };
}

export function mergeStats(into: FuzzStats, s: FuzzStats): void {
  into.streams += s.streams;
  into.instructions += s.instructions;
  for (const [k, v] of Object.entries(s.endings)) into.endings[k] = (into.endings[k] ?? 0) + v;
  for (const [k, v] of Object.entries(s.unemulated)) into.unemulated[k] = (into.unemulated[k] ?? 0) + v;
  for (const [k, v] of Object.entries(s.unemulatedSample)) into.unemulatedSample[k] ??= v;
  into.failures.push(...s.failures);
}

const RUN_CODES = new Set([RUN_BUDGET, RUN_EXIT, RUN_HALTED, RUN_STOPPED, RUN_SHUTDOWN]);
const ENDING_NAMES: Record<number, string> = {
  [RUN_BUDGET]: 'budget', [RUN_HALTED]: 'halted', [RUN_STOPPED]: 'stopped', [RUN_SHUTDOWN]: 'shutdown',
};

const templates = new Map<FuzzMode, { mem: Uint8Array; entry: number }>();
/** Guest RAM with the mode's descriptor tables, handlers and page tables, built once per mode. */
function template(mode: FuzzMode): { mem: Uint8Array; entry: number } {
  let t = templates.get(mode);
  if (!t) {
    const mem = new Uint8Array(RAM_SIZE);
    const bus = new PhysBus();
    bus.setRegion(0, 0, mem, false);
    const entry = setupMode(mode, new Cpu(bus), mem);
    t = { mem, entry };
    templates.set(mode, t);
  }
  return t;
}

let ram: Uint8Array | null = null;

const hexBytes = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Run one stream; record its ending, and a failure if the core threw or broke a rule. */
export function runStream(mode: FuzzMode, seed: number, budget: number, stats: FuzzStats): void {
  ram ??= new Uint8Array(RAM_SIZE);
  const { cpu, bytes } = streamMachine(mode, seed, ram);
  const fail = (problem: string) => stats.failures.push({ mode, seed, bytes: hexBytes(bytes), problem });
  stats.streams++;
  const before = cpu.icount;
  let r: number;
  try {
    r = cpu.run(budget);
  } catch (e) {
    stats.endings['threw'] = (stats.endings['threw'] ?? 0) + 1;
    fail(`run() threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return;
  }
  stats.instructions += cpu.icount - before;
  if (!RUN_CODES.has(r)) { fail(`run() returned ${r}, not a RUN_* code`); return; }
  if (!Number.isFinite(cpu.rip)) fail(`RIP is ${cpu.rip}`);
  let ending = ENDING_NAMES[r];
  if (r === RUN_EXIT) {
    const e = cpu.exit;
    if (e.reason === HW_UNEMULATED) {
      const msg = e.message;
      if (/^internal error/.test(msg)) {
        ending = 'internal-error';
        fail(msg);
      } else {
        ending = 'unemulated';
        const m = /'([^']+)'/.exec(msg);
        const key = (m ? m[1] : msg.replace(/0x[0-9a-f]+|\b[0-9a-f]{4,}\b/g, '#').slice(0, 60)) + ` (${mode})`;
        stats.unemulated[key] = (stats.unemulated[key] ?? 0) + 1;
        stats.unemulatedSample[key] ??= `--mode ${mode} --seed ${seed}`;
        // The report must name the instruction (or the fetch) and its address.
        const addrs = [cpu.rip, e.gla].map((a) => (a < 0 ? a + 2 ** 64 : a).toString(16));
        if (!msg || !addrs.some((a) => msg.includes(a))) fail(`unemulated report lacks the address ${addrs[0]}: ${msg}`);
        else if (!m && !/fetch/.test(msg) && !namesInstruction(msg, cpu.cur?.mnemonic ?? '')) {
          fail(`unemulated report does not name the instruction: ${msg}`);
        }
      }
    } else {
      ending = 'exit:' + (EXIT_REASON_NAMES[e.reason] ?? e.reason);
    }
  }
  stats.endings[ending] = (stats.endings[ending] ?? 0) + 1;
}

/**
 * The processor of stream `seed` in `mode`, ready to run: the mode's tables in `mem` (RAM_SIZE
 * bytes, overwritten), the stream's bytes at the entry point, its random registers.
 */
export function streamMachine(mode: FuzzMode, seed: number, mem: Uint8Array): { cpu: Cpu; bus: PhysBus; bytes: Uint8Array } {
  const t = template(mode);
  mem.set(t.mem);
  const bytes = streamBytes(seed, mode);
  mem.set(bytes, t.entry);
  const bus = new PhysBus();
  bus.setRegion(0, 0, mem, false);
  const cpu = new Cpu(bus);
  setupMode(mode, cpu, mem);
  mem.set(bytes, t.entry); // setupMode rewrote the tables; the code area is untouched but be explicit
  randomRegisters(cpu, rng(seed ^ 0x5bd1e995), mode);
  return { cpu, bus, bytes };
}

/** True when a word of `msg` is the mnemonic or its stem ("IRET" for iretd). */
function namesInstruction(msg: string, mnemonic: string): boolean {
  const mn = mnemonic.toLowerCase();
  return mn.length > 0 && (msg.toLowerCase().match(/[a-z][a-z0-9]{2,}/g) ?? []).some((w) => mn.startsWith(w));
}

/** Stream `index` of a run with base seed `base`: its mode and seed. */
export function streamAt(base: number, index: number, modes: FuzzMode[] = MODES): { mode: FuzzMode; seed: number } {
  return { mode: modes[index % modes.length], seed: (Math.imul(base, 0x9e3779b1) + index) >>> 0 };
}

export function runRange(base: number, from: number, to: number, budget: number, modes: FuzzMode[] = MODES): FuzzStats {
  const stats = newStats();
  for (let k = from; k < to; k++) {
    const { mode, seed } = streamAt(base, k, modes);
    runStream(mode, seed, budget, stats);
  }
  return stats;
}

/** Human-readable summary: endings, top unemulated mnemonics, failures. */
export function formatStats(s: FuzzStats, top = 40): string {
  const lines: string[] = [];
  lines.push(`${s.streams} streams, ${s.instructions} instructions executed`);
  lines.push('endings:');
  for (const [k, v] of Object.entries(s.endings).sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${k.padEnd(28)} ${String(v).padStart(8)}  ${(100 * v / Math.max(1, s.streams)).toFixed(1)}%`);
  }
  const un = Object.entries(s.unemulated).sort((a, b) => b[1] - a[1]);
  lines.push(`unemulated: ${un.length} distinct (mnemonic (mode): streams, sample)`);
  for (const [k, v] of un.slice(0, top)) lines.push(`  ${k.padEnd(36)} ${String(v).padStart(7)}  ${s.unemulatedSample[k]}`);
  const byName: Record<string, number> = {};
  for (const [k, v] of un) { const n = k.replace(/ \((16|32|64)\)$/, ''); byName[n] = (byName[n] ?? 0) + v; }
  lines.push('unemulated, all modes: ' + Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([n, v]) => `${n} ${v}`).join(', '));
  if (s.failures.length) {
    lines.push(`FAILURES: ${s.failures.length}`);
    for (const f of s.failures.slice(0, 20)) {
      lines.push(`  mode ${f.mode} seed ${f.seed}: ${f.problem.split('\n').slice(0, 4).join('\n    ')}`);
      lines.push(`    bytes: ${f.bytes}`);
    }
  }
  return lines.join('\n');
}
