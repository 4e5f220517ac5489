// RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (SDM Vol. 2): what Linux's context switch and paranoid entry
// run once CPUID.7.0:EBX[0] and CR4.FSGSBASE are set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, reg } from './gp';
import { CR4_FSGSBASE, FS, GS, RAX, RBX, RCX, RDX } from '../../vm-core/cpu/state';

const on = (c: import('../../vm-core/cpu').Cpu) => { c.cr4 |= CR4_FSGSBASE; };

test('WRFSBASE/WRGSBASE r64 load the bases; RDFSBASE/RDGSBASE r64 read them back exactly (higher-half values)', () => {
  const r = exec(64, ['f3480faed1', 'f3480faeda', 'f3480faec0', 'f3480faecb'], // wrfsbase rcx; wrgsbase rdx; rdfsbase rax; rdgsbase rbx
    { [RCX]: 0xffff888012345678n, [RDX]: 0x00007fffdeadb000n }, 2, on);
  assert.equal(r.vector, -1);
  assert.equal(r.cpu.seg[FS].base, -0x777fedcba988);          // sign-extended canonical, exact
  assert.equal(reg(r.cpu, RAX), 0xffff888012345678n);
  assert.equal(reg(r.cpu, RBX), 0x00007fffdeadb000n);
  assert.equal(r.cpu.seg[GS].base, 0x7fffdeadb000);
});

test('the 32-bit forms read the low half zero-extended and write the base zero-extended', () => {
  const r = exec(64, ['f30faed1', 'f30faec0'], { [RCX]: 0xffffffff87654321n, [RAX]: -1n }, 2, on); // wrfsbase ecx; rdfsbase eax
  assert.equal(r.cpu.seg[FS].base, 0x87654321);
  assert.equal(reg(r.cpu, RAX), 0x87654321n);
});

test('#UD without CR4.FSGSBASE or outside 64-bit mode; #GP(0) for a non-canonical WRFSBASE', () => {
  assert.equal(exec(64, ['f3480faec0']).vector, 6);
  assert.equal(exec(32, ['f30faec0'], {}, 2, on).vector, 6);
  const r = exec(64, ['f3480faed1'], { [RCX]: 0x0000800000000000n }, 2, on);
  assert.equal(r.vector, 13);
  assert.equal(r.cpu.seg[FS].base, 0);
});

test('an instruction the core does not emulate is named at its 64-bit address, unsigned (0xffffffff8..., not 0x-7e...)', () => {
  const { cpu } = exec(64, ['90']);
  const fake = { mnemonic: 'xrstor64', bytes: Uint8Array.of(0x48, 0x0f, 0xae, 0x2f), len: 4 } as unknown as import('../../vm-core/cpu/insn').Insn;
  cpu.insnRip = -0x7cfa0686; // 0xffffffff8305f97a, as the processor holds a higher-half RIP
  assert.throws(() => cpu.notEmulated(fake));
  assert.equal(cpu.exit.message, "instruction 'xrstor64' (48 0f ae 2f) at 0xffffffff8305f97a is not emulated");
});
