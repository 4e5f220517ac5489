// Shared assertions of the ELF tests: an image loaded by loadElfFile against binutils' view of the same file.
import assert from 'node:assert/strict';
import type { GuestImage } from '../../vm-core/loader/image';
import { lineForAddress } from '../../vm-core/loader/image';
import { loadElfFile } from '../../vm-core/loader/elf';
import { addr2line, hasTool, lineTableVersion, nmSymbols, objcopyBinary, readelfSections, run } from './elf-toolchain';

/** Byte of guest memory at `addr` as the image places it (0 in .bss), or undefined outside every segment. */
export function byteAt(image: GuestImage, addr: number): number | undefined {
  for (const s of image.segments) {
    if (addr >= s.addr && addr < s.addr + s.memSize) return addr - s.addr < s.bytes.length ? s.bytes[addr - s.addr] : 0;
  }
  return undefined;
}

export function loadOk(elf: string): GuestImage {
  const r = loadElfFile(elf);
  if (!r.ok) assert.fail(`load failed: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  assert.deepEqual(r.diagnostics.map((d) => d.message), [], 'a well-formed ELF loads without diagnostics');
  return r.image;
}

/** Loaded bytes equal `objcopy -O binary` for every allocated section; .bss reads as zero. */
export function checkBytes(elf: string, image: GuestImage): void {
  const secs = readelfSections(elf).filter((s) => s.flags.includes('A') && s.size > 0);
  const withData = secs.filter((s) => s.type !== 'NOBITS');
  const bin = objcopyBinary(elf);
  const base = Math.min(...withData.map((s) => s.addr));
  for (const s of withData) {
    for (let i = 0; i < s.size; i++) {
      const got = byteAt(image, s.addr + i);
      if (got !== bin[s.addr - base + i]) assert.fail(`${s.name}+${i.toString(16)}: image has ${got}, objcopy has ${bin[s.addr - base + i]}`);
    }
  }
  for (const s of secs.filter((x) => x.type === 'NOBITS')) {
    for (let i = 0; i < s.size; i += 1) assert.equal(byteAt(image, s.addr + i), 0, `${s.name}+${i.toString(16)} is zero-filled`);
  }
}

export function checkEntry(elf: string, image: GuestImage): void {
  const m = /Entry point address:\s+0x([0-9a-f]+)/.exec(run('readelf', ['-h', elf]));
  assert.ok(m);
  assert.equal(image.entry, parseInt(m[1], 16));
}

/** Every symbol nm lists in a section (or absolute) is in the image at the same address. */
export function checkSymbols(elf: string, image: GuestImage): number {
  let n = 0;
  for (const s of nmSymbols(elf)) {
    if (!/[TtDdBbRrA]/.test(s.type)) continue;
    const mine = image.symbols.find((x) => x.name === s.name && x.addr === s.addr);
    assert.ok(mine, `nm symbol ${s.name} at 0x${s.addr.toString(16)} is in image.symbols`);
    if (s.size !== undefined) assert.equal(mine.size, s.size, `size of ${s.name}`);
    n++;
  }
  return n;
}

/**
 * The line map agrees with addr2line for every address of every executable section.
 * llvm-addr2line is the reference where installed; GNU addr2line is checked too, but binutils
 * 2.40 numbers DWARF 5 files from 1 (so names the wrong file), so there only line numbers are compared.
 */
export function checkLines(elf: string, image: GuestImage): number {
  const addrs: number[] = [];
  for (const s of readelfSections(elf)) {
    if (s.flags.includes('X') && s.type !== 'NOBITS') for (let a = s.addr; a < s.addr + s.size; a++) addrs.push(a);
  }
  const got = addrs.map((a) => {
    const e = lineForAddress(image.lines, a);
    return e ? `${e.file}:${e.line}` : undefined;
  });
  const compare = (want: (string | undefined)[], tool: string, lineOnly: boolean) => {
    const bad: string[] = [];
    const norm = (s: string | undefined) => (s && lineOnly ? s.slice(s.lastIndexOf(':')) : s);
    addrs.forEach((a, i) => {
      if (norm(got[i]) !== norm(want[i])) bad.push(`0x${a.toString(16)}: got ${got[i]}, ${tool} ${want[i]}`);
    });
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${addrs.length} addresses differ from ${tool}`);
  };
  if (hasTool('llvm-addr2line')) compare(addr2line(elf, addrs, 'llvm-addr2line'), 'llvm-addr2line', false);
  compare(addr2line(elf, addrs), 'addr2line', lineTableVersion(elf) >= 5);
  for (let i = 1; i < image.lines.length; i++) {
    const p = image.lines[i - 1], e = image.lines[i];
    assert.ok(p.addr + p.size <= e.addr, 'lines are sorted and non-overlapping');
  }
  const mapped = got.filter(Boolean).length;
  assert.ok(mapped > 0, 'some addresses map to source lines');
  return mapped;
}

/** Sized function symbols appear in image.functions with the same range. */
export function checkFunctions(elf: string, image: GuestImage): void {
  const fns = image.functions ?? [];
  for (const s of nmSymbols(elf)) {
    if (!/[Tt]/.test(s.type) || !s.size) continue;
    const f = fns.find((x) => x.low === s.addr);
    assert.ok(f, `function ${s.name} at 0x${s.addr.toString(16)} is in image.functions`);
    assert.equal(f.name, s.name);
    assert.equal(f.high, s.addr + s.size, `end of ${s.name}`);
  }
}

export function checkAll(elf: string): GuestImage {
  const image = loadOk(elf);
  checkEntry(elf, image);
  checkBytes(elf, image);
  checkSymbols(elf, image);
  checkLines(elf, image);
  checkFunctions(elf, image);
  return image;
}
