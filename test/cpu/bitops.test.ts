// Bit and byte instructions (SDM Vol. 2 BT/BTS/BTR/BTC, BSF/BSR, POPCNT, LZCNT, TZCNT, BSWAP and
// the BMI1/BMI2 groups): bit-string addressing beyond the operand, flag rules, zero sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, reg, DATA } from './gp';
import { CF, OF, PF, SF, ZF, RAX, RBX, RCX } from '../../vm-core/cpu/state';

test('BT/BTS/BTR/BTC on registers: the offset is taken modulo the operand size; only CF changes', () => {
  let r = exec(64, ['0fa3d8'], { [RAX]: 0x80000000, [RBX]: 63 }, 2 | ZF);  // bt eax,ebx (63 & 31 = 31)
  assert.equal(flags(r.cpu) & (CF | ZF), CF | ZF);
  r = exec(64, ['480fabd8'], { [RAX]: 0, [RBX]: 40 });                      // bts rax,rbx
  assert.equal(reg(r.cpu, RAX), 1n << 40n);
  assert.equal(flags(r.cpu) & CF, 0);
  r = exec(64, ['0fbaf004'], { [RAX]: 0xffffffff00000010n });               // btr eax,4 (zero-extends)
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['66 0fbaf8 11'], { [RAX]: 0x10000 });                       // btc ax,17 -> bit 1
  assert.equal(reg(r.cpu, RAX), 0x10002n);
});

test('BT* on memory with a register offset address the bit string beyond the operand', () => {
  // bts dword [0x20010],ebx with ebx = -1: bit 31 of the dword at 0x2000c.
  let r = exec(64, ['0fab1c2510000200'], { [RBX]: -1n });
  assert.equal(r.dv.getUint32(DATA + 0xc, true), 0x80000000);
  // btc qword [0x20010],rbx with rbx = 64*3 + 5: bit 5 of the qword at 0x20028.
  r = exec(64, ['480fbb1c2510000200'], { [RBX]: 197 });
  assert.equal(r.dv.getUint32(DATA + 0x28, true), 0x20);
  // bt word [0x100],ax in real mode with ax = -17: bit 15 of the word at 0xfc.
  r = exec(16, ['0fa3060001'], { [RAX]: 0xffef }, 2, (c, m, dv) => dv.setUint16(0xfc, 0x8000, true));
  assert.equal(flags(r.cpu) & CF, CF);
  // With an immediate offset the offset is masked to the operand size instead.
  r = exec(64, ['0fba2c251000020021'], {}, 2);                              // bts dword [0x20010],33
  assert.equal(r.dv.getUint32(DATA + 0x10, true), 2);
});

test('BSF/BSR: index of the lowest/highest set bit; a zero source sets ZF and leaves the destination', () => {
  let r = exec(64, ['480fbcc3'], { [RBX]: 0x100000000000n });               // bsf rax,rbx
  assert.equal(reg(r.cpu, RAX), 44n);
  assert.equal(flags(r.cpu) & ZF, 0);
  r = exec(64, ['0fbdc3'], { [RBX]: 0x00f00000 });                          // bsr eax,ebx
  assert.equal(reg(r.cpu, RAX), 23n);
  r = exec(64, ['480fbcc3'], { [RAX]: 0x1234, [RBX]: 0 });
  assert.equal(reg(r.cpu, RAX), 0x1234n);
  assert.equal(flags(r.cpu) & ZF, ZF);
});

test('POPCNT clears every flag but ZF; LZCNT/TZCNT set CF for a zero source and ZF for a zero result', () => {
  let r = exec(64, ['f3480fb8c3'], { [RBX]: -1n }, 2 | CF | OF | SF);       // popcnt rax,rbx
  assert.equal(reg(r.cpu, RAX), 64n);
  assert.equal(flags(r.cpu) & (CF | OF | SF | ZF | PF), 0);
  r = exec(64, ['f30fb8c3'], { [RBX]: 0 });                                 // popcnt eax,ebx
  assert.equal(flags(r.cpu) & ZF, ZF);
  r = exec(64, ['66f30fbdc3'], { [RBX]: 0 });                               // lzcnt ax,bx
  assert.equal(reg(r.cpu, RAX) & 0xffffn, 16n);
  assert.equal(flags(r.cpu) & (CF | ZF), CF);
  r = exec(64, ['f3480fbdc3'], { [RBX]: -1n });                             // lzcnt rax,rbx
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & (CF | ZF), ZF);
  r = exec(64, ['f3480fbcc3'], { [RBX]: 1n << 40n });                       // tzcnt rax,rbx
  assert.equal(reg(r.cpu, RAX), 40n);
});

test('BSWAP reverses the bytes (32-bit forms zero-extend)', () => {
  let r = exec(64, ['0fc8'], { [RAX]: 0xffffffff12345678n });               // bswap eax
  assert.equal(reg(r.cpu, RAX), 0x78563412n);
  r = exec(64, ['480fc8'], { [RAX]: 0x0102030405060708n });                 // bswap rax
  assert.equal(reg(r.cpu, RAX), 0x0807060504030201n);
});

test('BMI1: ANDN, BEXTR, BLSI, BLSMSK, BLSR with their flag rules', () => {
  let r = exec(64, ['c4e260f2c1'], { [RBX]: 0xf0, [RCX]: 0xff }, 2 | CF | OF); // andn eax,ebx,ecx
  assert.equal(reg(r.cpu, RAX), 0x0fn);
  assert.equal(flags(r.cpu) & (CF | OF | ZF), 0);
  r = exec(64, ['c4e270f7c3'], { [RBX]: 0xabcd, [RCX]: 0x0804 });             // bextr eax,ebx,ecx: 8 bits from bit 4
  assert.equal(reg(r.cpu, RAX), 0xbcn);
  r = exec(64, ['c4e270f7c3'], { [RBX]: 0xabcd, [RCX]: 0x0820 });             // start 32: nothing
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & ZF, ZF);
  r = exec(64, ['c4e278f3db'], { [RBX]: 0b101000 });                           // blsi eax,ebx
  assert.equal(reg(r.cpu, RAX), 0b1000n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['c4e278f3d3'], { [RBX]: 0b101000 });                           // blsmsk eax,ebx
  assert.equal(reg(r.cpu, RAX), 0b1111n);
  r = exec(64, ['c4e278f3cb'], { [RBX]: 0 });                                  // blsr eax,ebx
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & (CF | ZF), CF | ZF);
});

test('BMI2: BZHI, PDEP, PEXT', () => {
  let r = exec(64, ['c4e270f5c3'], { [RBX]: -1n, [RCX]: 12 });               // bzhi eax,ebx,ecx
  assert.equal(reg(r.cpu, RAX), 0xfffn);
  assert.equal(flags(r.cpu) & CF, 0);
  r = exec(64, ['c4e270f5c3'], { [RBX]: 0x1234, [RCX]: 40 });                 // index >= 32: CF
  assert.equal(reg(r.cpu, RAX), 0x1234n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['c4e263f5c1'], { [RBX]: 0b1011, [RCX]: 0xf0f0 });             // pdep eax,ebx,ecx
  assert.equal(reg(r.cpu, RAX), 0b10110000n);
  r = exec(64, ['c4e262f5c1'], { [RBX]: 0xabcd, [RCX]: 0xff00 });             // pext eax,ebx,ecx
  assert.equal(reg(r.cpu, RAX), 0xabn);
  r = exec(64, ['c4e2e3f5c1'], { [RBX]: 3, [RCX]: 0x8000000100000000n });    // pdep rax,rbx,rcx
  assert.equal(reg(r.cpu, RAX), 0x8000000100000000n);
});
