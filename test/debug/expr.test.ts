import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Expression, ExprError, parseHitCondition, formatLogMessage, EvalContext } from '../../vm-core/debug/expr';

const mem = new Map<bigint, number>([[0x1000n, 0x11], [0x1001n, 0x22], [0x1008n, 0xff]]);
const ctx: EvalContext = {
  lookup: (n) => ({ rax: 5n, rsp: 0x1000n, nr: 12n, port: 0x3f8n, msr: 0x40000001n, qual: 3n,
    'hypercall.ret': 7n, 'hypercall.nr': 12n } as Record<string, bigint>)[n],
  readMemory: (addr, size, phys) => {
    let v = 0n;
    for (let k = 0; k < size; k++) {
      const b = mem.get(addr + BigInt(k) + (phys ? 0n : 0n));
      if (b === undefined && !(addr >= 0x1000n && addr < 0x2000n)) return undefined;
      v |= BigInt(b ?? 0) << BigInt(8 * k);
    }
    return v;
  },
};
const ev = (s: string) => Expression.parse(s).evaluate(ctx);

test('arithmetic, precedence and 64-bit wrap', () => {
  assert.equal(ev('1 + 2 * 3'), 7n);
  assert.equal(ev('(1 + 2) * 3'), 9n);
  assert.equal(ev('-1'), 0xffffffffffffffffn);
  assert.equal(ev('0xffffffffffffffff + 2'), 1n);
  assert.equal(ev('1 << 63 >> 62'), 2n);
  assert.equal(ev('~0 & 0xff'), 0xffn);
  assert.equal(ev('10 % 4'), 2n);
  assert.equal(ev('7fh + 0b1'), 0x80n);
  assert.equal(ev('1 ? 2 : 3'), 2n);
});

test('exit-filter conditions over exit fields', () => {
  assert.equal(Expression.parse('nr == 12').test(ctx), true);
  assert.equal(Expression.parse('port == 0x3f8').test(ctx), true);
  assert.equal(Expression.parse('msr == 0x40000001').test(ctx), true);
  assert.equal(Expression.parse('qual & 1').test(ctx), true);
  assert.equal(Expression.parse('nr == 11 || rax > 4 && !0').test(ctx), true);
  assert.equal(ev('hypercall.ret'), 7n);
});

test('memory: [x] is a qword, size prefixes, gpa()', () => {
  assert.equal(ev('byte [rsp]'), 0x11n);
  assert.equal(ev('word [rsp]'), 0x2211n);
  assert.equal(ev('dword ptr [rsp+1]'), 0x22n);
  assert.equal(ev('[rsp+8] & 0xff'), 0xffn);
  assert.equal(ev('gpa(0x1000, 1)'), 0x11n);
  assert.throws(() => ev('[0x5000]'), /not readable/);
});

test('errors carry a column and never escape as other exceptions', () => {
  const e = (s: string) => { try { Expression.parse(s).evaluate(ctx); } catch (err) { assert.ok(err instanceof ExprError); return err as ExprError; } assert.fail('no error'); };
  assert.equal(e('1 +').column, 4);
  assert.match(e('foo == 1').message, /unknown name 'foo'/);
  assert.match(e('1 / 0').message, /division by zero/);
  assert.match(e('(1').message, /expected '\)'/);
  assert.match(e('1 $ 2').message, /unexpected/);
  assert.match(e('99999999999999999999999').message, /does not fit/);
  assert.match(e('zork(1)').message, /unknown function/);
});

test('hit conditions and logpoint messages', () => {
  const eq = parseHitCondition('3') as (h: number) => boolean;
  assert.deepEqual([1, 2, 3, 4].map(eq), [false, false, true, false]);
  const mod = parseHitCondition('% 2') as (h: number) => boolean;
  assert.deepEqual([1, 2, 3, 4].map(mod), [false, true, false, true]);
  assert.equal(typeof parseHitCondition('>= x'), 'string');
  assert.equal(formatLogMessage('nr={nr} bad={zz}', ctx), "nr=0xc bad=<unknown name 'zz'>");
});
