// `npm run fuzz`: at least 100,000 random byte streams in 16-, 32- and 64-bit modes (issue 2), split
// over worker processes. Prints how streams ended, the most common unemulated instructions (input
// for whoever emulates them next) and every failure with the seed and bytes to reproduce it.
//
//   npm run fuzz -- [--count N] [--seed BASE] [--budget INSNS] [--jobs J] [--mode 16|32|64] [--top K] [--x87 N]
//   (--x87 N: random states per x87 form in the native differential run after the streams, 0 skips; default 500)
//   npm run fuzz -- --mode 64 --seed S --one     replay a single stream (seed as printed) and trace it
//   npm run fuzz -- --no-soak                     skip the soak tests that follow the streams (soak.ts)
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { FuzzMode, setupMode } from './modes';
import { FuzzStats, MODES, formatStats, mergeStats, newStats, runRange, runStream, streamBytes } from './fuzz-core';

interface Args { count: number; seed: number; budget: number; jobs: number; modes: FuzzMode[]; top: number; one: boolean; x87: number; soak: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { count: 100_000, seed: 1, budget: 200, jobs: Math.min(2, availableParallelism()), modes: MODES, top: 40, one: false, x87: 500, soak: true };
  for (let k = 0; k < argv.length; k++) {
    const v = argv[k + 1];
    switch (argv[k]) {
      case '--count': a.count = Number(v); k++; break;
      case '--seed': a.seed = Number(v); k++; break;
      case '--budget': a.budget = Number(v); k++; break;
      case '--jobs': a.jobs = Math.max(1, Number(v)); k++; break;
      case '--mode': a.modes = [Number(v) as FuzzMode]; k++; break;
      case '--top': a.top = Number(v); k++; break;
      case '--one': a.one = true; break;
      case '--x87': a.x87 = Number(v); k++; break;
      case '--no-soak': a.soak = false; break;
      default: throw new Error(`run-fuzz: unknown argument '${argv[k]}'`);
    }
  }
  if (!a.modes.every((m) => m === 16 || m === 32 || m === 64)) throw new Error('run-fuzz: --mode must be 16, 32 or 64');
  return a;
}

/** Replay one stream (its seed as printed by a failure) with the instruction trace. */
async function replay(a: Args): Promise<void> {
  const mode = a.modes[0];
  const bytes = streamBytes(a.seed, mode);
  console.log(`mode ${mode} seed ${a.seed} bytes: ${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  const stats = newStats();
  runStream(mode, a.seed, a.budget, stats);
  console.log(formatStats(stats, a.top));
  void setupMode;
}

async function main(): Promise<void> {
  if (process.env.FUZZ_WORKER) {
    const [base, from, to, budget, modes] = JSON.parse(process.env.FUZZ_WORKER) as [number, number, number, number, FuzzMode[]];
    const stats = runRange(base, from, to, budget, modes);
    process.send!(stats, () => process.exit(0));
    return;
  }
  const a = parseArgs(process.argv.slice(2));
  if (a.one) return replay(a);
  const t0 = performance.now();
  const total = newStats();
  const per = Math.ceil(a.count / a.jobs);
  const self = process.argv[1]; // this script: the .ts under tsx, or the bundle under scripts/run-bundled.mjs
  await Promise.all(Array.from({ length: a.jobs }, (_, j) => new Promise<void>((resolve, reject) => {
    const from = j * per, to = Math.min(a.count, from + per);
    if (from >= to) { resolve(); return; }
    const child = fork(self, [], {
      execArgv: process.execArgv, // tsx's loader when run from source; nothing when bundled
      env: { ...process.env, FUZZ_WORKER: JSON.stringify([a.seed, from, to, a.budget, a.modes]) },
    });
    let got = false;
    child.on('message', (m) => { mergeStats(total, m as FuzzStats); got = true; });
    child.on('exit', (code) => (got ? resolve() : reject(new Error(`fuzz worker ${j} exited with ${code} before reporting`))));
  })));
  const secs = (performance.now() - t0) / 1000;
  console.log(`fuzz: base seed ${a.seed}, budget ${a.budget} instructions/stream, modes ${a.modes.join('/')}, ${a.jobs} jobs, ${secs.toFixed(1)} s`);
  console.log(formatStats(total, a.top));
  if (total.failures.length) {
    console.log(`\nreplay one with: npm run fuzz -- --mode <mode> --seed <seed> --one`);
    process.exitCode = 1;
  } else {
    console.log('\nno stream threw out of the core or broke a reporting rule');
  }
  if (a.x87 > 0) await x87Differential(a);
  // The soak tests (test/fuzz/soak.ts): a DAP session making exits for SOAK_SECONDS (60), malformed
  // messages over stdio, SOAK_INSNS (10,000,000) instructions of straight-line code.
  if (a.soak) {
    const { soakDap, soakCode } = await import('./soak');
    const f = [...await soakDap(Number(process.env.SOAK_SECONDS ?? 60)), ...await soakCode(Number(process.env.SOAK_INSNS ?? 10_000_000))];
    for (const x of f) console.log(`soak FAILED: ${x}`);
    if (f.length) process.exitCode = 1;
  }
}

/** The x87 native differential (test/cpu/x87-native.ts) with `--x87 N` random states per form (0: skip). */
async function x87Differential(a: Args): Promise<void> {
  const { nativeHostProblem } = await import('../cpu/native-host');
  const problem = nativeHostProblem('fpu', 'an x87 FPU');
  if (problem) { console.log(`\nx87 differential skipped: ${problem}`); return; }
  const { runX87Differential, X87_OPS, X87_TRANS_OPS } = await import('../cpu/x87-native');
  const t0 = performance.now();
  const main = runX87Differential(X87_OPS, a.x87, a.seed, false, 20);
  const trans = runX87Differential(X87_TRANS_OPS, a.x87, a.seed, true, 0);
  const bad = (r: typeof main) => Object.values(r.mismatchByOp).reduce((x, y) => x + y, 0);
  const tb = bad(trans);
  console.log(`\nx87 differential (${a.x87} states per form, ${((performance.now() - t0) / 1000).toFixed(1)} s): ` +
    `${main.compared} cases, ${bad(main)} differ from the host`);
  for (const f of main.failures) console.log('  ' + f);
  console.log(`x87 transcendentals: ${trans.compared} cases, ${(100 * (trans.compared - tb) / trans.compared).toFixed(2)}% bit-exact, ` +
    `${(100 * (trans.compared - tb + trans.oneUlp) / trans.compared).toFixed(2)}% within 1 ulp; differing by form ${JSON.stringify(trans.mismatchByOp)}`);
  if (main.failures.length) process.exitCode = 1;
  // The XSAVE family on the same host (test/cpu/xsave-native.ts): 40 cases for each x87 state asked for.
  if (nativeHostProblem('xsavec', 'XSAVEC')) return;
  const { runXsaveDifferential } = await import('../cpu/xsave-native');
  const x = runXsaveDifferential(40 * a.x87, a.seed);
  console.log(`XSAVE differential: ${x.compared} cases, ${x.failures.length} differ from the host (${x.hostUnstable} where the host answered differently on a second run and the emulator matched it)`);
  for (const f of x.failures.slice(0, 20)) console.log('  ' + f);
  if (x.failures.length) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
