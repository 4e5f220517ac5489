// Malformed and truncated ELF/DWARF input: diagnostics name the section and file offset, and
// thousands of truncations and bit flips of real executables never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parseElf } from '../../vm-core/loader/elf';
import type { LoadResult } from '../../vm-core/loader/image';
import { missing, readelfSections, run, tryRun, workDir } from './elf-toolchain';
import { writeCSources } from './elf-sources';

const CFLAGS = ['-ffreestanding', '-nostdlib', '-static', '-g', '-O0', '-fno-pie', '-no-pie'];

function build(name: string, extra: string[]): Uint8Array | undefined {
  const { main, util } = writeCSources();
  if (tryRun('gcc', [...CFLAGS, ...extra, main, util, '-o', name]) === undefined) return undefined;
  return readFileSync(posix.join(workDir(), name));
}

/** Section file ranges from readelf, to aim mutations at headers and debug sections. */
function sectionRange(name: string, elf: string): { offset: number; size: number } | undefined {
  const out = run('readelf', ['-SW', posix.join(workDir(), elf)]);
  const re = new RegExp(`\\]\\s+${name.replace('.', '\\.')}\\s+\\S+\\s+[0-9a-f]+\\s+([0-9a-f]+)\\s+([0-9a-f]+)`);
  const m = re.exec(out);
  return m ? { offset: parseInt(m[1], 16), size: parseInt(m[2], 16) } : undefined;
}

// xorshift32: a deterministic PRNG so a failure reproduces.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x1_0000_0000; };
}

function assertSane(r: LoadResult, what: string): void {
  assert.equal(typeof r.ok, 'boolean', what);
  for (const d of r.diagnostics) assert.match(d.message, /^elf: /, `${what}: ${d.message}`);
  if (!r.ok) { assert.ok(r.diagnostics.some((d) => d.severity === 'error'), `${what}: a failed load says why`); return; }
  const lines = r.image.lines;
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1].addr + lines[i - 1].size <= lines[i].addr, `${what}: lines stay sorted`);
}

function parseNoThrow(bytes: Uint8Array, what: string): LoadResult {
  let r: LoadResult | undefined;
  try { r = parseElf(bytes, 'fuzz.elf'); } catch (e) { assert.fail(`${what}: parseElf threw ${(e as Error).stack}`); }
  assertSane(r, what);
  return r;
}

test('fuzz: thousands of truncations and bit flips of real ELF64/ELF32 executables never throw', (t) => {
  const m = missing('gcc', 'readelf');
  if (m) return t.skip(`${m} not installed`);
  const inputs: [string, Uint8Array][] = [];
  for (const [name, flags] of [['fz5', ['-gdwarf-5']], ['fz4', ['-gdwarf-4']], ['fz2', ['-gdwarf-2']], ['fz32', ['-m32', '-gdwarf-5']]] as const) {
    const b = build(name, [...flags]);
    if (b) inputs.push([name, b]);
  }
  assert.ok(inputs.length >= 3);
  let runs = 0;
  for (const [name, orig] of inputs) {
    const rand = rng(0x9e3779b9 ^ orig.length);
    const targets = ['.debug_line', '.debug_info', '.debug_abbrev', '.debug_str', '.debug_line_str', '.symtab']
      .map((s) => sectionRange(s, name)).filter((x): x is { offset: number; size: number } => !!x);
    const pick = (): number => {
      const k = rand();
      if (k < 0.2) return Math.floor(rand() * 0x140); // ELF header and program headers
      if (k < 0.8 && targets.length) { const s = targets[Math.floor(rand() * targets.length)]; return s.offset + Math.floor(rand() * s.size); }
      return Math.floor(rand() * orig.length);
    };
    // Every truncation length in the headers, and random ones through the file.
    for (let n = 0; n < 0x200; n++) { parseNoThrow(orig.subarray(0, n), `${name} truncated to ${n}`); runs++; }
    for (let i = 0; i < 400; i++) { const n = Math.floor(rand() * orig.length); parseNoThrow(orig.subarray(0, n), `${name} truncated to ${n}`); runs++; }
    for (let i = 0; i < 1500; i++) {
      const b = orig.slice();
      const flips = 1 + Math.floor(rand() * 6);
      const where: number[] = [];
      for (let f = 0; f < flips; f++) {
        const at = pick();
        if (rand() < 0.7) b[at] ^= 1 << Math.floor(rand() * 8);
        else b[at] = rand() < 0.5 ? 0xff : 0x00;
        where.push(at);
      }
      parseNoThrow(b, `${name} mutated at ${where.map((w) => w.toString(16)).join(',')}`);
      runs++;
    }
  }
  t.diagnostic(`${runs} mutated inputs parsed`);
});

test('a truncated line program header is reported with section name and file offset', (t) => {
  const m = missing('gcc', 'readelf');
  if (m) return t.skip(`${m} not installed`);
  const orig = build('trunc5', ['-gdwarf-5']);
  assert.ok(orig);
  const dl = sectionRange('.debug_line', 'trunc5')!;
  // Make the first unit's header_length point past the unit (DWARF 5 §6.2.4: it follows version, address_size, seg_sel_size).
  const b = orig.slice();
  new DataView(b.buffer).setUint32(dl.offset + 4 + 2 + 2, 0xfff0, true);
  const r = parseNoThrow(b, 'bad header_length');
  assert.ok(r.ok, 'bad debug info still loads the image');
  const msg = r.diagnostics.map((d) => d.message).find((x) => x.includes('.debug_line'));
  assert.equal(msg, `elf: section .debug_line at offset 0x${(dl.offset + 12).toString(16)}: header_length runs past the end of the line program (unit at 0x0)`);
  assert.ok(r.image.lines.length > 0, 'the other compilation unit still has lines');
  assert.equal(r.diagnostics[0].severity, 'warning');
});

test('a unit_length past the end of .debug_line names section and offset', (t) => {
  const m = missing('gcc', 'readelf');
  if (m) return t.skip(`${m} not installed`);
  const orig = build('trunc5b', ['-gdwarf-5']);
  assert.ok(orig);
  const dl = sectionRange('.debug_line', 'trunc5b')!;
  const b = orig.slice();
  new DataView(b.buffer).setUint32(dl.offset, 0x7fffffff, true);
  const r = parseNoThrow(b, 'bad unit_length');
  assert.ok(r.ok);
  assert.ok(r.diagnostics.some((d) => d.message === `elf: section .debug_line at offset 0x${(dl.offset + 4).toString(16)}: line program header length 0x7fffffff runs past the end of the section (unit at 0x0)`),
    r.diagnostics.map((d) => d.message).join('\n'));
});

test('a .debug_info section running past the end of the file is reported with its offset', (t) => {
  const m = missing('gcc', 'readelf');
  if (m) return t.skip(`${m} not installed`);
  const orig = build('trunc4', ['-gdwarf-4']);
  assert.ok(orig);
  const di = readelfSections(posix.join(workDir(), 'trunc4')).find((s) => s.name === '.debug_info')!;
  const range = sectionRange('.debug_info', 'trunc4')!;
  const b = orig.slice();
  const dv = new DataView(b.buffer);
  const shoff = Number(dv.getBigUint64(40, true));
  // gABI Elf64_Shdr: sh_size is at +32 in the 64-byte entry.
  dv.setBigUint64(shoff + di.index * 64 + 32, BigInt(b.length), true);
  const r = parseNoThrow(b, 'sh_size past the end');
  assert.ok(r.ok, 'the image loads; only its debug info is lost');
  assert.ok(r.diagnostics.some((d) => d.message === `elf: section .debug_info at offset 0x${range.offset.toString(16)}: truncated section: needs 0x${b.length.toString(16)} bytes, file ends at 0x${b.length.toString(16)}`),
    r.diagnostics.map((d) => d.message).join('\n'));
  assert.ok(r.image.lines.length > 0, '.debug_line alone still gives the line map');
  // A file cut inside .debug_info loses the section headers at its end: segments still load.
  const cut = parseNoThrow(orig.subarray(0, range.offset + 10), 'cut in .debug_info');
  assert.ok(cut.ok);
  assert.deepEqual(cut.image.lines, []);
});

test('header errors: bad magic, big-endian, ET_REL, non-x86, truncated program headers', () => {
  const e = (bytes: Uint8Array) => { const r = parseNoThrow(bytes, 'header'); assert.equal(r.ok, false); return r.diagnostics[0].message; };
  assert.equal(e(new Uint8Array([1, 2, 3, 4])), 'elf: ELF header at offset 0x0: not an ELF file (bad magic)');
  const h = new Uint8Array(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]);
  assert.match(e(h), /offset 0x5: data encoding 2 is not little-endian/);
  h[5] = 1;
  const dv = new DataView(h.buffer);
  dv.setUint16(16, 1, true);
  assert.match(e(h), /ET_REL.*link it/);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, 40, true); // EM_ARM
  assert.match(e(h), /offset 0x12: e_machine 40 is not x86/);
  dv.setUint16(18, 62, true);
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 2, true);
  assert.equal(e(h), 'elf: program header 0 at offset 0x40: truncated program header table');
  assert.match(e(h.subarray(0, 40)), /truncated ELF header \(40 of 64 bytes\)/);
});
