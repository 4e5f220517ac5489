// The DWARF line-number program (DWARF 5 §6.2) on hand-written programs: every standard and
// extended opcode, headers of versions 2-5, 64-bit DWARF, DWARF 5 entry formats, and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../../vm-core/loader/dwarf/byte-reader';
import { readLineProgramHeader, runLineProgram } from '../../vm-core/loader/dwarf/line-program';
import { readDwarf } from '../../vm-core/loader/dwarf/read-dwarf';
import type { DebugSections } from '../../vm-core/loader/dwarf/sections';
import { Bytes, StrTab, lineProgram, op, unit } from './dwarf-builder';

function rowsOf(b: Bytes, secs: DebugSections = {}, compDir?: string) {
  const r = new ByteReader(Uint8Array.from(b.b));
  const hdr = readLineProgramHeader(r, secs, { compDir }, 8);
  return { hdr, rows: runLineProgram(r, hdr).map((x) => [x.address, x.file, x.line, x.column, x.isStmt ? 1 : 0, x.discriminator, x.endSequence ? 'end' : ''] as const) };
}

function dwarfOf(secs: DebugSections) {
  const problems: string[] = [];
  const res = readDwarf(secs, 8, (s, off, msg) => problems.push(`${s.name}@0x${off.toString(16)}: ${msg}`));
  return { ...res, problems };
}

/** The same program body for every version: exercises each opcode once. */
function body(b: Bytes, fileA: number, fileB: number, defineFile: boolean) {
  op.setAddress(b, 0x401000);
  op.copy(b);                           // 0x401000 line 1
  op.special(b, 3, 1);                  // 0x401003 line 2
  op.setColumn(b, 7);
  op.advancePc(b, 0x20);
  op.advanceLine(b, 40);
  op.copy(b);                           // 0x401023 line 42 col 7
  op.setFile(b, fileB);
  op.advanceLine(b, -30);
  op.constAddPc(b);                     // +17 with opcode_base 13, line_range 14
  op.negateStmt(b);
  op.basicBlock(b);
  op.prologueEnd(b);
  op.epilogueBegin(b);
  op.setIsa(b, 1);
  op.setDiscriminator(b, 3);
  op.copy(b);                           // 0x401034 line 12 file B, not stmt, discriminator 3
  op.negateStmt(b);
  op.fixedAdvancePc(b, 0x100);
  op.setFile(b, fileA);
  op.special(b, 0, 0);                  // 0x401134 line 12 file A, discriminator reset to 0
  if (defineFile) { op.defineFile(b, 'gen.s', 0); op.setFile(b, 3); op.special(b, 2, 5); }
  b.u8(0).uleb(3).u8(0x80, 0xaa, 0xbb); // an unknown extended opcode is skipped by its length
  op.advancePc(b, 4);
  op.endSequence(b);
}

for (const version of [2, 3, 4] as const) {
  test(`DWARF ${version} line program: every opcode, include_directories and DW_LNE_define_file`, () => {
    const b = lineProgram({ version, dirs: ['inc', '/abs'], files: [['a.c', 0], ['b.h', 1]] }, (x) => body(x, 1, 2, true));
    const { hdr, rows } = rowsOf(b, {}, '/src');
    assert.equal(hdr.version, version);
    assert.deepEqual(hdr.includeDirs, ['/src', 'inc', '/abs']);
    assert.deepEqual(rows, [
      [0x401000, 1, 1, 0, 1, 0, ''],
      [0x401003, 1, 2, 0, 1, 0, ''],
      [0x401023, 1, 42, 7, 1, 0, ''],
      [0x401034, 2, 12, 7, 0, 3, ''],
      [0x401134, 1, 12, 7, 1, 0, ''],
      [0x401136, 3, 17, 7, 1, 0, ''],
      [0x40113a, 3, 17, 7, 1, 0, 'end'],
    ]);
    assert.equal(hdr.files[3].name, 'gen.s', 'DW_LNE_define_file added file 3');
  });
}

test('DWARF 4 line entries: absolute paths from comp_dir (via .debug_info), sizes up to the next row', () => {
  const str = new StrTab();
  const line = lineProgram({ version: 4, dirs: ['inc'], files: [['a.c', 0], ['b.h', 1]] }, (x) => body(x, 1, 2, false));
  const abbrev = new Bytes().uleb(1).uleb(0x11).u8(0).uleb(0x03).uleb(0x08).uleb(0x1b).uleb(0x0e).uleb(0x10).uleb(0x17).u8(0, 0).u8(0);
  const info = unit((b) => { b.u16(4).u32(0).u8(8); b.uleb(1).str('a.c').u32(str.off('/src')).u32(0); });
  const d = dwarfOf({ line: line.section('.debug_line'), info: info.section('.debug_info'), abbrev: abbrev.section('.debug_abbrev'), str: str.bytes.section('.debug_str') });
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.lines.map((e) => [e.addr, e.size, e.file, e.line]), [
    [0x401000, 3, '/src/a.c', 1],
    [0x401003, 0x20, '/src/a.c', 2],
    [0x401023, 0x11, '/src/a.c', 42],
    [0x401034, 0x100, '/src/inc/b.h', 12],
    [0x401134, 4, '/src/a.c', 12],
  ]);
  assert.equal(d.lines[2].column, 7);
});

test('DWARF 5 line header: directory/file entry formats with line_strp, strp, string, udata and data16 MD5', () => {
  const ls = new StrTab(), str = new StrTab();
  const md5 = Array.from({ length: 16 }, (_, i) => i * 17);
  const b = lineProgram({
    version: 5,
    v5Entries: (x, os) => {
      x.u8(1).uleb(1).uleb(0x1f);                      // directories: (DW_LNCT_path, DW_FORM_line_strp)
      x.uleb(3).uN(os, ls.off('/work')).uN(os, ls.off('sub')).uN(os, ls.off('/opt/inc'));
      x.u8(3).uleb(1).uleb(0x08).uleb(2).uleb(0x0f).uleb(5).uleb(0x1e); // files: path string, dir udata, MD5 data16
      x.uleb(2).str('main.c').uleb(0).raw(md5).str('x.h').uleb(2).raw(md5);
      void str;
    },
  }, (x) => { op.setAddress(x, 0x1000); op.setFile(x, 0); op.copy(x); op.setFile(x, 1); op.special(x, 4, 3); op.advancePc(x, 2); op.endSequence(x); });
  const d = dwarfOf({ line: b.section('.debug_line'), lineStr: ls.bytes.section('.debug_line_str') });
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.lines.map((e) => [e.addr, e.size, e.file, e.line]), [
    [0x1000, 4, '/work/main.c', 1],
    [0x1004, 2, '/opt/inc/x.h', 4],
  ]);
  const { hdr } = rowsOf(b, { lineStr: ls.bytes.section('.debug_line_str') });
  assert.deepEqual(Array.from(hdr.files[0].md5!), md5);
  // The same header with DW_FORM_strp paths from .debug_str, in 64-bit DWARF.
  const s2 = new StrTab();
  const b64 = lineProgram({
    version: 5, is64: true,
    v5Entries: (x, os) => {
      x.u8(1).uleb(1).uleb(0x0e).uleb(1).uN(os, s2.off('/w'));
      x.u8(2).uleb(1).uleb(0x0e).uleb(2).uleb(0x0b).uleb(1).uN(os, s2.off('f.c')).u8(0);
    },
  }, (x) => { op.setAddress(x, 0x2000); op.setFile(x, 0); op.copy(x); op.advancePc(x, 1); op.endSequence(x); });
  const d64 = dwarfOf({ line: b64.section('.debug_line'), str: s2.bytes.section('.debug_str') });
  assert.deepEqual(d64.problems, []);
  assert.deepEqual(d64.lines.map((e) => [e.addr, e.size, e.file, e.line]), [[0x2000, 1, '/w/f.c', 1]]);
});

test('a larger opcode_base skips unknown standard opcodes by their declared operand count; a smaller one makes them special', () => {
  const big = lineProgram({ version: 3, opcodeBase: 15, stdLens: [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 2, 0], files: [['a.c', 0]] }, (x) => {
    op.setAddress(x, 0x10); op.copy(x);
    x.u8(13).uleb(300).uleb(5); // opcode 13: unknown, two ULEB operands
    x.u8(14);                   // opcode 14: unknown, none
    op.special(x, 1, 1, 15); op.advancePc(x, 1); op.endSequence(x);
  });
  assert.deepEqual(rowsOf(big).rows.map((r) => [r[0], r[2]]), [[0x10, 1], [0x11, 2], [0x12, 2]]);
  const small = lineProgram({ version: 2, opcodeBase: 10, files: [['a.c', 0]] }, (x) => {
    op.setAddress(x, 0x10); x.u8(10); // 10 is special here: adjusted 0 => address +0, line -5
    op.advancePc(x, 1); op.endSequence(x);
  });
  assert.deepEqual(rowsOf(small).rows.map((r) => [r[0], r[2]]), [[0x10, -4], [0x11, -4]]);
});

test('min_inst_length scales address advances; line 0 rows and empty ranges make no entries', () => {
  const b = lineProgram({ version: 4, minInst: 4, files: [['a.c', 0]] }, (x) => {
    op.setAddress(x, 0x100); op.copy(x);
    op.special(x, 1, 1);             // +4
    op.advanceLine(x, -2); op.copy(x); // line 0 at 0x104
    op.advancePc(x, 2); op.advanceLine(x, 5); op.copy(x); // 0x10c line 5
    op.copy(x);                      // same address again: the later row wins
    op.advancePc(x, 1); op.endSequence(x);
  });
  const d = dwarfOf({ line: b.section('.debug_line') });
  assert.deepEqual(d.lines.map((e) => [e.addr, e.size, e.line]), [[0x100, 4, 1], [0x10c, 4, 5]]);
});

test('overlapping sequences are trimmed so the line map stays sorted and non-overlapping', () => {
  const out = new Bytes();
  lineProgram({ version: 4, files: [['a.c', 0]] }, (x) => { op.setAddress(x, 0x100); op.copy(x); op.advancePc(x, 0x10); op.endSequence(x); }, out);
  lineProgram({ version: 4, files: [['b.c', 0]] }, (x) => { op.setAddress(x, 0x108); op.copy(x); op.advancePc(x, 0x10); op.endSequence(x); op.setAddress(x, 0x80); op.copy(x); op.advancePc(x, 4); op.endSequence(x); }, out);
  const d = dwarfOf({ line: out.section('.debug_line') });
  assert.equal(d.lineUnits, 2);
  assert.deepEqual(d.lines.map((e) => [e.addr, e.size, e.file]), [[0x80, 4, 'b.c'], [0x100, 0x10, 'a.c'], [0x110, 8, 'b.c']]);
});

test('truncated and malformed line programs report the section offset and keep earlier rows', () => {
  const good = lineProgram({ version: 4, files: [['a.c', 0]] }, (x) => { op.setAddress(x, 0x100); op.copy(x); op.advancePc(x, 8); op.endSequence(x); });
  // Second unit: its program stops inside DW_LNE_set_address.
  const bad = lineProgram({ version: 4, files: [['b.c', 0]] }, (x) => { op.setAddress(x, 0x200); op.copy(x); op.advancePc(x, 4); op.copy(x); x.u8(0).uleb(9).u8(2).u8(1, 2); });
  const all = new Bytes().raw(good.b).raw(bad.b);
  const d = dwarfOf({ line: all.section('.debug_line') });
  assert.deepEqual(d.lines.map((e) => [e.addr, e.size, e.file]), [[0x100, 8, 'a.c'], [0x200, 4, 'b.c']]);
  assert.deepEqual(d.problems, [`.debug_line@0x${(all.length - 5).toString(16)}: extended opcode runs past the end of the line program (unit at 0x${good.length.toString(16)})`]);

  const cases: [string, Bytes, RegExp][] = [
    ['version 6', lineProgram({ version: 4, files: [] }, () => {}), /unsupported line table version 6/],
    ['header cut', new Bytes().u32(3).u16(4).u8(0), /truncated line program header/],
    ['line_range 0', lineProgram({ version: 3, lineRange: 0, files: [] }, () => {}), /line_range is 0/],
    ['no file_names end', new Bytes(), /unterminated string in file_names|truncated file_names/],
  ];
  cases[0][1].b[4] = 6;
  const noEnd = lineProgram({ version: 2, files: [['a.c', 0]] }, () => {});
  // Chop the terminating NUL of file_names and shrink header_length so the header ends inside the list.
  noEnd.b.splice(noEnd.length - 1, 1); noEnd.setU32(0, noEnd.length - 4); noEnd.setU32(6, noEnd.length - 10);
  cases[3][1] = noEnd;
  for (const [what, bytes, re] of cases) {
    const r = dwarfOf({ line: bytes.section('.debug_line') });
    assert.equal(r.problems.length, 1, `${what}: ${r.problems}`);
    assert.match(r.problems[0], re, what);
  }
});
