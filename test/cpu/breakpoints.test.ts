import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, longMode, load } from './helpers';
import { RUN_STOPPED, RUN_HALTED } from '../../vm-core/cpu';
import { ShadowCallStack } from '../../vm-core/debug/callstack';

// 0x10000: mov ecx, 5 ; l: call f ; dec ecx ; jnz l ; hlt ; f: inc eax ; ret
const CODE = [0xb9, 5, 0, 0, 0, 0xe8, 0x07, 0, 0, 0, 0xff, 0xc9, 0x75, 0xf7, 0xf4, 0, 0, 0xff, 0xc0, 0xc3];

test('debugger code breakpoints stop before the instruction, in the fast loop, and can be stepped over', () => {
  const { cpu, mem } = bareCpu();
  load(mem, 0x10000, CODE);
  longMode(cpu, mem, 0x10000);
  cpu.R[8] = 0x80000; // rsp
  cpu.setCodeBreakpoints([0x10011]); // f: inc eax
  let hits = 0;
  for (;;) {
    const r = cpu.run(1000);
    if (r === RUN_HALTED) break;
    assert.equal(r, RUN_STOPPED);
    assert.equal(cpu.rip, 0x10011);
    assert.equal(cpu.bpHit, 0x10011);
    hits++;
    cpu.bpSkip = cpu.rip;
    assert.equal(cpu.run(1), 0); // steps over the breakpoint (budget used up, no stop)
    cpu.bpSkip = NaN;
  }
  assert.equal(hits, 5);
  assert.equal(cpu.R[0], 5);
});

test('1,000 breakpoints elsewhere do not stop the guest', () => {
  const { cpu, mem } = bareCpu();
  load(mem, 0x10000, CODE);
  longMode(cpu, mem, 0x10000);
  cpu.R[8] = 0x80000;
  cpu.setCodeBreakpoints(Array.from({ length: 1000 }, (_, k) => 0x400000 + k * 16));
  assert.equal(cpu.run(1000), RUN_HALTED);
  assert.equal(cpu.R[0], 5);
});

test('the shadow call stack follows CALL and RET', () => {
  const { cpu, mem } = bareCpu();
  load(mem, 0x10000, CODE);
  longMode(cpu, mem, 0x10000);
  cpu.R[8] = 0x80000;
  const stack = new ShadowCallStack();
  cpu.callTrack = stack;
  cpu.setCodeBreakpoints([0x10013]); // ret
  assert.equal(cpu.run(1000), RUN_STOPPED);
  assert.equal(stack.frames.length, 1);
  assert.deepEqual(stack.frames[0], { callSite: 0x10005, target: 0x10011, returnAddress: 0x1000a, sp: 0x80000 - 8 });
  cpu.setCodeBreakpoints([]);
  assert.equal(cpu.run(1000), RUN_HALTED);
  assert.equal(stack.frames.length, 0);
});
