// The serial line in the debugger: the guest (an interrupt-driven COM1 echo) runs, halts waiting
// for a key (the session neither ends nor stops: the console says how to type), `uart TEXT` in the
// Debug Console types a line, the kvmGuest/uartInput request types raw bytes (a terminal's
// keystrokes), kvmGuest/uartOutput events carry COM1's output alone, a pause while it waits stops
// at once, reverse execution replays the typed input, and 'q' ends the guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, ROOT } from './helpers';

const echo = join(ROOT, 'test/vmm/guests/serial-echo.asm');
const until = async (what: string, f: () => boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!f()) { if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 20)); }
};

test('COM1 input from the Debug Console (uart TEXT) and the uartInput request; uartOutput events; pause while waiting; reverse execution replays input', async () => {
  const s = await DapSession.start();
  try {
    let uart = '';
    s.dc.on('kvmGuest/uartOutput', (e: DebugProtocol.Event) => { uart += (e.body as { text: string }).text; });
    const first = await Promise.race([s.launch({ program: echo }), new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 300))]);
    await until('the waiting note', () => /halted waiting for serial input/.test(s.outputText('console')));
    assert.ok(first === 'waiting', 'no stop and no end while the guest waits for a key');
    assert.equal(s.terminated, false);
    assert.equal(uart, '>', 'the prompt, on the serial port alone');
    assert.match(await s.repl('uart hi\\x21'), /COM1: 4 bytes sent/);
    await until('the echo', () => uart === '>hi!\r');
    assert.match(s.outputText('stdout'), />hi!\r/, 'the Debug Console shows it too');
    const r = await s.dc.customRequest('kvmGuest/uartInput', { bytes: [0x61, 0x62] });
    assert.equal(r.body.accepted, 2);
    await until('the raw bytes echoed', () => uart === '>hi!\rab');
    await assert.rejects(s.dc.customRequest('kvmGuest/uartInput', { bytes: [300] }), /expected "text"/);
    // Pause while it waits: a stop at once, in the idle loop.
    const paused = await s.resume((dc) => dc.pauseRequest({ threadId: 1 }));
    assert.equal(paused?.body.reason, 'pause');
    // Reverse execution through the input: stepping back and forward again replays it exactly.
    const back = await s.stepBack();
    assert.ok(back, 'stepped back');
    assert.ok(await s.stepIn());
    // Input typed at a stop goes in when the guest runs on; 'q' ends it (two more interrupts: count 3... as taken).
    assert.match(await s.repl('uart -n q'), /COM1: 1 byte sent/);
    const end = await s.cont();
    assert.equal(end, undefined, 'the guest ended');
    assert.equal(s.exitCode, 3, 'three interrupts: "hi!\\r", "ab", "q"');
    assert.equal(uart, '>hi!\rab', 'nothing echoed twice by the replay');
  } finally { await s.close(); }
});
