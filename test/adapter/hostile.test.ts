// The adapter over stdio under hostile input (issue 14): malformed DAP messages (bad JSON, null,
// invalid UTF-8, Content-Length too small or too large, a header with no length, non-object
// arguments) are answered with an output event and the stopped guest stays debuggable; a second
// launch is refused; bad argument types and values name the argument; disassemble is bounded.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { guest } from './helpers';
import { RawDap, type Msg } from './raw-dap';

describe('malformed DAP messages over stdio', () => {
  let c: RawDap;
  before(async () => { c = RawDap.start(); await c.launchStopped(guest('exits.asm')); });
  after(() => c.kill());

  const cases: [string, (c: RawDap) => Buffer | string][] = [
    ['bad JSON', (c) => c.frame('{"seq": 1, "type": "request", "comm')],
    ['null', (c) => c.frame('null')],
    ['an array', (c) => c.frame('[1,2]')],
    ['invalid UTF-8', (c) => c.frame(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))],
    ['Content-Length too small', (c) => c.frame('{"seq": 90, "type": "request", "command": "threads"}', 10)],
    ['a header without a length', () => 'Content-Type: x\r\n\r\n{}'],
    ['a request without a command', (c) => c.frame('{"seq": 91, "type": "request"}')],
  ];
  for (const [name, make] of cases) {
    test(`${name}: an output event names the problem, the adapter keeps running and answers`, async () => {
      const before = c.lastSeq();
      c.writeRaw(make(c));
      const ev = await c.waitFor((m) => m.type === 'event' && m.event === 'output' && m.seq > before && /malformed DAP/.test(m.body.output));
      assert.equal(ev.body.category, 'stderr');
      const r = await c.request('threads');
      assert.equal(r.success, true);
      assert.equal(r.body.threads.length, 1);
      assert.equal(c.exitCode, undefined, 'the adapter must not exit');
    });
  }

  test('Content-Length too large: the message is read up to the next header and answered', async () => {
    const body = JSON.stringify({ seq: 300, type: 'request', command: 'threads' });
    c.writeRaw(c.frame(body, body.length + 40));
    const r = await c.request('evaluate', { expression: 'rip', context: 'watch' });
    assert.equal(r.success, true);
    const t = await c.waitFor((m) => m.type === 'response' && m.request_seq === 300);
    assert.equal(t.success, true);
  });

  test('arguments that are not an object: an error response naming "arguments"', async () => {
    c.writeRaw(c.frame(JSON.stringify({ seq: 400, type: 'request', command: 'evaluate', arguments: null })));
    const r = await c.waitFor((m) => m.type === 'response' && m.request_seq === 400);
    assert.equal(r.success, false);
    assert.match(r.message, /"arguments" must be an object/);
  });

  test('the stopped guest is still there after all of it', async () => {
    const r = await c.request('stackTrace', { threadId: 1 });
    assert.equal(r.success, true);
    assert.ok(r.body.stackFrames.length >= 1);
  });
});

describe('bad requests to a launched guest', () => {
  let c: RawDap;
  before(async () => { c = RawDap.start(); await c.launchStopped(guest('exits.asm'), { vcpus: 2 }); });
  after(() => c.kill());

  test('a second launch is refused and the first guest stays', async () => {
    const before = c.messages.filter((m) => m.event === 'initialized').length;
    const r = await c.request('launch', { program: guest('exits.asm') });
    assert.equal(r.success, false);
    assert.match(r.message, /already launched/);
    assert.equal(c.messages.filter((m) => m.event === 'initialized').length, before);
    assert.equal((await c.request('threads')).body.threads.length, 2);
  });

  test('readMemory: a negative address is refused, never "0x-54"', async () => {
    const r = await c.request('readMemory', { memoryReference: '0x10', offset: -0x64, count: 4 });
    assert.equal(r.success, false);
    assert.match(r.message, /readMemory:.*offset -100.*not an address/);
    const ok = await c.request('readMemory', { memoryReference: 'gpa:0x100000', offset: 0x10, count: 4 });
    assert.equal(ok.body.address, '0x100010');
    assert.equal(ok.body.unreadableBytes, 0);
  });

  const bad: [string, unknown, RegExp][] = [
    ['readMemory', { memoryReference: '0x1000', offset: '12', count: 4 }, /readMemory: "offset" must be an integer, got "12"/],
    ['readMemory', { memoryReference: '0x1000', count: 'four' }, /readMemory: "count" must be an integer/],
    ['disassemble', { memoryReference: '0x1000', instructionCount: '5' }, /disassemble: "instructionCount" must be an integer/],
    ['disassemble', { memoryReference: '0x1000', instructionCount: 100_000 }, /disassemble: "instructionCount" must be between 0 and 10000/],
    ['disassemble', { memoryReference: '0x1000', instructionCount: 10, instructionOffset: -1e6 }, /"instructionOffset" must be between/],
    ['completions', {}, /completions: "text" must be a string, got nothing/],
    ['completions', { text: 'r', column: 'x' }, /completions: "column" must be an integer/],
    ['evaluate', { expression: 42 }, /evaluate: "expression" must be a string, got 42/],
    ['kvmGuest/inject', { kind: 'nmi', vcpu: 99 }, /inject: "vcpu" 99 does not exist \(the VM has 2 vCPUs: 0-1\)/],
    ['kvmGuest/inject', { kind: 'nmi', vcpu: 'one' }, /inject: "vcpu" must be an integer/],
    ['kvmGuest/exitLog', { sinceIndex: {} }, /exitLog: "sinceIndex" must be an integer/],
    ['stackTrace', { threadId: '1' }, /unknown thread/],
    ['variables', { variablesReference: 'x' }, /variables: "variablesReference" must be an integer/],
    ['writeMemory', { memoryReference: '0x1000', data: 5 }, /writeMemory: "data" must be a string/],
  ];
  for (const [command, args, re] of bad) {
    test(`${command} ${JSON.stringify(args)}: an error naming the argument, not an internal error`, async () => {
      const r = await c.request(command, args);
      assert.equal(r.success, false);
      assert.doesNotMatch(r.message, /internal error/);
      assert.match(r.message, re);
    });
  }

  test('setVariable with a null value names "value"', async () => {
    const f = (await c.request('stackTrace', { threadId: 1 })).body.stackFrames[0];
    const scopes = (await c.request('scopes', { frameId: f.id })).body.scopes;
    const regs = scopes.find((s: Msg) => s.name === 'Registers');
    await c.request('variables', { variablesReference: regs.variablesReference });
    const r = await c.request('setVariable', { variablesReference: regs.variablesReference, name: 'rax', value: null });
    assert.equal(r.success, false);
    assert.match(r.message, /setVariable: "value" must be a string, got null/);
  });

  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    test(`evaluating ${name} is an unknown name, not an internal error`, async () => {
      const r = await c.request('evaluate', { expression: name, context: 'watch' });
      assert.equal(r.success, false);
      assert.doesNotMatch(r.message, /internal error/);
      assert.match(r.message, new RegExp(`unknown.*${name}|${name}.*unknown`, 'i'));
    });
  }

  test('disassemble of the largest allowed request answers within 2 s', async () => {
    const t0 = Date.now();
    const r = await c.request('disassemble', { memoryReference: '0x100000', instructionCount: 10_000, instructionOffset: -10_000 });
    assert.equal(r.success, true);
    assert.equal(r.body.instructions.length, 10_000);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });
});
