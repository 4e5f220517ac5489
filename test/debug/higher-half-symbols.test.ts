// A kernel linked in the higher half: a function breakpoint by a System.map name (--symbols) stops
// at the exact 64-bit address (0xffffffff8...: not rounded to a double's 2 KiB steps) and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHarness, stopOf } from './helpers';
import { assemble } from '../../vm-core/loader/assemble';

// Long mode with the VMM's identity map (PML4 0x1000, PDPT 0x2000, PD 0x3000): alias the first GiB at
// 0xffffffff80000000 (PML4[511] -> PDPT, PDPT[510] -> PD) and jump there.
const SRC = `bits 64
org 0x100000
  mov rax, 0x2003
  mov [0x1ff8], rax
  mov rax, 0x3003
  mov [0x2ff0], rax
  mov rbx, -0x80000000
  mov eax, high
  add rax, rbx
  jmp rax
high:
  mov eax, 0x80000
  add rax, rbx
  mov rsp, rax
  mov eax, target
  add rax, rbx
  call rax
  mov al, 0
  out 0xf4, al
  hlt
  nop
target:
  nop
  ret
`;

test('function breakpoint on a System.map symbol at 0xffffffff8...: exact address, stop described in 64-bit hex', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hh-'));
  const src = join(dir, 'hh.asm');
  writeFileSync(src, SRC);
  const a = assemble({ path: src });
  assert.ok(a.ok);
  const low = a.image.symbols.find((s) => s.name === 'target')!.addr;
  const high = (0xffffffff80000000n + BigInt(low)).toString(16);
  assert.notEqual(BigInt('0x' + high) % 2048n, 0n, 'an address an unsigned double near 2^64 cannot hold');
  writeFileSync(join(dir, 'System.map'), `${(0xffffffff80000000n + 0x100000n).toString(16)} T _text\n${high} T native_safe_halt\n`);
  const h = EngineHarness.launch({ program: src, entry: 'long', symbols: join(dir, 'System.map') }, false);
  const [bp] = h.engine.setFunctionBreakpoints([{ name: 'native_safe_halt' }]);
  assert.equal(bp.verified, true);
  const s = stopOf(await h.cont());
  assert.equal(s.reason, 'function breakpoint');
  assert.equal(s.description, `Breakpoint at 0x${high}`);
  const rip = h.engine.machine.vcpus[0].peekRip();
  assert.equal(BigInt.asUintN(64, BigInt(rip)).toString(16), high);
});
