// CMPXCHG/8B/16B, XADD, MOVBE, CMOVcc, SETcc, ENTER/LEAVE, LAHF/SAHF, CLC/STC/CMC/CLD/STD, XLAT,
// ADCX/ADOX (SDM Vol. 2), including the register-width rules the processor follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, reg, DATA, STACK } from './gp';
import { CF, DF, OF, PF, SF, ZF, AF, ES, RAX, RBP, RBX, RCX, RDX, RSI, RDI, RSP, CR0_WP } from '../../vm-core/cpu/state';

const ro = (addr: number) => (c: import('../../vm-core/cpu').Cpu, m: Uint8Array, dv: DataView) => {
  dv.setUint32(0x3000 + 8 * (addr >>> 21), (addr & ~0x1fffff) | 0x81, true); // read-only 2M page
  c.cr0 |= CR0_WP;
};

test('CMPXCHG r32: on failure EAX is loaded (zero-extended) and the destination keeps its upper half', () => {
  let r = exec(64, ['0fb1d9'], { [RAX]: 0xffffffff00000001n, [RCX]: 0xdead000000000002n, [RBX]: 7 }); // cmpxchg ecx,ebx
  assert.equal(reg(r.cpu, RAX), 2n);
  assert.equal(reg(r.cpu, RCX), 0xdead000000000002n);
  assert.equal(flags(r.cpu) & ZF, 0);
  r = exec(64, ['0fb1d9'], { [RAX]: 0xffffffff00000002n, [RCX]: 0xdead000000000002n, [RBX]: 7 });
  assert.equal(reg(r.cpu, RCX), 7n);                     // success: ECX <- EBX, zero-extended
  assert.equal(reg(r.cpu, RAX), 0xffffffff00000002n);    // the accumulator is not written
  assert.equal(flags(r.cpu) & ZF, ZF);
});

test('CMPXCHG m: the destination is written even when the compare fails (a read-only page faults)', () => {
  let r = exec(64, ['480fb11c2500002000'], { [RAX]: 1, [RBX]: 2 }, 2, (c, m, dv) => dv.setUint32(0x200000, 5, true));
  assert.equal(reg(r.cpu, RAX), 5n);
  assert.equal(r.dv.getUint32(0x200000, true), 5);
  r = exec(64, ['480fb11c2500002000'], { [RAX]: 1, [RBX]: 2 }, 2 | CF, (c, m, dv) => { ro(0x200000)(c, m, dv); dv.setUint32(0x200000, 5, true); });
  assert.equal(r.vector, 14);
  assert.equal(reg(r.cpu, RAX), 1n);                     // nothing changed
  assert.equal(flags(r.cpu) & CF, CF);
});

test('CMPXCHG8B/16B compare EDX:EAX / RDX:RAX; 16B needs 16-byte alignment', () => {
  const init = (c: unknown, m: Uint8Array, dv: DataView) => { dv.setBigUint64(DATA, 0x1111111122222222n, true); dv.setBigUint64(DATA + 8, 0x3333n, true); };
  let r = exec(64, ['0fc70c2500000200'], { [RAX]: 0x22222222, [RDX]: 0x11111111, [RBX]: 0xb, [RCX]: 0xc }, 2, init); // cmpxchg8b [0x20000]
  assert.equal(r.dv.getBigUint64(DATA, true), 0x0000000c0000000bn);
  assert.equal(flags(r.cpu) & ZF, ZF);
  r = exec(64, ['0fc70c2500000200'], { [RAX]: -1n, [RDX]: -1n }, 2, init);
  assert.equal(reg(r.cpu, RAX), 0x22222222n);
  assert.equal(reg(r.cpu, RDX), 0x11111111n);
  assert.equal(flags(r.cpu) & ZF, 0);
  r = exec(64, ['480fc70c2500000200'], { [RAX]: 0x1111111122222222n, [RDX]: 0x3333n, [RBX]: 1, [RCX]: 2 }, 2, init); // cmpxchg16b
  assert.equal(r.dv.getBigUint64(DATA + 8, true), 2n);
  r = exec(64, ['480fc70c2508000200'], {}, 2, init);      // cmpxchg16b [0x20008]: misaligned
  assert.equal(r.vector, 13);
});

test('XADD exchanges and adds; MOVBE moves byte-swapped', () => {
  let r = exec(64, ['0fc1d8'], { [RAX]: 5, [RBX]: 7 });                 // xadd eax,ebx
  assert.equal(reg(r.cpu, RAX), 12n);
  assert.equal(reg(r.cpu, RBX), 5n);
  r = exec(64, ['f00fc11c2500000200'], { [RBX]: -1n }, 2, (c, m, dv) => dv.setUint32(DATA, 1, true)); // lock xadd [0x20000],ebx
  assert.equal(r.dv.getUint32(DATA, true), 0);
  assert.equal(reg(r.cpu, RBX), 1n);
  assert.equal(flags(r.cpu) & (CF | ZF), CF | ZF);
  r = exec(64, ['0f38f0042500000200'], { [RAX]: -1n }, 2, (c, m, dv) => dv.setUint32(DATA, 0x12345678, true)); // movbe eax,[0x20000]
  assert.equal(reg(r.cpu, RAX), 0x78563412n);
  r = exec(64, ['480f38f1042500000200'], { [RAX]: 0x0102030405060708n }); // movbe [0x20000],rax
  assert.equal(r.dv.getBigUint64(DATA, true), 0x0807060504030201n);
});

test('CMOVcc: a false 32-bit CMOV still zero-extends; the memory source is read (and faults) either way', () => {
  let r = exec(64, ['0f44c3'], { [RAX]: 0xffffffff00000001n, [RBX]: 2 });   // cmovz eax,ebx with ZF = 0
  assert.equal(reg(r.cpu, RAX), 1n);
  r = exec(64, ['480f44c3'], { [RAX]: 0xffffffff00000001n, [RBX]: 2 });    // cmovz rax,rbx: untouched
  assert.equal(reg(r.cpu, RAX), 0xffffffff00000001n);
  r = exec(64, ['0f44c3'], { [RBX]: 2 }, 2 | ZF);
  assert.equal(reg(r.cpu, RAX), 2n);
  r = exec(64, ['0f44042500002000'], { [RAX]: 1 }, 2, (c, m, dv) => dv.setUint32(0x3000 + 8, 0, true)); // not-present source
  assert.equal(r.vector, 14);
});

test('SETcc writes 1 or 0 to a byte register or memory', () => {
  let r = exec(64, ['0f9cc0'], { [RAX]: 0xff00 }, 2 | SF);                  // setl al: SF != OF
  assert.equal(reg(r.cpu, RAX), 0xff01n);
  r = exec(64, ['0f9f042500000200'], {}, 2 | ZF, (c, m) => { m[DATA] = 0x55; }); // setg [0x20000]
  assert.equal(r.mem[DATA], 0);
});

test('ENTER with nesting levels copies the enclosing frame pointers; LEAVE undoes the frame', () => {
  const oldBp = STACK - 0x100;
  let r = exec(64, ['c8100002'], { [RBP]: oldBp }, 2, (c, m, dv) => dv.setBigUint64(oldBp - 8, 0xabcdn, true)); // enter 16,2
  const frame = STACK - 8;
  assert.equal(reg(r.cpu, RBP), BigInt(frame));
  assert.equal(reg(r.cpu, RSP), BigInt(frame - 16 - 16));
  assert.equal(r.dv.getBigUint64(STACK - 8, true), BigInt(oldBp));         // pushed RBP
  assert.equal(r.dv.getBigUint64(STACK - 16, true), 0xabcdn);              // copied [RBP-8]
  assert.equal(r.dv.getBigUint64(STACK - 24, true), BigInt(frame));        // the new frame pointer
  r = exec(64, ['c8100002', 'c9'], { [RBP]: oldBp });                       // enter; leave
  assert.equal(reg(r.cpu, RBP), BigInt(oldBp));
  assert.equal(reg(r.cpu, RSP), BigInt(STACK));
  r = exec(32, ['c8080001', 'c9'], { [RBP]: 0x1234 });                      // 32-bit enter 8,1; leave
  assert.equal(reg(r.cpu, RBP), 0x1234n);
  assert.equal(reg(r.cpu, RSP), BigInt(STACK));
});

test('LAHF/SAHF move SF:ZF:0:AF:0:PF:1:CF through AH; CLC/STC/CMC and CLD/STD', () => {
  let r = exec(64, ['9f'], {}, 2 | SF | ZF | AF | PF | CF | OF);            // lahf
  assert.equal(reg(r.cpu, RAX), BigInt((SF | ZF | AF | PF | CF | 2) << 8));
  r = exec(64, ['9e'], { [RAX]: 0xd500 }, 2 | OF);                          // sahf: OF unchanged
  assert.equal(flags(r.cpu) & (SF | ZF | AF | PF | CF | OF), SF | ZF | AF | PF | CF | OF);
  r = exec(64, ['f9', 'f5', 'fd'], {});                                     // stc; cmc; std
  assert.equal(flags(r.cpu) & (CF | DF), DF);
  r = exec(64, ['f8', 'fc'], {}, 2 | CF | DF);                              // clc; cld
  assert.equal(flags(r.cpu) & (CF | DF), 0);
});

test('XLAT reads [rBX + AL] (segment override honoured in real mode)', () => {
  let r = exec(64, ['d7'], { [RAX]: 0x1203, [RBX]: DATA }, 2, (c, m) => m.set([10, 11, 12, 13], DATA));
  assert.equal(reg(r.cpu, RAX), 0x120dn);
  r = exec(16, ['26d7'], { [RAX]: 0x02, [RBX]: 0x10 }, 2, (c, m) => {         // es xlat
    c.seg[ES].base = 0x30000; m[0x30012] = 0x99; m[0x12] = 0x11;
  });
  assert.equal(reg(r.cpu, RAX) & 0xffn, 0x99n);
});

test('ADCX/ADOX carry through CF or OF only', () => {
  let r = exec(64, ['66480f38f6c3'], { [RAX]: -1n, [RBX]: 0 }, 2 | CF | ZF);  // adcx rax,rbx
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & (CF | ZF | OF), CF | ZF);                      // ZF untouched
  r = exec(64, ['f30f38f6c3'], { [RAX]: 0xffffffff, [RBX]: 1 }, 2);           // adox eax,ebx
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & (CF | OF), OF);
});

test('PUSHAD/POPAD save and restore the eight registers (the pushed ESP is the original, POPAD skips it)', () => {
  const regs = { [RAX]: 1, [RCX]: 2, [RDX]: 3, [RBX]: 4, [RBP]: 6, [RSI]: 7, [RDI]: 8 };
  let r = exec(32, ['60'], regs);                                              // pushad
  assert.equal(reg(r.cpu, RSP), BigInt(STACK - 32));
  assert.deepEqual(Array.from({ length: 8 }, (_, k) => r.dv.getUint32(STACK - 32 + 4 * k, true)), [8, 7, 6, STACK, 4, 3, 2, 1]);
  r = exec(32, ['60', '31c0', '31db', '61'], regs);                            // pushad; xor eax,eax; xor ebx,ebx; popad
  assert.equal(reg(r.cpu, RAX), 1n);
  assert.equal(reg(r.cpu, RBX), 4n);
  assert.equal(reg(r.cpu, RSP), BigInt(STACK));
  r = exec(16, ['60', '61'], { ...regs, [RAX]: 0x12345678 });                  // pusha; popa (16-bit)
  assert.equal(reg(r.cpu, RAX), 0x12345678n);
  assert.equal(exec(64, ['60']).vector, 6);                                    // invalid in 64-bit mode
});

test('BOUND raises #BR outside the signed bounds; SALC sets AL from CF', () => {
  const init = (c: unknown, m: Uint8Array, dv: DataView) => { dv.setInt32(DATA, -5, true); dv.setInt32(DATA + 4, 10, true); };
  assert.equal(exec(32, ['620500000200'], { [RAX]: -5n }, 2, init).vector, -1);  // bound eax,[0x20000]
  assert.equal(exec(32, ['620500000200'], { [RAX]: 11 }, 2, init).vector, 5);
  assert.equal(exec(32, ['620500000200'], { [RAX]: -6n }, 2, init).vector, 5);
  let r = exec(32, ['d6'], { [RAX]: 0x1200 }, 2 | CF);                           // salc
  assert.equal(reg(r.cpu, RAX), 0x12ffn);
  r = exec(32, ['d6'], { [RAX]: 0x12ff }, 2);
  assert.equal(reg(r.cpu, RAX), 0x1200n);
});

test('3DNow! (0F 0F ib) and FEMMS (0F 0E) raise #UD: neither modelled processor has them', () => {
  for (const mode of [64, 32, 16] as const) {
    const pfadd = exec(mode, ['0f0fc19e']);          // pfadd mm0, mm1
    assert.equal(pfadd.vector, 6, `pfadd in ${mode}-bit mode`);
    assert.equal(pfadd.rip, mode === 16 ? 0 : 0x10000, 'RIP stays at the instruction (IP 0 at CS = CODE >> 4 in real mode)');
    assert.equal(exec(mode, ['0f0e']).vector, 6, `femms in ${mode}-bit mode`);
  }
});
