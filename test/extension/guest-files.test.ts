// Which files the extension treats as guest images (F5 with no launch.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elfForSource, guestFileKind, isElfFile, programForFile } from '../../extension/guest-files';

const dir = mkdtempSync(join(tmpdir(), 'guest-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);

test('guest assembly sources by extension or language id; GNU as .s is not ours', () => {
  assert.equal(guestFileKind(file('a.asm', 'hlt\n')), 'asm');
  assert.equal(guestFileKind(file('a.nasm', 'hlt\n')), 'asm');
  assert.equal(guestFileKind(file('a.inc', '%define X 1\n')), 'asm');
  assert.equal(guestFileKind(file('b.txt', 'hlt\n'), 'guest-asm'), 'asm');
  assert.equal(guestFileKind(file('gnu.s', 'hlt\n')), undefined);
});

test('ELF images by their magic, whatever the name; flat binaries by extension', () => {
  assert.equal(isElfFile(file('kernel', ELF)), true);
  assert.equal(guestFileKind(join(dir, 'kernel')), 'elf');
  assert.equal(guestFileKind(file('boot.bin', new Uint8Array([0xf4]))), 'flat');
  assert.equal(isElfFile(file('short', new Uint8Array([0x7f, 0x45]))), false);
  assert.equal(isElfFile(join(dir, 'does-not-exist')), false);
  assert.equal(isElfFile(dir), false);
});

test('a C source of an ELF guest maps to the executable built beside it', () => {
  const src = file('guest.c', 'int main(void) { return 0; }\n');
  assert.deepEqual(programForFile(src, 'c').hasOwnProperty('reason'), true);
  const elf = file('guest.elf', ELF);
  assert.equal(elfForSource(src), elf);
  assert.deepEqual(programForFile(src, 'c'), { program: elf });
  file('guest', ELF);
  assert.equal(elfForSource(src), join(dir, 'guest'), 'the plain stem is preferred');
});

test('other files are refused with a reason naming them', () => {
  const r = programForFile(file('notes.md', '# hi\n'), 'markdown');
  assert.ok('reason' in r && r.reason.includes('notes.md'));
});
