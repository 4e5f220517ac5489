// --symbols System.map: a higher-half kernel's 64-bit addresses are kept exact (as the processor's
// sign-extended RIP numbers), function ranges run to the next symbol, bad lines are named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapAddress, parseSystemMap } from '../../vm-core/loader/system-map';
import { hex64 } from '../../vm-core/loader/image';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { launch } from '../../vm-core/vmm/launch';

const MAP = `0000000000000000 D __per_cpu_start
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81a2b3c1 t native_safe_halt
ffffffff81a2b3d7 T do_idle
ffffffff81a2b3f9 W arch_cpu_idle
ffffffff82600000 D init_task
00000000deadbeef A some_absolute
                 U undefined_symbol
`;

test('System.map addresses are exact 64-bit values (0xffffffff81a2b3c1 stays 0xffffffff81a2b3c1)', () => {
  const m = parseSystemMap(MAP, 'System.map');
  assert.ok(!('error' in m));
  const halt = m.symbols.find((s) => s.name === 'native_safe_halt')!;
  assert.equal(halt.addr, mapAddress('ffffffff81a2b3c1'));
  assert.equal(halt.addr, -0x7e5d4c3f);                         // the processor's RIP for that address
  assert.equal(hex64(halt.addr), '0xffffffff81a2b3c1');
  assert.notEqual(mapAddress('ffffffff81a2b3c1'), mapAddress('ffffffff81a2b3c0'));
  assert.equal(halt.kind, 'function');
  assert.equal(halt.size, 0x16);                                // up to do_idle
  assert.deepEqual(m.functions.find((f) => f.name === 'do_idle'), { name: 'do_idle', low: mapAddress('ffffffff81a2b3d7'), high: mapAddress('ffffffff81a2b3f9') });
  assert.equal(m.symbols.find((s) => s.name === '_text')!.size, 0xa2b3c1, 'aliases at one address share the next higher symbol');
  assert.equal(m.symbols.find((s) => s.name === 'init_task')!.kind, 'object');
  assert.equal(m.symbols.find((s) => s.name === 'some_absolute')!.kind, 'constant');
  assert.ok(!m.symbols.some((s) => s.name === 'undefined_symbol'));
});

test('bad System.map files are errors naming the file and line; the Debian placeholder says where the real one is', () => {
  const bad = parseSystemMap('ffffffff81000000 T _text\nnot a map line\n', 'S.map');
  assert.deepEqual(bad, { error: 'S.map:2: not a System.map line ("ADDRESS TYPE NAME"): "not a map line"' });
  const ph = parseSystemMap('ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n', 'S.map');
  assert.ok(!('error' in ph), 'one symbol is still a map');
  assert.match((parseSystemMap('\n', 'S.map') as { error: string }).error, /no symbols .* linux-image-\*-dbg/);
});

test('launch --symbols adds the map to the image: the debugger resolves function names to the exact address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smap-'));
  writeFileSync(join(dir, 'System.map'), MAP);
  writeFileSync(join(dir, 'g.asm'), 'bits 64\norg 0x100000\nhlt\n');
  const r = resolveLaunchOptions({ program: join(dir, 'g.asm'), symbols: join(dir, 'System.map') });
  assert.deepEqual(r.errors, []);
  const l = launch(r.options);
  assert.ok(l.ok);
  assert.equal(l.image.functions?.find((f) => f.name === 'native_safe_halt')?.low, mapAddress('ffffffff81a2b3c1'));
  const missing = launch(resolveLaunchOptions({ program: join(dir, 'g.asm'), symbols: join(dir, 'nope.map') }).options);
  assert.ok(!missing.ok && /^symbols: cannot read .*nope\.map/.test(missing.errors[0]));
});

test('ELF64 symbols of a higher-half kernel (linked at 0xffffffff81000001, loaded at 16 MiB) have the same exact addresses', (t) => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  if (spawnSync('as', ['--version']).status !== 0 || spawnSync('ld', ['--version']).status !== 0) { t.skip('binutils (as, ld) not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'hh-'));
  writeFileSync(join(dir, 'k.s'), '.text\n.globl startup_64\nstartup_64:\n  nop\n  .skip 0x1c0\n.globl native_safe_halt\n.type native_safe_halt,@function\nnative_safe_halt:\n  sti\n  hlt\n  ret\n');
  const as = spawnSync('as', ['--64', '-o', 'k.o', 'k.s'], { cwd: dir });
  // Linked high, loaded at 16 MiB (AT), as vmlinux's PT_LOADs are.
  writeFileSync(join(dir, 'k.ld'), 'ENTRY(startup_64)\nSECTIONS { . = 0xffffffff81000001; .text : AT(0x1000001) { *(.text) } }\n');
  const ld = spawnSync('ld', ['-T', 'k.ld', '-o', 'k.elf', 'k.o'], { cwd: dir });
  assert.equal(as.status, 0, as.stderr?.toString()); assert.equal(ld.status, 0, ld.stderr?.toString());
  const { loadElfFile } = require('../../vm-core/loader/elf') as typeof import('../../vm-core/loader/elf');
  const r = loadElfFile(join(dir, 'k.elf'));
  assert.ok(r.ok);
  const s = r.image.symbols.find((x) => x.name === 'native_safe_halt')!;
  assert.equal(hex64(s.addr), '0xffffffff810001c2');
  assert.equal(s.addr, mapAddress('ffffffff810001c2'));
});
