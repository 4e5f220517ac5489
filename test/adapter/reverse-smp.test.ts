// Reverse execution over DAP with two vCPUs (test/debug/guests/smp.asm): line steps of each thread
// (which run only that vCPU) interleaved with continues, then reverse steps and a reverse continue
// back over them. At every stop the test records everything the adapter shows of every thread (all
// scopes: registers, segments, control registers, MSRs, KVM's register cache, the current exit,
// pending events, the VMCS, the instruction count), the shared guest page and the exit log; coming
// back to a stop must show exactly the same, and running forward again must repeat the same stops.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapSession, ROOT, lineOf, rejects } from './helpers';

const SRC = join(ROOT, 'test/debug/guests/smp.asm');

/** Everything shown of the machine: every scope of every thread, the shared page, the exit log. */
async function shown(s: DapSession): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of (await s.dc.threadsRequest()).body.threads) {
    for (const sc of await s.scopes(t.id)) {
      const vars = (await s.dc.variablesRequest({ variablesReference: sc.variablesReference })).body.variables;
      for (const v of vars) out[`${t.id}/${sc.name}/${v.name}`] = v.value;
    }
  }
  const mem = (await s.dc.customRequest('readMemory', { memoryReference: 'gpa:0x8000', count: 8 })).body as DebugProtocol.ReadMemoryResponse['body'];
  out.shared = mem?.data ?? '';
  out.exits = await s.repl('info exits 5');
  return out;
}

/** The instruction count the VM scope shows (the recording's position). */
async function instructions(s: DapSession): Promise<number> {
  const { vars } = await s.scope('VM (capabilities, quirks)', 1);
  return Number(vars.find((v) => v.name === 'instructions')!.value);
}

describe('reverse execution over DAP with two vCPUs', () => {
  let s: DapSession;
  before(async () => { s = await DapSession.start(); });
  after(() => s.close());

  test('stepBack and reverseContinue show each earlier stop exactly; forward again repeats them', async () => {
    const first = await s.launch({ program: SRC, vcpus: 2, defines: { NAPS: '1' }, stopOnEntry: true },
      { breakpoints: [{ path: SRC, lines: [lineOf(SRC, 'ap_store')] }] });
    assert.equal(first?.body.reason, 'entry');
    const stops: { n: number; thread: number; state: Record<string, string> }[] = [];
    const record = async (st: DebugProtocol.StoppedEvent | undefined) => {
      assert.ok(st, 'stopped');
      stops.push({ n: await instructions(s), thread: st.body.threadId!, state: await shown(s) });
    };
    // The actions: a continue to the AP's store, line steps of the BSP (thread 1) and the AP
    // (thread 2), a continue (the AP's turn goes on), two more line steps.
    const actions = [
      () => s.cont(),
      () => s.stepIn(1, 'line'), () => s.stepIn(1, 'line'), () => s.stepIn(1, 'line'),
      () => s.stepIn(2, 'line'), () => s.stepIn(2, 'line'),
      () => s.stepIn(1, 'line'), () => s.stepIn(1, 'line'),
      () => s.cont(),
      () => s.stepIn(1, 'line'), () => s.stepIn(2, 'line'),
    ];
    for (const a of actions) await record(await a());
    assert.equal(stops[0].thread, 2, 'the AP stopped at its breakpoint');

    // Back with reverse steps to each stop before the last continue, comparing what is shown.
    let k = stops.length - 2;
    for (let guard = 0; guard < 60 && k >= 1; guard++) {
      const st = await s.stepBack(1);
      assert.equal(st?.body.reason, 'step');
      const n = await instructions(s);
      while (k >= 1 && stops[k].n > n) k--;
      if (stops[k].n === n) {
        assert.deepEqual(await shown(s), stops[k].state, `back at stop ${k} (${n} instructions)`);
        assert.equal(st.body.threadId, stops[k].thread);
        k--;
      }
    }
    assert.equal(k, 0, 'every stop after the first reached');
    // A request naming no thread of this guest is refused, and changes nothing.
    const here = await shown(s);
    await rejects(s.dc.stepBackRequest({ threadId: 3 }), /unknown thread 3/);
    await rejects(s.dc.reverseContinueRequest({ threadId: 0 }), /unknown thread 0/);
    assert.deepEqual(await shown(s), here);
    // Reverse continue: the AP's breakpoint stop before.
    const rc = await s.reverseContinue();
    assert.equal(rc?.body.reason, 'breakpoint');
    assert.equal(rc?.body.threadId, 2);
    assert.deepEqual(await shown(s), stops[0].state, 'reverse continue to the first breakpoint stop');

    // Forward again: the same stops.
    for (let j = 1; j < actions.length; j++) {
      const st = await actions[j]();
      assert.equal(st?.body.threadId, stops[j].thread);
      assert.equal(await instructions(s), stops[j].n);
      assert.deepEqual(await shown(s), stops[j].state, `forward again, stop ${j}`);
    }
    // And to the end: the guest's exit code and output as in a run without the debugger's detours.
    await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
    assert.equal(await s.cont(), undefined);
    assert.match(s.outputText('stdout'), /^[ab]+$/);
  });
});
