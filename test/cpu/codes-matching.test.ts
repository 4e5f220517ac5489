// codesMatching (vm-core/cpu/exec/operands.ts) tests only the names that start with the regex's
// literal prefix: the same codes, in the same order, as testing every iced Code name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Code } from 'iced-x86';
import { codesMatching, literalPrefix } from '../../vm-core/cpu/exec/operands';

const NAMES = Object.entries(Code).filter((e): e is [string, number] => typeof e[1] === 'number');
function everyName(re: RegExp): number[] {
  const out: number[] = [];
  for (const [name, v] of NAMES) if (re.test(name)) out.push(v);
  return out;
}

test('literalPrefix reads the leading literal of an anchored regex, and nothing where it cannot', () => {
  assert.equal(literalPrefix(/^Fxsave(64)?_m512byte$/), 'Fxsave');
  assert.equal(literalPrefix(/^VEX_Shlx_r(32|64)$/), 'VEX_Shlx_r');
  assert.equal(literalPrefix(/^Movsb?_x$/), 'Movs');
  assert.equal(literalPrefix(/^Movsb*_x$/), 'Movs');
  assert.equal(literalPrefix(/^Movsb{0,2}_x$/), 'Movs');
  assert.equal(literalPrefix(/^Movsb+_x$/), 'Movsb');
  assert.equal(literalPrefix(/^(Jmp|Call)_ptr$/), '');
  assert.equal(literalPrefix(/^Movaps_x$|^Lddqu_x$/), '');
  assert.equal(literalPrefix(/^Mov(a|b)[|]x$/), 'Mov');
  assert.equal(literalPrefix(/^Mov\|x$/), 'Mov');
  assert.equal(literalPrefix(/^mov/i), '');
  assert.equal(literalPrefix(/Mov/), '');
});

test('codesMatching finds what testing every name finds, for every family vm-core registers', () => {
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts')) sources.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(__dirname, '..', '..', 'vm-core'));
  const res: RegExp[] = [];
  for (const text of sources) {
    for (const m of text.matchAll(/(?:defineMatching|codesMatching)\(\/((?:\\.|[^/\\\n])+)\/([a-z]*)/g)) res.push(new RegExp(m[1], m[2]));
  }
  assert.ok(res.length > 300, `found ${res.length} families`);
  for (const re of [...res, /^(Jmp|Call)_rel32_64$/, /^Nop/, /Add/, /^Movs[bwdq]_/]) {
    const want = everyName(re);
    assert.deepEqual(codesMatching(re), want, String(re));
  }
});
