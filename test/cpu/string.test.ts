// String instructions (SDM Vol. 2 MOVS, CMPS, SCAS, LODS, STOS, REP/REPE/REPNE): direction flag,
// address sizes, segment override of the source, and REP loops that stop after a bounded batch
// (RIP stays on the instruction, RCX counts down) and keep their progress when a fault hits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, go, reg, setup, CODE, DATA } from './gp';
import { CF, DF, TF, ZF, ES, RAX, RCX, RDI, RSI, setReg64 } from '../../vm-core/cpu/state';
import { REP_BATCH } from '../../vm-core/cpu/exec/string';

const fill = (mem: Uint8Array, at: number, s: string) => mem.set(Buffer.from(s, 'latin1'), at);
const text = (mem: Uint8Array, at: number, n: number) => Buffer.from(mem.subarray(at, at + n)).toString('latin1');

test('REP MOVSB/MOVSQ copy forwards, and backwards with DF = 1', () => {
  let r = exec(64, ['f3a4'], { [RSI]: DATA, [RDI]: DATA + 0x100, [RCX]: 11 }, 2, (c, m) => fill(m, DATA, 'hello world'));
  assert.equal(text(r.mem, DATA + 0x100, 11), 'hello world');
  assert.equal(reg(r.cpu, RCX), 0n);
  assert.equal(reg(r.cpu, RSI), BigInt(DATA + 11));
  r = exec(64, ['f348a5'], { [RSI]: DATA + 8, [RDI]: DATA + 0x108, [RCX]: 2 }, 2 | DF, (c, m) => fill(m, DATA, 'abcdefghABCDEFGH'));
  assert.equal(text(r.mem, DATA + 0x100, 16), 'abcdefghABCDEFGH');
  assert.equal(reg(r.cpu, RDI), BigInt(DATA + 0x108 - 16));
});

test('REP STOSQ, LODSD, and a zero count that does nothing', () => {
  let r = exec(64, ['f348ab'], { [RAX]: 0x1122334455667788n, [RDI]: DATA, [RCX]: 3 });
  assert.equal(r.dv.getBigUint64(DATA + 16, true), 0x1122334455667788n);
  r = exec(64, ['ad'], { [RAX]: -1n, [RSI]: DATA }, 2, (c, m, dv) => dv.setUint32(DATA, 0xcafef00d, true)); // lodsd
  assert.equal(reg(r.cpu, RAX), 0xcafef00dn);
  r = exec(64, ['f3a6'], { [RSI]: DATA, [RDI]: DATA + 1, [RCX]: 0 }, 2 | CF | ZF);   // repe cmpsb, rcx = 0
  assert.equal(flags(r.cpu) & (CF | ZF), CF | ZF);
  assert.equal(reg(r.cpu, RSI), BigInt(DATA));
});

test('REPE CMPSB stops at the first difference; REPNE SCASB at the first match', () => {
  let r = exec(64, ['f3a6'], { [RSI]: DATA, [RDI]: DATA + 0x100, [RCX]: 10 }, 2, (c, m) => {
    fill(m, DATA, 'abcdXfgh'); fill(m, DATA + 0x100, 'abcdYfgh');
  });
  assert.equal(reg(r.cpu, RCX), 5n);                      // 5 comparisons done, the 5th differed
  assert.equal(reg(r.cpu, RSI), BigInt(DATA + 5));
  assert.equal(flags(r.cpu) & (ZF | CF), CF);             // 'X' < 'Y'
  r = exec(64, ['f2ae'], { [RAX]: 0x2f, [RDI]: DATA, [RCX]: 100 }, 2, (c, m) => fill(m, DATA, 'usr/bin'));
  assert.equal(reg(r.cpu, RDI), BigInt(DATA + 4));        // just past the '/'
  assert.equal(reg(r.cpu, RCX), 96n);
  assert.equal(flags(r.cpu) & ZF, ZF);
});

test('address size 32 in 64-bit mode uses ESI/EDI/ECX and zero-extends them', () => {
  const r = exec(64, ['67f3a4'], { [RSI]: 0xffffffff00000000n + BigInt(DATA), [RDI]: 0x1_0000_0000n + BigInt(DATA + 0x40), [RCX]: 0x1_0000_0003n },
    2, (c, m) => fill(m, DATA, 'xyz'));
  assert.equal(text(r.mem, DATA + 0x40, 3), 'xyz');
  assert.equal(reg(r.cpu, RSI), BigInt(DATA + 3));
  assert.equal(reg(r.cpu, RCX), 0n);
});

test('real mode: DS:SI to ES:DI, a segment override on the source, 16-bit SI wrap-around', () => {
  const init = (c: import('../../vm-core/cpu').Cpu, m: Uint8Array) => {
    c.seg[ES].base = 0x30000; c.seg[ES].selector = 0x3000;
    fill(m, 0x100, 'from ds'); fill(m, 0x30100, 'from es');
  };
  let r = exec(16, ['f3a4'], { [RSI]: 0x100, [RDI]: 0x200, [RCX]: 7 }, 2, init);       // rep movsb
  assert.equal(text(r.mem, 0x30200, 7), 'from ds');
  r = exec(16, ['26f3a4'], { [RSI]: 0x100, [RDI]: 0x200, [RCX]: 7 }, 2, init);         // rep movsb es:[si]
  assert.equal(text(r.mem, 0x30200, 7), 'from es');
  r = exec(16, ['a4'], { [RSI]: 0x1234ffff, [RDI]: 0x200 }, 2, init);                   // movsb at SI = FFFFh
  assert.equal(reg(r.cpu, RSI), 0x12340000n);
});

test(`a long REP runs ${REP_BATCH} iterations per execution and resumes at the same instruction`, () => {
  const s = setup(64, ['f3aa']);                                                         // rep stosb
  setReg64(s.cpu, RCX, 5000n); setReg64(s.cpu, RDI, BigInt(DATA)); setReg64(s.cpu, RAX, 0x5an);
  assert.equal(s.cpu.run(1), 0);
  assert.equal(s.cpu.rip, CODE, 'RIP stays on the REP instruction');
  assert.equal(reg(s.cpu, RCX), BigInt(5000 - REP_BATCH));
  assert.equal(reg(s.cpu, RDI), BigInt(DATA + REP_BATCH));
  const r = go(s);
  assert.equal(r.vector, -1);
  assert.equal(reg(r.cpu, RCX), 0n);
  assert.equal(r.mem[DATA + 4999], 0x5a);
  assert.equal(r.mem[DATA + 5000], 0);
});

test('a fault in the middle of REP STOSB keeps the iterations already done (RCX/RDI updated)', () => {
  // The 2M page at 0x200000 is not present: the 17th byte faults.
  const r = exec(64, ['f3aa'], { [RAX]: 0x77, [RDI]: 0x1ffff0, [RCX]: 32 }, 2, (c, m, dv) => dv.setUint32(0x3000 + 8, 0, true));
  assert.equal(r.vector, 14);
  assert.equal(r.rip, CODE);
  assert.equal(reg(r.cpu, RCX), 16n);
  assert.equal(reg(r.cpu, RDI), 0x200000n);
  assert.equal(r.mem[0x1fffff], 0x77);
  assert.equal(r.cpu.cr2 === 0x200000 || r.cpu.pfAddr === 0x200000, true);
});

test('with TF set, REP does one iteration per execution and single-steps each', () => {
  const r = exec(64, ['f3aa'], { [RAX]: 1, [RDI]: DATA, [RCX]: 5 }, 2 | TF);
  assert.equal(r.vector, 1);                              // #DB after the first iteration
  assert.equal(r.rip, CODE);
  assert.equal(reg(r.cpu, RCX), 4n);
});
