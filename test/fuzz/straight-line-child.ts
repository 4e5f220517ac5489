// Child process of the straight-line soak (soak.ts soakCode), run as one esbuild bundle like the CLI
// (scripts/run-bundled.mjs: the V8 tuning of the product, no per-file transpiler in the process), so
// its RSS is what a user's `kvm-guest run` of such a guest takes. Argument: the flat image.
// Prints one JSON line: how the run ended, ECX (instructions counted by the guest), peak RSS (VmHWM) in MB.
import { readFileSync } from 'node:fs';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { launch } from '../../vm-core/vmm/launch';

const { options } = resolveLaunchOptions({ program: process.argv[2], load: '0x100000', entry: 'protected', memory: '64M' });
const l = launch(options);
if (!l.ok) throw new Error(`straight-line child: ${l.errors.join('; ')}`);
const m = l.machine;
const regs = m.vcpus[0].getRegs();
regs.rbx = 1n; // one pass over the code (DEC EBX; JNZ back)
m.vcpus[0].setRegs(regs);
let r;
const t0 = performance.now();
do {
  r = m.run(200_000);
} while (r.kind === 'slice');
// The kernel's high-water mark of this process's resident set (sampling between slices misses peaks).
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const peak = hwm ? Number(hwm[1]) * 1024 : process.memoryUsage().rss;
console.log(JSON.stringify({ end: r, rcx: Number(m.vcpus[0].getRegs().rcx & 0xffffffffn), peak: peak / 2 ** 20, seconds: (performance.now() - t0) / 1000 }));
