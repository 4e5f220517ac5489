// Shifts and rotates (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD, SARX/SHLX/SHRX,
// RORX): results, CF/OF per count, count masking, a count of 0, and memory destinations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, reg, DATA } from './gp';
import { CF, OF, PF, SF, ZF, RAX, RBX, RCX, CR0_WP } from '../../vm-core/cpu/state';

const ARITH = CF | PF | 0x10 | ZF | SF | OF;

test('SHL/SHR/SAR by 1, by an immediate and by CL: result, CF and OF', () => {
  let r = exec(64, ['d1e0'], { [RAX]: 0xc0000001 });                 // shl eax,1
  assert.equal(reg(r.cpu, RAX), 0x80000002n);
  assert.equal(flags(r.cpu) & (CF | OF | SF | ZF), CF | SF);         // OF = MSB(result) ^ CF = 0
  r = exec(64, ['d1e8'], { [RAX]: 0x80000001 });                     // shr eax,1
  assert.equal(reg(r.cpu, RAX), 0x40000000n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);                   // OF = MSB of the original
  r = exec(64, ['48c1f83d'], { [RAX]: -0x1000000000000000n });       // sar rax,61
  assert.equal(reg(r.cpu, RAX), 0xffffffffffffffffn);
  assert.equal(flags(r.cpu) & (CF | SF | OF), CF | SF);              // SAR clears OF
  r = exec(64, ['48d3e0'], { [RAX]: 1, [RCX]: 63 });                 // shl rax,cl
  assert.equal(reg(r.cpu, RAX), 0x8000000000000000n);
  r = exec(64, ['66d3e8'], { [RAX]: 0xffff8000n, [RCX]: 15 });       // shr ax,cl
  assert.equal(reg(r.cpu, RAX), 0xffff0001n);
});

test('the count is masked to 5 bits (6 for 64-bit operands); 8/16-bit shifts may exceed the width', () => {
  let r = exec(64, ['c1e021'], { [RAX]: 3 });                        // shl eax,33 == shl eax,1
  assert.equal(reg(r.cpu, RAX), 6n);
  r = exec(64, ['48c1e041'], { [RAX]: 3 });                          // shl rax,65 == shl rax,1
  assert.equal(reg(r.cpu, RAX), 6n);
  r = exec(64, ['c0e009'], { [RAX]: 0xff });                         // shl al,9: every bit shifted out
  assert.equal(reg(r.cpu, RAX) & 0xffn, 0n);
  assert.equal(flags(r.cpu) & ZF, ZF);
  r = exec(64, ['c0f80a'], { [RAX]: 0x80 });                         // sar al,10: the sign fills
  assert.equal(reg(r.cpu, RAX), 0xffn);
  assert.equal(flags(r.cpu) & CF, CF);
});

test('a masked count of 0 changes no flag, but a 32-bit register destination is still zero-extended', () => {
  const r = exec(64, ['d3e0'], { [RAX]: 0x1234567800000001n, [RCX]: 32 }, 2 | CF | OF | ZF); // shl eax,cl (cl=32 -> 0)
  assert.equal(reg(r.cpu, RAX), 1n);
  assert.equal(flags(r.cpu) & ARITH, CF | OF | ZF);
  const m = exec(64, ['66d3e0'], { [RAX]: 0x1234567800000001n, [RCX]: 0 }); // shl ax,cl: upper bits stay
  assert.equal(reg(m.cpu, RAX), 0x1234567800000001n);
});

test('ROL/ROR set only CF and OF; 8-bit rotates by a multiple of 8 still set CF', () => {
  let r = exec(64, ['d0c0'], { [RAX]: 0x80 }, 2 | ZF);               // rol al,1
  assert.equal(reg(r.cpu, RAX), 1n);
  assert.equal(flags(r.cpu) & ARITH, CF | OF | ZF);                  // ZF untouched
  r = exec(64, ['48c1c804'], { [RAX]: 0x1f });                       // ror rax,4
  assert.equal(reg(r.cpu, RAX), 0xf000000000000001n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['c0c008'], { [RAX]: 0x81 });                         // rol al,8: value kept, CF = LSB
  assert.equal(reg(r.cpu, RAX), 0x81n);
  assert.equal(flags(r.cpu) & CF, CF);
});

test('RCL/RCR rotate through CF: counts modulo 9 and 17 for 8/16-bit operands, 64-bit halves', () => {
  let r = exec(64, ['d0d0'], { [RAX]: 0x80 }, 2 | CF);               // rcl al,1
  assert.equal(reg(r.cpu, RAX), 1n);
  assert.equal(flags(r.cpu) & (CF | OF), CF | OF);
  r = exec(64, ['c0d009'], { [RAX]: 0x5a }, 2 | CF);                 // rcl al,9 == no rotation
  assert.equal(reg(r.cpu, RAX), 0x5an);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['66c1d812'], { [RAX]: 0x0001 }, 2);                  // rcr ax,18 == rcr ax,1
  assert.equal(reg(r.cpu, RAX), 0n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['48d1d0'], { [RAX]: 0x8000000080000000n }, 2 | CF);  // rcl rax,1
  assert.equal(reg(r.cpu, RAX), 0x0000000100000001n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['48c1d820'], { [RAX]: 0x1_0000_0001n }, 2 | CF);     // rcr rax,32
  assert.equal(reg(r.cpu, RAX), 0x3_0000_0001n);                     // 65-bit rotation: CF lands in bit 32
  assert.equal(flags(r.cpu) & CF, 0);                                 // CF = old bit 31
});

test('SHLD/SHRD: register and memory destinations, 16/32/64-bit, CF/OF for a count of 1', () => {
  let r = exec(64, ['0fa4d804'], { [RAX]: 0x12345678, [RBX]: 0x9abcdef0 }); // shld eax,ebx,4
  assert.equal(reg(r.cpu, RAX), 0x23456789n);
  assert.equal(flags(r.cpu) & CF, CF);
  r = exec(64, ['480fadd8'], { [RAX]: 0x1, [RBX]: 0xffn, [RCX]: 8 });        // shrd rax,rbx,cl
  assert.equal(reg(r.cpu, RAX), 0xff00000000000000n);
  r = exec(64, ['660fa41c250000020001'], { [RBX]: 0x8000 }, 2, (c, m, dv) => dv.setUint16(DATA, 0x4000, true)); // shld word [0x20000],bx,1
  assert.equal(r.dv.getUint16(DATA, true), 0x8001);
  assert.equal(flags(r.cpu) & (CF | OF), OF);                                   // sign changed
});

test('SHLX/SHRX/SARX/RORX (BMI2) shift without touching the flags', () => {
  let r = exec(64, ['c4e271f7c3'], { [RBX]: 1, [RCX]: 33 }, 2 | ZF);  // shlx eax,ebx,ecx (count & 31 = 1)
  assert.equal(reg(r.cpu, RAX), 2n);
  assert.equal(flags(r.cpu) & ARITH, ZF);
  r = exec(64, ['c4e2f2f7c3'], { [RBX]: -16n, [RCX]: 2 });            // sarx rax,rbx,rcx
  assert.equal(reg(r.cpu, RAX), BigInt.asUintN(64, -4n));
  r = exec(64, ['c4e3fbf0c308'], { [RBX]: 0xff });                     // rorx rax,rbx,8
  assert.equal(reg(r.cpu, RAX), 0xff00000000000000n);
});

test('a shift whose memory write faults leaves the destination and RFLAGS unchanged', () => {
  // shl dword [0x200000],1 with the 2M page read-only and CR0.WP set -> #PF on the write.
  const r = exec(64, ['d1242500002000'], {}, 2 | ZF | PF, (c, mem, dv) => {
    dv.setUint32(0x3000 + 8, 0x200000 | 0x81, true); // PDE 1: present, read-only, 2M
    c.cr0 |= CR0_WP;
    dv.setUint32(0x200000, 0x80000000, true);
  });
  assert.equal(r.vector, 14);
  assert.equal(r.dv.getUint32(0x200000, true), 0x80000000);
  assert.equal(flags(r.cpu) & ARITH, ZF | PF);
});
