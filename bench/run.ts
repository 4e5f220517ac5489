// `npm run bench`: the product's benchmarks, one section each. Issue 2 adds the CPU section (guest
// MIPS vs QEMU and Bochs); later issues add KVM-level and DAP sections to SECTIONS.
//
//   npm run bench -- [--section NAME] [--workload NAME] [--seconds S] [--no-peers] [--json FILE] [--verbose]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSection } from './cpu';
import { kvmSection } from './kvm-bench';
import { dapSection } from './dap';
import { asmSection } from './asm';

export interface BenchArgs {
  section?: string;
  workload?: string;
  /** Target duration of each measured loop, in seconds. */
  seconds: number;
  /** Run the reference emulators (QEMU, Bochs) when installed. */
  peers: boolean;
  json?: string;
  verbose: boolean;
}

export interface BenchContext {
  args: BenchArgs;
  /** A scratch directory for generated images (removed at the end). */
  tmpdir: string;
  log(line: string): void;
  verbose(line: string): void;
  /** Print rows as an aligned table (the first row is the header). */
  table(rows: string[][]): void;
  /** Keep machine-readable results (written with --json). */
  record(key: string, value: unknown): void;
}

export interface BenchSection {
  name: string;
  describe: string;
  run(ctx: BenchContext): Promise<void>;
}

/** Every section, in the order they run. */
export const SECTIONS: BenchSection[] = [cpuSection, kvmSection, dapSection, asmSection];

function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = { seconds: 1, peers: true, verbose: false };
  for (let k = 0; k < argv.length; k++) {
    const v = argv[k + 1];
    switch (argv[k]) {
      case '--section': a.section = v; k++; break;
      case '--workload': a.workload = v; k++; break;
      case '--seconds': a.seconds = Number(v); k++; break;
      case '--no-peers': a.peers = false; break;
      case '--json': a.json = v; k++; break;
      case '--verbose': a.verbose = true; break;
      default: throw new Error(`bench: unknown argument '${argv[k]}' (sections: ${SECTIONS.map((s) => s.name).join(', ')})`);
    }
  }
  if (!(a.seconds > 0)) throw new Error('bench: --seconds must be positive');
  if (a.section && !SECTIONS.some((s) => s.name === a.section)) throw new Error(`bench: no section '${a.section}'`);
  return a;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const [k, r] of rows.entries()) {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-bench-'));
  const results: Record<string, unknown> = {};
  const ctx: BenchContext = {
    args, tmpdir: dir,
    log: (l) => console.log(l),
    verbose: (l) => { if (args.verbose) console.log(l); },
    table: printTable,
    record: (k, v) => { results[k] = v; },
  };
  try {
    for (const s of SECTIONS.filter((x) => !args.section || x.name === args.section)) {
      console.log(`== ${s.name}: ${s.describe}`);
      await s.run(ctx);
      console.log('');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 1; });
