// The "asm" bench section: the built-in assembler on the resource-bound inputs of issue 14 (200,000
// labels; jumps between 50,000 labels, which take several passes; a macro with 100,000 parameters
// turned by %rotate), side by side with NASM (`nasm -f bin`) when it is installed. Our figure is
// the CPU time of assemble() in this process (the host is often shared); NASM's the user + system
// time of its process, which the shell's `times` reports for its children. Both outputs must be the
// same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { BenchContext, BenchSection } from './run';
import { assemble } from '../vm-core/loader/assemble';

interface Workload { name: string; source: () => string }

const WORKLOADS: Workload[] = [
  {
    name: '200,000 labels',
    source: () => ['bits 64', 'org 0x100000', ...Array.from({ length: 200_000 }, (_, i) => `l${i}: nop`)].join('\n') + '\n',
  },
  {
    name: 'jumps between 50,000 labels',
    source: () => ['bits 64', 'org 0x100000', ...Array.from({ length: 50_000 }, (_, i) => `l${i}: jmp l${(i * 7919) % 50_000}`)].join('\n') + '\n',
  },
  {
    name: 'macro: 100,000 parameters, %rotate',
    source: () => ['bits 64', '%macro many 1-*', '%rep %0', '  db %1', '%rotate 1', '%endrep', '%endmacro',
      'many ' + Array.from({ length: 100_000 }, (_, i) => String(i % 251)).join(', ')].join('\n') + '\n',
  },
];

/** CPU seconds of NASM assembling `src` into `out` (the shell's `times`: children's user and system). */
function nasmSeconds(src: string, out: string): number | string {
  const r = spawnSync('sh', ['-c', 'nasm -f bin "$1" -o "$2" && times', 'sh', src, out], { encoding: 'utf8' });
  if (r.status !== 0) return `nasm failed: ${r.stderr.trim().split('\n')[0]}`;
  // `times` prints the shell's user/system, then its children's: "0m1.234s 0m0.010s".
  const lines = r.stdout.trim().split('\n');
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : 'no time';
}

export const asmSection: BenchSection = {
  name: 'asm',
  describe: 'the built-in assembler on large inputs, CPU seconds, vs NASM',
  async run(ctx: BenchContext): Promise<void> {
    const nasm = ctx.args.peers && spawnSync('sh', ['-c', 'command -v nasm'], { stdio: 'ignore' }).status === 0;
    const rows = [['input', 'ours (s)', 'RSS after (MB)', nasm ? 'nasm (s)' : 'nasm', 'same bytes']];
    for (const w of WORKLOADS) {
      if (ctx.args.workload && ctx.args.workload !== w.name) continue;
      const text = w.source();
      const file = join(ctx.tmpdir, 'bench.asm');
      writeFileSync(file, text);
      const c0 = process.cpuUsage();
      const r = assemble({ path: file, source: text });
      const c = process.cpuUsage(c0);
      const ours = (c.user + c.system) / 1e6;
      if (!r.ok) throw new Error(`asm bench: ${w.name}: ${r.diagnostics[0]?.message}`);
      let theirs = 'not installed', same = '-';
      if (nasm) {
        const out = join(ctx.tmpdir, 'bench.bin');
        const t = nasmSeconds(file, out);
        theirs = typeof t === 'number' ? t.toFixed(2) : t;
        if (typeof t === 'number') same = Buffer.compare(readFileSync(out), Buffer.from(r.image.segments[0].bytes)) === 0 ? 'yes' : 'NO';
        ctx.record(`asm.${w.name}.nasm`, t);
      }
      ctx.record(`asm.${w.name}.ours`, ours);
      rows.push([w.name, ours.toFixed(2), (process.memoryUsage().rss / 2 ** 20).toFixed(0), theirs, same]);
    }
    ctx.table(rows);
  },
};
