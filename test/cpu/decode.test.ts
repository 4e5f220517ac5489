// decode.ts: the operand size of the converted instruction (Insn.osz).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../vm-core/cpu/index';
import { decodeInsn } from '../../vm-core/cpu/decode';

const osz = (bytes: number[], bits: 16 | 32 | 64 = 64) => decodeInsn(Uint8Array.from(bytes), bits).insn.osz;

test('osz: a memory destination gives the size, not a CL count or other register operand', () => {
  assert.equal(osz([0xd3, 0x20]), 4, 'shl dword [rax], cl');
  assert.equal(osz([0x48, 0xd3, 0x20]), 8, 'shl qword [rax], cl');
  assert.equal(osz([0xd2, 0x20]), 1, 'shl byte [rax], cl');
  assert.equal(osz([0x66, 0xd3, 0x38]), 2, 'sar word [rax], cl');
  assert.equal(osz([0x0f, 0xa5, 0x08]), 4, 'shld [rax], ecx, cl');
  assert.equal(osz([0x89, 0x00]), 4, 'mov [rax], eax');
  assert.equal(osz([0xd3, 0xe0]), 4, 'shl eax, cl (register destination)');
  assert.equal(osz([0x0f, 0xb6, 0x00]), 4, 'movzx eax, byte [rax]');
});

test('osz: PUSH imm pushes the stack decrement (8 in 64-bit mode)', () => {
  assert.equal(osz([0x6a, 0x01]), 8, 'push 1 (64-bit)');
  assert.equal(osz([0x68, 0x01, 0, 0, 0]), 8, 'push imm32 (64-bit)');
  assert.equal(osz([0x66, 0x6a, 0x01]), 2, 'push word 1 (64-bit)');
  assert.equal(osz([0x6a, 0x01], 32), 4, 'push 1 (32-bit)');
  assert.equal(osz([0x6a, 0x01], 16), 2, 'push 1 (16-bit)');
});
