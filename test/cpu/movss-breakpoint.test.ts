// An instruction breakpoint (DR0-DR3, R/W = 00) on the instruction after MOV SS / POP SS: Intel
// processors inhibit it while MOV SS blocking is in effect, AMD processors raise the #DB
// (kvm-unit-tests emulator "#DB suppressed after MOV SS"; KVM's kvm_vcpu_check_code_breakpoint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareCpu, realMode, load } from './helpers';
import { RUN_EXIT, RUN_HALTED, EXIT_REASON_EXCEPTION_NMI } from '../../vm-core/cpu';

function run(vendor: 'intel' | 'amd', code: number[], bp: number): { r: number; rip: number; vector: number } {
  const { cpu, mem } = bareCpu();
  cpu.vendor = vendor;
  load(mem, 0x7c00, code);
  realMode(cpu, 0x7c00);
  cpu.R[8] = 0x6000; // SP
  cpu.intercepts.exceptionBitmap = 1 << 1;
  cpu.dr[0] = bp;
  cpu.dr7 = 0x401; // L0, execute, 1 byte
  cpu.slow = true;
  const r = cpu.run(100);
  return { r, rip: cpu.rip, vector: r === RUN_EXIT && cpu.exit.reason === EXIT_REASON_EXCEPTION_NMI ? cpu.exit.intrInfo & 0xff : -1 };
}

const MOV_SS = [0x8c, 0xd0, 0x8e, 0xd0, 0x31, 0xc0, 0xf4]; // mov ax, ss; mov ss, ax; xor ax, ax; hlt
const POP_SS = [0x16, 0x17, 0x31, 0xc0, 0xf4];             // push ss; pop ss; xor ax, ax; hlt

test('Intel: no #DB for an instruction breakpoint right after MOV SS or POP SS', () => {
  assert.deepEqual(run('intel', MOV_SS, 0x7c04), { r: RUN_HALTED, rip: 0x7c07, vector: -1 });
  assert.deepEqual(run('intel', POP_SS, 0x7c02), { r: RUN_HALTED, rip: 0x7c05, vector: -1 });
});

test('AMD: the instruction breakpoint after MOV SS or POP SS raises #DB', () => {
  assert.deepEqual(run('amd', MOV_SS, 0x7c04), { r: RUN_EXIT, rip: 0x7c04, vector: 1 });
  assert.deepEqual(run('amd', POP_SS, 0x7c02), { r: RUN_EXIT, rip: 0x7c02, vector: 1 });
});

test('both vendors: a breakpoint not shadowed by MOV SS raises #DB', () => {
  for (const vendor of ['intel', 'amd'] as const) {
    assert.deepEqual(run(vendor, MOV_SS, 0x7c06), { r: RUN_EXIT, rip: 0x7c06, vector: 1 }, vendor);
  }
});
