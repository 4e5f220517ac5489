// Bench section "cpu" (issue 2): guest MIPS of vm-core/cpu on boot-sector workloads, side by side
// with QEMU (TCG) and Bochs running the same images. vm-core runs the boot sector on a bare Cpu
// (image at 0x7C00, real mode, no hypervisor), timed in-process after a warm-up run. All figures
// are CPU time (user + system), so other load on the machine distorts them less than wall time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cpu, PhysBus, RUN_BUDGET, RUN_EXIT, RUN_HALTED, HW_UNEMULATED } from '../vm-core/cpu';
import { defaultEnv } from '../vm-core/cpu/env';
import { CS, DS, ES, SS, FS, GS, CR0_PE, CR0_PG, CR0_ET, CR4_PAE, EFER_LME, EFER_LMA } from '../vm-core/cpu/state';
import { buildBootSector, floppyImage, Workload, WORKLOADS, BootImage } from './guests/image';
import { PEERS, PRODUCT_RUNS, Peer } from './peers';
import type { BenchContext, BenchSection } from './run';

const RAM = 2 << 20;
const SLICE = 50_000_000;

interface OurRun { instructions: number; secs: number }

/** A bare processor with the boot sector at 0x7C00 in real mode (CS:IP = 0000:7C00). */
function machine(img: BootImage, direct: boolean): { cpu: Cpu; done: () => boolean } {
  const mem = new Uint8Array(RAM);
  mem.set(img.sector, 0x7c00);
  const bus = new PhysBus();
  bus.setRegion(0, 0, mem, false);
  const cpu = new Cpu(bus);
  let exitWritten = false;
  cpu.env = { ...defaultEnv, ioOut: (_c, port) => { if (port === 0xf4) exitWritten = true; } };
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = 0; seg.base = 0; seg.limit = 0xffff; seg.ar = s === CS ? 0x9b : 0x93;
  }
  cpu.rip = 0x7c00;
  cpu.updateMode();
  if (direct) enterLongModeDirectly(cpu, mem, img);
  return { cpu, done: () => exitWritten };
}

/**
 * What boot.asm's real-mode part does (identity-mapped 2 MiB page, PAE, EFER.LME, CR0.PG|PE, the
 * GDT's 64-bit code segment), done from outside: used only while the core cannot yet run that part.
 */
function enterLongModeDirectly(cpu: Cpu, mem: Uint8Array, img: BootImage): void {
  const dv = new DataView(mem.buffer);
  dv.setUint32(0x1000, 0x2003, true);
  dv.setUint32(0x2000, 0x3003, true);
  dv.setUint32(0x3000, 0x0083, true);
  cpu.cr4 = CR4_PAE; cpu.cr3 = 0x1000; cpu.efer = EFER_LME | EFER_LMA; cpu.cr0 = CR0_PE | CR0_PG | CR0_ET;
  for (const s of [CS, DS, ES, SS, FS, GS]) {
    const seg = cpu.seg[s];
    seg.selector = s === CS ? 0x08 : 0x10; seg.base = 0; seg.limit = 0xffffffff; seg.ar = s === CS ? 0xa09b : 0xc093;
  }
  cpu.rip = img.longEntry;
  cpu.updateMode();
  cpu.flushTlb(false);
}

/** Run to the guest's HLT after its exit-port write; returns instructions and seconds. */
function runOurs(w: Workload, iterations: number, direct: boolean): OurRun {
  const { cpu, done } = machine(buildBootSector(w, iterations), direct);
  const c0 = process.cpuUsage();
  let r: number;
  do r = cpu.run(SLICE); while (r === RUN_BUDGET);
  const c1 = process.cpuUsage(c0);
  const secs = (c1.user + c1.system) / 1e6; // CPU time, like the peers' figures
  if (r !== RUN_HALTED || !done()) {
    const why = r === RUN_EXIT ? (cpu.exit.reason === HW_UNEMULATED ? cpu.exit.message : `exit reason ${cpu.exit.reason}`) : `run() = ${r}`;
    throw new Error(`vm-core did not finish the ${w.name} workload: ${why} (rip 0x${cpu.rip.toString(16)})`);
  }
  return { instructions: cpu.icount, secs };
}

/** Can the core boot the image itself (real mode -> long mode)? Returns the reason when not. */
function bootProblem(): string | undefined {
  try { runOurs(WORKLOADS[0], 0, false); return undefined; } catch (e) { return (e as Error).message; }
}

async function measureOurs(w: Workload, targetSecs: number, direct: boolean): Promise<number> {
  // Steady state, as the peers' slope method measures them (their start-up is subtracted): warm
  // the JIT up until the code is optimised, then take the best of three timed runs.
  runOurs(w, 2_000_000, direct);
  const warm = runOurs(w, 2_000_000, direct);
  const mips = warm.instructions / warm.secs / 1e6;
  const iters = Math.max(100_000, Math.min(0x7fffffff, Math.round(mips * 1e6 * targetSecs / w.perIter)));
  let best = 0;
  for (let k = 0; k < 3; k++) { const r = runOurs(w, iters, direct); best = Math.max(best, r.instructions / r.secs / 1e6); }
  return best;
}

/**
 * The host's speed as the emulator feels it: vm-core's ALU loop (MIPS, steady state) measured in
 * the calling process. Sections without a side-by-side peer print it so that a slow phase of a
 * shared host can be told apart from a slow model.
 */
export async function hostReferenceMips(targetSecs: number): Promise<number> {
  return measureOurs(WORKLOADS[0], targetSecs, bootProblem() !== undefined);
}

/** Peer MIPS by the slope method: (loop time of N iterations) - (time of 0 iterations). */
async function measurePeer(p: Peer, w: Workload, dir: string, targetSecs: number, ctx: BenchContext): Promise<number> {
  const img = join(dir, `${p.name.replace(/\W+/g, '-')}-${w.name}.img`);
  const runN = async (n: number) => {
    writeFileSync(img, floppyImage(buildBootSector(w, n).sector));
    return p.run(img, dir, 120);
  };
  // Start-up varies by tens of milliseconds between runs: take minima and insist on a long loop.
  const base = Math.min(await runN(0), await runN(0), await runN(0));
  let n = 1_000_000;
  for (;;) {
    const t = Math.min(await runN(n), await runN(n)) - base;
    if (t >= targetSecs * 0.8 || n >= 0x7fffffff) {
      ctx.verbose(`  ${p.name} ${w.name}: N=${n} loop ${t.toFixed(3)} s CPU (start-up ${base.toFixed(3)} s)`);
      return (w.perIter * n) / t / 1e6;
    }
    n = Math.min(0x7fffffff, Math.round(n * Math.min(50, Math.max(2, targetSecs / Math.max(t, 0.01)))));
  }
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2) + 'x');

export const cpuSection: BenchSection = {
  name: 'cpu',
  describe: 'guest MIPS of vm-core/cpu on boot-sector workloads vs qemu-system-x86_64 -accel tcg and bochs',
  async run(ctx) {
    const target = ctx.args.seconds;
    const problem = bootProblem();
    if (problem) ctx.log(`note: vm-core cannot run the boot sector's real-mode start-up yet (${problem}); ` +
      'it enters long mode directly at long_entry and runs the same loop');
    const peers = ctx.args.peers ? PEERS : [];
    const skipped = new Map<string, string>();
    for (const p of PEERS) {
      const why = !ctx.args.peers ? 'disabled (--no-peers)' : p.missing();
      if (why) { skipped.set(p.name, why); ctx.log(`skipped: ${why}`); }
    }
    // The product as users run it (`kvm-guest run`, interpreter and --jit), timed like the peers.
    const product = PRODUCT_RUNS.filter((p) => { const why = p.missing(); if (why) ctx.log(`skipped ${p.name}: ${why}`); return !why; });
    const rows: string[][] = [['workload', 'insns/iter', 'in-process', 'kvm-guest run', 'run --jit', 'qemu MIPS', 'bochs MIPS',
      'jit/interp', 'jit vs qemu', 'jit vs bochs']];
    const results: Record<string, Record<string, number>> = {};
    for (const w of WORKLOADS.filter((x) => !ctx.args.workload || x.name === ctx.args.workload)) {
      const got: Record<string, number> = {};
      try { got.ours = await measureOurs(w, target, problem !== undefined); } catch (e) { ctx.log(`vm-core ${w.name}: ${(e as Error).message}`); }
      for (const p of [...product, ...peers]) {
        if (skipped.has(p.name)) continue;
        try { got[p.name] = await measurePeer(p, w, ctx.tmpdir, target, ctx); } catch (e) { ctx.log(`${p.name} ${w.name}: ${(e as Error).message}`); }
      }
      results[w.name] = got;
      const interp = got['kvm-guest'], jit = got['kvm-guest --jit'];
      rows.push([w.name, String(w.perIter), fmt(got.ours), fmt(interp), fmt(jit), fmt(got.qemu), fmt(got.bochs),
        ratio(jit, interp), ratio(jit, got.qemu), ratio(jit, got.bochs)]);
    }
    ctx.table(rows);
    ctx.log('  in-process: the bare processor inside this process; kvm-guest run: the whole VM started by the CLI,');
    ctx.log('  process CPU time with a zero-iteration run subtracted (as for qemu and bochs); --jit: the block compiler on');
    for (const w of WORKLOADS) {
      const g = results[w.name];
      if (!g) continue;
      ctx.log(`  ${w.name}: ${w.what}` + (g.ours !== undefined && g['kvm-guest'] !== undefined ? `; in-process vs kvm-guest run: ${ratio(g.ours, g['kvm-guest'])}` : ''));
    }
    const alu = results.alu;
    if (alu?.ours !== undefined && alu.bochs !== undefined) {
      ctx.log(`target (issue 2): >= 1.0x Bochs on the ALU loop: ${alu.ours >= alu.bochs ? 'met' : 'NOT met'} (${ratio(alu.ours, alu.bochs)})`);
    }
    ctx.record('cpu', results);
  },
};
