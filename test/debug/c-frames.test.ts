// Source-level frames of C guests built with gcc at test time (64-bit DWARF 5, 32-bit DWARF 4, -O0
// and -O2): the unwound call chain, and each frame's arguments and locals with their C types and
// values, at breakpoints in test/debug/c-guest/vars.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHarness } from './helpers';
import { C_BUILDS, C_GUESTS, buildCGuest, label } from './c-build';
import { CDebugInfo } from '../../vm-core/debug/c-frames';

const SRC = join(C_GUESTS, 'vars.c');
const lineOfC = (marker: string) => readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes(`/* @${marker} */`)) + 1;

async function stopAt(elf: string, marker: string) {
  const h = EngineHarness.launch({ program: elf }, true);
  const e = h.engine;
  const [bp] = e.setSourceBreakpoints(SRC, [{ line: lineOfC(marker) }]);
  assert.ok(bp.verified, `breakpoint at @${marker}: ${bp.message}`);
  const o = await h.cont();
  assert.ok('stop' in o, `stopped at @${marker}: ${JSON.stringify(o)}`);
  const info = CDebugInfo.of(e.image);
  assert.ok(info, 'the image has DWARF');
  const view = e.views[0];
  const frames = info.frames(view);
  const vars = (k: number, which: 'args' | 'locals') => Object.fromEntries(
    (which === 'args' ? info.argsScope(view, frames[k], () => '') : info.localsScope(view, frames[k], () => '')).map((n) => [n.name, { type: n.type, value: n.value }]));
  return { frames, vars, info };
}

for (const b of C_BUILDS) {
  test(`C frames, arguments and locals: ${label(b)}`, async (t) => {
    const elf = buildCGuest('vars', b);
    if (typeof elf !== 'string') { t.skip(elf.skip); return; }
    const { frames, vars } = await stopAt(elf, 'add');
    assert.deepEqual(frames.map((f) => f.name), ['add', 'walk', '_start']);
    assert.deepEqual(frames.map((f) => f.line), [lineOfC('add'), lineOfC('walk'), lineOfC('start')]);
    assert.deepEqual(vars(0, 'args'), { a: { type: 'int', value: '60' }, b: { type: 'int', value: '-3' } });
    assert.deepEqual(vars(0, 'locals').s, { type: 'int', value: '54' });
    const wa = vars(1, 'args');
    assert.equal(wa.tag.type, 'const char *');
    assert.match(wa.tag.value, /^0x[0-9a-f]+ "hi"$/);
    assert.deepEqual(wa.c, { type: 'enum color', value: 'BLUE' });
    assert.equal(wa.p.type, 'node_t *');
    const wl = vars(1, 'locals');
    assert.deepEqual(wl.fl, { type: 'struct flags', value: '{a = 5, b = 17, c = -3}' });
    assert.deepEqual(wl.w, { type: 'union word', value: '{i = 1078530011, f = 3.14159274}' });
    assert.deepEqual(wl.d, { type: 'double', value: '2.5' });
    assert.equal(wl.fp.type, 'int (*)(int, int)');
    assert.match(wl.fp.value, /^0x[0-9a-f]+ <add>$/);
    if (b.opt === 'O0') {
      // At -O0 every variable lives in the frame: the loop has walked the list to its end.
      assert.deepEqual(wa.p, { type: 'node_t *', value: '0x0' });
      assert.deepEqual(wl.sum, { type: 'int', value: '60' });
    }
  });
}
