// Source-level stepping in a C guest (issue 15): step into a C call stops after the callee's
// prologue at its first statement, `next` steps over calls on the line (stopping on the next
// statement, not in the callee nor mid-line), a breakpoint inside a stepped-over call still stops,
// and step out returns to the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHarness } from './helpers';
import { C_GUESTS, buildCGuest } from './c-build';
import { CDebugInfo } from '../../vm-core/debug/c-frames';

const SRC = join(C_GUESTS, 'vars.c');
const TEXT = readFileSync(SRC, 'utf8').split('\n');
const lineWith = (s: string) => TEXT.findIndex((l) => l.includes(s)) + 1;

/** The -O0 64-bit guest launched (running), and where vCPU 0 is: innermost C function and line. */
function start() {
  const elf = buildCGuest('vars', { bits: 64, opt: 'O0', dwarf: 5 });
  if (typeof elf !== 'string') return elf.skip;
  const h = EngineHarness.launch({ program: elf }, false);
  const e = h.engine;
  const info = CDebugInfo.of(e.image)!;
  return { h, e, where: () => ({ fn: info.frames(e.views[0])[0]?.name, line: e.views[0].sourceLine()?.line }) };
}

test('C stepping: step into skips the prologue, next steps over calls, step out returns', async (t) => {
  const g = start();
  if (typeof g === 'string') { t.skip(g); return; }
  const { h, e, where } = g;
  e.setSourceBreakpoints(SRC, [{ line: lineWith('/* @start */') }]);
  let o = await h.cont();
  assert.ok('stop' in o);
  assert.deepEqual(where(), { fn: '_start', line: lineWith('/* @start */') });
  e.setSourceBreakpoints(SRC, []);
  o = await h.step(0, 'line');
  assert.deepEqual(where(), { fn: 'walk', line: lineWith('int sum = 0;') }, 'step into walk lands on its first statement');
  o = await h.stepOver(0, 'line');
  assert.deepEqual(where(), { fn: 'walk', line: lineWith('struct flags fl =') });
  // Run to the line calling fp (add) and step over it: the next stop is the next statement of walk.
  e.setSourceBreakpoints(SRC, [{ line: lineWith('/* @walk */') }]);
  o = await h.cont();
  e.setSourceBreakpoints(SRC, []);
  assert.deepEqual(where(), { fn: 'walk', line: lineWith('/* @walk */') });
  o = await h.stepOver(0, 'line');
  assert.deepEqual(where(), { fn: 'walk', line: lineWith('return sum;') }, 'next steps over add()');
  assert.equal(e.lastStop?.reason, 'step');
});

test('C stepping: a breakpoint inside a stepped-over call stops there; step out returns to the caller', async (t) => {
  const g = start();
  if (typeof g === 'string') { t.skip(g); return; }
  const { h, e, where } = g;
  e.setSourceBreakpoints(SRC, [{ line: lineWith('/* @walk */') }, { line: lineWith('/* @add */') }]);
  let o = await h.cont();
  assert.deepEqual(where(), { fn: 'walk', line: lineWith('/* @walk */') });
  o = await h.stepOver(0, 'line');
  assert.ok('stop' in o);
  assert.equal(o.stop.reason, 'breakpoint');
  assert.deepEqual(where(), { fn: 'add', line: lineWith('/* @add */') });
  o = await h.run(() => e.stepOut(0));
  assert.equal(where().fn, 'walk');
});
