import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, longMode, load } from './helpers';
import { saveCpu, restoreCpu } from '../../vm-core/cpu/snapshot';
import { getRflags } from '../../vm-core/cpu';

// A loop that writes memory: for rcx in 1..N: [0x20000 + rcx*8] = rax += rcx.
const LOOP = [0x48, 0xc7, 0xc1, 0x40, 0x00, 0x00, 0x00, // mov rcx, 64
  0x48, 0x01, 0xc8,                                   // l: add rax, rcx
  0x48, 0x89, 0x04, 0xcd, 0x00, 0x00, 0x02, 0x00,     // mov [rcx*8+0x20000], rax
  0x48, 0xff, 0xc9,                                   // dec rcx
  0x75, 0xf0,                                         // jnz l
  0xf4];                                              // hlt

test('restoring a snapshot and the memory undo log replays the same execution', () => {
  const { cpu, bus, mem } = bareCpu();
  load(mem, 0x10000, LOOP);
  longMode(cpu, mem, 0x10000);
  cpu.run(20);                     // part-way through the loop
  bus.setTracking(true);           // epoch starts here
  const snap = saveCpu(cpu);
  cpu.run(1000);
  const endRax = cpu.R[0], endMem = mem.slice(0x20000, 0x20200), endFlags = getRflags(cpu), endIcount = cpu.icount;
  assert.equal(cpu.halted, true);
  const log = bus.newEpoch();
  assert.ok(log.size >= 1, 'the loop\'s data page was saved');
  bus.applyUndo(log);
  restoreCpu(cpu, snap);
  assert.equal(cpu.halted, false);
  assert.notDeepEqual(mem.slice(0x20000, 0x20200), endMem, 'memory went back');
  cpu.run(1000);
  assert.equal(cpu.R[0], endRax);
  assert.deepEqual(mem.slice(0x20000, 0x20200), endMem);
  assert.equal(getRflags(cpu), endFlags);
  assert.equal(cpu.icount, endIcount);
});
