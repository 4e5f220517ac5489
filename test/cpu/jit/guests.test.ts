// The system-level guests of test/cpu/guests (modes, paging, rings, faults, events, self-modifying
// code and I/O) run with the block compiler off and on: same run() results, instruction counts and
// RIPs slice by slice, same final state and memory. Compiling every block head at its first run
// (threshold 1) puts as much of them as possible through compiled code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, haveNasm, machine, NO_NASM } from '../guests/guest';
import { differential } from './differential';

const CASES: [string, Record<string, number>][] = [
  ['exc64.asm', {}], ['modes.asm', {}], ['prot64.asm', {}], ['rings32.asm', {}], ['rings64.asm', {}], ['smcio.asm', {}],
  ['faults.asm', { CASE: 1 }], ['faults.asm', { CASE: 2 }], ['faults.asm', { CASE: 3 }], ['faults.asm', { CASE: 4 }], ['faults.asm', { CASE: 5 }],
  ...[1, 2, 3, 4, 5, 6, 7].map((p): [string, Record<string, number>] => ['paging.asm', { PMODE: p }]),
  ...[1, 2, 3, 4, 5, 6].map((c): [string, Record<string, number>] => ['events.asm', { CASE: c }]),
  ['faults.asm', { LONG_ENTRY: 1, KVM: 1, CASE: 4 }], ['smcio.asm', { LONG_ENTRY: 1, KVM: 1 }],
];

test('system guests: the same instruction counts, exits and state with the block compiler', { skip: !haveNasm() && NO_NASM }, () => {
  let retired = 0;
  for (const [file, defines] of CASES) {
    const image = assemble(file, defines);
    const make = () => { const m = machine(image, undefined, 'LONG_ENTRY' in defines); return { cpu: m.cpu, mem: m.mem }; };
    const { off, on } = differential(make, [1000, 7, 100_000], 1, 200);
    const what = `${file} ${JSON.stringify(defines)}`;
    assert.deepEqual(on.steps, off.steps, `${what}: run() results, instruction counts and RIPs`);
    assert.deepEqual(on.state, off.state, `${what}: final state`);
    retired += on.jitRetired;
  }
  assert.ok(retired > 0, 'some of the guests ran compiled');
});

test('system guests: how much of them ran compiled (the guests are mostly system code the compiler leaves alone)', { skip: !haveNasm() && NO_NASM }, () => {
  const image = assemble('smcio.asm', {});
  const make = () => { const m = machine(image); return { cpu: m.cpu, mem: m.mem }; };
  const { on } = differential(make, [100_000], 1, 200);
  assert.ok(on.jitCompiled > 0, `blocks compiled: ${on.jitCompiled}`);
});
