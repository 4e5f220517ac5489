// The host side of the tests that compare instructions with the host CPU through gcc-built programs
// (sse-native, mmx-native, sse-gcc): whether this host can run them, and building a harness.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, arch } from 'node:os';
import { join } from 'node:path';

/** Why this host cannot run a native comparison that needs CPU feature `flag` (as /proc/cpuinfo names it), or undefined. */
export function nativeHostProblem(flag: string, name: string): string | undefined {
  if (arch() !== 'x64') return `host is ${arch()}, not x86-64`;
  if (spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'gcc not installed';
  try {
    if (!new RegExp(`\\b${flag}\\b`).test(readFileSync('/proc/cpuinfo', 'utf8'))) return `host CPU lacks ${name}`;
  } catch { return 'cannot read /proc/cpuinfo'; }
  return undefined;
}

/**
 * The processor vendor of this host as the emulator models vendors (Cpu.vendor), from
 * /proc/cpuinfo's vendor_id: GenuineIntel is intel; AuthenticAMD and HygonGenuine (a Zen licensee)
 * are amd; anything else undefined. A native comparison runs the emulator as this vendor, so fields
 * whose behaviour differs by vendor (AMD's FXSAVE error pointers) are compared like for like.
 */
export function hostVendor(cpuinfo?: string): 'intel' | 'amd' | undefined {
  let text = cpuinfo;
  if (text === undefined) {
    try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { return undefined; }
  }
  const id = /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1];
  return id === 'GenuineIntel' ? 'intel' : id === 'AuthenticAMD' || id === 'HygonGenuine' ? 'amd' : undefined;
}

/** Build test/cpu/NAME.c (gcc -O2 -mno-red-zone) into a fresh temporary folder; returns the executable. */
export function buildNativeHarness(name: string): string {
  const exe = join(mkdtempSync(join(tmpdir(), `${name}-`)), name);
  execFileSync('gcc', ['-O2', '-mno-red-zone', '-o', exe, join(__dirname, `${name}.c`)]);
  return exe;
}
