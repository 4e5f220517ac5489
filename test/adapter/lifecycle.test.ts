// The adapter's lifecycle over stdio: initialize and its capabilities, launch with every option,
// bad launch configurations (answered with errors naming the option or file:line, the session
// surviving), requests before launch, threads as vCPUs, restart as a RESET, terminate, disconnect.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DapSession, guest, example, lineOf, lineWith, rejects } from './helpers';
import { EXIT_FILTERS } from '../../vm-core/debug/exit-filters';

describe('initialize', () => {
  let s: DapSession;
  before(async () => { s = await DapSession.start(); });
  after(() => s.close());

  test('advertises every capability the adapter implements and every exit filter with conditions', async () => {
    const caps = (await s.initialize()).body!;
    for (const k of ['supportsConfigurationDoneRequest', 'supportsFunctionBreakpoints', 'supportsConditionalBreakpoints',
      'supportsHitConditionalBreakpoints', 'supportsLogPoints', 'supportsEvaluateForHovers', 'supportsStepBack', 'supportsSetVariable',
      'supportsRestartRequest', 'supportsExceptionInfoRequest', 'supportsExceptionFilterOptions', 'supportsDataBreakpoints',
      'supportsReadMemoryRequest', 'supportsWriteMemoryRequest', 'supportsDisassembleRequest', 'supportsInstructionBreakpoints',
      'supportsSteppingGranularity', 'supportsCompletionsRequest', 'supportsTerminateRequest', 'supportsBreakpointLocationsRequest'] as const) {
      assert.equal(caps[k], true, k);
    }
    const filters = caps.exceptionBreakpointFilters!;
    assert.deepEqual(filters.map((f) => f.filter), EXIT_FILTERS.map((f) => f.filter));
    for (const f of filters) {
      assert.equal(f.supportsCondition, true, f.filter);
      assert.ok(f.label && f.conditionDescription, f.filter);
    }
    for (const id of ['hw-any', 'hw-cpuid', 'hw-io', 'hw-msr', 'hw-cr', 'hw-hypercall', 'hw-exception', 'hw-hlt', 'hw-ept', 'hw-triple-fault',
      'hw-notify', 'kvm-any', 'kvm-io', 'kvm-mmio', 'kvm-hypercall', 'kvm-shutdown', 'kvm-internal-error', 'kvm-system-event', 'kvm-hyperv',
      'kvm-notify', 'regcache-never-written', 'regcache-stale', 'kvm-bug']) {
      assert.ok(filters.some((f) => f.filter === id), id);
    }
  });
});

describe('bad launch configurations', () => {
  let s: DapSession;
  let dir: string;
  before(async () => {
    s = await DapSession.start();
    await s.initialize();
    dir = mkdtempSync(join(tmpdir(), 'kvm-guest-adapter-'));
  });
  after(() => s.close());

  test('requests before launch are errors, not crashes', async () => {
    assert.deepEqual((await s.dc.threadsRequest()).body.threads, []);
    await rejects(s.dc.stackTraceRequest({ threadId: 1 }), /launch first/);
    await rejects(s.dc.evaluateRequest({ expression: 'rax', context: 'repl' }), /launch first/);
    await rejects(s.dc.continueRequest({ threadId: 1 }), /launch first/);
    await rejects(s.dc.customRequest('readMemory', { memoryReference: '0x1000', count: 16 }), /launch first/);
    await rejects(s.dc.customRequest('kvmGuest/statistics'), /launch first/);
    await rejects(s.dc.setBreakpointsRequest({ source: { path: guest('exits.asm') }, breakpoints: [{ line: 3 }] }), /launch first/);
  });

  test('an unknown option is named (with a suggestion)', async () => {
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), stopOnentry: true } as never), /"stopOnentry".*unknown option.*did you mean "stopOnEntry"/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), frobnicate: 1 } as never), /"frobnicate": unknown option/);
  });

  test('bad values are named with what was expected', async () => {
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), vendor: 'arm' } as never), /"vendor": expected one of intel, amd, got "arm"/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), memory: 'lots' } as never), /"memory": expected a size/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), vcpus: 0 } as never), /"vcpus": must be between 1 and 64/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), caps: ['KVM_CAP_NO_SUCH_THING'] } as never), /caps\[0\]: unknown capability KVM_CAP_NO_SUCH_THING/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), disableQuirks: ['NO_SUCH_QUIRK'] } as never), /disableQuirks\[0\]: unknown quirk "NO_SUCH_QUIRK"/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), hypercallPolicy: 'maybe' } as never), /"hypercallPolicy": expected one of patch, patch-fixed, ud, emulate/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), stopOnEntry: 'sometimes' } as never), /"stopOnEntry": expected true or false/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), console: 'terminal' } as never), /"console": expected one of debugConsole, none/);
    await rejects(s.dc.launchRequest({ program: guest('exits.asm'), notifyWindow: 100, vendor: 'amd' } as never), /NOTIFY_VMEXIT.*Intel-only/);
  });

  test('a missing program, a missing file and an assembler error name the problem and the location', async () => {
    await rejects(s.dc.launchRequest({} as never), /"program": missing/);
    await rejects(s.dc.launchRequest({ program: join(dir, 'nope.asm') } as never), /nope\.asm.*unable to open source file/);
    const bad = join(dir, 'bad.asm');
    writeFileSync(bad, 'bits 64\nstart:\n    mov rax, rbx, rcx\n    hlt\n');
    await rejects(s.dc.launchRequest({ program: bad } as never), /bad\.asm:3/);
  });

  test('the session survives: a good launch still works and runs the guest', async () => {
    const stop = await s.launch({ program: guest('exits.asm'), stopOnEntry: true }, {}, false);
    assert.equal(stop?.body.reason, 'entry');
    assert.equal((await s.dc.threadsRequest()).body.threads.length, 1);
    assert.equal(await s.cont(), undefined);
    assert.equal(s.exitCode, 0x21);
    assert.match(s.outputText('stdout'), /Hi/);
  });
});

describe('launch options reach the VM', () => {
  let s: DapSession;
  before(async () => { s = await DapSession.start(); });
  after(() => s.close());

  test('vendor amd, caps, disableQuirks, hypercallPolicy, vcpus, memory, stopOnEntry, console none', async () => {
    const stop = await s.launch({
      program: guest('exits.asm'), vendor: 'amd', caps: ['EXIT_HYPERCALL=0x1000'], disableQuirks: ['FIX_HYPERCALL_INSN'],
      hypercallPolicy: 'emulate', vcpus: 2, memory: '32M', stopOnEntry: true, console: 'none', exitLog: 'all',
      name: 'test', type: 'kvm-guest', request: 'launch', cwd: '/tmp',
    });
    assert.equal(stop?.body.reason, 'entry');
    assert.equal(stop?.body.threadId, 1);
    const vm = Object.fromEntries((await s.scope(/^VM \(/)).vars.map((v) => [v.name, v.value]));
    assert.equal(vm.vendor, 'AMD (SVM)');
    assert.equal(vm['KVM_CAP_EXIT_HYPERCALL mask'], '0x1000');
    assert.match(vm.quirks, /FIX_HYPERCALL_INSN=off/);
    assert.equal(vm['hypercall policy'], 'emulate');
    assert.match(vm['caps (launch)'], /KVM_CAP_EXIT_HYPERCALL=0x1000/);
    const scopes = (await s.scopes()).map((x) => x.name);
    assert.ok(scopes.includes('VMCB') && !scopes.includes('VMCS'));
    const threads = (await s.dc.threadsRequest()).body.threads;
    assert.deepEqual(threads.map((t) => t.id), [1, 2]);
    assert.match(threads[0].name, /vCPU 0 \(BSP\)/);
    // On AMD the guest's VMCALL is the other vendor's: 'emulate' runs it as a hypercall, which exits
    // to userspace (KVM_CAP_EXIT_HYPERCALL bit 12) with nr 12.
    const hc = await s.resume((dc) => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'kvm-hypercall' }] }).then(() => dc.continueRequest({ threadId: 1 })));
    assert.equal(hc?.body.reason, 'exception');
    assert.equal(await s.value('nr'), 12n);
    assert.equal(await s.cont(), undefined);
    assert.equal(s.exitCode, 0x21);
    // console none: the guest's "Hi" is not sent; the adapter's own messages still are.
    assert.equal(s.outputText('stdout'), '');
    assert.match(s.outputText('console'), /guest ended: EXIT_PORT/);
  });
});

describe('vCPUs as threads (seed 001: INIT-SIPI)', () => {
  let s: DapSession;
  const src = example('seed001-reset-init.asm');
  before(async () => { s = await DapSession.start(); });
  after(() => s.close());

  test('the AP is thread 2 and stops on its own breakpoint after INIT-SIPI', async () => {
    const apLine = lineWith(src, "mov al, 'A'");
    const stop = await s.launch({ program: src, vcpus: 2 }, { breakpoints: [{ path: src, lines: [apLine] }] });
    assert.equal(stop?.body.reason, 'breakpoint');
    assert.equal(stop?.body.threadId, 2);
    const threads = (await s.dc.threadsRequest()).body.threads;
    assert.deepEqual(threads.map((t) => t.name), ['vCPU 0 (BSP)', 'vCPU 1']);
    const top = await s.topFrame(2);
    assert.equal(top.line, apLine);
    assert.equal(top.instructionPointerReference, '0x9000');
    const seg = Object.fromEntries((await s.scope('Segments', 2)).vars.map((v) => [v.name, v.value]));
    assert.match(seg.cs, /^0x900 base=0x9000/);
    // Thread 1 (BSP) sits after its HLT; its frame is still answerable.
    assert.ok((await s.frames(1)).length >= 1);
    await rejects(s.dc.stackTraceRequest({ threadId: 3 }), /unknown thread 3/);
  });

  test('restart is a RESET of the VM: the AP is back in wait-for-SIPI, the run repeats', async () => {
    const again = await s.restart();
    assert.equal(again?.body.reason, 'breakpoint');
    assert.equal(again?.body.threadId, 2);
    assert.match(s.outputText('console'), /VM RESET/);
  });

  test('terminate ends the session with a terminated event', async () => {
    const ended = s.dc.waitForEvent('terminated');
    await s.dc.terminateRequest({});
    await ended;
  });
});

describe('restart with stopOnEntry, disconnect', () => {
  let s: DapSession;
  before(async () => { s = await DapSession.start(); });

  test('restart puts registers, memory and output back to the launch state', async () => {
    const src = guest('exits.asm');
    await s.launch({ program: src, stopOnEntry: true }, { breakpoints: [{ path: src, lines: [lineOf(src, 'after_call')] }] });
    const entryRegs = await s.regs();
    const bp = await s.cont();
    assert.equal(bp?.body.reason, 'breakpoint');
    assert.equal(await s.value('qword [counter]'), 7n);
    const entry = await s.restart();
    assert.equal(entry?.body.reason, 'entry');
    // Every register is back, except RDX: KVM's RESET puts CPUID.1.EAX there once the VMM has set
    // the CPUID (kvm_vcpu_reset), which it had not yet at creation (0x600).
    const after = await s.regs();
    assert.equal(entryRegs.rdx, '0x600');
    assert.equal(after.rdx, '0x' + (await s.value('rdx')).toString(16));
    assert.notEqual(after.rdx, '0x600');
    assert.deepEqual({ ...after, rdx: '' }, { ...entryRegs, rdx: '' });
    assert.equal(await s.value('qword [counter]'), 0n);
    const again = await s.cont();
    assert.equal(again?.body.reason, 'breakpoint');
    assert.equal(await s.value('qword [counter]'), 7n);
  });

  test('disconnect answers and the adapter exits', async () => {
    await s.dc.disconnectRequest({ terminateDebuggee: true });
    await s.dc.stop();
  });
});
