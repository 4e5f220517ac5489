// The same image and inputs give the same instruction stream every run; no wall-clock time
// reaches the guest (DESIGN.md "Determinism"). RDTSC and RDRAND are virtual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bareCpu, longMode, load } from './helpers';
import { RUN_HALTED } from '../../vm-core/cpu';

// rdtsc; mov ebx, eax; rdrand ecx; ... loop mixing TSC and RDRAND into memory, then hlt.
const CODE = [
  0xbe, 0x00, 0x00, 0x02, 0x00,       // mov esi, 0x20000
  0xbf, 0x40, 0x00, 0x00, 0x00,       // mov edi, 64
  0x0f, 0x31,                         // l: rdtsc
  0x0f, 0xc7, 0xf1,                   // rdrand ecx
  0x01, 0xc8,                         // add eax, ecx
  0x89, 0x06,                         // mov [rsi], eax
  0x48, 0x83, 0xc6, 0x04,             // add rsi, 4
  0xff, 0xcf,                         // dec edi
  0x75, 0xef,                         // jnz l
  0xf4,                               // hlt
];

function runOnce(): { trace: string; mem: string; icount: number } {
  const { cpu, mem } = bareCpu();
  load(mem, 0x10000, CODE);
  longMode(cpu, mem, 0x10000);
  const h = createHash('sha256');
  cpu.beforeInsn = (c) => { h.update(String(c.rip)); return false; };
  assert.equal(cpu.run(100000), RUN_HALTED);
  return { trace: h.digest('hex'), mem: createHash('sha256').update(mem.subarray(0x20000, 0x20100)).digest('hex'), icount: cpu.icount };
}

test('two runs of the same guest execute the same instruction stream and leave the same memory', () => {
  const a = runOnce(), b = runOnce();
  assert.equal(a.icount, 2 + 64 * 7 + 1);
  assert.deepEqual(a, b);
});
