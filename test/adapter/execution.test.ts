// Execution control over DAP: instruction and line stepping, step over a CALL, step out, a step at
// an exit (KVM completes it, nothing else runs), reverse step and reverse continue with registers
// and memory checked, reverse stepping with two vCPUs, continue/pause while a guest spins, and data
// breakpoints on guest memory (virtual and physical, read and write) and on registers.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, guest, example, lineOf, lineWith } from './helpers';

const src = guest('exits.asm');
const L = (m: string) => lineOf(src, m);

describe('stepping', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true, caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] });
  });
  after(() => s.close());

  test('stepIn with instruction granularity runs exactly one instruction', async () => {
    assert.equal(await s.rip(), 0x100000);
    const st = await s.stepIn(1, 'instruction');
    assert.equal(st?.body.reason, 'step');
    assert.equal(await s.rip(), 0x100005);
    assert.equal(await s.reg('rsp'), 0x8000n);
    assert.equal(await s.line(), lineOf(src, 'cpuid') - 1);
  });

  test('a step at a hypercall exit lets KVM complete it with the edited reply and runs nothing more', async () => {
    await s.dc.setExceptionBreakpointsRequest({ filters: ['kvm-hypercall'] });
    const hc = await s.cont();
    assert.equal(hc?.body.reason, 'exception');
    const exit = await s.scope('Current exit (kvm_run)');
    const ret = exit.vars.find((v) => v.name === 'hypercall.ret')!;
    assert.ok(!ret.presentationHint?.attributes?.includes('readOnly'), 'the reply is writable at the exit');
    const set = await s.dc.setVariableRequest({ variablesReference: exit.ref, name: 'hypercall.ret', value: '0x2a' });
    assert.equal(set.body.value, '0x2a');
    await s.stepIn();
    assert.equal(await s.reg('rax'), 0x2an, 'RAX has the reply');
    assert.equal(await s.line(), L('after_vmcall'));
    assert.equal(await s.value('qword [result]'), 0n, 'the next instruction has not run');
    await s.stepIn();
    assert.equal(await s.value('qword [result]'), 0x2an);
    await s.dc.setExceptionBreakpointsRequest({ filters: [] });
  });

  test('next steps over a CALL; stepIn enters it; stepOut returns to the caller', async () => {
    await s.dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [{ line: L('call') }] });
    await s.cont();
    assert.equal(await s.line(), L('call'));
    const over = await s.next(1, 'instruction');
    assert.equal(over?.body.reason, 'step');
    assert.equal(await s.line(), L('after_call'));
    assert.equal(await s.value('qword [counter]'), 7n);
    // Back one instruction: the callee's RET; then back through the callee to the CALL, and in.
    await s.stepBack();
    assert.equal(await s.line(), L('ret'));
    assert.equal(await s.value('qword [counter]'), 7n);
    const lines = [];
    while ((await s.line()) !== L('call') && lines.length < 8) { await s.stepBack(); lines.push(await s.line()); }
    assert.deepEqual(lines, [L('ret') - 1, L('in_add_two'), L('add_two') + 1, L('add_two'), L('call')]);
    assert.equal(await s.value('qword [counter]'), 5n);
    await s.stepIn();
    assert.equal(await s.line(), L('add_two'));
    const frames = await s.frames();
    assert.deepEqual(frames.map((f) => f.name), ['add_two', 'start+0x' + (Number(frames[1].instructionPointerReference) - 0x100000).toString(16)]);
    assert.equal(frames[1].line, L('call'));
    await s.stepIn();
    const out = await s.resume((dc) => dc.stepOutRequest({ threadId: 1 }));
    assert.equal(out?.body.reason, 'step');
    assert.equal(await s.line(), L('after_call'));
    assert.equal(await s.value('qword [counter]'), 7n);
    assert.equal((await s.frames()).length, 1);
    await s.dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [] });
  });

  test('line stepping runs a whole line (the two instructions of a macro), instruction stepping one', async () => {
    await s.next(); // mov rbx, [counter]
    assert.equal(await s.line(), L('macro'));
    const rbx = await s.reg('rbx');
    await s.stepIn(1, 'instruction');
    assert.equal(await s.line(), L('macro'), 'one instruction stays on the line');
    assert.equal(await s.reg('rbx'), rbx + 1n);
    await s.stepBack();
    await s.stepIn(1, 'line');
    assert.equal(await s.line(), L('read_counter'));
    assert.equal(await s.reg('rbx'), rbx + 2n);
    await s.next(1, 'line');
    assert.equal(await s.line(), L('read_counter') + 1);
  });
});

describe('reverse execution', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true }, { breakpoints: [{ path: src, lines: [L('io2'), L('write_counter'), L('loop')] }] });
  });
  after(() => s.close());

  test('stepBack undoes registers and memory', async () => {
    await s.cont(); // @io2
    await s.cont(); // @write_counter
    assert.equal(await s.line(), L('write_counter'));
    const before = await s.regs();
    await s.stepIn();
    assert.equal(await s.value('qword [counter]'), 5n);
    const back = await s.stepBack();
    assert.equal(back?.body.reason, 'step');
    assert.equal(await s.line(), L('write_counter'));
    assert.equal(await s.value('qword [counter]'), 0n);
    assert.deepEqual(await s.regs(), before);
    const mem = (await s.dc.customRequest('readMemory', { memoryReference: '0x' + (await s.value('counter')).toString(16), count: 8 })).body as DebugProtocol.ReadMemoryResponse['body'];
    assert.deepEqual([...Buffer.from(mem!.data!, 'base64')], [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('reverseContinue goes back to the previous breakpoint hit, then the one before', async () => {
    await s.cont(); // loop, esi 0
    await s.cont(); // loop, esi 1
    assert.equal(await s.reg('rsi'), 1n);
    assert.equal(await s.value('qword [counter]'), 7n);
    const r1 = await s.reverseContinue();
    assert.equal(r1?.body.reason, 'breakpoint');
    assert.equal(await s.line(), L('loop'));
    assert.equal(await s.reg('rsi'), 0n);
    const r2 = await s.reverseContinue();
    assert.equal(await s.line(), L('write_counter'));
    assert.equal(await s.value('qword [counter]'), 0n);
    assert.equal(r2?.body.reason, 'breakpoint');
    const r3 = await s.reverseContinue();
    assert.equal(await s.line(), L('io2'));
    assert.equal(r3?.body.reason, 'breakpoint');
    assert.equal(await s.reg('rax') & 0xffn, 0x69n);
    // Forward again: the same run.
    await s.cont();
    await s.cont();
    await s.cont();
    assert.equal(await s.reg('rsi'), 1n);
    assert.equal(await s.value('qword [counter]'), 7n);
  });

  test('reverseContinue stops at the previous exit an exit filter matches', async () => {
    await s.dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [] });
    await s.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'kvm-mmio' }] });
    const r = await s.reverseContinue();
    assert.equal(r?.body.reason, 'breakpoint');
    assert.ok((await s.rip()) >= 0x100000);
    assert.ok((await s.line()) <= L('write_counter') && (await s.line()) >= L('mmio'));
    await s.dc.setExceptionBreakpointsRequest({ filters: [] });
  });

  test('at the start of the recording, stepBack stays put', async () => {
    await s.restart();
    const r = await s.stepBack();
    assert.equal(r?.body.reason, 'step');
  });
});

describe('reverse stepping with two vCPUs (seed 001)', () => {
  let s: DapSession;
  const seed = example('seed001-reset-init.asm');
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: seed, vcpus: 2 }, { breakpoints: [{ path: seed, lines: [lineWith(seed, "mov al, 'A'")] }] });
  });
  after(() => s.close());

  test('the AP steps forward and back; the BSP is untouched', async () => {
    const bsp = await s.regs(1);
    const ap0 = await s.regs(2);
    await s.stepIn(2);
    assert.equal((await s.reg('rax', 2)) & 0xffn, 0x41n);
    await s.stepIn(2);
    await s.stepBack(2);
    await s.stepBack(2);
    assert.deepEqual(await s.regs(2), ap0);
    assert.deepEqual(await s.regs(1), bsp);
    await s.stepIn(2);
    assert.equal((await s.reg('rax', 2)) & 0xffn, 0x41n);
    assert.equal(await s.cont(), undefined);
    assert.equal(s.exitCode, 0x10);
    assert.equal(s.outputText('stdout'), 'A');
  });
});

describe('continue and pause while the guest spins', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, defines: { SPIN: '1' }, stopOnEntry: true });
  });
  after(() => s.close());

  test('pause answers within 200 ms and stops the guest; continue runs it again', async () => {
    await s.dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 300));
    for (let k = 0; k < 3; k++) {
      const stopped = s.nextStopOrEnd();
      const t0 = performance.now();
      await s.dc.pauseRequest({ threadId: 1 });
      const answered = performance.now() - t0;
      const st = await stopped;
      const total = performance.now() - t0;
      assert.ok(answered <= 200, `pause answered in ${answered.toFixed(1)} ms`);
      assert.ok(total <= 200, `stopped ${total.toFixed(1)} ms after the pause`);
      assert.equal(st?.body.reason, 'pause');
      assert.equal(await s.line() === L('spin') || await s.line() === L('spin') + 1, true);
      const rdx = await s.reg('rdx');
      await s.dc.continueRequest({ threadId: 1 });
      await new Promise((r) => setTimeout(r, 100));
      const p = s.nextStopOrEnd();
      await s.dc.pauseRequest({ threadId: 1 });
      await p;
      assert.ok((await s.reg('rdx')) > rdx, 'the guest ran between the pauses');
      await s.dc.continueRequest({ threadId: 1 });
      await new Promise((r) => setTimeout(r, 50));
    }
    const p = s.nextStopOrEnd();
    await s.dc.pauseRequest({ threadId: 1 });
    await p;
  });

  test('variables answer while stopped after a long run; progress events were sent', async () => {
    const stats = (await s.dc.customRequest('kvmGuest/statistics')).body as { totalInstructions: number };
    assert.ok(stats.totalInstructions > 100_000);
  });
});

describe('data breakpoints', () => {
  let s: DapSession;
  let counter: bigint;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, defines: { REGS: '1' }, stopOnEntry: true });
    counter = await s.value('counter');
  });
  after(() => s.close());

  const info = async (args: DebugProtocol.DataBreakpointInfoArguments) => (await s.dc.dataBreakpointInfoRequest(args)).body;

  test('a write to guest-virtual memory stops after the writing instruction', async () => {
    const i = await info({ name: 'counter', bytes: 8 });
    assert.equal(i.dataId, `mem:v:${counter}:8`);
    assert.deepEqual(i.accessTypes, ['read', 'write', 'readWrite']);
    const r = await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: i.dataId!, accessType: 'write' }] });
    assert.equal(r.body.breakpoints[0].verified, true);
    const st = await s.cont();
    assert.equal(st?.body.reason, 'data breakpoint');
    assert.equal(await s.value('qword [counter]'), 5n);
    assert.equal(await s.line(), L('call'));
    const next = await s.cont();
    assert.equal(next?.body.reason, 'data breakpoint');
    assert.equal(await s.value('qword [counter]'), 7n);
    assert.equal(await s.line(), L('in_add_two') + 1);
  });

  test('a read of guest-physical memory (gpa:) stops at the reading instruction\'s end', async () => {
    const i = await info({ name: `gpa:0x${counter.toString(16)}`, bytes: 8 });
    assert.equal(i.dataId, `mem:p:${counter}:8`);
    assert.match(i.description, /GPA 0x/);
    await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: i.dataId!, accessType: 'read' }] });
    const st = await s.cont();
    assert.equal(st?.body.reason, 'data breakpoint');
    assert.equal(await s.line(), L('macro'), 'after mov rbx, [counter]');
    assert.equal(await s.reg('rbx'), 7n);
    const rw = await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: i.dataId!, accessType: 'readWrite', condition: 'rcx == 7' }] });
    assert.equal(rw.body.breakpoints[0].verified, true);
    await s.cont();
    assert.equal(await s.line(), L('read_counter') + 1, 'the read by mov rcx, [rel counter]');
    await s.dc.setDataBreakpointsRequest({ breakpoints: [] });
  });

  test('registers: cr3, efer, cr4 and rsi changing', async () => {
    await s.restart();
    const regs = await s.scope('Registers');
    const ctl = await s.scope('Control & debug registers');
    const rsiInfo = await info({ variablesReference: regs.ref, name: 'rsi' });
    assert.equal(rsiInfo.dataId, 'reg:rsi');
    assert.deepEqual(rsiInfo.accessTypes, ['write']);
    const ids = [];
    for (const n of ['cr3', 'efer', 'cr4']) {
      const x = await info({ variablesReference: ctl.ref, name: n });
      assert.equal(x.dataId, `reg:${n}`);
      ids.push(x.dataId!);
    }
    const r = await s.dc.setDataBreakpointsRequest({ breakpoints: [...ids, rsiInfo.dataId!].map((dataId) => ({ dataId })) });
    assert.ok(r.body.breakpoints.every((b) => b.verified));
    const cr3 = await s.cont();
    assert.equal(cr3?.body.reason, 'data breakpoint');
    assert.match(cr3!.body.text!, /^cr3: 0x1000 -> 0x1008$/);
    assert.equal(await s.line(), L('cr3') + 1);
    const efer = await s.cont();
    assert.match(efer!.body.text!, /^efer: 0x500 -> 0x501$/);
    const cr4 = await s.cont();
    assert.match(cr4!.body.text!, /^cr4: 0x20 -> 0x40020$/);
    assert.equal(await s.line(), L('cr') + 1);
    const rsi = await s.cont();
    assert.match(rsi!.body.text!, /^rsi: 0x0 -> 0x1$/);
    assert.equal(await s.line(), L('loop') + 1);
  });

  test('cr0 changing (big real mode guest: PE on, then off)', async () => {
    const s2 = await DapSession.start();
    try {
      const g = guest('bigreal.asm');
      await s2.launch({ program: g, stopOnEntry: true });
      const ctl = await s2.scope('Control & debug registers');
      const x = (await s2.dc.dataBreakpointInfoRequest({ variablesReference: ctl.ref, name: 'cr0' })).body;
      await s2.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: x.dataId! }] });
      const on = await s2.cont();
      assert.match(on!.body.text!, /^cr0: 0x60000010 -> 0x60000011$/);
      const off = await s2.cont();
      assert.match(off!.body.text!, /^cr0: 0x60000011 -> 0x60000010$/);
    } finally { await s2.close(); }
  });

  test('bad targets: an unknown dataId is unverified, an unreadable expression has no dataId', async () => {
    const r = await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: 'bogus' }, { dataId: 'reg:rax', condition: 'rax ==' }] });
    assert.equal(r.body.breakpoints[0].verified, false);
    assert.match(r.body.breakpoints[0].message!, /unknown dataId 'bogus'/);
    assert.equal(r.body.breakpoints[1].verified, false);
    assert.match(r.body.breakpoints[1].message!, /condition: unexpected end of expression/);
    const i = await info({ name: 'no_such_symbol' });
    assert.equal(i.dataId, null);
    assert.match(i.description, /unknown name 'no_such_symbol'/);
    await s.dc.setDataBreakpointsRequest({ breakpoints: [] });
  });
});
