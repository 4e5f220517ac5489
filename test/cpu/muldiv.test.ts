// Multiply and divide (SDM Vol. 2 MUL, IMUL, DIV, IDIV, MULX): every operand size, CF/OF, #DE on a
// zero divisor and on quotient overflow (registers untouched), and the 64-bit forms checked
// against BigInt arithmetic over random operands (the core itself uses no BigInt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, go, reg, setup, CODE } from './gp';
import { CF, OF, RAX, RBX, RCX, RDX, getReg64, setReg64 } from '../../vm-core/cpu/state';
import { setRflagsRaw } from './raw';

const U64 = (1n << 64n) - 1n;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const u64 = (v: bigint) => BigInt.asUintN(64, v);

test('MUL: AX = AL * r/m8, DX:AX, EDX:EAX (zero-extended), RDX:RAX; CF = OF = upper half non-zero', () => {
  let r = exec(64, ['f6e3'], { [RAX]: 0x12345680, [RBX]: 2 });         // mul bl
  assert.equal(reg(r.cpu, RAX), 0x12340100n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);
  r = exec(64, ['66f7e3'], { [RAX]: 0xffff, [RBX]: 0xffff, [RDX]: -1n }); // mul bx
  assert.equal(reg(r.cpu, RAX), 0x0001n);
  assert.equal(reg(r.cpu, RDX), 0xfffffffffffffffen);
  r = exec(64, ['f7e3'], { [RAX]: -1n, [RBX]: 2, [RDX]: -1n });        // mul ebx
  assert.equal(reg(r.cpu, RAX), 0xfffffffen);
  assert.equal(reg(r.cpu, RDX), 1n);
  r = exec(64, ['48f7e3'], { [RAX]: -1n, [RBX]: -1n });                // mul rbx
  assert.equal(reg(r.cpu, RAX), 1n);
  assert.equal(reg(r.cpu, RDX), U64 - 1n);
  r = exec(64, ['48f7e3'], { [RAX]: 3, [RBX]: 5 });
  assert.equal(flags(r.cpu) & (CF | OF), 0);
});

test('IMUL: one, two and three operands; CF = OF when the product does not fit', () => {
  let r = exec(64, ['f6eb'], { [RAX]: 0x80, [RBX]: 0xff });            // imul bl: -128 * -1 = 128
  assert.equal(reg(r.cpu, RAX) & 0xffffn, 0x0080n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);
  r = exec(64, ['48f7eb'], { [RAX]: -3n, [RBX]: 5 });                  // imul rbx
  assert.equal(reg(r.cpu, RAX), u64(-15n));
  assert.equal(reg(r.cpu, RDX), U64);
  assert.equal(flags(r.cpu) & (CF | OF), 0);
  r = exec(64, ['0fafc3'], { [RAX]: 0x10000, [RBX]: 0x10000 });         // imul eax,ebx
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);
  r = exec(64, ['6bc3fd'], { [RBX]: 7 });                              // imul eax,ebx,-3
  assert.equal(reg(r.cpu, RAX), 0xffffffebn);
  r = exec(64, ['4869c300000080'], { [RBX]: 2 });                      // imul rax,rbx,-2^31
  assert.equal(reg(r.cpu, RAX), u64(-(1n << 32n)));
  assert.equal(flags(r.cpu) & (CF | OF), 0);
  r = exec(64, ['66 6bc3 02'], { [RAX]: 0xaaaa0000, [RBX]: 0x4000 });  // imul ax,bx,2 overflows
  assert.equal(reg(r.cpu, RAX), 0xaaaa8000n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);
});

test('DIV/IDIV: quotient and remainder in every size, remainder with the sign of the dividend', () => {
  let r = exec(64, ['f6f3'], { [RAX]: 0x1234_0107, [RBX]: 0x10 });     // div bl: 263 / 16
  assert.equal(reg(r.cpu, RAX), 0x1234_0710n);
  r = exec(64, ['66f7fb'], { [RAX]: 0xfff9, [RDX]: 0xffff, [RBX]: 2 }); // idiv bx: -7 / 2
  assert.equal(reg(r.cpu, RAX) & 0xffffn, 0xfffdn);
  assert.equal(reg(r.cpu, RDX) & 0xffffn, 0xffffn);
  r = exec(64, ['f7f3'], { [RAX]: 0, [RDX]: 1, [RBX]: 3 });            // div ebx: 2^32 / 3
  assert.equal(reg(r.cpu, RAX), 0x55555555n);
  assert.equal(reg(r.cpu, RDX), 1n);
  r = exec(64, ['48f7fb'], { [RAX]: -7n, [RDX]: -1n, [RBX]: -2n });    // idiv rbx
  assert.equal(reg(r.cpu, RAX), 3n);
  assert.equal(reg(r.cpu, RDX), U64);
});

test('#DE on a zero divisor and on quotient overflow, with no register changed', () => {
  for (const [code, regs] of [
    ['f7f3', { [RAX]: 5, [RDX]: 0, [RBX]: 0 }],                         // div ebx, ebx = 0
    ['f6f3', { [RAX]: 0x1000, [RBX]: 0x10 }],                           // div bl: 256 does not fit
    ['48f7f3', { [RAX]: 0, [RDX]: 5, [RBX]: 5 }],                       // div rbx: RDX >= divisor
    ['48f7fb', { [RAX]: 1n << 63n, [RDX]: -1n, [RBX]: -1n }],           // idiv rbx: -2^63 / -1
    ['f6fb', { [RAX]: 0xff80, [RBX]: 0xff }],                           // idiv bl: -128 / -1
  ] as const) {
    const r = exec(64, [code], regs);
    assert.equal(r.vector, 0, code);
    assert.equal(r.rip, CODE, 'RIP stays at the instruction');
    for (const [k, v] of Object.entries(regs)) assert.equal(reg(r.cpu, Number(k)), u64(BigInt(v)), `${code} r${k}`);
  }
  const ok = exec(64, ['f6fb'], { [RAX]: 0xff80, [RBX]: 1 });           // idiv bl: -128 / 1 fits
  assert.equal(ok.vector, -1);
});

test('64-bit MUL/IMUL/DIV/IDIV agree with BigInt arithmetic on random operands', () => {
  let seed = 12345;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  const r64 = () => {
    const v = (BigInt(rnd()) << 32n) | BigInt(rnd());
    switch (rnd() % 4) { case 0: return v >> BigInt(rnd() % 64); case 1: return u64(-(v >> BigInt(rnd() % 64))); default: return v; }
  };
  const run = (code: string, regs: bigint[]) => {
    const s = setup(64, [code]);
    [RAX, RDX, RBX].forEach((n, k) => setReg64(s.cpu, n, regs[k]));
    setRflagsRaw(s.cpu, 2);
    return go(s);
  };
  for (let k = 0; k < 300; k++) {
    const a = r64(), b = r64() || 1n;
    let r = run('48f7e3', [a, 0n, b]);                                  // mul rbx
    const p = a * b;
    assert.equal(getReg64(r.cpu, RAX), p & U64);
    assert.equal(getReg64(r.cpu, RDX), p >> 64n);
    r = run('48f7eb', [a, 0n, b]);                                      // imul rbx
    const sp = s64(a) * s64(b);
    assert.equal(getReg64(r.cpu, RAX), u64(sp));
    assert.equal(getReg64(r.cpu, RDX), u64(sp >> 64n));
    assert.equal((flags(r.cpu) & CF) !== 0, sp !== s64(u64(sp)));
    // DIV with a high half below the divisor (no overflow): covers 32-bit and wide divisors.
    const hi = r64() % b;
    r = run('48f7f3', [a, hi, b]);                                      // div rbx
    const n = (hi << 64n) | a;
    assert.equal(getReg64(r.cpu, RAX), n / b, `div ${n} / ${b}`);
    assert.equal(getReg64(r.cpu, RDX), n % b);
    // IDIV of a sign-extended 64-bit dividend.
    const sa = s64(a), sb = s64(b);
    if (!(sa === -(1n << 63n) && sb === -1n)) {
      r = run('48f7fb', [a, sa < 0n ? U64 : 0n, b]);                    // idiv rbx
      assert.equal(getReg64(r.cpu, RAX), u64(sa / sb), `idiv ${sa} / ${sb}`);
      assert.equal(getReg64(r.cpu, RDX), u64(sa % sb));
    }
  }
});

test('MULX (BMI2): unsigned RDX * r/m into two registers, flags untouched', () => {
  let r = exec(64, ['c4e2f3f6c3'], { [RDX]: -1n, [RBX]: 2 }, 2 | CF);   // mulx rax,rcx,rbx
  assert.equal(reg(r.cpu, RAX), 1n);                                    // high half
  assert.equal(reg(r.cpu, RCX), U64 - 1n);                              // low half
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['c4e27bf6c3'], { [RDX]: 0x80000000, [RBX]: 4 });        // mulx eax,eax,ebx: same register gets the high half
  assert.equal(reg(r.cpu, RAX), 2n);
});
