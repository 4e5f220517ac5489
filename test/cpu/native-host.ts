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

/** Build test/cpu/NAME.c (gcc -O2 -mno-red-zone) into a fresh temporary folder; returns the executable. */
export function buildNativeHarness(name: string): string {
  const exe = join(mkdtempSync(join(tmpdir(), `${name}-`)), name);
  execFileSync('gcc', ['-O2', '-mno-red-zone', '-o', exe, join(__dirname, `${name}.c`)]);
  return exe;
}
