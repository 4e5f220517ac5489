// Inspection over DAP: stack trace (symbols, source, the caller frame), every scope and its
// variables, setVariable on registers (KVM marks them dirty), readMemory/writeMemory (virtual and
// gpa: physical, unmapped ranges as unreadableBytes), disassemble, evaluate, the Debug Console
// commands, completions, the custom requests, and malformed requests answered with errors while the
// session goes on.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, guest, lineOf, rejects } from './helpers';

const src = guest('exits.asm');
const L = (m: string) => lineOf(src, m);
type ReadBody = NonNullable<DebugProtocol.ReadMemoryResponse['body']>;

describe('inspection', () => {
  let s: DapSession;
  const read = async (memoryReference: string, count: number, offset?: number) =>
    (await s.dc.customRequest('readMemory', { memoryReference, count, offset })).body as ReadBody;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true, exitLog: 'all', caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] },
      { breakpoints: [{ path: src, lines: [L('in_add_two')] }] });
    const st = await s.cont();
    assert.equal(st?.body.reason, 'breakpoint');
  });
  after(() => s.close());

  test('stackTrace: the function, its caller at the CALL line, with sources; paging with startFrame/levels', async () => {
    const r = (await s.dc.stackTraceRequest({ threadId: 1 })).body;
    assert.equal(r.totalFrames, 2);
    assert.equal(r.stackFrames[0].name, 'add_two+0x4');
    assert.equal(r.stackFrames[0].line, L('in_add_two'));
    assert.equal(r.stackFrames[0].source?.path, src);
    assert.equal(r.stackFrames[1].line, L('call'));
    assert.match(r.stackFrames[1].name, /^start\+0x/);
    const page = (await s.dc.stackTraceRequest({ threadId: 1, startFrame: 1, levels: 1 })).body;
    assert.equal(page.stackFrames.length, 1);
    assert.equal(page.stackFrames[0].line, L('call'));
  });

  test('every scope has variables; nested ones expand; addresses carry memoryReference', async () => {
    const scopes = await s.scopes();
    assert.deepEqual(scopes.map((x) => x.name), ['Registers', 'Segments', 'Control & debug registers', 'MSRs', 'KVM register cache',
      'Current exit (kvm_run)', 'Pending events', 'Interrupt controllers & time', 'VMCS', 'VM (capabilities, quirks)']);
    for (const sc of scopes) {
      const vars = (await s.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables;
      assert.ok(vars.length > 0, sc.name);
      for (const v of vars.filter((x) => x.variablesReference > 0).slice(0, 3)) {
        const kids = (await s.dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
        assert.ok(kids.length > 0, `${sc.name} / ${v.name}`);
      }
    }
    const regs = await s.scope('Registers');
    const rsp = regs.vars.find((v) => v.name === 'rsp')!;
    assert.equal(rsp.memoryReference, rsp.value);
    const flags = regs.vars.find((v) => v.name === 'rflags')!;
    const bits = (await s.dc.variablesRequest({ variablesReference: flags.variablesReference })).body.variables.map((v) => v.name);
    assert.ok(['CF', 'ZF', 'IF', 'IOPL'].every((b) => bits.includes(b)));
    const seg = (await s.scope('Segments')).vars.find((v) => v.name === 'cs')!;
    const cs = (await s.dc.variablesRequest({ variablesReference: seg.variablesReference })).body.variables;
    assert.deepEqual(cs.find((v) => v.name === 'l')?.value, '1');
    const guestArea = (await s.scope('VMCS')).vars.find((v) => v.name === 'Guest-state area (SDM 24.4)')!;
    const vmcs = (await s.dc.variablesRequest({ variablesReference: guestArea.variablesReference })).body.variables;
    assert.ok(vmcs.some((v) => /^GUEST_RIP \(0x681e\)$/.test(v.name)));
    const msrs = (await s.scope('MSRs')).vars;
    assert.ok(msrs.some((v) => /IA32_EFER|EFER/.test(v.name)));
    const paged = (await s.dc.variablesRequest({ variablesReference: regs.ref, start: 2, count: 3 })).body.variables;
    assert.deepEqual(paged.map((v) => v.name), ['rdx', 'rbx', 'rsp']);
  });

  test('setVariable on a register goes through KVM_SET_REGS: the register cache shows it dirty', async () => {
    const regs = await s.scope('Registers');
    const r = await s.dc.setVariableRequest({ variablesReference: regs.ref, name: 'r12', value: '0x1234' });
    assert.equal(r.body.value, '0x1234');
    assert.equal(await s.reg('r12'), 0x1234n);
    const rc = await s.scope('KVM register cache');
    assert.match(rc.vars.find((v) => v.name === 'VCPU_REGS_R12')!.value, /^0x1234 \(dirty\)$/);
    assert.match(rc.vars.find((v) => v.name === 'regs_dirty')!.value, /R12/);
    const snap = (await s.dc.customRequest('kvmGuest/registerCache', {})).body as { dirty: number; regs: { name: string; cached: string; dirty: boolean }[] };
    assert.ok(snap.dirty & (1 << 12));
    assert.deepEqual(snap.regs.find((x) => x.name === 'VCPU_REGS_R12'), { ...snap.regs.find((x) => x.name === 'VCPU_REGS_R12'), cached: '0x1234', dirty: true });
    await s.dc.setVariableRequest({ variablesReference: regs.ref, name: 'rflags', value: '0x202' });
    assert.equal((await s.regs()).rflags, '0x202');
    await rejects(s.dc.setVariableRequest({ variablesReference: regs.ref, name: 'r12', value: 'twelve' }), /'twelve' is not a number/);
    const seg = await s.scope('Segments');
    await rejects(s.dc.setVariableRequest({ variablesReference: seg.ref, name: 'cs', value: '0' }), /'cs' is read-only here/);
    await rejects(s.dc.setVariableRequest({ variablesReference: regs.ref, name: 'r99', value: '0' }), /no variable 'r99' here/);
    const exit = await s.scope('Current exit (kvm_run)');
    assert.ok(exit.vars.every((v) => v.presentationHint?.attributes?.includes('readOnly')), 'no reply to edit when not at an exit');
  });

  test('readMemory: virtual and gpa: physical agree; unmapped ranges are unreadableBytes, not errors', async () => {
    const v = await read('0x100000', 16);
    const p = await read('gpa:0x100000', 16);
    assert.equal(v.address, '0x100000');
    assert.equal(v.data, p.data);
    assert.equal(Buffer.from(v.data!, 'base64').length, 16);
    assert.equal(v.unreadableBytes, 0);
    const off = await read('0x100000', 4, 5);
    assert.equal(off.address, '0x100005');
    const hole = await read('0x40000000', 64); // past the 1 GiB identity map
    assert.equal(hole.unreadableBytes, 64);
    assert.equal(hole.data, undefined);
    const edge = await read('gpa:0x3fff000', 8192); // the last RAM page and what follows
    assert.equal(edge.address, '0x3fff000');
    assert.equal(Buffer.from(edge.data!, 'base64').length, 4096);
    assert.equal(edge.unreadableBytes, 4096);
    const before = await read('gpa:0x3fff000', 8192, -4096); // offset: the two last RAM pages
    assert.equal(before.address, '0x3ffe000');
    assert.equal(before.unreadableBytes, 0);
    const noRam = await read('0x10000000', 16); // mapped, but MMIO: no RAM behind it
    assert.equal(noRam.unreadableBytes, 16);
  });

  test('writeMemory: virtual and physical, seen by the guest and by evaluate', async () => {
    const counter = await s.value('counter');
    const w = (await s.dc.customRequest('writeMemory', { memoryReference: '0x' + counter.toString(16), data: Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0]).toString('base64') })).body as { bytesWritten: number };
    assert.equal(w.bytesWritten, 8);
    assert.equal(await s.value('qword [counter]'), 0x11n);
    await s.dc.customRequest('writeMemory', { memoryReference: 'gpa:0x' + counter.toString(16), offset: 1, data: Buffer.from([0x22]).toString('base64') });
    assert.equal(await s.value('qword [counter]'), 0x2211n);
    await s.stepIn(); // add qword [counter], 2
    assert.equal(await s.value('gpa(counter)'), 0x2213n);
    const none = (await s.dc.customRequest('writeMemory', { memoryReference: '0x40000000', data: Buffer.from([1]).toString('base64') })).body as { bytesWritten: number };
    assert.equal(none.bytesWritten, 0);
  });

  test('disassemble: symbols, source lines, bytes; before an address; unreadable memory as invalid', async () => {
    const d = (await s.dc.disassembleRequest({ memoryReference: '0x100000', instructionCount: 500 })).body!.instructions;
    assert.equal(d.length, 500);
    assert.equal(d[0].symbol, 'start');
    assert.equal(d[0].location?.path, src);
    assert.equal(d[0].line, lineOf(src, 'cpuid') - 9 - 2);
    const call = d.find((i) => i.line === L('call'))!;
    assert.match(call.instruction, /^call\s+0x[0-9a-f]+ <add_two>$/);
    // GDB's numbers (0x174), never NASM/MASM's 174h; every branch into a labelled range names it as <symbol+offset>.
    assert.ok(d.every((i) => !/\b[0-9][0-9a-f]*h\b/i.test(i.instruction)), d.map((i) => i.instruction).find((t) => /\b[0-9][0-9a-f]*h\b/i.test(t)));
    assert.ok(d.some((i) => /^j\w+\s+0x[0-9a-f]+ <\w+\+\d+>$/.test(i.instruction)) || d.some((i) => /<\w+>$/.test(i.instruction)));
    assert.equal(d.find((i) => i.symbol === 'add_two')?.line, L('add_two'));
    const back = (await s.dc.disassembleRequest({ memoryReference: call.address, instructionOffset: -2, instructionCount: 3 })).body!.instructions;
    assert.equal(back[2].address, call.address);
    assert.equal(back[1].line, L('write_counter'));
    const bad = (await s.dc.disassembleRequest({ memoryReference: '0x40000000', instructionCount: 4 })).body!.instructions;
    assert.equal(bad.length, 4);
    assert.ok(bad.every((i) => i.presentationHint === 'invalid'));
  });

  test('evaluate: registers, arithmetic, [rsp+8], qword [..], gpa(..), symbols; errors with a column', async () => {
    const rsp = await s.reg('rsp');
    assert.equal(await s.value('rsp + 8'), rsp + 8n);
    const ret = await s.value('[rsp+8]'); // the return address, above the saved RBP
    assert.equal(await s.value(`qword [0x${(rsp + 8n).toString(16)}]`), ret);
    assert.equal(ret, BigInt((await s.frames())[1].instructionPointerReference!), 'the caller frame is at the return address');
    assert.equal(await s.value('dword [add_two] & 0xff'), 0x55n); // push rbp
    assert.equal(await s.value('byte [gpa(0) - gpa(0) + add_two]'), 0x55n);
    assert.equal(await s.value('gpa(add_two, 1)'), 0x55n);
    assert.equal(await s.value('cr4 & 0x40000 ? 1 : 0'), 1n);
    assert.equal(await s.value('(rsi == 0) && !(rsp < 0x1000)'), 1n);
    const r = await s.dc.evaluateRequest({ expression: 'rsp', context: 'hover' });
    assert.equal(r.body.memoryReference, '0x' + rsp.toString(16));
    await rejects(s.dc.evaluateRequest({ expression: 'rax +', context: 'watch' }), /unexpected end of expression \(column 6\)/);
    await rejects(s.dc.evaluateRequest({ expression: 'rax + nosuch', context: 'watch' }), /unknown name 'nosuch' \(column 7\)/);
    await rejects(s.dc.evaluateRequest({ expression: '[0x40000000]', context: 'watch' }), /memory at 0x40000000 is not readable/);
    await rejects(s.dc.evaluateRequest({ expression: 'gpa(0x20000000)', context: 'watch' }), /guest-physical 0x20000000 is not backed by memory/);
    await rejects(s.dc.evaluateRequest({ expression: '1/0', context: 'repl' }), /division by zero/);
  });

  test('Debug Console commands: help, info exits/vmcs/regcache/registers, x/16x, x/4i, stats', async () => {
    assert.match(await s.repl('help'), /info exits \[N\].*\n(.*\n)*\s+inject init\|nmi\|triple-fault/);
    const exits = await s.repl('info exits');
    assert.match(exits, /vcpu0 hardware\s+EXIT_REASON_CPUID/);
    assert.match(exits, /vcpu0 userspace\s+IO\s+rip=0x[0-9a-f]+ port=0xe9 dir=out size=1 count=1 data=\[0x48\]/);
    assert.match(exits, /userspace\s+HYPERCALL .*nr=12/);
    assert.equal((await s.repl('info exits 2')).split('\n').length, 2);
    assert.match(await s.repl('info vmcs'), /^ {2}GUEST_ES_SELECTOR \(0x800\)\s+0x10$/m);
    assert.match(await s.repl('info regcache'), /^regs_avail\s+0x/m);
    assert.match(await s.repl('info registers'), /^rip\s+0x1000/m);
    const x = await s.repl('x/16xb 0x100000');
    assert.match(x, /^0x100000:  0x[0-9a-f]{2}( 0x[0-9a-f]{2}){15}$/);
    assert.match(await s.repl('x/2gx gpa:counter'), /^0x[0-9a-f]+:  0x0000000000002213 0x/);
    const dis = (await s.repl('x/4i rip')).split('\n');
    assert.equal(dis.length, 4);
    assert.match(dis[0], /^0x[0-9a-f]+ <add_two\+0x[0-9a-f]+>?:?|^0x[0-9a-f]+:/);
    assert.match(await s.repl('x/4x 0x40000000'), /not mapped/);
    assert.match(await s.repl('stats'), /instructions\n\s+\d+\s+(IO|EXIT_REASON)/);
    assert.match(await s.repl('info bogus'), /^usage: info exits/);
    assert.match(await s.repl('x/4x nosuch'), /^error: unknown name 'nosuch'/);
    assert.match(await s.repl('inject bogus'), /^usage: inject/);
  });

  test('completions: console commands, registers, kvm_run fields and symbols', async () => {
    const c = async (text: string) => (await s.dc.completionsRequest({ text, column: text.length + 1 })).body.targets.map((t) => t.label);
    assert.ok((await c('info e')).includes('info exits'));
    assert.ok((await c('ra')).includes('rax'));
    assert.ok((await c('rax + add_')).includes('add_two'));
    assert.ok((await c('hypercall.r')).includes('hypercall.ret'));
    const t = (await s.dc.completionsRequest({ text: 'rax + cou', column: 10 })).body.targets.find((x) => x.label === 'counter')!;
    assert.deepEqual([t.start, t.length], [6, 3]);
  });

  test('custom requests: exitLog (with sinceIndex and sources), statistics', async () => {
    const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { index: number; reason: string; layer: string; details: string; source?: { line: number } }[] };
    assert.ok(log.exits.some((e) => e.layer === 'hardware' && e.reason === 'EXIT_REASON_CPUID'), 'exitLog all includes hardware exits');
    const io = log.exits.find((e) => e.layer === 'userspace' && e.reason === 'IO')!;
    assert.match(io.details, /port=0xe9 dir=out/);
    assert.equal(io.source?.line, L('io'), 'RIP is still at the OUT: KVM skips it when the exit completes');
    const since = (await s.dc.customRequest('kvmGuest/exitLog', { sinceIndex: io.index + 1 })).body as { exits: { index: number }[] };
    assert.ok(since.exits.every((e) => e.index > io.index));
    const stats = (await s.dc.customRequest('kvmGuest/statistics')).body as { byReason: { reason: string; count: number }[]; totalInstructions: number; timeline: unknown[] };
    assert.equal(stats.byReason.find((r) => r.reason === 'IO')?.count, 2);
    assert.ok(stats.totalInstructions > 10 && stats.timeline.length > 0, JSON.stringify({ ...stats, byReason: undefined }));
  });

  test('malformed requests are errors and the session goes on', async () => {
    await rejects(s.dc.stackTraceRequest({ threadId: 99 }), /unknown thread 99/);
    await rejects(s.dc.nextRequest({ threadId: 0 }), /unknown thread 0/);
    await rejects(s.dc.exceptionInfoRequest({ threadId: 7 }), /unknown thread 7/);
    await rejects(s.dc.scopesRequest({ frameId: 99_000 }), /unknown frameId 99000/);
    await rejects(s.dc.evaluateRequest({ expression: 'rax', frameId: 99_000 }), /unknown frameId 99000/);
    await rejects(s.dc.variablesRequest({ variablesReference: 123_456 }), /unknown variablesReference 123456/);
    await rejects(s.dc.setVariableRequest({ variablesReference: 123_456, name: 'rax', value: '1' }), /unknown variablesReference/);
    await rejects(s.dc.customRequest('readMemory', { memoryReference: 'zz', count: 4 }), /bad memoryReference 'zz'/);
    await rejects(s.dc.customRequest('readMemory', { memoryReference: '0x1000', count: 1e12 }), /count 1000000000000 exceeds/);
    await rejects(s.dc.customRequest('readMemory', { memoryReference: '0x1000', count: -1 }), /"count" must not be negative, got -1/);
    await rejects(s.dc.customRequest('writeMemory', { memoryReference: 'here', data: '' }), /bad memoryReference 'here'/);
    await rejects(s.dc.disassembleRequest({ memoryReference: '0x100000', instructionCount: 1e9 }), /disassemble: "instructionCount" must be between 0 and 10000, got 1000000000/);
    await rejects(s.dc.disassembleRequest({ memoryReference: 'gpa:zz', instructionCount: 1 }), /bad memoryReference/);
    await rejects(s.dc.setBreakpointsRequest({ source: {}, breakpoints: [{ line: 1 }] }), /source.path is required/);
    await rejects(s.dc.customRequest('kvmGuest/noSuchThing', {}), /unknown request 'kvmGuest\/noSuchThing'/);
    await rejects(s.dc.customRequest('kvmGuest/registerCache', { vcpu: 5 }), /unknown vcpu 5/);
    await rejects(s.dc.customRequest('kvmGuest/inject', { kind: 'smi' }), /kind must be init, nmi or triple-fault/);
    await rejects(s.dc.customRequest('noSuchRequest', { x: 1 }), /unknown request 'noSuchRequest'/);
    // Still alive and consistent.
    assert.equal((await s.topFrame()).line, L('in_add_two') + 1);
    assert.equal((await s.dc.threadsRequest()).body.threads.length, 1);
  });

  test('inject and reset through the console and the custom requests', async () => {
    assert.equal(await s.repl('inject nmi'), 'NMI pending');
    const nmi = (await s.dc.customRequest('kvmGuest/inject', { kind: 'nmi', vcpu: 0 })).body as { result: string };
    assert.equal(nmi.result, 'NMI pending');
    assert.match(await s.repl('inject init'), /INIT (latched|refused)/);
    assert.match(await s.repl('inject triple-fault'), /triple fault/);
    assert.match(await s.repl('inject nmi 3'), /no vCPU 3/);
    const reset = (await s.dc.customRequest('kvmGuest/reset', {})).body as { result: string };
    assert.equal(reset.result, 'VM RESET');
    assert.equal(await s.rip(), 0x100000);
    assert.match(await s.repl('reset'), /VM RESET/);
    assert.equal(await s.value('qword [counter]'), 0n);
    assert.match(await s.repl('inject triple-fault'), /triple fault/);
    assert.equal(await s.cont(), undefined);
    assert.equal(s.exitCode, 4);
    assert.match(s.outputText('console'), /guest ended: SHUTDOWN/);
  });
});

describe('exit log in real mode with a non-zero CS base (07C0:xxxx)', () => {
  const real = guest('realmode.asm');
  const R = (m: string) => lineOf(real, m);

  test('an exit is located at CS.base + IP, not at IP: source line, pc and the console', async () => {
    const s = await DapSession.start();
    try {
      const stop = await s.launch({ program: real, exitLog: 'all' }, { breakpoints: [{ path: real, lines: [R('exit')] }] });
      assert.equal(stop?.body.reason, 'breakpoint');
      assert.equal(await s.value('cs'), 0x7c0n);
      const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { reason: string; layer: string; rip: string; pc?: string; details: string; source?: { line: number } }[] };
      const io = log.exits.find((e) => e.layer === 'userspace' && e.reason === 'IO')!;
      const outIp = (await s.value('ip')) - 4n; // mov al, 0 (2 bytes) and out 0xe9, al (2 bytes) before the stop
      assert.equal(BigInt(io.rip), outIp, 'rip is the IP within the segment');
      assert.equal(BigInt(io.pc!), 0x7c00n + outIp, 'pc is CS.base + IP');
      assert.equal(io.source?.line, R('out_e9'));
      assert.doesNotMatch(io.details, /pc=/);
      const hw = log.exits.find((e) => e.layer === 'hardware' && e.reason === 'EXIT_REASON_IO_INSTRUCTION')!;
      assert.equal(hw.source?.line, R('out_e9'), 'hardware exits too');
      assert.match(await s.repl('info exits'), new RegExp(`IO +rip=0x${outIp.toString(16)} pc=0x${(0x7c00n + outIp).toString(16)} port=0xe9`));
    } finally { await s.close(); }
  });
});
