// Exit breakpoints (DAP exception filters): every filter the adapter offers, each with a condition
// that holds (the guest stops at that exit, exceptionInfo and the KVM handler frame describe it) and
// one that does not (the guest runs on to a breakpoint further on). Guests: test/adapter/guests and
// examples/. A session is re-used through restart (a RESET of the VM) between cases.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DapSession, guest, example, lineOf, lineWith, rejects, type LaunchArgs } from './helpers';

interface Case {
  filter: string;
  yes: string;
  no: string;
  /** exceptionInfo.exceptionId */
  id: string | RegExp;
  /** The guest line of the stop (the instruction that exited, or where it resumes for userspace exits). */
  line?: number;
  /** A function in the KVM handler frame. */
  handler: string;
  /** Extra check at the stop (an expression that must be non-zero). */
  check?: string;
}

/**
 * Launch stopped on entry with a breakpoint at `endLine`; run each case twice (false, then true
 * condition). Guests that end at the exit itself (endLine undefined) run to their end with the false
 * condition, and restart (a RESET, which the adapter allows after the end too) brings them back.
 */
function filterSuite(title: string, args: LaunchArgs, endLine: number | undefined, cases: Case[]): void {
  describe(title, () => {
    let s: DapSession;
    before(async () => {
      s = await DapSession.start();
      const stop = await s.launch({ ...args, stopOnEntry: true }, { breakpoints: endLine ? [{ path: args.program, lines: [endLine] }] : [] });
      assert.equal(stop?.body.reason, 'entry');
    });
    after(() => s.close());

    for (const c of cases) {
      test(`${c.filter}: '${c.yes}' stops, '${c.no}' does not`, async () => {
        const r = await s.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: c.filter, condition: c.no }] });
        assert.deepEqual(r.body?.breakpoints?.map((b) => b.verified), [true]);
        const passed = await s.cont();
        if (endLine !== undefined) {
          assert.equal(passed?.body.reason, 'breakpoint', `'${c.no}' must not stop`);
          assert.equal(await s.line(), endLine);
        } else assert.equal(passed, undefined, `'${c.no}' must not stop`);

        assert.equal((await s.restart())?.body.reason, 'entry');
        await s.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: c.filter, condition: c.yes }] });
        const stop = await s.cont();
        assert.equal(stop?.body.reason, 'exception', `'${c.yes}' must stop`);
        const info = (await s.dc.exceptionInfoRequest({ threadId: stop!.body.threadId! })).body;
        if (typeof c.id === 'string') assert.equal(info.exceptionId, c.id); else assert.match(info.exceptionId, c.id);
        assert.equal(info.breakMode, 'always');
        assert.ok(info.description && info.details?.message, 'exceptionInfo describes the exit');
        assert.match(info.details!.stackTrace!, new RegExp(c.handler));
        const frames = await s.frames(stop!.body.threadId);
        assert.match(frames[0].name, /^KVM: /);
        assert.match(frames[0].name, new RegExp(c.handler));
        if (c.line !== undefined) assert.equal(frames[1].line, c.line);
        if (c.check) assert.notEqual(await s.value(c.check), 0n, c.check);

        assert.equal((await s.restart())?.body.reason, 'entry');
      });
    }
  });
}

const exits = guest('exits.asm');
const X = (m: string) => lineOf(exits, m);

filterSuite('hardware exits (Intel VMX)', { program: exits, caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] }, X('exit'), [
  { filter: 'hw-any', yes: 'reason == 28', no: 'reason == 999', id: 'EXIT_REASON_CR_ACCESS', line: X('cr'), handler: 'handle_cr' },
  { filter: 'hw-cpuid', yes: 'eax == 1 && leaf == 1', no: 'eax == 2', id: 'EXIT_REASON_CPUID', line: X('cpuid'), handler: 'kvm_emulate_cpuid' },
  { filter: 'hw-io', yes: 'port == 0xe9 && in == 0 && size == 1', no: 'port == 0x3f8', id: 'EXIT_REASON_IO_INSTRUCTION', line: X('io'), handler: 'handle_io' },
  { filter: 'hw-msr', yes: 'msr == 0x1b && write == 0', no: 'msr == 0x1b && write', id: 'EXIT_REASON_MSR_READ', line: X('rdmsr'), handler: 'kvm_emulate_rdmsr' },
  { filter: 'hw-cr', yes: 'cr == 4', no: 'cr == 0', id: 'EXIT_REASON_CR_ACCESS', line: X('cr'), handler: 'handle_cr' },
  { filter: 'hw-hypercall', yes: 'nr == 12 && a0 == 0x200000', no: 'nr == 11', id: 'EXIT_REASON_VMCALL', line: X('vmcall'), handler: 'kvm_emulate_hypercall' },
  { filter: 'hw-ept', yes: 'gpa == 0x10000000', no: 'gpa == 0x20000000', id: /^EXIT_REASON_EPT_(VIOLATION|MISCONFIG)$/, line: X('mmio'), handler: 'handle_ept_(violation|misconfig)' },
  { filter: 'kvm-any', yes: 'reason == 6', no: 'reason == 5', id: 'MMIO', handler: 'KVM_EXIT_MMIO' },
  { filter: 'kvm-io', yes: 'port == 0xe9 && dir == 1 && data == 0x69', no: 'port == 0x3f8', id: 'IO', handler: 'KVM_EXIT_IO', check: 'io.port == 0xe9' },
  { filter: 'kvm-mmio', yes: 'addr == 0x10000000 && is_write == 1 && len == 4 && data == 0x1234', no: 'len == 8', id: 'MMIO', handler: 'KVM_EXIT_MMIO', check: 'mmio.phys_addr == 0x10000000' },
  { filter: 'kvm-hypercall', yes: 'nr == 12', no: 'nr == 13', id: 'HYPERCALL', handler: 'KVM_EXIT_HYPERCALL', check: 'hypercall.nr == 12 && a1 == 16' },
]);

filterSuite('hardware exits (AMD SVM: VMMCALL after the #UD of the Intel VMCALL)', { program: exits, vendor: 'amd' }, X('exit'), [
  { filter: 'hw-exception', yes: 'vector == 6', no: 'vector == 14', id: 'SVM_EXIT_EXCP_BASE+6', line: X('vmcall'), handler: 'emulator_fix_hypercall' },
  { filter: 'hw-hypercall', yes: 'nr == 12', no: 'nr == 11', id: 'SVM_EXIT_VMMCALL', line: X('vmcall'), handler: 'kvm_emulate_hypercall' },
  { filter: 'hw-cr', yes: 'cr == 4 && qual != 0', no: 'cr == 3', id: /^SVM_EXIT_(READ|WRITE)_CR4$/, handler: 'cr_interception' },
  { filter: 'hw-io', yes: 'port == 0xe9', no: 'port == 0x80', id: 'SVM_EXIT_IOIO', line: X('io'), handler: 'io_interception' },
  { filter: 'hw-msr', yes: 'msr == 0x1b', no: 'msr == 0x1c', id: 'SVM_EXIT_MSR', line: X('rdmsr'), handler: 'msr_interception' },
  { filter: 'hw-ept', yes: 'gpa == 0x10000000', no: 'gpa == 0', id: 'SVM_EXIT_NPF', line: X('mmio'), handler: 'npf_interception' },
]);

const seed000 = example('seed000-hypercall-patching.asm');
filterSuite('seed 000: #UD from the wrong-vendor hypercall with the quirk off', { program: seed000, disableQuirks: ['FIX_HYPERCALL_INSN'] },
  lineWith(seed000, "mov al, 'U'"), [
    { filter: 'hw-exception', yes: 'vector == 6', no: 'vector == 13', id: 'EXIT_REASON_EXCEPTION_NMI', handler: 'handle_exception_nmi' },
  ]);

const faults = guest('faults.asm');
const F = (m: string) => lineOf(faults, m);
filterSuite('triple fault', { program: faults, defines: { TRIPLE: '1' } }, undefined, [
  { filter: 'hw-triple-fault', yes: 'vcpu == 0', no: 'vcpu == 1', id: 'EXIT_REASON_TRIPLE_FAULT', line: F('ud2'), handler: 'handle_triple_fault' },
  { filter: 'kvm-shutdown', yes: 'reason == 8', no: 'reason == 9', id: 'SHUTDOWN', handler: 'KVM_EXIT_SHUTDOWN' },
]);

filterSuite('HLT', { program: faults, defines: { HLT: '1' } }, undefined, [
  { filter: 'hw-hlt', yes: 'vcpu == 0 && rip != 0', no: 'vcpu == 1', id: 'EXIT_REASON_HLT', line: F('hlt'), handler: 'kvm_emulate_halt' },
]);

// A fresh VM for each condition: after a RESET the second fetch from the same MMIO address takes
// KVM's EPT-misconfig path, which the KVM model currently recurses on (reported; not an adapter bug).
for (const [cond, stops] of [['suberror == 2', false], ['suberror == 1', true]] as const) {
  test(`kvm-internal-error (instruction fetch from unbacked memory): '${cond}' ${stops ? 'stops' : 'does not stop'}`, async () => {
    const s = await DapSession.start();
    try {
      await s.launch({ program: faults, defines: { INTERNAL: '1' } }, { filters: { filters: [], filterOptions: [{ filterId: 'kvm-internal-error', condition: cond }] } })
        .then(async (stop) => {
          if (!stops) { assert.equal(stop, undefined); assert.equal(s.exitCode, 5); return; }
          assert.equal(stop?.body.reason, 'exception');
          const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
          assert.equal(info.exceptionId, 'INTERNAL_ERROR');
          assert.match(info.details!.stackTrace!, /handle_emulation_failure/);
          assert.equal(await s.value('internal.suberror'), 1n);
          assert.equal(await s.rip(), 0x20000000);
          assert.equal(await s.cont(), undefined);
          assert.equal(s.exitCode, 5);
        });
    } finally { await s.close(); }
  });
}

filterSuite('KVM_EXIT_X86_RDMSR (KVM_CAP_X86_USER_SPACE_MSR)', { program: faults, defines: { USERMSR: '1' }, caps: ['X86_USER_SPACE_MSR=2'] }, undefined, [
  { filter: 'kvm-msr', yes: 'msr == 0x12345', no: 'msr == 0x1b', id: 'X86_RDMSR', handler: 'KVM_EXIT_X86_RDMSR', check: 'msr.index == 0x12345' },
]);

const seed002 = example('seed002-hyperv-overlay.asm');
filterSuite('KVM_EXIT_HYPERV (seed 002 overlay hypercall page)', { program: seed002, hyperv: true, hypervOverlay: true }, undefined, [
  { filter: 'kvm-hyperv', yes: 'type == 4', no: 'type == 1', id: 'HYPERV', handler: 'KVM_EXIT_HYPERV' },
]);

filterSuite('seed 000 flaw #4: the hypercall patch livelock in big real mode', { program: guest('bigreal.asm'), unrestrictedGuest: false }, undefined, [
  { filter: 'kvm-bug', yes: 'rip != 0', no: 'rip == 0', id: 'hypercall-patch-livelock', line: lineOf(guest('bigreal.asm'), 'vmcall'), handler: 'emulator_fix_hypercall' },
]);

describe('KVM_EXIT_SYSTEM_EVENT (Hyper-V HV_X64_MSR_RESET), which the VMM leaves to the user', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: faults, defines: { HVRESET: '1' }, hyperv: true, stopOnEntry: true });
  });
  after(() => s.close());

  test("'type == 2' stops at the filter; 'type == 1' stops only because the VMM does not handle it", async () => {
    await s.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'kvm-system-event', condition: 'type == 1' }] });
    const vmm = await s.cont();
    assert.equal(vmm?.body.reason, 'exception');
    assert.match(vmm!.body.description!, /^KVM_EXIT_SYSTEM_EVENT is not handled by the VMM/);
    assert.equal((await s.dc.exceptionInfoRequest({ threadId: 1 })).body.exceptionId, 'SYSTEM_EVENT');
    await s.restart();
    await s.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'kvm-system-event', condition: 'type == 2' }] });
    const stop = await s.cont();
    assert.match(stop!.body.description!, /^KVM_EXIT_SYSTEM_EVENT: /);
    const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
    assert.equal(info.exceptionId, 'SYSTEM_EVENT');
    assert.match(info.details!.message!, /type=2/);
    assert.equal(await s.value('system_event.type'), 2n);
  });
});

describe('register-cache events: a VMCS field read before it was ever written (seed 001 before the fix)', () => {
  const seed001 = example('seed001-reset-init.asm');
  test("'field == 0x6800' (GUEST_CR0) stops right at launch, before the first instruction", async () => {
    const s = await DapSession.start();
    try {
      const stop = await s.launch({ program: seed001, vcpus: 2, preFixSeed001: true, stopOnEntry: true },
        { filters: { filters: [], filterOptions: [{ filterId: 'regcache-never-written', condition: 'field == 0x6800' }] } });
      assert.equal(stop?.body.reason, 'exception');
      const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
      assert.equal(info.exceptionId, 'never-written');
      assert.match(info.description!, /GUEST_CR0 \(0x6800\) before it was ever written/);
      assert.equal(info.details?.typeName, 'register-cache event');
      assert.equal(await s.rip(), 0x7c00);
      const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { reason: string; layer: string }[] };
      assert.ok(log.exits.some((e) => e.reason === 'NEVER_WRITTEN_FIELD' && e.layer === 'regcache'));
    } finally { await s.close(); }
  });
  test("'field == 0x4000' does not stop (the launch stops on entry instead)", async () => {
    const s = await DapSession.start();
    try {
      const stop = await s.launch({ program: seed001, vcpus: 2, preFixSeed001: true, stopOnEntry: true },
        { filters: { filters: [], filterOptions: [{ filterId: 'regcache-never-written', condition: 'field == 0x4000' }] } });
      assert.equal(stop?.body.reason, 'entry');
    } finally { await s.close(); }
  });
});

describe('notify VM exits (seed 004: the endless #DB chain, notifyWindow odd: the VM context is invalid)', () => {
  // A fresh VM per case: a RESET after a notify exit ends in a triple fault in the KVM model
  // (state of the interrupted delivery survives kvm_vcpu_reset; reported), so no restart here.
  const seed004 = example('seed004-notify-db-loop.asm');
  const start = async (filterOptions: { filterId: string; condition: string }[]) => {
    const s = await DapSession.start();
    const stop = await s.launch({ program: seed004, interceptAcDb: false, notifyWindow: 101 }, { filters: { filters: [], filterOptions } });
    return { s, stop };
  };

  test("hw-notify 'qual == 2' does not stop, kvm-notify 'flags & 1' (KVM_NOTIFY_CONTEXT_INVALID) does", async () => {
    const { s, stop } = await start([{ filterId: 'hw-notify', condition: 'qual == 2' }, { filterId: 'kvm-notify', condition: 'flags & 1' }]);
    try {
      assert.equal(stop?.body.reason, 'exception');
      assert.match(stop!.body.description!, /^KVM_EXIT_NOTIFY: /);
      const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
      assert.equal(info.exceptionId, 'NOTIFY');
      assert.match(info.details!.stackTrace!, /handle_notify/);
      assert.equal(await s.value('notify.flags'), 1n);
      assert.equal(s.outputText('stdout'), 'S');
    } finally { await s.close(); }
  });

  test("hw-notify 'qual & 1' stops before KVM handles the exit; kvm-notify 'flags == 0' does not (the VMM's own stop follows)", async () => {
    const { s, stop } = await start([{ filterId: 'hw-notify', condition: 'qual & 1' }, { filterId: 'kvm-notify', condition: 'flags == 0' }]);
    try {
      assert.equal(stop?.body.reason, 'exception');
      const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
      assert.equal(info.exceptionId, 'EXIT_REASON_NOTIFY');
      assert.match(info.description!, /notify: context invalid/);
      assert.match((await s.frames())[0].name, /handle_notify/);
      const vmm = await s.cont();
      assert.equal(vmm?.body.reason, 'exception');
      assert.match(vmm!.body.description!, /^KVM_EXIT_NOTIFY is not handled by the VMM/);
    } finally { await s.close(); }
  });
});

describe('bad exit-filter input: an unknown filter and a broken condition are refused with messages, the rest accepted', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: exits, stopOnEntry: true });
  });
  after(() => s.close());

  test('every filter id answers verified or a message; the guest runs on with the accepted ones', async () => {
    const r = await s.dc.setExceptionBreakpointsRequest({ filters: ['kvm-hlt'], filterOptions: [
      { filterId: 'hw-notify', condition: 'qual & 1' }, { filterId: 'kvm-notify', condition: 'flags & 1' },
      { filterId: 'kvm-fail-entry', condition: 'hardware_entry_failure_reason == 0x80000021' },
      { filterId: 'regcache-stale', condition: 'reg == 16' }, { filterId: 'no-such-filter' },
      { filterId: 'kvm-io', condition: 'port ==' }] });
    assert.deepEqual(r.body!.breakpoints!.map((b) => b.verified), [true, true, true, true, true, false, false]);
    assert.match(r.body!.breakpoints![5].message!, /unknown exit filter 'no-such-filter'/);
    assert.match(r.body!.breakpoints![6].message!, /condition: unexpected end of expression \(column 8\)/);
    assert.equal(await s.cont(), undefined);
    assert.equal(s.exitCode, 0x21);
  });
});

// kvm-hlt: KVM returns KVM_EXIT_HLT only without an in-kernel LAPIC (__kvm_emulate_halt), i.e. with
// the launch option irqchip: false. KVM has already skipped the HLT: RIP is past it at the exit.
const halt = guest('halt.asm');
const H = (m: string) => lineOf(halt, m);
filterSuite('KVM_EXIT_HLT (irqchip: false)', { program: halt, irqchip: false }, undefined, [
  { filter: 'kvm-hlt', yes: 'rip == after_hlt && vcpu == 0', no: 'rip == start', id: 'HLT', line: H('after_hlt'), handler: '__kvm_emulate_halt',
    check: 'exit_reason == 5 && rip == after_hlt' },
]);

describe("KVM_EXIT_HLT: continuing gives the exit to the VMM, which answers it as QEMU's kvm_handle_halt does", () => {
  const stopAtHlt = async (s: DapSession, args: Record<string, unknown> = {}) => {
    const stop = await s.launch({ program: halt, irqchip: false, ...args }, { filters: { filters: [], filterOptions: [{ filterId: 'kvm-hlt', condition: 'rip == after_hlt' }] } });
    assert.equal(stop?.body.reason, 'exception');
    assert.match(stop!.body.description!, /^KVM_EXIT_HLT: /);
    assert.equal(BigInt(await s.rip()), await s.value('after_hlt'), 'KVM skipped the HLT before exiting');
  };

  test('nothing to deliver: the vCPU stays halted and the run ends (exit code 0); the code after the HLT never runs', async () => {
    const s = await DapSession.start();
    try {
      await stopAtHlt(s);
      const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { reason: string; rip: string; source?: { line: number } }[] };
      const hlt = log.exits.find((e) => e.reason === 'HLT');
      assert.equal(BigInt(hlt!.rip), await s.value('after_hlt'), 'the exit log has KVM\'s RIP (what KVM_GET_REGS returns)');
      assert.equal(hlt!.source?.line, H('after_hlt'));
      assert.equal(await s.cont(), undefined);
      assert.equal(s.exitCode, 0);
      assert.match(s.outputText('console'), /guest ended: HLT, exit code 0/);
      assert.equal(s.outputText('stdout'), '');
    } finally { await s.close(); }
  });

  test('an NMI injected at the stop: the VMM re-enters KVM_RUN, the NMI is delivered past the HLT', async () => {
    const s = await DapSession.start();
    try {
      await stopAtHlt(s);
      assert.equal(await s.repl('inject nmi'), 'NMI pending');
      assert.equal(await s.cont(), undefined);
      assert.equal(s.outputText('stdout'), 'N');
      assert.equal(s.exitCode, 0x4e);
    } finally { await s.close(); }
  });

  test('with the in-kernel irqchip (the default) the HLT exit is handled inside KVM: kvm-hlt never fires', async () => {
    const s = await DapSession.start();
    try {
      const hw = await s.launch({ program: halt }, { filters: { filters: ['kvm-hlt', 'hw-hlt'] } });
      assert.equal(hw?.body.reason, 'exception');
      assert.equal((await s.dc.exceptionInfoRequest({ threadId: 1 })).body.exceptionId, 'EXIT_REASON_HLT');
      assert.equal(await s.cont(), undefined, 'no KVM_EXIT_HLT follows the hardware exit');
      assert.equal(s.exitCode, 0);
      assert.equal(s.outputText('stdout'), '');
    } finally { await s.close(); }
  });

  test('irqchip: false with two vCPUs is refused, naming the option', async () => {
    const s = await DapSession.start();
    try {
      await s.initialize();
      await rejects(s.dc.launchRequest({ program: halt, irqchip: false, vcpus: 2 } as never), /"irqchip": false supports one vCPU \(vcpus is 2\)/);
    } finally { await s.close(); }
  });
});

// kvm-fail-entry: KVM_SET_SREGS accepts CS.L = CS.D/B = 1 in 64-bit mode (kvm_is_valid_sregs checks
// CS.L only outside it), but VM entry does not (SDM Vol. 3C 27.3.1.2: in IA-32e mode, if CS.L is 1,
// CS.D/B must be 0): VMRESUME fails with exit reason 0x80000021 (EXIT_REASON_INVALID_STATE |
// VMX_EXIT_REASONS_FAILED_VMENTRY) and KVM returns KVM_EXIT_FAIL_ENTRY. The debugger sets CS.D/B as a
// VMM would, through KVM_SET_SREGS (setVariable on Segments > cs > db).
describe('KVM_EXIT_FAIL_ENTRY: CS.D/B set in 64-bit mode through KVM_SET_SREGS fails the next VM entry', () => {
  const launchAndSetCsDb = async (s: DapSession, args: Record<string, unknown>, filterOptions: { filterId: string; condition?: string }[]) => {
    const stop = await s.launch({ program: exits, stopOnEntry: true, ...args }, { filters: { filters: [], filterOptions } });
    assert.equal(stop?.body.reason, 'entry');
    const cs = await segment(s, 'cs');
    assert.equal(cs.vars.find((v) => v.name === 'l')?.value, '1');
    const r = await s.dc.setVariableRequest({ variablesReference: cs.ref, name: 'db', value: '1' });
    assert.equal(r.body.value, '1');
    assert.equal((await segment(s, 'cs')).vars.find((v) => v.name === 'db')?.value, '1');
  };

  test("'hardware_entry_failure_reason == 0x80000021' stops at the exit (after 'reason == 0x80000021' at the failed entry); continuing ends the run", async () => {
    const s = await DapSession.start();
    try {
      await launchAndSetCsDb(s, {}, [{ filterId: 'hw-any', condition: 'reason == 0x80000021' },
        { filterId: 'kvm-fail-entry', condition: 'hardware_entry_failure_reason == 0x80000021' }]);
      const hw = await s.cont();
      assert.equal(hw?.body.reason, 'exception');
      assert.equal((await s.dc.exceptionInfoRequest({ threadId: 1 })).body.exceptionId, 'EXIT_REASON_INVALID_STATE (VM-entry failure)');
      assert.match((await s.frames())[0].name, /VMRESUME fails the guest-state checks/);
      const stop = await s.cont();
      assert.equal(stop?.body.reason, 'exception');
      assert.match(stop!.body.description!, /^KVM_EXIT_FAIL_ENTRY: /);
      const info = (await s.dc.exceptionInfoRequest({ threadId: 1 })).body;
      assert.equal(info.exceptionId, 'FAIL_ENTRY');
      assert.match(info.details!.stackTrace!, /__vmx_handle_exit [\s\S]*KVM_EXIT_FAIL_ENTRY/);
      assert.equal(await s.value('fail_entry.hardware_entry_failure_reason'), 0x80000021n);
      assert.equal(BigInt(await s.rip()), await s.value('start'), 'the guest never ran');
      assert.equal(await s.cont(), undefined);
      assert.equal(s.exitCode, 5);
      assert.match(s.outputText('console'), /guest ended: FAIL_ENTRY \(KVM_EXIT_FAIL_ENTRY \(0x80000021\)\)/);
    } finally { await s.close(); }
  });

  test("'hardware_entry_failure_reason == 0x80000022' does not stop: the VMM ends the run at the exit", async () => {
    const s = await DapSession.start();
    try {
      await launchAndSetCsDb(s, {}, [{ filterId: 'kvm-fail-entry', condition: 'hardware_entry_failure_reason == 0x80000022' }]);
      assert.equal(await s.cont(), undefined);
      assert.equal(s.exitCode, 5);
      assert.equal(s.outputText('stdout'), '', 'no guest instruction ran');
    } finally { await s.close(); }
  });

  test('setting CS.D/B back to 0 before continuing: the entry succeeds and the guest runs to its end', async () => {
    const s = await DapSession.start();
    try {
      await launchAndSetCsDb(s, {}, [{ filterId: 'kvm-fail-entry' }]);
      const cs = await segment(s, 'cs');
      await s.dc.setVariableRequest({ variablesReference: cs.ref, name: 'db', value: '0' });
      assert.equal(await s.cont(), undefined);
      assert.equal(s.exitCode, 0x21);
    } finally { await s.close(); }
  });

  test('edits KVM or the model would not handle as the hardware does are refused with the reason', async () => {
    const s = await DapSession.start();
    try {
      await s.launch({ program: exits, stopOnEntry: true });
      const cs = await segment(s, 'cs');
      await rejects(s.dc.setVariableRequest({ variablesReference: cs.ref, name: 'db', value: '2' }), /cs\.db is one bit: 0 or 1, not '2'/);
      await rejects(s.dc.setVariableRequest({ variablesReference: cs.ref, name: 'db', value: 'yes' }), /'yes' is not a number/);
      await rejects(s.dc.setVariableRequest({ variablesReference: cs.ref, name: 'selector', value: '0x10' }), /'selector' is read-only here/);
    } finally { await s.close(); }
    const amd = await DapSession.start();
    try {
      await amd.launch({ program: exits, stopOnEntry: true, vendor: 'amd' });
      const cs = await segment(amd, 'cs');
      await rejects(amd.dc.setVariableRequest({ variablesReference: cs.ref, name: 'db', value: '1' }),
        /VMRUN fail its consistency checks \(KVM_EXIT_FAIL_ENTRY, SVM_EXIT_ERR\), which the SVM model does not reproduce/);
      assert.equal((await segment(amd, 'cs')).vars.find((v) => v.name === 'db')?.value, '0', 'nothing changed');
    } finally { await amd.close(); }
    const prot = await DapSession.start();
    try {
      await prot.launch({ program: example('seed001-reset-init.asm'), stopOnEntry: true, vcpus: 2 });
      const cs = await segment(prot, 'cs');
      await rejects(prot.dc.setVariableRequest({ variablesReference: cs.ref, name: 'l', value: '1' }),
        /KVM_SET_SREGS would fail with -EINVAL: CS\.L = 1 outside 64-bit mode \(kvm_is_valid_sregs\)/);
    } finally { await prot.close(); }
    const real = await DapSession.start();
    try {
      await real.launch({ program: guest('realmode.asm'), stopOnEntry: true });
      const ds = await segment(real, 'ds');
      await rejects(real.dc.setVariableRequest({ variablesReference: ds.ref, name: 'db', value: '1' }), /ds\.db can be edited in protected or long mode only/);
    } finally { await real.close(); }
  });
});

/** A segment's children in the Segments scope, with their variablesReference. */
async function segment(s: DapSession, name: string): Promise<{ ref: number; vars: { name: string; value: string }[] }> {
  const seg = (await s.scope('Segments')).vars.find((v) => v.name === name);
  assert.ok(seg && seg.variablesReference, `no segment ${name}`);
  const vars = (await s.dc.variablesRequest({ variablesReference: seg.variablesReference })).body.variables;
  return { ref: seg.variablesReference, vars };
}

// regcache-stale: KVM before seed 001's fix stuffed regs_avail = ~0 in kvm_vcpu_reset, so at INIT
// vmx_set_rflags -> vmx_get_rflags (unrestricted guest off) trusts vmx->rflags from before the guest's
// last flag change (Sean's "consuming stale data" in the thread). See guests/init-stale.asm.
describe('register-cache events: a stale cached RFLAGS at INIT (seed 001 before the fix, unrestricted guest off)', () => {
  const stale = guest('init-stale.asm');
  const S = (m: string) => lineOf(stale, m);
  const args = { program: stale, vcpus: 2, preFixSeed001: true, unrestrictedGuest: false };

  test("'reg == 21 && cached == 2 && actual == 0x57' stops on the AP, at its first instruction after the INIT", async () => {
    const s = await DapSession.start();
    try {
      const stop = await s.launch(args, { filters: { filters: [], filterOptions: [{ filterId: 'regcache-stale', condition: 'reg == 21 && cached == 2 && actual == 0x57' }] } });
      assert.equal(stop?.body.reason, 'exception');
      assert.equal(stop!.body.threadId, 2);
      const info = (await s.dc.exceptionInfoRequest({ threadId: 2 })).body;
      assert.equal(info.exceptionId, 'stale');
      assert.equal(info.details?.typeName, 'register-cache event');
      assert.match(info.description!, /vcpu->arch.regs\[EXREG_RFLAGS\] is marked available but holds 0x2 while the VMCS\/VMCB has 0x57/);
      const frames = await s.frames(2);
      assert.match(frames[0].name, /^KVM: vmx_get_rflags/);
      assert.equal(frames[1].line, S('ap_second'));
      const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { reason: string; layer: string; vcpu: number }[] };
      assert.ok(log.exits.some((e) => e.reason === 'STALE_CACHE' && e.layer === 'regcache' && e.vcpu === 1));
      assert.equal(await s.cont(), undefined);
      assert.equal(s.outputText('stdout'), 'B');
      assert.equal(s.exitCode, 0x42);
    } finally { await s.close(); }
  });

  test("'reg == 16' does not stop; after the fix (preFixSeed001 off) or with unrestricted guest no stale read happens at all", async () => {
    for (const [extra, filterOptions] of [[{}, [{ filterId: 'regcache-stale', condition: 'reg == 16' }]],
      [{ preFixSeed001: false }, [{ filterId: 'regcache-stale' }]], [{ unrestrictedGuest: true }, [{ filterId: 'regcache-stale' }]]] as const) {
      const s = await DapSession.start();
      try {
        assert.equal(await s.launch({ ...args, ...extra }, { filters: { filters: [], filterOptions: [...filterOptions] } }), undefined, JSON.stringify(extra));
        assert.equal(s.exitCode, 0x42);
      } finally { await s.close(); }
    }
  });
});
