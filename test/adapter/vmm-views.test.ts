// What the views show of a guest that does CPUID, WRMSR, OUT to the serial port and VMCALL: the
// VMCS scope grouped as the SDM lays it out, the register cache without VMCS values for registers
// that have no VMCS field, `info regcache` with KVM's names in aligned columns, ports in hex in the
// exit log, and a restart that tells VS Code the guest runs again before the next stop.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DapSession, guest, lineOf } from './helpers';

const src = guest('vmm-exits.asm');

describe('VMCS, register cache and exit fields (vmm-exits.asm)', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    const st = await s.launch({ program: src, stopOnEntry: true, exitLog: 'all', caps: ['KVM_CAP_EXIT_HYPERCALL=0x1000'] },
      { filters: { filters: ['kvm-io'] } });
    assert.equal(st?.body.reason, 'entry');
  });
  after(() => s.close());

  test('the VMCS scope: SDM groups in SDM order, each sorted by encoding, with field names', async () => {
    const { vars } = await s.scope('VMCS');
    assert.deepEqual(vars.map((v) => v.name), ['Guest-state area (SDM 24.4)', 'Host-state area (SDM 24.5)', 'VM-execution control fields (SDM 24.6)',
      'VM-exit control fields (SDM 24.7)', 'VM-entry control fields (SDM 24.8)', 'VM-exit information fields (SDM 24.9)'].filter((g) => vars.some((v) => v.name === g)));
    const kids = async (group: string) => {
      const g = vars.find((v) => v.name.startsWith(group))!;
      assert.ok(g, group);
      return (await s.dc.variablesRequest({ variablesReference: g.variablesReference })).body.variables;
    };
    const guestState = await kids('Guest-state');
    assert.ok(guestState.some((v) => /^GUEST_CR0 \(0x6800\)$/.test(v.name)));
    assert.ok(guestState.every((v) => /^GUEST_|^VMCS_LINK_POINTER/.test(v.name)), guestState.map((v) => v.name).join(' '));
    const enc = guestState.map((v) => Number(/\((0x[0-9a-f]+)\)$/.exec(v.name)![1]));
    assert.deepEqual(enc, [...enc].sort((a, b) => a - b), 'sorted by encoding');
    assert.ok((await kids('Host-state')).every((v) => /^HOST_/.test(v.name)));
    const exec = (await kids('VM-execution')).map((v) => v.name);
    assert.ok(exec.some((n) => n.startsWith('PIN_BASED_VM_EXEC_CONTROL (0x4000)')) && exec.some((n) => n.startsWith('CPU_BASED_VM_EXEC_CONTROL (0x4002)')), 'exec: ' + exec.join(' '));
    for (const g of vars) {
      const names = (await s.dc.variablesRequest({ variablesReference: g.variablesReference })).body.variables.map((v) => v.name);
      assert.ok(names.every((n) => !/^0x/.test(n)), `every field has its name: ${names.filter((n) => /^0x/.test(n)).join(' ')}`);
    }
    assert.ok((await kids('VM-exit control')).some((v) => v.name.startsWith('VM_EXIT_CONTROLS')));
    assert.ok((await kids('VM-entry control')).some((v) => v.name.startsWith('VM_ENTRY_CONTROLS')));
  });

  test('info vmcs prints the same groups', async () => {
    const text = await s.repl('info vmcs');
    assert.match(text, /^Guest-state area \(SDM 24\.4\): \d+ fields$/m);
    assert.match(text, /^ {2}GUEST_ES_SELECTOR \(0x800\)\s+0x10$/m);
    assert.ok(text.indexOf('Guest-state area') < text.indexOf('Host-state area'));
  });

  test('the register cache: a VMCS value only for registers that have a VMCS field; KVM\'s names', async () => {
    const rc = (await s.dc.customRequest('kvmGuest/registerCache', {})).body as { regs: { name: string; cached: string; vmcs?: string }[] };
    const by = new Map(rc.regs.map((r) => [r.name, r]));
    for (const gpr of ['RAX', 'RCX', 'RDX', 'RBX', 'RBP', 'RSI', 'RDI', 'R8', 'R15']) assert.equal(by.get(`VCPU_REGS_${gpr}`)?.vmcs, undefined, gpr);
    assert.ok(by.get('VCPU_REGS_RSP')?.vmcs && by.get('VCPU_REGS_RIP')?.vmcs);
    assert.ok(rc.regs.every((r) => !/EXREG_EXREG/.test(r.name)), rc.regs.map((r) => r.name).join(' '));
    for (const n of ['VCPU_EXREG_PDPTR', 'VCPU_EXREG_CR0', 'VCPU_EXREG_CR3', 'VCPU_EXREG_CR4', 'VCPU_EXREG_RFLAGS', 'VCPU_EXREG_SEGMENTS', 'VCPU_EXREG_EXIT_INFO_1']) assert.ok(by.has(n), n);
    assert.notEqual(by.get('VCPU_EXREG_CR0')?.cached, '-', 'CR0 has a cached value (vcpu->arch.cr0)');
  });

  test('info regcache: KVM names once, columns aligned', async () => {
    const text = await s.repl('info regcache');
    assert.doesNotMatch(text, /EXREG_EXREG/);
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.startsWith('kvm_reg'));
    assert.ok(head > 0, text);
    const table = lines.slice(head).filter(Boolean);
    assert.equal(table.length, 26, 'a header and 25 kvm_regs');
    // Each column starts at the same offset on every row.
    const starts = (l: string) => [...l.matchAll(/(?<=  )\S/g)].map((m) => m.index);
    const cols = starts(table[0]);
    assert.equal(cols.length, 4);
    for (const row of table.slice(1)) for (const c of cols) assert.notEqual(row[c - 1], undefined, row), assert.equal(row[c - 1], ' ', `column at ${c} in '${row}'`);
    assert.match(table.find((l) => l.startsWith('VCPU_REGS_RAX '))!, /^VCPU_REGS_RAX\s+0x\S+\s+-\s+[01]\s+[01]$/);
  });

  test('a stop at the serial port exit: the port, the data in hex in the description, exception info and the exit log', async () => {
    const st = await s.cont();
    assert.equal(st?.body.reason, 'exception');
    assert.match(st!.body.description ?? '', /KVM_EXIT_IO port=0x3f8 dir=out size=1 count=1 data=\[0x4b\]/);
    assert.equal(await s.line(), lineOf(src, 'serial'));
    const log = (await s.dc.customRequest('kvmGuest/exitLog', {})).body as { exits: { reason: string; layer: string; details: string }[] };
    const io = log.exits.find((e) => e.reason === 'IO')!;
    assert.equal(io.details, 'port=0x3f8 dir=out size=1 count=1 data=[0x4b]');
    const wrmsr = log.exits.find((e) => e.layer === 'hardware' && /MSR_WRITE/.test(e.reason))!;
    assert.match(wrmsr.details, /^wrmsr 0x1b <- 0xfee00900 \(qual 0x0\) at rip 0x[0-9a-f]+$/);
    const cpuid = log.exits.find((e) => e.reason === 'EXIT_REASON_CPUID')!;
    assert.equal(cpuid.details.startsWith('cpuid leaf 0x1'), true, cpuid.details);
    assert.match(await s.repl('info exits'), /IO\s+rip=0x[0-9a-f]+ port=0x3f8 dir=out size=1 count=1 data=\[0x4b\]/);
  });

  test('restart (RESET): a continued event before the next stop, so VS Code drops the old stop details', async () => {
    const events: string[] = [];
    const onC = () => events.push('continued');
    const onS = () => events.push('stopped');
    s.dc.on('continued', onC);
    s.dc.on('stopped', onS);
    const st = await s.restart();
    s.dc.removeListener('continued', onC);
    s.dc.removeListener('stopped', onS);
    assert.equal(st?.body.reason, 'entry');
    assert.deepEqual(events, ['continued', 'stopped']);
  });
});

describe('VMCB areas and the register cache on AMD', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    await s.launch({ program: src, stopOnEntry: true, vendor: 'amd' });
  });
  after(() => s.close());

  test('the VMCB scope: control area, then state save area (APM Appendix B)', async () => {
    const { vars } = await s.scope('VMCB');
    assert.deepEqual(vars.map((v) => v.name), ['Control area (APM B.1)', 'State save area (APM B.2)']);
    const kids = async (i: number) => (await s.dc.variablesRequest({ variablesReference: vars[i].variablesReference })).body.variables.map((v) => v.name);
    assert.ok((await kids(0)).every((n) => n.startsWith('control.')));
    assert.ok((await kids(1)).every((n) => n.startsWith('save.')));
  });

  test('RAX has a VMCB value (save.rax); RCX has none', async () => {
    const rc = (await s.dc.customRequest('kvmGuest/registerCache', {})).body as { regs: { name: string; vmcs?: string }[] };
    assert.ok(rc.regs.find((r) => r.name === 'VCPU_REGS_RAX')?.vmcs);
    assert.equal(rc.regs.find((r) => r.name === 'VCPU_REGS_RCX')?.vmcs, undefined);
    assert.match(await s.repl('info regcache'), /^kvm_reg\s+cached \(vcpu->arch\)\s+VMCB\s+avail\s+dirty$/m);
  });
});
