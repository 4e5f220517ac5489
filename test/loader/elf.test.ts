// ELF + DWARF loading of guests built by the host toolchain, checked against binutils.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { checkAll, loadOk } from './elf-check';
import { missing, run, tryRun, workDir, write } from './elf-toolchain';
import { writeCSources, writeGasSource, writeNasmSource } from './elf-sources';

const CFLAGS = ['-ffreestanding', '-nostdlib', '-static', '-g', '-O0', '-fno-pie', '-no-pie', '-fno-asynchronous-unwind-tables'];

function buildC(out: string, extra: string[]): string {
  const { main, util } = writeCSources();
  run('gcc', [...CFLAGS, ...extra, main, util, '-o', out]);
  return posix.join(workDir(), out);
}

for (const dwarf of [2, 3, 4, 5]) {
  test(`gcc -gdwarf-${dwarf} x86-64 executable: bytes, entry, symbols, lines and functions match binutils`, (t) => {
    const m = missing('gcc', 'readelf', 'nm', 'addr2line', 'objcopy');
    if (m) return t.skip(`${m} not installed`);
    const elf = buildC(`c64-dwarf${dwarf}`, [`-gdwarf-${dwarf}`]);
    const image = checkAll(elf);
    assert.equal(image.format, 'elf64');
    assert.equal(image.bits, 64);
    const kinds = Object.fromEntries(image.symbols.map((s) => [s.name, s.kind]));
    assert.equal(kinds._start, 'function');
    assert.equal(kinds.helper, 'function');
    assert.equal(kinds.counter, 'object');
    assert.equal(kinds.banner, 'object');
    // Functions come from .debug_info with their declaration coordinates.
    const helper = image.functions!.find((f) => f.name === 'helper')!;
    assert.equal(helper.file, posix.join(workDir(), 'main.c'));
    assert.equal(helper.line, 6);
    const acc = image.functions!.find((f) => f.name === 'accumulate')!;
    assert.equal(acc.file, posix.join(workDir(), 'util.c'));
    assert.equal(acc.line, 3);
    // The inline header in a subdirectory is found through include_directories.
    assert.ok(image.lines.some((e) => e.file === posix.join(workDir(), 'inc/mathx.h') && e.line === 2));
    // .bss is zero-filled past the file bytes.
    const bss = image.symbols.find((s) => s.name === 'table')!;
    const seg = image.segments.find((s) => bss.addr >= s.addr && bss.addr < s.addr + s.memSize)!;
    assert.ok(bss.addr - seg.addr >= seg.bytes.length, 'table lives in the zero-filled part of its segment');
  });
}

test('gcc -O2 -gdwarf-5 (inlining, discriminators, several sequences) matches addr2line', (t) => {
  const m = missing('gcc', 'readelf', 'nm', 'addr2line', 'objcopy');
  if (m) return t.skip(`${m} not installed`);
  checkAll(buildC('c64-O2', ['-O2', '-gdwarf-5', '-ffunction-sections']));
});

test('gcc -ffunction-sections -Wl,--gc-sections drops line rows of discarded code', (t) => {
  const m = missing('gcc', 'readelf', 'nm', 'addr2line', 'objcopy');
  if (m) return t.skip(`${m} not installed`);
  write('dead.c', 'int dead_code(int x) { return x * 3; }\nint live(int x) { return x + 1; }\n');
  write('gcmain.c', 'int live(int x);\nvoid _start(void) { live(2); for (;;) {} }\n');
  run('gcc', [...CFLAGS, '-gdwarf-4', '-ffunction-sections', '-Wl,--gc-sections', 'gcmain.c', 'dead.c', '-o', 'gc']);
  const image = checkAll(posix.join(workDir(), 'gc'));
  assert.ok(!image.functions!.some((f) => f.name === 'dead_code'), 'a discarded function is not in the call-stack list');
});

test('gcc -m32 ELF32 executable matches binutils', (t) => {
  const m = missing('gcc', 'readelf', 'nm', 'addr2line', 'objcopy');
  if (m) return t.skip(`${m} not installed`);
  const { main, util } = writeCSources();
  if (tryRun('gcc', [...CFLAGS, '-m32', '-gdwarf-4', main, util, '-o', 'c32']) === undefined) {
    return t.skip('gcc -m32 does not link here (no 32-bit multilib: install gcc-multilib)');
  }
  const image = checkAll(posix.join(workDir(), 'c32'));
  assert.equal(image.format, 'elf32');
  assert.equal(image.bits, 32);
  if (tryRun('gcc', [...CFLAGS, '-m32', '-gdwarf-5', main, util, '-o', 'c32-5']) !== undefined) checkAll(posix.join(workDir(), 'c32-5'));
});

for (const [label, flags] of [['as -g', ['-g']], ['as --gdwarf-5', ['--gdwarf-5']], ['as --gdwarf-3', ['--gdwarf-3']]] as const) {
  test(`${label} x86-64 assembly maps every instruction to its source line`, (t) => {
    const m = missing('as', 'ld', 'readelf', 'nm', 'addr2line', 'objcopy');
    if (m) return t.skip(`${m} not installed`);
    const src = writeGasSource('gas64.s', 64);
    const tag = flags[0].replace(/-/g, '');
    run('as', [...flags, src, '-o', `gas64${tag}.o`]);
    run('ld', [`gas64${tag}.o`, '-o', `gas64${tag}`]);
    const image = checkAll(posix.join(workDir(), `gas64${tag}`));
    const first = image.lines[0];
    assert.equal(first.file, src);
    assert.equal(first.line, 4, 'mov $1, %eax is line 4');
    assert.equal(image.symbols.find((s) => s.name === 'loop')?.kind, 'label');
    assert.equal(image.symbols.find((s) => s.name === 'func')?.kind, 'function');
    // No .debug_info subprograms: functions fall back to the symbol table.
    assert.ok(image.functions!.some((f) => f.name === 'func' && f.high - f.low === 3));
  });
}

test('as --32 -g with ld -m elf_i386 gives an ELF32 image', (t) => {
  const m = missing('as', 'ld', 'readelf', 'nm', 'addr2line', 'objcopy');
  if (m) return t.skip(`${m} not installed`);
  const src = writeGasSource('gas32.s', 32);
  if (tryRun('as', ['--32', '-g', src, '-o', 'gas32.o']) === undefined || tryRun('ld', ['-m', 'elf_i386', 'gas32.o', '-o', 'gas32']) === undefined) {
    return t.skip('binutils here cannot produce i386 ELF');
  }
  assert.equal(checkAll(posix.join(workDir(), 'gas32')).format, 'elf32');
});

for (const bits of [64, 32] as const) {
  test(`nasm -f elf${bits} -g -F dwarf maps lines and labels`, (t) => {
    const m = missing('nasm', 'ld', 'readelf', 'nm', 'addr2line', 'objcopy');
    if (m) return t.skip(`${m} not installed (apt-get install nasm)`);
    const src = writeNasmSource(`n${bits}.asm`, bits);
    run('nasm', [`-felf${bits}`, '-g', '-F', 'dwarf', src, '-o', `n${bits}.o`]);
    if (tryRun('ld', [...(bits === 32 ? ['-m', 'elf_i386'] : []), `n${bits}.o`, '-o', `n${bits}`]) === undefined) {
      return t.skip(`ld cannot link elf${bits} here`);
    }
    const image = checkAll(posix.join(workDir(), `n${bits}`));
    assert.equal(image.lines[0].file, src);
    assert.equal(image.lines[0].line, 5);
    assert.ok(image.symbols.some((s) => s.name === '_start.loop' || s.name === '.loop'));
  });
}

test('zlib-compressed debug sections (SHF_COMPRESSED) give the same line map', (t) => {
  const m = missing('gcc', 'objcopy', 'readelf', 'nm', 'addr2line');
  if (m) return t.skip(`${m} not installed`);
  const plain = buildC('cz-plain', ['-gdwarf-5']);
  run('objcopy', ['--compress-debug-sections=zlib', plain, posix.join(workDir(), 'cz-zlib')]);
  const flags = run('readelf', ['-SW', posix.join(workDir(), 'cz-zlib')]);
  assert.match(flags, /\.debug_line\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+C/, 'objcopy compressed .debug_line');
  const a = loadOk(plain), b = loadOk(posix.join(workDir(), 'cz-zlib'));
  assert.deepEqual(b.lines, a.lines);
  assert.deepEqual(b.functions, a.functions);
  if (tryRun('objcopy', ['--compress-debug-sections=zlib-gnu', plain, posix.join(workDir(), 'cz-gnu')]) !== undefined) {
    assert.deepEqual(loadOk(posix.join(workDir(), 'cz-gnu')).lines, a.lines, 'legacy .zdebug_* sections');
  }
});

test('segments are placed at p_paddr; p_vaddr is kept beside it (linker script AT())', (t) => {
  const m = missing('as', 'ld');
  if (m) return t.skip(`${m} not installed`);
  const src = writeGasSource('gas-lma.s', 64);
  write('lma.ld', `ENTRY(_start)
SECTIONS {
  . = 0xc0100000;
  .text : AT(0x100000) { *(.text) }
  .data : AT(0x200000) { *(.data) }
  .bss : { *(.bss) }
}
`);
  run('as', ['-g', src, '-o', 'gas-lma.o']);
  run('ld', ['-T', 'lma.ld', 'gas-lma.o', '-o', 'gas-lma']);
  const image = loadOk(posix.join(workDir(), 'gas-lma'));
  const text = image.segments.find((s) => s.flags?.x)!;
  assert.equal(text.addr, 0x100000);
  assert.equal(text.vaddr, 0xc0100000);
  assert.equal(image.entry, 0xc0100000, 'entry stays the ELF e_entry (virtual)');
  assert.equal(image.lines[0].addr, 0xc0100000, 'lines are in link-time (virtual) addresses');
  assert.equal(image.lines[0].file, src);
});

test('static-pie (ET_DYN) loads at its link addresses with a warning', (t) => {
  const m = missing('gcc');
  if (m) return t.skip(`${m} not installed`);
  write('pie.c', 'int v = 3;\nvoid _start(void) { v++; for (;;) {} }\n');
  if (tryRun('gcc', ['-ffreestanding', '-nostdlib', '-static-pie', '-fpie', '-g', '-O0', 'pie.c', '-o', 'pie']) === undefined) {
    return t.skip('gcc -static-pie does not link here');
  }
  const { loadElfFile } = require('../../vm-core/loader/elf') as typeof import('../../vm-core/loader/elf');
  const r = loadElfFile(posix.join(workDir(), 'pie'));
  assert.ok(r.ok);
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && /ET_DYN/.test(d.message)));
  assert.ok(r.image.lines.some((e) => e.line === 2));
});
