// Test helper: builds the project's C guests (test/debug/c-guest/*.c) with gcc at test time, for
// 64-bit (DWARF 5) and 32-bit (DWARF 4) at -O0 and -O2, as freestanding ELF images at 1 MiB.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { workDir } from '../loader/elf-toolchain';

export const C_GUESTS = join(__dirname, 'c-guest');

export interface CBuild { bits: 32 | 64; opt: 'O0' | 'O2'; dwarf: 4 | 5; }

export const C_BUILDS: CBuild[] = [
  { bits: 64, opt: 'O0', dwarf: 5 }, { bits: 64, opt: 'O2', dwarf: 5 },
  { bits: 32, opt: 'O0', dwarf: 4 }, { bits: 32, opt: 'O2', dwarf: 4 },
];

export const label = (b: CBuild) => `${b.bits}-bit -${b.opt} DWARF ${b.dwarf}`;

const built = new Map<string, string | { skip: string }>();

/**
 * The ELF built from `name`.c (and the `extra` C files of c-guest/, such as multiboot-header), or a
 * reason to skip (no gcc, no 32-bit multilib).
 */
export function buildCGuest(name: string, b: CBuild, extra: string[] = []): string | { skip: string } {
  const key = [name, ...extra, b.bits, b.opt, b.dwarf].join('-');
  const hit = built.get(key);
  if (hit) return hit;
  const out = join(workDir(), key);
  const args = [`-m${b.bits}`, `-${b.opt}`, '-g', `-gdwarf-${b.dwarf}`, '-ffreestanding', '-fno-pic', '-no-pie', '-nostdlib', '-static',
    '-fno-stack-protector', '-Wl,-Ttext=0x100000', '-Wl,--build-id=none', '-o', out, join(C_GUESTS, `${name}.c`),
    ...extra.map((x) => join(C_GUESTS, `${x}.c`))];
  if (b.bits === 64) args.push('-mno-red-zone');
  else args.push('-msse2', '-mfpmath=sse'); // doubles in SSE registers, as in 64-bit code
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  const res = r.error ? { skip: 'gcc is not installed' } : r.status !== 0 ? { skip: `gcc ${args.join(' ')} failed: ${r.stderr.trim().split('\n')[0]}` } : out;
  built.set(key, res);
  return res;
}
