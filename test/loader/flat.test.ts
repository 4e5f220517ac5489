// Flat binaries (boot sector at 0x7C00, firmware ending at 0xFFFFFFFF) and loadImage's format sniffing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_SECTOR_ADDRESS, RESET_VECTOR, loadFlatFile, parseFlat } from '../../vm-core/loader/flat';
import { loadImage, sniffImageKind } from '../../vm-core/loader/load-image';

const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-flat-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function bootSector(): Uint8Array {
  const b = new Uint8Array(512);
  b.set([0xfa, 0xf4, 0xeb, 0xfd]); // cli; hlt; jmp $-1
  b[510] = 0x55; b[511] = 0xaa;
  return b;
}

test('a flat binary loads at 0x7C00 by default, entered there in 16-bit mode', () => {
  const r = parseFlat(bootSector(), 'boot.bin');
  assert.ok(r.ok);
  assert.deepEqual(r.diagnostics, []);
  const im = r.image;
  assert.equal(im.format, 'flat');
  assert.equal(BOOT_SECTOR_ADDRESS, 0x7c00);
  assert.equal(im.entry, 0x7c00);
  assert.equal(im.bits, 16);
  assert.equal(im.segments.length, 1);
  assert.equal(im.segments[0].addr, 0x7c00);
  assert.equal(im.segments[0].memSize, 512);
  assert.deepEqual(Array.from(im.segments[0].bytes.subarray(0, 4)), [0xfa, 0xf4, 0xeb, 0xfd]);
  assert.deepEqual(im.lines, []);
  assert.deepEqual(im.symbols, []);
});

test('a load address, entry and bits can be given', () => {
  const r = parseFlat(new Uint8Array(64), 'k.bin', { loadAddress: 0x100000, entry: 0x100010, bits: 32 });
  assert.ok(r.ok);
  assert.equal(r.image.segments[0].addr, 0x100000);
  assert.equal(r.image.entry, 0x100010);
  assert.equal(r.image.bits, 32);
});

test("placement 'reset' puts the last byte at 0xFFFFFFFF and enters at the RESET vector 0xFFFFFFF0", () => {
  const fw = new Uint8Array(0x10000);
  fw.set([0xea, 0x5b, 0xe0, 0x00, 0xf0], 0xfff0); // jmp far f000:e05b
  const r = parseFlat(fw, 'fw.bin', { placement: 'reset' });
  assert.ok(r.ok);
  assert.deepEqual(r.diagnostics, []);
  const seg = r.image.segments[0];
  assert.equal(seg.addr, 0xffff0000);
  assert.equal(seg.addr + seg.memSize - 1, 0xffffffff);
  assert.equal(r.image.entry, RESET_VECTOR);
  assert.equal(seg.bytes[RESET_VECTOR - seg.addr], 0xea);
  // A tiny firmware that does not reach the reset vector still loads, with a warning.
  const tiny = parseFlat(new Uint8Array(8), 'tiny.bin', { placement: 'reset' });
  assert.ok(tiny.ok);
  assert.equal(tiny.image.segments[0].addr, 0xfffffff8);
  assert.match(tiny.diagnostics[0].message, /does not cover|without covering the RESET vector/);
  // A 4 GiB image fills the whole 32-bit space.
  assert.equal(parseFlat(new Uint8Array(16), 'x', { placement: 'reset', loadAddress: 5 }).diagnostics[0].severity, 'warning');
});

test('sizes and addresses are validated with diagnostics, never exceptions', () => {
  const e = (r: ReturnType<typeof parseFlat>) => { assert.equal(r.ok, false); return r.diagnostics[0].message; };
  assert.equal(e(parseFlat(new Uint8Array(0), 'empty.bin')), 'flat: image is empty (0 bytes): nothing to load');
  // A >4 GiB image is not allocated here: the size check runs on a view that claims it.
  const huge = { length: 0x1_0000_0001 } as unknown as Uint8Array;
  assert.match(e(parseFlat(huge, 'huge.bin')), /4294967297 bytes; a flat binary must be at most 4 GiB/);
  assert.match(e(parseFlat(new Uint8Array(4), 'neg.bin', { loadAddress: -1 })), /load address -1 is not a non-negative integer/);
  assert.match(e(parseFlat(new Uint8Array(4), 'far.bin', { loadAddress: 2 ** 52 - 2 })), /runs past the 52-bit guest-physical address space/);
  const outside = parseFlat(new Uint8Array(4), 'o.bin', { entry: 0x10 });
  assert.ok(outside.ok);
  assert.match(outside.diagnostics[0].message, /entry 0x10 is outside the image \[0x7C00, 0x7C04\)/);
  const missingFile = loadFlatFile(join(dir, 'nope.bin'));
  assert.equal(missingFile.ok, false);
  assert.match(missingFile.diagnostics[0].message, /^flat: cannot read file: ENOENT/);
  assert.equal(missingFile.diagnostics[0].file, join(dir, 'nope.bin'));
});

test('loadImage sniffs ELF magic, assembly extensions and falls back to flat', () => {
  const bin = join(dir, 'boot.img');
  writeFileSync(bin, bootSector());
  assert.equal(sniffImageKind(bin), 'flat');
  const flat = loadImage(bin);
  assert.ok(flat.ok);
  assert.equal(flat.image.format, 'flat');
  assert.equal(flat.image.path, bin);

  const fakeElf = join(dir, 'prog.asm'); // ELF magic wins over the extension
  writeFileSync(fakeElf, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(sniffImageKind(fakeElf), 'elf');
  const r = loadImage(fakeElf);
  assert.equal(r.ok, false);
  assert.match(r.diagnostics[0].message, /^elf: ELF header at offset 0x4: invalid class 9/);

  for (const ext of ['.asm', '.nasm', '.ASM']) {
    const src = join(dir, `guest${ext}`);
    writeFileSync(src, 'bits 16\norg 0x7c00\nhlt\n');
    assert.equal(sniffImageKind(src), 'asm');
    const a = loadImage(src);
    assert.ok(a.ok);
    assert.equal(a.image.format, 'asm');
  }
  // GNU as sources are not NASM: they are built into ELF by the user's toolchain.
  writeFileSync(join(dir, 'gnu.s'), 'hlt\n');
  assert.equal(sniffImageKind(join(dir, 'gnu.s')), 'flat');
  const forced = loadImage(join(dir, 'guest.asm'), { format: 'flat', loadAddress: 0x1000 });
  assert.ok(forced.ok);
  assert.equal(forced.image.segments[0].addr, 0x1000);
  const none = loadImage(join(dir, 'missing.bin'));
  assert.equal(none.ok, false);
});

test('loadImage assembles .asm sources with the built-in assembler', () => {
  const { mkdtempSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { join } = require('node:path') as typeof import('node:path');
  const { loadImage } = require('../../vm-core/loader/load-image') as typeof import('../../vm-core/loader/load-image');
  const dir = mkdtempSync(join(tmpdir(), 'kvmg-asm-'));
  const good = join(dir, 'g.asm');
  writeFileSync(good, 'bits 16\norg 0x7c00\nstart: mov ax, 1\nhlt\n');
  const r = loadImage(good, {});
  assert.ok(r.ok);
  if (r.ok) {
    assert.equal(r.image.format, 'asm');
    assert.deepEqual(Array.from(r.image.segments[0].bytes), [0xb8, 0x01, 0x00, 0xf4]);
    assert.equal(r.image.segments[0].addr, 0x7c00);
  }
  const bad = join(dir, 'b.asm');
  writeFileSync(bad, 'movv ax, 1\n');
  const rb = loadImage(bad, {});
  assert.equal(rb.ok, false);
  assert.match(rb.diagnostics[0].message, /movv/);
  assert.equal(rb.diagnostics[0].line, 1);
});
