// Debian's cloud kernel and busybox for the Linux boot test, fetched with the system's package tools
// (apt-get download, dpkg-deb -x) into a cache outside the repository, and the initramfs the test
// boots: busybox with an /init that prints `uname -a` and powers the machine off.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeCpioNewc, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from './cpio';

export const CACHE_DIR = process.env.KVM_GUEST_LINUX_CACHE ?? join(homedir(), '.cache', 'kvm-guest-linux');

export interface DebianKernel { kernel: string; busybox: string; systemMap?: string; version: string; }

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function run(cmd: string, args: string[], cwd: string): string | undefined {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 600_000 });
  return r.status === 0 ? undefined : `${cmd} ${args.join(' ')} failed (status ${r.status}): ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' / ')}`;
}

/**
 * The kernel (/boot/vmlinuz-*) of linux-image-cloud-amd64's dependency and /bin/busybox of
 * busybox-static, downloaded once. `skip` when apt-get or dpkg-deb is absent; `error` when they fail.
 */
export function fetchDebianKernel(): DebianKernel | { skip: string } | { error: string } {
  const missing = ['apt-get', 'apt-cache', 'dpkg-deb'].filter((c) => !have(c));
  if (missing.length) return { skip: `${missing.join(', ')} not installed: the test fetches Debian's packages with the system's package tools` };
  mkdirSync(CACHE_DIR, { recursive: true });
  const root = join(CACHE_DIR, 'root');
  const debs = () => readdirSync(CACHE_DIR).filter((f) => f.endsWith('.deb'));
  // linux-image-cloud-amd64 is a metapackage: its Depends names the versioned kernel package.
  const deps = spawnSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8' });
  const image = /Depends: (linux-image-\d\S*-cloud-amd64)\b/.exec(deps.stdout ?? '')?.[1];
  if (!image) return { error: `apt-cache depends linux-image-cloud-amd64 names no kernel package (run apt-get update?): ${(deps.stderr ?? '').trim()}` };
  for (const pkg of [image, 'busybox-static']) {
    if (debs().some((f) => f.startsWith(pkg + '_'))) continue;
    const e = run('apt-get', ['download', pkg], CACHE_DIR);
    if (e) return { error: e };
  }
  for (const pkg of [image, 'busybox-static']) {
    const deb = debs().find((f) => f.startsWith(pkg + '_'))!;
    const stamp = join(root, '.' + deb);
    if (existsSync(stamp)) continue;
    const e = run('dpkg-deb', ['-x', deb, 'root'], CACHE_DIR) ?? run('touch', [stamp], CACHE_DIR);
    if (e) return { error: e };
  }
  const version = image.slice('linux-image-'.length);
  const kernel = join(root, 'boot', `vmlinuz-${version}`);
  const busybox = join(root, 'bin', 'busybox');
  if (!existsSync(kernel) || !existsSync(busybox)) return { error: `the packages did not provide ${kernel} and ${busybox}` };
  // Debian's /boot/System.map is a one-line placeholder; the real one comes with the -dbg package (if fetched by hand).
  const dbgMap = join(root, 'usr', 'lib', 'debug', 'boot', `System.map-${version}`);
  return { kernel, busybox, version, systemMap: existsSync(dbgMap) ? dbgMap : undefined };
}

/** The /init the test runs: the kernel's identity, then an immediate power-off (busybox's poweroff -f: reboot(2)). */
export const INIT_SCRIPT = '#!/bin/sh\n/bin/busybox uname -a\n/bin/busybox poweroff -f\n';

/** An initramfs with busybox, /bin/sh, /dev/console and INIT_SCRIPT as /init. */
export function buildInitramfs(busyboxPath: string, init = INIT_SCRIPT): Uint8Array {
  return writeCpioNewc([
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: { major: 5, minor: 1 } },
    { name: 'proc', mode: S_IFDIR | 0o755 },
    { name: 'sys', mode: S_IFDIR | 0o755 },
    { name: 'bin', mode: S_IFDIR | 0o755 },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: new Uint8Array(readFileSync(busyboxPath)) },
    { name: 'bin/sh', mode: S_IFLNK | 0o777, data: 'busybox' },
    { name: 'init', mode: S_IFREG | 0o755, data: init },
  ]);
}
