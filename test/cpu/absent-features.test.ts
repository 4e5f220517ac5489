// Instructions of features the processor does not advertise raise #UD (never "not emulated"):
// VEX/EVEX (AVX state cannot be enabled in XCR0), XOP, RTM, WRMSRNS, RSM outside SMM; WBNOINVD runs
// as WBINVD (its F3 prefix ignored), as on processors without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder, DecoderOptions, Instruction, Mnemonic } from 'iced-x86';
import { exec, hex } from './gp';

const UD: [string, string, 64 | 32 | 16][] = [
  ['vpandn xmm0, xmm1, xmm2', 'c5f1dfc2', 64],
  ['vpandn xmm0, xmm1, xmm2 (32-bit)', 'c5f1dfc2', 32],
  ['vaddps zmm0, zmm1, zmm2 (EVEX)', '62f1744858c2', 64],
  ['vpmadcsswd (XOP)', '8fe878b6c210', 64],
  ['xend', '0f01d5', 64],
  ['xtest', '0f01d6', 64],
  ['wrmsrns', '0f01c6', 64],
  ['rsm', '0faa', 32],
];

for (const [name, bytes, mode] of UD) {
  test(`#UD: ${name}`, () => {
    const x = new Instruction();
    const d = new Decoder(mode, hex([bytes]), DecoderOptions.None);
    d.decodeOut(x); d.free();
    assert.ok(!x.isInvalid, `iced decodes ${name} (${Mnemonic[x.mnemonic]})`);
    assert.equal(exec(mode, [bytes]).vector, 6);
  });
}

test('WBNOINVD runs as WBINVD at CPL 0', () => {
  assert.equal(exec(64, ['f30f09']).vector, -1);
});
