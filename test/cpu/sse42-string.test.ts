// PCMPISTRI/PCMPESTRI/PCMPISTRM (SSE4.2, SDM Vol. 2B): the aggregations and polarities glibc's
// string functions use (busybox-static's strcmp is PCMPISTRI imm 0x1a), with hand-computed answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exec, reg, DATA } from './gp';
import { CF, ZF, SF, OF, RCX, RAX, RDX, CR4_OSFXSR } from '../../vm-core/cpu/state';
import { getRflags } from '../../vm-core/cpu';
import type { Cpu } from '../../vm-core/cpu';

/** xmm1 = a (at DATA), xmm2 = b (at DATA+16), then the instruction `insn` (hex, ModRM xmm1, xmm2). */
function pcmp(insn: string, a: string, b: string, regs: Record<number, number> = {}): { ecx: number; f: number; cpu: Cpu } {
  const init = (c: Cpu, m: Uint8Array) => {
    c.cr4 |= CR4_OSFXSR;
    m.fill(0, DATA, DATA + 32);
    m.set(Buffer.from(a, 'latin1'), DATA); m.set(Buffer.from(b, 'latin1'), DATA + 16);
  };
  // movdqu xmm1,[DATA]; movdqu xmm2,[DATA+16]; the compare
  const r = exec(64, ['f30f6f0c2500000200', 'f30f6f142510000200', insn], regs, 2, init);
  assert.equal(r.vector, -1);
  return { ecx: Number(reg(r.cpu, RCX)), f: getRflags(r.cpu) & (CF | ZF | SF | OF), cpu: r.cpu };
}
const istri = (imm: number) => '660f3a63ca' + imm.toString(16).padStart(2, '0');

test('equal any (imm 0x00): the first byte of b that is in the set a', () => {
  const r = pcmp(istri(0x00), 'abc', 'xxbxa');
  assert.equal(r.ecx, 2);
  assert.equal(r.f, CF | ZF | SF);              // a match; both strings end inside the register; IntRes2[0] = 0
  const msb = pcmp(istri(0x40), 'abc', 'xxbxa');
  assert.equal(msb.ecx, 4, 'imm[6]: the most significant match');
});

test('ranges (imm 0x04) and equal ordered (imm 0x0c: substring search)', () => {
  assert.equal(pcmp(istri(0x04), 'az', '12c4').ecx, 2);
  assert.equal(pcmp(istri(0x0c), 'lo', 'hello').ecx, 3);
  const none = pcmp(istri(0x0c), 'xyz', 'hello');
  assert.equal(none.ecx, 16);
  assert.equal(none.f & CF, 0);
});

test("strcmp's form: equal each, negative polarity (imm 0x1a) finds the first difference; equal strings give 16", () => {
  const d = pcmp(istri(0x1a), 'abcd', 'abXd');
  assert.equal(d.ecx, 2);
  assert.equal(d.f & CF, CF);
  const same = pcmp(istri(0x1a), 'same', 'same');
  assert.equal(same.ecx, 16);                   // past both ends every element "matches"
  assert.equal(same.f, ZF | SF);
  const full = pcmp(istri(0x1a), 'ABCDEFGHIJKLMNOP', 'ABCDEFGHIJKLMNOP');
  assert.equal(full.f, 0, 'no terminator in either operand: ZF = SF = 0');
});

test('PCMPESTRI takes the lengths from EAX/EDX; words (imm 0x01) count elements of 2 bytes', () => {
  const e = pcmp('660f3a61ca08', 'abcdef', 'abcXef', { [RAX]: 3, [RDX]: 3 }); // equal each, lengths 3: all equal
  assert.equal(e.ecx, 0);
  const w = pcmp(istri(0x01), 'b\0', 'a\0a\0b\0');          // unsigned words: "b" found at word 2
  assert.equal(w.ecx, 2);
});

test('PCMPISTRM (imm 0x40): the byte mask in XMM0', () => {
  const r = pcmp('660f3a62ca40', 'a', 'xaxa');
  assert.deepEqual(Array.from(new Uint8Array(r.cpu.xmm.buffer, 0, 4)), [0, 0xff, 0, 0xff]);
});
