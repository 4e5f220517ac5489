// Stop-on-entry in a 64-bit guest: the page tables the boot set-up wrote (KVM_SET_SREGS: CR3 is in
// vcpu->arch.cr3, dirty, loaded into the processor only at the first VM entry) are what every
// virtual-memory read walks from the first stop: readMemory, `x/`, `byte [rip]`, disassemble.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, example } from './helpers';

describe('virtual memory at stop-on-entry (64-bit guest)', () => {
  let s: DapSession;
  before(async () => {
    s = await DapSession.start();
    const st = await s.launch({ program: example('seed003-map-gpa-range.asm'), stopOnEntry: true });
    assert.equal(st?.body.reason, 'entry');
  });
  after(() => s.close());

  test('readMemory at RIP returns the first instruction (mov eax, 12), no unreadable bytes', async () => {
    const rip = await s.rip();
    assert.equal(rip, 0x100000);
    const r = (await s.dc.customRequest('readMemory', { memoryReference: '0x100000', count: 5 })).body as DebugProtocol.ReadMemoryResponse['body'];
    assert.equal(r?.unreadableBytes ?? 0, 0);
    assert.deepEqual([...Buffer.from(r!.data!, 'base64')], [0xb8, 12, 0, 0, 0]);
  });

  test('byte [rip] and x/ read through the page tables', async () => {
    assert.equal(await s.value('byte [rip]'), 0xb8n);
    assert.match(await s.repl('x/4x rip'), /0x0*100000:?\s.*0x0*c?b8/i);
  });

  test('the Disassembly view decodes the first instruction', async () => {
    const d = (await s.dc.customRequest('disassemble', { memoryReference: '0x100000', instructionCount: 2 })).body as DebugProtocol.DisassembleResponse['body'];
    assert.match(d!.instructions[0].instruction, /^mov\s+eax,\s*0xc$/);
    assert.notEqual(d!.instructions[0].presentationHint, 'invalid');
  });
});
