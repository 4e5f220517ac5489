// The "kvm" bench section: exits per second through the full KVM model (hardware exit, register
// cache, handler, entry): CPUID handled in the kernel model, and OUT returned to userspace and
// resumed by the next KVM_RUN. Real KVM's userspace-exit rate is measured with bench/kvm/kvm_exits.c
// when gcc and /dev/kvm are available.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchSection } from './run';
import { Kvm, KVM_EXIT_IO } from '../vm-core/kvm';
import { setupLongMode } from '../vm-core/vmm/boot';
import { hostReferenceMips } from './cpu';

function guest(vendor: 'intel' | 'amd', code: number[]) {
  const kvm = new Kvm();
  const vm = kvm.createVm({ vendor });
  const mem = new Uint8Array(4 << 20);
  vm.setUserMemoryRegion({ slot: 0, flags: 0, guest_phys_addr: 0, memory_size: mem.length, userspace_addr: mem });
  const v = vm.createVcpu(0);
  if (typeof v === 'number') throw new Error('createVcpu');
  v.setCpuid2(kvm.getSupportedCpuid(vendor));
  mem.set(code, 0x100000);
  setupLongMode(v, mem, 0x100000);
  return v;
}

/** Exits per second of wall time and per second of this process's CPU time over one window. */
interface Rate { wall: number; cpu: number; }
function rate(n: number, t0: number, c0: NodeJS.CpuUsage): Rate {
  const c = process.cpuUsage(c0);
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / ((c.user + c.system) / 1e6) };
}

/**
 * Steady state, as the CPU section measures it: run the loop until the JIT has optimised it
 * (WARMUP_MS), then time WINDOWS windows of `seconds / WINDOWS` each. The best window is the
 * model's speed; the median shows how much a busy host took away (this machine shares its cores).
 */
const WARMUP_MS = 600, WINDOWS = 3;
interface Measured { best: Rate; median: Rate; }
function steady(seconds: number, slice: () => number): Measured {
  const tw = performance.now();
  while (performance.now() - tw < WARMUP_MS) slice();
  const windows: Rate[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    let n = 0;
    const t0 = performance.now(), c0 = process.cpuUsage();
    while (performance.now() - t0 < (seconds * 1000) / WINDOWS) n += slice();
    windows.push(rate(n, t0, c0));
  }
  windows.sort((x, y) => x.wall - y.wall);
  return { best: windows[windows.length - 1], median: windows[WINDOWS >> 1] };
}

/** CPUID exits handled in the kernel model: one KVM_RUN of many exits per slice. */
function cpuidRate(vendor: 'intel' | 'amd', seconds: number): Measured {
  const v = guest(vendor, [0x0f, 0xa2, 0xeb, 0xfc]); // cpuid; jmp short -4
  return steady(seconds, () => {
    const e0 = v.stats.exits;
    v.run({ maxInsns: 200000 });
    return v.stats.exits - e0;
  });
}

/** OUT exits to userspace: one KVM_RUN per exit, completed by the next KVM_RUN. */
function outRate(vendor: 'intel' | 'amd', seconds: number): Measured {
  const v = guest(vendor, [0xe6, 0x10, 0xeb, 0xfc]); // out 0x10, al; jmp short -4
  return steady(seconds, () => {
    for (let k = 0; k < 10000; k++) if (v.run() !== 0 || v.kvm_run.exit_reason !== KVM_EXIT_IO) throw new Error('unexpected exit');
    return 10000;
  });
}

function realKvmRate(ctx: BenchContext): number | undefined {
  if (!existsSync('/dev/kvm')) { ctx.log('real KVM: /dev/kvm absent, skipped'); return undefined; }
  try {
    const exe = join(ctx.tmpdir, 'kvm_exits');
    execFileSync('gcc', ['-O2', '-o', exe, join(__dirname, 'kvm', 'kvm_exits.c')], { stdio: 'pipe' });
    return Number(execFileSync(exe, ['300000'], { encoding: 'utf8', timeout: 60000 }).trim());
  } catch (e) {
    ctx.log(`real KVM: skipped (${e instanceof Error ? e.message.split('\n')[0] : e})`);
    return undefined;
  }
}

const fmt = (x: number) => `${(x / 1e6).toFixed(2)}M/s`;

export const kvmSection: BenchSection = {
  name: 'kvm',
  describe: 'exits per second through the KVM model (CPUID in kernel, OUT to userspace) and real KVM',
  async run(ctx: BenchContext): Promise<void> {
    // The same reference before and after: a shared host's slow phase shows in it as in the exits.
    const refBefore = await hostReferenceMips(0.3);
    ctx.record('kvm.hostReferenceAluMipsBefore', Math.round(refBefore * 10) / 10);
    const rows = [['vendor', 'CPUID exits (kernel)', 'median window', 'per CPU-second', 'OUT exits (userspace)', 'median window', 'per CPU-second']];
    for (const vendor of ['intel', 'amd'] as const) {
      const c = cpuidRate(vendor, ctx.args.seconds), o = outRate(vendor, ctx.args.seconds);
      rows.push([vendor, fmt(c.best.wall), fmt(c.median.wall), fmt(c.best.cpu), fmt(o.best.wall), fmt(o.median.wall), fmt(o.best.cpu)]);
      ctx.record(`kvm.${vendor}.cpuidExitsPerSec`, Math.round(c.best.wall));
      ctx.record(`kvm.${vendor}.cpuidExitsPerSecMedian`, Math.round(c.median.wall));
      ctx.record(`kvm.${vendor}.cpuidExitsPerCpuSec`, Math.round(c.best.cpu));
      ctx.record(`kvm.${vendor}.outExitsPerSec`, Math.round(o.best.wall));
      ctx.record(`kvm.${vendor}.outExitsPerSecMedian`, Math.round(o.median.wall));
      ctx.record(`kvm.${vendor}.outExitsPerCpuSec`, Math.round(o.best.cpu));
    }
    const real = realKvmRate(ctx);
    if (real !== undefined) { rows.push(['real KVM', '-', '-', '-', fmt(real), '-', '-']); ctx.record('kvm.real.outExitsPerSec', real); }
    ctx.table(rows);
    const refAfter = await hostReferenceMips(0.3);
    ctx.record('kvm.hostReferenceAluMipsAfter', Math.round(refAfter * 10) / 10);
    ctx.log(`host reference: vm-core's ALU loop (cpu section) ran at ${refBefore.toFixed(1)} and ${refAfter.toFixed(1)} MIPS in this ` +
      'process before and after; a figure well under its usual value means the host was slow, not the model');
  },
};
