// Soak tests of `npm run fuzz` (issue 14): resources stay bounded under a long run.
//  1. A DAP session (the adapter over stdio, as VS Code runs it) whose guest makes exits for
//     SOAK_SECONDS (default 60): the adapter's RSS stays within 50 MB of its value after a 10 s
//     warm-up (the bounded exit logs fill), and pause answers (response and stopped event) within
//     50 ms, every 10 s.
//  2. Malformed DAP messages over stdio leave that session answering.
//  3. 10M instructions of straight-line code (SOAK_INSNS), 600 times the decoded-instruction cache
//     (CODE_CACHE_MAX_INSNS), run in under 300 MB of RSS: measured 256 MB peak (VmHWM), 27 s of CPU.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RawDap } from '../adapter/raw-dap';
import { straightLine } from '../cpu/straight-line';

const ROOT = resolve(__dirname, '../..');

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function soakDap(seconds: number): Promise<string[]> {
  const failures: string[] = [];
  const c = RawDap.start(join(ROOT, 'test/adapter/run-adapter.cjs'));
  try {
    await c.request('initialize', { adapterID: 'kvm-guest', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    const r = await c.request('launch', { program: join(ROOT, 'test/fuzz/guests/mmio-storm.asm'), console: 'none' });
    if (!r.success) throw new Error(`launch: ${r.message}`);
    await c.event('initialized');
    await c.request('configurationDone');
    await sleep(10_000);
    const start = rssOf(c.proc.pid!);
    let peak = start;
    const t0 = Date.now();
    let pauses = 0, worstPause = 0;
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(2000);
      peak = Math.max(peak, rssOf(c.proc.pid!));
      // Every 10 s: pause, time the answer, check the malformed-message cases, continue.
      if ((Date.now() - t0) / 10_000 > pauses + 1) {
        pauses++;
        const before = c.lastSeq();
        const p0 = performance.now();
        const pr = await c.request('pause', { threadId: 1 });
        const stopped = await c.waitFor((m) => m.type === 'event' && m.event === 'stopped' && m.seq > before);
        const ms = performance.now() - p0;
        worstPause = Math.max(worstPause, ms);
        if (!pr.success || !stopped) failures.push(`pause ${pauses} failed`);
        if (ms > 50) failures.push(`pause ${pauses} took ${ms.toFixed(1)} ms (limit 50)`);
        for (const bad of ['{"seq": 1, "type": "request", "comm', 'null']) c.writeRaw(c.frame(bad));
        c.writeRaw(Buffer.concat([Buffer.from('Content-Length: 8\r\n\r\n'), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])]));
        const st = await c.request('stackTrace', { threadId: 1 });
        if (!st.success) failures.push('after malformed messages the session did not answer stackTrace');
        const log = await c.request('kvmGuest/statistics');
        if (!log.success) failures.push('statistics failed');
        await c.request('continue', { threadId: 1 });
      }
    }
    const end = rssOf(c.proc.pid!);
    peak = Math.max(peak, end);
    console.log(`soak: DAP session ${seconds} s of MMIO exits: RSS ${start.toFixed(0)} MB after 10 s, peak ${peak.toFixed(0)} MB, end ${end.toFixed(0)} MB; ${pauses} pauses, slowest ${worstPause.toFixed(1)} ms`);
    if (peak - start > 50) failures.push(`RSS grew by ${(peak - start).toFixed(0)} MB (limit 50)`);
    if (c.exitCode !== undefined) failures.push(`the adapter exited (${c.exitCode})`);
  } finally {
    c.kill();
  }
  return failures;
}

/**
 * Straight-line code of `n` instructions in a child process (its RSS is its own), run as the
 * product runs: one esbuild bundle with the product's V8 flags (straight-line-child.ts).
 */
export async function soakCode(n: number): Promise<string[]> {
  const file = straightLine(n);
  const { bundle } = await import(join(ROOT, 'scripts/run-bundled.mjs')) as { bundle(entry: string): Promise<string> };
  const child = await bundle(join(ROOT, 'test/fuzz/straight-line-child.ts'));
  const out = await new Promise<string>((res, rej) => {
    const p = spawn(process.execPath, [child, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d) => { s += d; });
    p.on('exit', (code) => (code === 0 ? res(s) : rej(new Error(`straight-line soak exited ${code}`))));
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { end: { kind: string; code: number }; rcx: number; peak: number; seconds: number };
  console.log(`soak: ${n.toLocaleString('en')} instructions of straight-line code: peak RSS ${r.peak.toFixed(0)} MB, ${r.seconds.toFixed(1)} s, end ${JSON.stringify(r.end)}`);
  const failures: string[] = [];
  if (r.end.kind !== 'exit-port' || r.rcx !== n) failures.push(`straight-line code ended ${JSON.stringify(r.end)} with ECX ${r.rcx} (expected ${n})`);
  if (r.peak > 300) failures.push(`straight-line code peaked at ${r.peak.toFixed(0)} MB (limit 300)`);
  return failures;
}

if (require.main === module) {
  const seconds = Number(process.env.SOAK_SECONDS ?? 60);
  const insns = Number(process.env.SOAK_INSNS ?? 10_000_000);
  void (async () => {
    const f = [...await soakDap(seconds), ...await soakCode(insns)];
    for (const x of f) console.log(`soak FAILED: ${x}`);
    process.exitCode = f.length ? 1 : 0;
  })();
}
