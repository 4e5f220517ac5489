// Seed 002: with the overlay design, the debugger's memory views show both layers of the hypercall
// page: what the guest sees (the overlay holding the hypercall code) and its own page beneath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DapSession, example } from './helpers';

test('memory views show the overlay page and the guest page beneath it (gpa: and under:)', async () => {
  const s = await DapSession.start();
  try {
    const first = await s.launch({ program: example('seed002-hyperv-overlay.asm'), hyperv: true, hypervOverlay: true },
      { filters: { filters: [], filterOptions: [{ filterId: 'kvm-hyperv' }] } });
    assert.equal(first?.body.reason, 'exception');
    // The step lets the VMM answer the exit: it places the overlay page.
    assert.match(first!.body.text ?? '', /type=4 msr=0x40000001 .*gpa=0x[0-9a-f]+ data=\[0xf,0x1,0xc1,0xc3\]/);
    await s.stepIn();
    const info = (await s.dc.evaluateRequest({ expression: 'info overlays', context: 'repl' })).body.result;
    const m = /overlay page at GPA (0x[0-9a-f]+)/.exec(info);
    assert.ok(m, info);
    const page = m![1];
    const visible = await s.dc.customRequest('readMemory', { memoryReference: `gpa:${page}`, count: 4 });
    const beneath = await s.dc.customRequest('readMemory', { memoryReference: `under:${page}`, count: 4 });
    const v = [...Buffer.from(visible.body.data, 'base64')], u = [...Buffer.from(beneath.body.data, 'base64')];
    assert.deepEqual(v.slice(0, 3), [0x0f, 0x01, 0xc1], 'the guest sees VMCALL in the overlay');
    assert.deepEqual(u, [0xa5, 0xa5, 0xa5, 0xa5], 'its own page still holds the pattern');
    const x = (await s.dc.evaluateRequest({ expression: `x/4xb under:${page}`, context: 'repl' })).body.result;
    assert.match(x, /0xa5 0xa5 0xa5 0xa5/);
    // Disabling the hypercall page is a second OVERLAY exit, with data_len 0: remove the overlay.
    const removal = await s.cont();
    assert.match(removal?.body.text ?? '', /type=4 .*data_len=0/);
    const end = await s.cont();
    assert.equal(end, undefined);
    assert.equal(s.exitCode, 0xa5, 'pattern intact once the overlay is removed');
  } finally {
    await s.dc.stop();
  }
});
