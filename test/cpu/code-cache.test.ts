// The decoded-instruction cache is bounded (issue 14): straight-line code larger than the bound runs
// to its end with the cache held at CODE_CACHE_MAX_INSNS instructions / CODE_CACHE_MAX_PAGES pages
// (the oldest pages dropped first), so a guest with megabytes of code does not take gigabytes; code
// run again after its page was dropped is decoded again and runs the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { straightLine } from './straight-line';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { launch } from '../../vm-core/vmm/launch';
import { CODE_CACHE_MAX_INSNS, CODE_CACHE_MAX_PAGES } from '../../vm-core/cpu/cpu';

function run(file: string, passes: number) {
  const { options, errors } = resolveLaunchOptions({ program: file, load: '0x100000', entry: 'protected', memory: '16M' });
  assert.deepEqual(errors, []);
  const l = launch(options);
  if (!l.ok) throw new Error(l.errors.join('\n'));
  const m = l.machine;
  const regs = m.vcpus[0].getRegs(); regs.rbx = BigInt(passes); m.vcpus[0].setRegs(regs);
  return { m, end: m.run() };
}

test('straight-line code larger than the bound, run twice: the cache stays within its bound, dropped pages are decoded again, the result is exact', () => {
  const n = 150_000;
  assert.ok(n > CODE_CACHE_MAX_INSNS);
  const { m, end } = run(straightLine(n), 2);
  assert.deepEqual(end, { kind: 'exit-port', code: 7 });
  const v = m.vcpus[0];
  assert.equal(v.getRegs().rcx & 0xffffffffn, BigInt(2 * n));
  assert.equal(v.cpu.icount, 2 * (n + 2) + 1); // the OUT exits before it retires
  const size = v.cpu.codeCacheSize();
  assert.ok(size.insns <= CODE_CACHE_MAX_INSNS && size.pages <= CODE_CACHE_MAX_PAGES, JSON.stringify(size));
  assert.ok(size.insns > 0);
});
