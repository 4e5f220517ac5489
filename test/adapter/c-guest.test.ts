// Debugging a C guest over DAP (issue 15): the stack trace of C frames with source lines, Locals and
// Arguments scopes, C expressions in evaluate/watch/hover (with errors naming the column), setVariable
// on scalars, and data breakpoints on a variable and on a struct field by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DapSession, rejects } from './helpers';
import { C_GUESTS, buildCGuest, label, type CBuild } from '../debug/c-build';

const SRC = join(C_GUESTS, 'vars.c');
const lineOfC = (marker: string) => readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes(`/* @${marker} */`)) + 1;
const BUILDS: CBuild[] = [{ bits: 64, opt: 'O0', dwarf: 5 }, { bits: 32, opt: 'O2', dwarf: 4 }];

for (const b of BUILDS) {
  test(`C guest over DAP: stack, scopes, expressions, setVariable: ${label(b)}`, async (t) => {
    const elf = buildCGuest('vars', b);
    if (typeof elf !== 'string') { t.skip(elf.skip); return; }
    const s = await DapSession.start();
    try {
      const stop = await s.launch({ program: elf }, { breakpoints: [{ path: SRC, lines: [lineOfC('add')] }] });
      assert.equal(stop?.body.reason, 'breakpoint');
      const frames = await s.frames();
      assert.deepEqual(frames.map((f) => f.name), ['add', 'walk', '_start']);
      assert.deepEqual(frames.map((f) => f.line), [lineOfC('add'), lineOfC('walk'), lineOfC('start')]);
      assert.equal(frames[0].source?.path, SRC);
      const scopes = (await s.dc.scopesRequest({ frameId: frames[0].id })).body.scopes.map((x) => x.name);
      assert.deepEqual(scopes.slice(0, 3), ['Locals', 'Arguments', 'Registers']);
      const vars = async (frame: number, scope: string) => {
        const sc = (await s.dc.scopesRequest({ frameId: frames[frame].id })).body.scopes.find((x) => x.name === scope)!;
        const v = (await s.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables;
        return { ref: sc.variablesReference, v, by: Object.fromEntries(v.map((x) => [x.name, x])) };
      };
      const args = await vars(0, 'Arguments');
      assert.deepEqual(args.v.map((x) => [x.name, x.type, x.value]), [['a', 'int', '60'], ['b', 'int', '-3']]);
      const wl = await vars(1, 'Locals');
      assert.equal(wl.by.fl.value, '{a = 5, b = 17, c = -3}');
      const fl = (await s.dc.variablesRequest({ variablesReference: wl.by.fl.variablesReference })).body.variables;
      assert.deepEqual(fl.map((x) => [x.name, x.type, x.value]), [['a', 'unsigned int', '5'], ['b', 'unsigned int', '17'], ['c', 'int', '-3']]);

      // C expressions in the caller's frame (watch), hover, and the register language still works.
      const ev = async (expression: string, frame = 1, context: 'watch' | 'hover' | 'repl' = 'watch') =>
        (await s.dc.evaluateRequest({ expression, frameId: frames[frame].id, context })).body;
      assert.equal((await ev('nodes[0].next->next->val')).result, '30');
      assert.equal((await ev('nodes[0].next->val + fl.b')).result, '37');
      assert.equal((await ev('tag[1]')).result, "105 'i'");
      assert.equal((await ev('grid[1][2] * 2')).result, '12');
      assert.equal((await ev('sizeof(node_t)')).result, String(b.bits === 64 ? 16 : 8));
      assert.equal((await ev('sizeof nodes / sizeof nodes[0]')).result, '3');
      assert.equal((await ev('*(u64 *)&big')).result, '1234605616436508552');
      assert.equal((await ev('(unsigned char)big')).result, "136 '\\210'");
      assert.equal((await ev('c == BLUE ? 1 : 0')).result, '1', 'enumerators are not variables, yet c compares');
      assert.equal((await ev('name')).result, '"kvm\\000\\000\\000\\000"');
      assert.match((await ev('&nodes[1]')).result, /^0x[0-9a-f]+ <nodes\+\d+>$/);
      const st = await ev('nodes[1]');
      assert.ok(st.variablesReference > 0, 'a struct result has children');
      assert.equal((await ev('fl', 1, 'hover')).result, '{a = 5, b = 17, c = -3}');
      assert.match((await ev('$rsp', 0)).result, /^-?\d+$/);
      assert.match((await ev('rsp', 0)).result, /^0x[0-9a-f]+/, 'the register language is the fallback');
      await rejects(s.dc.evaluateRequest({ expression: 'nodes[0].next->', frameId: frames[1].id, context: 'watch' }), /column 16/);
      await rejects(s.dc.evaluateRequest({ expression: 'fl.nosuch', frameId: frames[1].id, context: 'watch' }), /no member named nosuch.*column 4/i);
      await rejects(s.dc.evaluateRequest({ expression: '(struct nosuch *)0', frameId: frames[1].id, context: 'watch' }), /no type named 'struct nosuch'.*column 2/);

      // setVariable on a scalar local (memory or register), then read back.
      const loc = await vars(0, 'Locals');
      const set = await s.dc.setVariableRequest({ variablesReference: loc.ref, name: 's', value: '99' });
      assert.equal(set.body.value, '99');
      assert.equal((await ev('s', 0)).result, '99');
    } finally { await s.close(); }
  });
}

test('C guest over DAP: data breakpoints on a variable and a struct field by name', async (t) => {
  const elf = buildCGuest('vars', { bits: 64, opt: 'O0', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const s = await DapSession.start();
  try {
    const loopLine = readFileSync(SRC, 'utf8').split('\n').findIndex((l) => l.includes('nodes[i].val = 10')) + 1;
    const first = await s.launch({ program: elf }, { breakpoints: [{ path: SRC, lines: [loopLine] }] });
    assert.equal(first?.body.reason, 'breakpoint');
    await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
    const field = (await s.dc.dataBreakpointInfoRequest({ name: 'nodes[1].val' })).body;
    assert.match(field.dataId ?? '', /^mem:v:\d+:4$/);
    const whole = (await s.dc.dataBreakpointInfoRequest({ name: 'sink' })).body;
    assert.match(whole.dataId ?? '', /^mem:v:\d+:4$/);
    await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: field.dataId!, accessType: 'write' }] });
    const hit = await s.cont();
    assert.equal(hit?.body.reason, 'data breakpoint');
    const fr = await s.frames();
    assert.equal(fr[0].name, '_start');
    const ev = async (expression: string) => (await s.dc.evaluateRequest({ expression, frameId: fr[0].id, context: 'watch' })).body.result;
    assert.equal(await ev('nodes[1].val'), '20');
    assert.equal(await ev('i'), '1');
    await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: whole.dataId!, accessType: 'write' }] });
    const hit2 = await s.cont();
    assert.equal(hit2?.body.reason, 'data breakpoint');
    assert.equal((await s.frames())[0].name, 'add');
  } finally { await s.close(); }
});

for (const b of BUILDS) {
  test(`C guest over DAP: breakpoint conditions in C (p->val == 20) stop only where they hold: ${label(b)}`, async (t) => {
    const elf = buildCGuest('vars', b);
    if (typeof elf !== 'string') { t.skip(elf.skip); return; }
    const s = await DapSession.start();
    try {
      let verified: { verified: boolean; message?: string }[] = [];
      const stop = await s.launch({ program: elf }, {
        configure: async (x) => {
          verified = (await x.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: lineOfC('loop'), condition: 'p->val == 20' }] })).body.breakpoints;
          // Neither C nor the register language: refused, naming the column (C's parser, this being a C guest).
          const bad = (await x.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [
            { line: lineOfC('loop'), condition: 'p->val == 20' }, { line: lineOfC('add'), condition: 'p->' }] })).body.breakpoints;
          assert.equal(bad[1].verified, false);
          assert.match(bad[1].message ?? '', /condition: .*column 4/);
        },
      });
      assert.equal(verified[0].verified, true, verified[0].message);
      assert.equal(stop?.body.reason, 'breakpoint');
      const fr = await s.frames();
      assert.equal(fr[0].name, 'walk');
      const ev = async (expression: string) => (await s.dc.evaluateRequest({ expression, frameId: fr[0].id, context: 'watch' })).body.result;
      assert.equal(await ev('p->val'), '20', 'the first node (10) did not stop');
      assert.equal(await ev('p == &nodes[1]'), '1');
      await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: lineOfC('loop'), condition: 'p->val != 20 && (p->next == 0 || sum < 0)' }] });
      const next = await s.cont();
      assert.equal(next?.body.reason, 'breakpoint');
      const fr2 = await s.frames();
      assert.equal((await s.dc.evaluateRequest({ expression: 'p->val', frameId: fr2[0].id, context: 'watch' })).body.result, '30');
      // No C variable is named rax: the register language tests it (never true), and the guest runs to its end.
      await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: lineOfC('loop'), condition: 'rax == rax + 1' }] });
      assert.equal(await s.cont(), undefined, 'a condition never true in the register language: the guest runs to its end');
    } finally { await s.close(); }
  });
}

test('C guest over DAP: stopped at a KVM exit inside a C function, the KVM handler chain is above the C frames', async (t) => {
  const elf = buildCGuest('vars', { bits: 64, opt: 'O2', dwarf: 5 });
  if (typeof elf !== 'string') { t.skip(elf.skip); return; }
  const s = await DapSession.start();
  try {
    const stop = await s.launch({ program: elf }, { filters: { filters: ['hw-io'] } });
    assert.equal(stop?.body.reason, 'exception');
    const frames = await s.frames();
    assert.match(frames[0].name, /^KVM: .*handle_io/);
    assert.equal(frames[1].name, '_start');
    assert.equal(frames[1].line, lineOfC('out'));
    const scopes = (await s.dc.scopesRequest({ frameId: frames[1].id })).body.scopes.map((x) => x.name);
    assert.ok(scopes.includes('Locals') && scopes.includes('Current exit (kvm_run)'), scopes.join(', '));
  } finally { await s.close(); }
});
