// Unit tests of the built-in assembler: numbers, expressions, preprocessor, directives, line
// maps, symbols and diagnostics (every error kind has file:line:col; several per run; no throw).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, AssembleOptions } from '../../vm-core/loader/assemble';
import { lineForAddress, type Diagnostic } from '../../vm-core/loader/image';
import { parseNasmInteger } from '../../vm-core/loader/asm/numbers';
import { tokenize } from '../../vm-core/loader/asm/lexer';
import { parseExpression } from '../../vm-core/loader/asm/expr';
import { evaluate } from '../../vm-core/loader/asm/evaluate';

function asm(source: string, extra: Partial<AssembleOptions> = {}) {
  return assemble({ path: '/src/main.asm', source, readFile: (p) => extra.readFile?.(p), ...extra });
}

function bytes(source: string, extra: Partial<AssembleOptions> = {}): string {
  const r = asm(source, extra);
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('\n'));
  return Buffer.from(r.image.segments[0].bytes).toString('hex');
}

function errors(source: string, extra: Partial<AssembleOptions> = {}): Diagnostic[] {
  const r = asm(source, extra);
  assert.equal(r.ok, false, 'expected errors');
  return r.diagnostics.filter((d) => d.severity === 'error');
}

function value(expr: string): bigint {
  const e = parseExpression(tokenize(expr, 'asm'), expr.length + 1);
  return evaluate(e, { lookup: () => undefined }).n;
}

test('numbers in every NASM form', () => {
  const cases: [string, number][] = [['0x1F', 31], ['1Fh', 31], ['0h1F', 31], ['$1F', 31], ['0b1010', 10], ['1010b', 10], ['0y1010', 10],
    ['0o17', 15], ['17q', 15], ['17o', 15], ['0q17', 15], ['0d99', 99], ['99d', 99], ['0t99', 99], ['1_000', 1000], ['0x_ff_ff', 0xffff], ['42', 42]];
  for (const [t, v] of cases) assert.equal(parseNasmInteger(t), BigInt(v), t);
  assert.equal(parseNasmInteger('0x'), undefined);
  assert.equal(parseNasmInteger('19b'), undefined);
  assert.equal(value("'ab'"), 0x6261n);
});

test('expression operators and precedence', () => {
  assert.equal(value('1 + 2 * 3'), 7n);
  assert.equal(value('(1 + 2) * 3'), 9n);
  assert.equal(value('-7 / 2'), BigInt.asIntN(64, (2n ** 64n - 7n) / 2n));
  assert.equal(value('-7 // 2'), -3n);
  assert.equal(value('-7 %% 3'), -1n);
  assert.equal(value('7 % 3'), 1n);
  assert.equal(value('1 << 4 | 1'), 17n);
  assert.equal(value('0xf0 >> 4 & 3'), 3n);
  assert.equal(value('~0'), -1n);
  assert.equal(value('!5'), 0n);
  assert.equal(value('3 == 3 && 2 < 1'), 0n);
  assert.equal(value('1 || 0'), 1n);
  assert.equal(value('1 ^^ 1'), 0n);
  assert.equal(value('0 ? 5 : 6'), 6n);
  assert.equal(value('5 <> 5'), 0n);
  assert.equal(value('0x7fffffffffffffff + 1'), -(2n ** 63n));
});

test('strings: single, double and backquoted with escapes', () => {
  assert.equal(bytes(`db 'a"b', "c'd", \`\\n\\t\\x41\\101\\0\\e\``), Buffer.from('a"bc\'d\n\tAA\0\x1b', 'latin1').toString('hex'));
  assert.equal(bytes(`dw 'abc'\ndd 'ab'`), '6162630061620000');
});

test('labels: global, .local, ..@ and $ / $$', () => {
  const r = asm(`org 0x100\nstart: jmp .x\n.x: nop\nother: jmp start.x\n..@m: dw ..@m, $, $$`);
  assert.ok(r.ok);
  const syms = new Map(r.image.symbols.map((s) => [s.name, s]));
  assert.equal(syms.get('start.x')?.addr, 0x102);
  assert.equal(syms.get('other')?.addr, 0x103);
  assert.equal(syms.get('..@m')?.addr, 0x105);
  assert.equal(r.image.entry, 0x100);
  assert.equal(Buffer.from(r.image.segments[0].bytes).toString('hex'), 'eb0090ebfd' + '0501' + '0501' + '0001');
});

test('equ constants, times, res, align pads with NOP', () => {
  assert.equal(bytes(`len equ 3\ntimes len db 1\nresb 2\nalign 8\ndb 2`), '010101000090909090' .slice(0, 16) + '02');
  const r = asm(`x equ 5\nbits 32\nmov eax, x`);
  assert.ok(r.ok);
  assert.deepEqual(r.image.symbols.find((s) => s.name === 'x')?.kind, 'constant');
  assert.equal(r.image.bits, 32);
});

test('bits forms: bits, [bits], use16/32/64', () => {
  assert.equal(bytes(`[bits 32]\nmov eax, 1\nuse16\nmov ax, 1\nuse64\nmov rax, -1`), 'b801000000' + 'b80100' + '48c7c0ffffffff');
});

test('entry is _start when defined', () => {
  const r = asm(`org 0x7c00\nnop\n_start: hlt`);
  assert.ok(r.ok && r.image.entry === 0x7c01);
});

test('sections follow each other as in nasm -f bin; .bss extends memSize', () => {
  const r = asm(`section .data\nd: db 1\nsection .text\nmov al, [d]\nsection .bss\nb: resb 16`);
  assert.ok(r.ok);
  const seg = r.image.segments[0];
  assert.equal(Buffer.from(seg.bytes).toString('hex'), 'a00400' + '00' + '01');
  assert.equal(seg.memSize, 8 + 16);
  assert.equal(r.image.symbols.find((s) => s.name === 'b')?.addr, 8);
});

test('preprocessor: %define with parameters, %xdefine, %undef, %assign, %+', () => {
  assert.equal(bytes(`%define SQ(x) ((x)*(x))\n%define A 2\n%xdefine B A+1\n%undef A\n%define A 10\ndb SQ(3), B, A\n%assign n 4\n%assign n n*2\ndb n\n%define CAT(a,b) a %+ b\nCAT(fo,o): db 7\ndw foo`),
    '09030a08' + '07' + '0400');
});

test('preprocessor: %macro with %0, defaults, greedy, %% locals, overloads', () => {
  const src = [
    '%macro cnt 0-*', 'db %0', '%endmacro',
    '%macro def 1-2 9', 'db %1, %2', '%endmacro',
    '%macro greedy 1+', 'db %1', '%endmacro',
    '%macro loc 0', '%%l: jmp %%l', '%endmacro',
    '%macro ov 1', 'db 1', '%endmacro', '%macro ov 2', 'db 2', '%endmacro',
    'cnt', 'cnt 1, 2, 3', 'def 5', 'def 5, 6', 'greedy 1, 2, 3', 'loc', 'loc', 'ov a', 'ov a, b',
  ].join('\n');
  assert.equal(bytes(src), '00' + '03' + '0509' + '0506' + '010203' + 'ebfe' + 'ebfe' + '01' + '02');
});

test('preprocessor: %rep/%exitrep, %if/%elif/%else, %ifdef/%ifndef/%ifidn/%ifmacro, %strlen, %error', () => {
  const src = [
    '%assign i 0', '%rep 10', '%if i == 3', '%exitrep', '%endif', 'db i', '%assign i i+1', '%endrep',
    '%if 0', 'db 0xee', '%elif 1', 'db 0xaa', '%else', 'db 0xbb', '%endif',
    '%define X', '%ifdef X', 'db 1', '%endif', '%ifndef Y', 'db 2', '%endif', '%ifidn a, a', 'db 3', '%endif', '%ifidni A, a', 'db 4', '%endif',
    '%macro m 0', '%endmacro', '%ifmacro m', 'db 5', '%endif', '%strlen L "abc"', 'db L',
  ].join('\n');
  assert.equal(bytes(src), '000102' + 'aa' + '0102030405' + '03');
  const e = errors(`nop\n%error "custom failure"\n%warning careful`);
  assert.equal(e.length, 1);
  assert.match(e[0].message, /custom failure/);
  assert.equal(e[0].line, 2);
});

test('%include is relative to the including file; line map points into the included file', () => {
  const files: Record<string, string> = {
    '/src/lib/a.inc': 'nop\n%include "b.inc"\n',
    '/src/lib/b.inc': '\nhlt\n',
  };
  const r = asm(`bits 16\n%include "lib/a.inc"\ncli`, { readFile: (p) => files[p] });
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const lines = r.image.lines.map((l) => `${l.addr}:${l.size}:${l.file}:${l.line}`);
  assert.deepEqual(lines, ['0:1:/src/lib/a.inc:1', '1:1:/src/lib/b.inc:2', '2:1:/src/main.asm:3']);
});

test('line map: macro expansions map to the invocation line; times to one entry', () => {
  const r = asm(`%macro two 0\nnop\nnop\n%endmacro\nhlt\ntwo\ntimes 4 int3\ntwo`);
  assert.ok(r.ok);
  assert.deepEqual(r.image.lines.map((l) => [l.addr, l.size, l.line]), [[0, 1, 5], [1, 2, 6], [3, 4, 7], [7, 2, 8]]);
  assert.equal(lineForAddress(r.image.lines, 4)?.line, 7);
});

test('listing shows address, bytes and source', () => {
  const r = asm(`bits 32\nstart: mov eax, 1\nret`, { listing: true });
  assert.ok(r.ok);
  assert.match(r.listing ?? '', /00000000 B801000000\s+start: mov eax, 1/);
  assert.match(r.listing ?? '', /00000005 C3\s+ret/);
});

test('forward references settle: short and near jumps', () => {
  const src = `bits 32\njmp a\ntimes 10 nop\na: jmp b\ntimes 200 nop\nb: jz a\n`;
  const hex = bytes(src);
  assert.equal(hex.slice(0, 4), 'eb0a');
  assert.equal(hex.slice(24, 34), 'e9c8000000');
});

test('errors: each kind reports file:line:col, several per run, never throws', () => {
  const src = [
    'bits 32',
    'frobnicate eax',          // 2 unknown mnemonic
    'mov eax, bl',             // 3 bad operand combination
    'jmp nowhere',             // 4 undefined label
    'dup: nop',
    'dup: nop',                // 6 duplicate label
    'mov [eax], 1',            // 7 operation size not specified
    'db 1/0',                  // 8 division by zero
    'mov eax, [eax+ebx+ecx]',  // 9 bad effective address
    'jmp short far_away',      // 10 short jump out of range
    'times 200 nop',
    'far_away: ret',
  ].join('\n');
  const r = asm(src);
  assert.equal(r.ok, false);
  const errs = r.diagnostics.filter((d) => d.severity === 'error');
  const byLine = new Map(errs.map((d) => [d.line, d]));
  for (const [line, re] of [[2, /unknown instruction/], [3, /invalid combination/], [4, /nowhere.*not defined/], [6, /redefined/], [7, /size not specified/],
    [8, /division by zero/], [9, /effective address/], [10, /out of range/]] as [number, RegExp][]) {
    const d = byLine.get(line);
    assert.ok(d, `no error on line ${line}: ${JSON.stringify(errs)}`);
    assert.match(d.message, re);
    assert.equal(d.file, '/src/main.asm');
    assert.ok(d.column >= 1);
  }
  assert.equal(byLine.get(2)?.column, 1);
  assert.equal(byLine.get(4)?.column, 5);
});

test('errors: missing include, runaway %rep, recursive macro, unterminated constructs', () => {
  const e1 = errors(`nop\n  %include "missing.inc"`, { readFile: () => undefined });
  assert.match(e1[0].message, /unable to open include file 'missing.inc'/);
  assert.deepEqual([e1[0].line, e1[0].column], [2, 3]);
  const e2 = errors(`%rep 2000000\nnop\n%endrep`);
  assert.match(e2[0].message, /too large/);
  const e3 = errors(`%rep 1000\n%rep 1000\n%rep 10\nnop\n%endrep\n%endrep\n%endrep`, { maxLines: 100000 });
  assert.match(e3[0].message, /too many lines/);
  const e4 = errors(`%macro r 0\nr\n%endmacro\nr`);
  assert.match(e4[0].message, /recursively too deeply/);
  assert.equal(e4[0].line, 4);
  const e5 = errors(`%if 1\nnop`);
  assert.match(e5[0].message, /unterminated %if/);
  const e6 = errors(`%macro m 1\nnop`);
  assert.match(e6[0].message, /still defining macro/);
  const e7 = errors(`%include "self.asm"`, { path: '/src/self.asm', readFile: () => '%include "self.asm"' });
  assert.match(e7[0].message, /nested too deeply/);
});

test('errors inside a macro name the invocation site and the macro body line', () => {
  const e = errors(`%macro bad 0\nmov eax, bl\n%endmacro\nbits 32\nbad`);
  assert.equal(e[0].line, 5);
  assert.match(e[0].message, /in macro 'bad' at \/src\/main.asm:2/);
});

test('out-of-range values warn and truncate like NASM', () => {
  const r = asm(`db 300\nmov al, 0x1ff`);
  assert.ok(r.ok);
  assert.equal(Buffer.from(r.image.segments[0].bytes).toString('hex'), '2c' + 'b0ff');
  assert.equal(r.diagnostics.filter((d) => d.severity === 'warning').length, 2);
});

test('never throws on hostile input', () => {
  for (const src of ['%', '[', 'mov', 'db', '%macro', '%if', 'times', 'a:b:c', '%define x(', 'jmp [', `db '`, 'mov eax, [eax*7]', '\u0000\u00ff', 'equ', 'x equ', '%rep -1\n%endrep', 'align 3']) {
    const r = assemble({ path: '/x.asm', source: src, readFile: () => undefined });
    assert.ok(Array.isArray(r.diagnostics));
  }
});

test('far pointers, segment overrides, rel/abs, prefixes', () => {
  assert.equal(bytes(`bits 16\njmp 0x08:0x1234\ncall far [bx]\nmov ax, [es:di]\nfs lodsb\nrep movsb\nlock inc word [bx]`),
    'ea34120800' + 'ff1f' + '268b05' + '64ac' + 'f3a4' + 'f0ff07');
  assert.equal(bytes(`bits 64\ndefault rel\nx: mov eax, [x]\nmov eax, [abs 0x10]\nmov eax, [fs:0x10]`), '8b05faffffff' + '8b042510000000' + '648b042510000000');
});
