// Functions from .debug_info (DWARF 5 §3.3 subprograms, §2.17 code addresses, §7.5 forms) on
// hand-written units of DWARF 4 and 5, including strx/addrx indirection and abstract origins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDwarf } from '../../vm-core/loader/dwarf/read-dwarf';
import type { DebugSections } from '../../vm-core/loader/dwarf/sections';
import { Bytes, StrTab, lineProgram, op, unit } from './dwarf-builder';

const F = { addr: 0x01, data1: 0x0b, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, strp: 0x0e, udata: 0x0f, ref4: 0x13, sec_offset: 0x17,
  indirect: 0x16, flag_present: 0x19, implicit_const: 0x21, strx1: 0x25, addrx: 0x1b, exprloc: 0x18, line_strp: 0x1f };
const AT = { name: 0x03, stmt_list: 0x10, low_pc: 0x11, high_pc: 0x12, comp_dir: 0x1b, inline: 0x20, abstract_origin: 0x31, decl_file: 0x3a, decl_line: 0x3b,
  external: 0x3f, frame_base: 0x40, str_offsets_base: 0x72, addr_base: 0x73 };
const TAG = { compile_unit: 0x11, subprogram: 0x2e, variable: 0x34 };

/** Abbreviation table writer (DWARF 5 §7.5.3). */
function abbrevs(list: [number, number, boolean, [number, number, number?][]][], out = new Bytes()): Bytes {
  for (const [code, tag, children, attrs] of list) {
    out.uleb(code).uleb(tag).u8(children ? 1 : 0);
    for (const [a, f, c] of attrs) { out.uleb(a).uleb(f); if (f === F.implicit_const) out.sleb(c ?? 0); }
    out.u8(0, 0);
  }
  return out.u8(0);
}

function run(secs: DebugSections) {
  const problems: string[] = [];
  const res = readDwarf(secs, 8, (s, off, msg) => problems.push(`${s.name}@0x${off.toString(16)}: ${msg}`));
  return { ...res, problems };
}

test('DWARF 4 subprograms: high_pc as offset or address, strp names, decl_file through the line table, abstract origins', () => {
  const str = new StrTab();
  const line = lineProgram({ version: 4, dirs: ['lib'], files: [['main.c', 0], ['util.h', 1]] }, (x) => { op.setAddress(x, 0x1000); op.copy(x); op.advancePc(x, 0x40); op.endSequence(x); });
  const ab = abbrevs([
    [1, TAG.compile_unit, true, [[AT.name, F.string], [AT.comp_dir, F.strp], [AT.stmt_list, F.sec_offset]]],
    [2, TAG.subprogram, false, [[AT.external, F.flag_present], [AT.name, F.strp], [AT.decl_file, F.data1], [AT.decl_line, F.data1], [AT.low_pc, F.addr], [AT.high_pc, F.data4], [AT.frame_base, F.exprloc]]],
    [3, TAG.subprogram, false, [[AT.name, F.string], [AT.low_pc, F.addr], [AT.high_pc, F.addr]]],
    [4, TAG.subprogram, false, [[AT.name, F.string], [AT.decl_file, F.data1], [AT.decl_line, F.data2], [AT.inline, F.data1]]],
    [5, TAG.subprogram, false, [[AT.abstract_origin, F.ref4], [AT.low_pc, F.addr], [AT.high_pc, F.udata]]],
    [6, TAG.variable, false, [[AT.name, F.indirect]]],
  ]);
  let abstractAt = 0;
  const info = unit((b) => {
    const unitStart = 0;
    b.u16(4).u32(0).u8(8);
    b.uleb(1).str('main.c').u32(str.off('/home/dev')).u32(0);
    b.uleb(2).u32(str.off('main')).u8(1).u8(10).u64(0x1000).u32(0x20).uleb(1).u8(0x9c);
    b.uleb(3).str('asm_stub').u64(0x1020).u64(0x1028);
    abstractAt = b.length - unitStart;
    b.uleb(4).str('inl').u8(2).u16(300).u8(1);
    b.uleb(5).u32(abstractAt).u64(0x1028).uleb(0x18);
    b.uleb(6).uleb(F.string).str('var');
    b.u8(0);
  });
  const d = run({ line: line.section('.debug_line'), info: info.section('.debug_info'), abbrev: ab.section('.debug_abbrev'), str: str.bytes.section('.debug_str') });
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.functions, [
    { name: 'main', low: 0x1000, high: 0x1020, file: '/home/dev/main.c', line: 10 },
    { name: 'asm_stub', low: 0x1020, high: 0x1028 },
    { name: 'inl', low: 0x1028, high: 0x1040, file: '/home/dev/lib/util.h', line: 300 },
  ]);
  assert.equal(d.lines[0].file, '/home/dev/main.c', 'comp_dir of the unit names the line table directory 0');
});

test('DWARF 5 units: strx1 via .debug_str_offsets, addrx via .debug_addr, implicit_const, line_strp comp_dir', () => {
  const str = new StrTab(), ls = new StrTab();
  // .debug_str_offsets (DWARF 5 §7.26): header then 4-byte offsets; base is just past the header.
  const names = ['prog.c', 'start', 'helper'];
  const so = unit((b) => { b.u16(5).u16(0); for (const n of names) b.u32(str.off(n)); });
  // .debug_addr (§7.27): header (version, address_size, segment_selector_size) then addresses.
  const addr = unit((b) => { b.u16(5).u8(8).u8(0).u64(0x7c00).u64(0x7c40); });
  const line = lineProgram({
    version: 5,
    v5Entries: (x, os) => {
      x.u8(1).uleb(1).uleb(F.line_strp).uleb(1).uN(os, ls.off('/build'));
      x.u8(2).uleb(1).uleb(F.string).uleb(2).uleb(F.udata).uleb(2).str('prog.c').uleb(0).str('other.c').uleb(0);
    },
  }, (x) => { op.setAddress(x, 0x7c00); op.copy(x); op.advancePc(x, 0x80); op.endSequence(x); });
  const ab = abbrevs([
    [1, TAG.compile_unit, true, [[AT.name, F.strx1], [AT.comp_dir, F.line_strp], [AT.stmt_list, F.sec_offset], [AT.str_offsets_base, F.sec_offset], [AT.addr_base, F.sec_offset]]],
    [2, TAG.subprogram, false, [[AT.name, F.strx1], [AT.decl_file, F.implicit_const, 1], [AT.decl_line, F.udata], [AT.low_pc, F.addrx], [AT.high_pc, F.data8]]],
  ]);
  const info = unit((b) => {
    b.u16(5).u8(1).u8(8).u32(0);
    b.uleb(1).u8(0).u32(ls.off('/build')).u32(0).u32(8).u32(8);
    b.uleb(2).u8(1).uleb(3).uleb(0).u64(0x40);
    b.uleb(2).u8(2).uleb(1000).uleb(1).u64(0x10);
    b.u8(0);
  });
  const d = run({
    line: line.section('.debug_line'), info: info.section('.debug_info'), abbrev: ab.section('.debug_abbrev'),
    str: str.bytes.section('.debug_str'), lineStr: ls.bytes.section('.debug_line_str'),
    strOffsets: so.section('.debug_str_offsets'), addr: addr.section('.debug_addr'),
  });
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.functions, [
    { name: 'start', low: 0x7c00, high: 0x7c40, file: '/build/other.c', line: 3 },
    { name: 'helper', low: 0x7c40, high: 0x7c50, file: '/build/other.c', line: 1000 },
  ]);
});

test('a unit with an unknown form is reported at its offset; later units are still read', () => {
  const ab = abbrevs([
    [1, TAG.compile_unit, true, [[AT.name, F.string]]],
    [2, TAG.subprogram, false, [[AT.name, 0x7f], [AT.low_pc, F.addr], [AT.high_pc, F.data4]]],
    [3, TAG.subprogram, false, [[AT.name, F.string], [AT.low_pc, F.addr], [AT.high_pc, F.data4]]],
  ]);
  const out = new Bytes();
  unit((b) => { b.u16(4).u32(0).u8(8); b.uleb(1).str('bad.c'); b.uleb(2); b.u8(0); }, false, out);
  const second = out.length;
  unit((b) => { b.u16(4).u32(0).u8(8); b.uleb(1).str('ok.c'); b.uleb(3).str('fine').u64(0x500).u32(4); b.u8(0); }, false, out);
  const d = run({ info: out.section('.debug_info'), abbrev: ab.section('.debug_abbrev') });
  assert.deepEqual(d.problems, ['.debug_info@0x13: unknown form 0x7f (unit at 0x0)']);
  assert.equal(d.infoUnits, 2);
  assert.deepEqual(d.functions, [{ name: 'fine', low: 0x500, high: 0x504 }]);
  assert.ok(second > 0);
  const noAbbrev = run({ info: out.section('.debug_info') });
  assert.deepEqual(noAbbrev.problems, ['.debug_info@0x0: unit needs .debug_abbrev, which is missing', `.debug_info@0x${second.toString(16)}: unit needs .debug_abbrev, which is missing`]);
});
