// Boot Debian's kernel once and print the console with wall/CPU seconds per line, the milestones
// (instructions and CPU seconds to each) and exits by reason. Run bundled (under tsx the hot path was 7x slower here):
//   node scripts/run-bundled.mjs test/linux/measure-boot.ts ["APPEND"] ['{"hideHypervisor":true}']
import { bootLinux } from './boot-linux';
import { buildInitramfs, CACHE_DIR, fetchDebianKernel } from './debian-kernel';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const k = fetchDebianKernel();
if (!('kernel' in k)) { console.log(JSON.stringify(k)); process.exit(1); }
const initrd = join(CACHE_DIR, 'initramfs-test.cpio');
writeFileSync(initrd, buildInitramfs(k.busybox));
const t0 = Date.now();
const r = bootLinux({ kernel: k.kernel, initrd, append: process.argv[2] ?? 'console=ttyS0 nokaslr', extra: process.argv[3] ? JSON.parse(process.argv[3]) : {},
  onSerial: (s) => process.stdout.write(s.replace(/\n/g, `  {wall ${((Date.now() - t0) / 1000).toFixed(0)}s cpu ${(process.cpuUsage().user / 1e6).toFixed(0)}s}\n`)) });
if ('errors' in r) { console.log(r.errors); process.exit(1); }
console.log('\n=== milestones', JSON.stringify(r.milestones));
console.log('=== end', JSON.stringify(r.stop), r.instructions, r.cpuSeconds.toFixed(1));
const counts = [...r.machine.exitCounts.entries()].sort((a, b) => b[1] - a[1]);
console.log('=== exits', JSON.stringify(counts));
