// Decimal arithmetic (SDM Vol. 2 DAA, DAS, AAA, AAS, AAM, AAD), with the SDM's worked examples;
// all are invalid in 64-bit mode and AAM with a zero base raises #DE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, flags, reg } from './gp';
import { AF, CF, PF, SF, ZF, RAX, RBX } from '../../vm-core/cpu/state';

test('DAA after ADD: 79h + 35h = AEh -> 14h with CF and AF (packed BCD 79 + 35 = 114)', () => {
  const r = exec(32, ['00d8', '27'], { [RAX]: 0x79, [RBX]: 0x35 });     // add al,bl; daa
  assert.equal(reg(r.cpu, RAX), 0x14n);
  assert.equal(flags(r.cpu) & (CF | AF | ZF | SF), CF | AF);
  const s = exec(32, ['00d8', '27'], { [RAX]: 0x35, [RBX]: 0x35 });     // 35 + 35 = 70
  assert.equal(reg(s.cpu, RAX), 0x70n);
  assert.equal(flags(s.cpu) & (CF | AF), AF);
});

test('DAS after SUB: 35h - 47h = EEh -> 88h with CF and AF (35 - 47 = -12 -> 88 borrow)', () => {
  const r = exec(32, ['28d8', '2f'], { [RAX]: 0x35, [RBX]: 0x47 });     // sub al,bl; das
  assert.equal(reg(r.cpu, RAX), 0x88n);
  assert.equal(flags(r.cpu) & (CF | AF | SF), CF | AF | SF);
});

test('AAA/AAS adjust unpacked BCD and carry into AH', () => {
  let r = exec(32, ['00d8', '37'], { [RAX]: 0x0038, [RBX]: 0x39 });    // '8' + '9' -> AH=1, AL=7
  assert.equal(reg(r.cpu, RAX), 0x0107n);
  assert.equal(flags(r.cpu) & (CF | AF), CF | AF);
  r = exec(16, ['28d8', '3f'], { [RAX]: 0x0032, [RBX]: 0x35 });        // '2' - '5' -> AH=FF, AL=7
  assert.equal(reg(r.cpu, RAX) & 0xffffn, 0xff07n);
  assert.equal(flags(r.cpu) & (CF | AF), CF | AF);
  r = exec(16, ['37'], { [RAX]: 0x0005 });                              // no adjustment
  assert.equal(reg(r.cpu, RAX) & 0xffffn, 0x0005n);
  assert.equal(flags(r.cpu) & (CF | AF), 0);
});

test('AAM/AAD split and join digits in any base; SF/ZF/PF follow AL', () => {
  let r = exec(32, ['d40a'], { [RAX]: 63 });                            // aam: AH=6, AL=3
  assert.equal(reg(r.cpu, RAX), 0x0603n);
  assert.equal(flags(r.cpu) & (ZF | PF), PF);
  r = exec(32, ['d410'], { [RAX]: 0x3f });                              // aam 16
  assert.equal(reg(r.cpu, RAX), 0x030fn);
  r = exec(32, ['d50a'], { [RAX]: 0x0603 });                            // aad: AL=63, AH=0
  assert.equal(reg(r.cpu, RAX), 63n);
  r = exec(32, ['d50a'], { [RAX]: 0x0000 });
  assert.equal(flags(r.cpu) & ZF, ZF);
});

test('AAM 0 raises #DE; the BCD instructions are #UD in 64-bit mode', () => {
  const r = exec(32, ['d400'], { [RAX]: 0x1234 });
  assert.equal(r.vector, 0);
  assert.equal(reg(r.cpu, RAX), 0x1234n);
  for (const code of ['27', '2f', '37', '3f', 'd40a', 'd50a']) assert.equal(exec(64, [code]).vector, 6, code);
});
