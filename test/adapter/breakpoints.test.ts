// Code breakpoints over DAP: source lines of an assembly guest (verified, moved to the next line
// with code, unverified with a message), breakpointLocations, conditions, hit conditions, logpoints,
// function breakpoints on symbols and instruction breakpoints (the Disassembly view's).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, guest, lineOf, rejects } from './helpers';

const src = guest('exits.asm');
const L = (m: string) => lineOf(src, m);

describe('code breakpoints on exits.asm', () => {
  let s: DapSession;
  const setLines = (bps: DebugProtocol.SourceBreakpoint[]) => s.dc.setBreakpointsRequest({ source: { path: src }, breakpoints: bps });
  before(async () => {
    s = await DapSession.start();
    const stop = await s.launch({ program: src, stopOnEntry: true });
    assert.equal(stop?.body.reason, 'entry');
  });
  after(() => s.close());

  test('source lines: verified on code, moved to the next line with code, unverified past the code', async () => {
    const blank = L('exit') + 1; // the empty line before add_two: (a label line), code at @add_two
    const r = (await setLines([{ line: L('call') }, { line: blank }, { line: 500 }])).body.breakpoints;
    assert.equal(r[0].verified, true);
    assert.equal(r[0].line, L('call'));
    assert.equal(r[0].source?.path, src);
    assert.match(r[0].instructionReference!, /^0x1000[0-9a-f]{2}$/);
    assert.equal(r[1].verified, true);
    assert.equal(r[1].line, L('add_two'));
    assert.equal(r[2].verified, false);
    assert.match(r[2].message!, /no code at .*exits\.asm:500/);
    const ids = r.map((b) => b.id);
    assert.equal(new Set(ids).size, 3);

    const hit = await s.cont();
    assert.equal(hit?.body.reason, 'breakpoint');
    assert.deepEqual(hit?.body.hitBreakpointIds, [ids[0]]);
    assert.equal(await s.line(), L('call'));
    const moved = await s.cont();
    assert.deepEqual(moved?.body.hitBreakpointIds, [ids[1]]);
    assert.equal(await s.line(), L('add_two'));
    await setLines([]);
  });

  test('breakpointLocations lists the lines with code in a range', async () => {
    const r = await s.dc.customRequest('breakpointLocations', { source: { path: src }, line: L('exit') - 1, endLine: L('add_two') + 1 });
    const lines = (r.body as DebugProtocol.BreakpointLocationsResponse['body']).breakpoints.map((b) => b.line);
    assert.deepEqual(lines, [L('exit') - 1, L('exit'), L('add_two'), L('add_two') + 1]);
    const one = await s.dc.customRequest('breakpointLocations', { source: { path: src }, line: L('exit') + 1 });
    assert.deepEqual((one.body as DebugProtocol.BreakpointLocationsResponse['body']).breakpoints, []);
  });

  test('a condition stops only where it holds (and a false one never)', async () => {
    await s.restart();
    const r = (await setLines([{ line: L('loop'), condition: 'esi == 2' }, { line: L('exit'), condition: 'rax == 12345' }])).body.breakpoints;
    assert.ok(r.every((b) => b.verified));
    const hit = await s.cont();
    assert.equal(hit?.body.reason, 'breakpoint');
    assert.equal(await s.reg('rsi'), 2n);
    assert.equal(await s.line(), L('loop'));
    assert.equal(await s.cont(), undefined, 'the false condition at @exit never stops');
    assert.equal(s.exitCode, 0x21);
  });
});

describe('hit conditions, logpoints, bad conditions', () => {
  let s: DapSession;
  const setLines = (bps: DebugProtocol.SourceBreakpoint[]) => s.dc.setBreakpointsRequest({ source: { path: src }, breakpoints: bps });
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true });
  });
  after(() => s.close());

  test('hit condition ">= 3" stops on the third and later hits; "% 2" on every second', async () => {
    await setLines([{ line: L('loop'), hitCondition: '>= 3' }]);
    await s.cont();
    assert.equal(await s.reg('rsi'), 2n);
    await s.cont();
    assert.equal(await s.reg('rsi'), 3n);
    await s.restart();
    await setLines([{ line: L('loop'), hitCondition: '% 2' }]);
    await s.cont();
    assert.equal(await s.reg('rsi'), 1n);
    await s.cont();
    assert.equal(await s.reg('rsi'), 3n);
    await s.restart();
    await setLines([{ line: L('loop'), hitCondition: '2' }]);
    await s.cont();
    assert.equal(await s.reg('rsi'), 1n);
  });

  test('a logpoint prints its message with {expressions} and does not stop', async () => {
    await s.restart();
    const r = (await setLines([{ line: L('loop'), logMessage: 'esi is {esi}, counter {qword [counter]}' }, { line: L('exit') }])).body.breakpoints;
    assert.ok(r.every((b) => b.verified));
    const before = s.outputText();
    const stop = await s.cont();
    assert.equal(await s.line(), L('exit'));
    assert.equal(stop?.body.reason, 'breakpoint');
    const logged = s.outputText().slice(before.length);
    assert.equal(logged.match(/esi is 0x\d, counter 0x7\n/g)?.join(''), 'esi is 0x0, counter 0x7\nesi is 0x1, counter 0x7\nesi is 0x2, counter 0x7\nesi is 0x3, counter 0x7\n');
  });

  test('bad conditions and hit conditions are unverified with a message (the column of the error)', async () => {
    const r = (await setLines([{ line: L('loop'), condition: 'esi == (2' }, { line: L('exit'), hitCondition: 'sometimes' },
      { line: L('call'), condition: 'esi @ 2' }])).body.breakpoints;
    assert.equal(r[0].verified, false);
    assert.match(r[0].message!, /condition: expected '\)' but found end of expression \(column 10\)/);
    assert.equal(r[1].verified, false);
    assert.match(r[1].message!, /bad hit condition 'sometimes'/);
    assert.equal(r[2].verified, false);
    assert.match(r[2].message!, /condition: unexpected '@' \(column 5\)/);
    await setLines([]);
  });

  test('a condition naming something unknown stops and says why', async () => {
    await s.restart();
    await setLines([{ line: L('loop'), condition: 'nosuchreg == 1' }]);
    const stop = await s.cont();
    assert.equal(stop?.body.reason, 'breakpoint');
    assert.match(s.outputText('stderr'), /condition 'nosuchreg == 1': unknown name 'nosuchreg'/);
    await setLines([]);
  });
});

describe('function and instruction breakpoints', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true });
  });
  after(() => s.close());

  test('function breakpoints on symbols; unknown names are unverified', async () => {
    const r = (await s.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'add_two' }, { name: 'no_such_function' }, { name: 'count', condition: 'esi == 3' }] })).body.breakpoints;
    assert.equal(r[0].verified, true);
    assert.equal(r[0].line, L('add_two'));
    assert.equal(r[1].verified, false);
    assert.match(r[1].message!, /no symbol 'no_such_function'/);
    const stop = await s.cont();
    assert.equal(stop?.body.reason, 'function breakpoint');
    const top = await s.topFrame();
    assert.equal(top.name, 'add_two');
    assert.equal(top.line, L('add_two'));
    const loop = await s.cont();
    assert.equal(loop?.body.reason, 'function breakpoint');
    assert.equal(await s.reg('rsi'), 3n);
    await s.dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  });

  test('instruction breakpoints at an address (with offset and condition); bad references are errors', async () => {
    await s.restart();
    const dis = (await s.dc.disassembleRequest({ memoryReference: '0x100000', instructionCount: 200 })).body!.instructions;
    const exitInsn = dis.find((i) => i.line === L('exit'))!;
    const loopInsn = dis.find((i) => i.line === L('loop'))!;
    const r = await s.dc.customRequest('setInstructionBreakpoints', { breakpoints: [
      { instructionReference: exitInsn.address },
      { instructionReference: '0x100000', offset: Number(loopInsn.address) - 0x100000, condition: 'esi == 1' },
    ] });
    const bps = (r.body as DebugProtocol.SetInstructionBreakpointsResponse['body']).breakpoints;
    assert.ok(bps.every((b) => b.verified));
    assert.equal(bps[0].line, L('exit'));
    const first = await s.cont();
    assert.equal(first?.body.reason, 'instruction breakpoint');
    assert.equal(await s.rip(), Number(loopInsn.address));
    assert.equal(await s.reg('rsi'), 1n);
    await s.cont();
    assert.equal(await s.rip(), Number(exitInsn.address));
    await rejects(s.dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: 'here' }] }), /bad instructionReference 'here'/);
    assert.equal(await s.rip(), Number(exitInsn.address), 'the session still answers');
  });
});
