// `npm run test:linux` (run as one esbuild bundle: under tsx the emulator was 7x slower): Debian's cloud kernel boots to busybox's /init under the emulated KVM.
// Fetches linux-image-cloud-amd64 and busybox-static with apt-get download (cached outside the
// repository, CACHE_DIR), builds the initramfs with our own cpio writer, boots with console=ttyS0 and
// reads "Run /init", the uname -a output and the power-off from the serial console. Prints the
// instructions and CPU seconds to each milestone. Skips only without apt-get/dpkg-deb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootLinux } from './boot-linux';
import { buildInitramfs, CACHE_DIR, fetchDebianKernel } from './debian-kernel';

/** nokaslr: the kernel runs at its link addresses, so System.map symbols match. The kernel uses XSAVE (x87 and SSE components). */
export const APPEND = process.env.KVM_GUEST_LINUX_APPEND ?? 'console=ttyS0 nokaslr';

test('Debian linux-image-cloud-amd64 boots to busybox /init, prints uname -a and powers off', { timeout: 3_600_000 }, (t) => {
  const k = fetchDebianKernel();
  if ('skip' in k) { t.skip(k.skip); return; }
  if ('error' in k) assert.fail(k.error);
  const initrd = join(CACHE_DIR, 'initramfs-test.cpio');
  writeFileSync(initrd, buildInitramfs(k.busybox));
  const r = bootLinux({ kernel: k.kernel, initrd, append: APPEND, cpuBudget: Number(process.env.KVM_GUEST_LINUX_CPU ?? 1800),
    onSerial: process.env.KVM_GUEST_LINUX_VERBOSE ? (s) => process.stderr.write(s) : undefined });
  if ('errors' in r) assert.fail(r.errors.join('\n'));
  for (const m of r.milestones) t.diagnostic(`${m.text}: ${m.instructions} instructions, ${m.cpuSeconds.toFixed(1)} s CPU`);
  t.diagnostic(`end: ${JSON.stringify(r.stop)} after ${r.instructions} instructions, ${r.cpuSeconds.toFixed(1)} s CPU`);
  const tail = r.serial.split('\n').slice(-25).join('\n');
  assert.match(r.serial, /Linux version 6\.\S+-cloud-amd64/, tail);
  assert.match(r.serial, /Run \/init as init process/, tail);
  assert.match(r.serial, new RegExp(`Linux \\S+ ${k.version.replace(/[.+]/g, '\\$&')} #1 SMP .* x86_64 GNU/Linux`), tail);
  assert.match(r.serial, /reboot: Power down/, tail);
  assert.deepEqual(r.stop, { kind: 'system-event', event: 'sleep', source: 'ACPI PM1a_CNT SLP_EN (SLP_TYP 0)' }, tail);
});
