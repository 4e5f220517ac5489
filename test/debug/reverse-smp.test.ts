// Reverse execution on SMP guests (test/debug/guests/smp.asm: 2 or 4 vCPUs folding non-commuting
// maps into one shared word under the round-robin scheduler). A scripted session interleaves
// machine continues, line steps of single vCPUs (outside the round-robin), exits stopped at by a
// filter with the VMM's reply edited, a register edit and a RESET, and records the complete machine
// state at every stop (test/debug/helpers.ts machineState: every vCPU's registers and processor
// state, KVM's register caches and VMCS, the VMM, guest memory, output and both exit logs). Then:
// reverse steps and reverse continues must land on exactly those states, a reverse step into a
// multi-instruction line step of one vCPU must land where that vCPU (and only it) had run, and
// running forward again from the start must reproduce every recorded state.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EngineHarness, machineState, stateDiff, debugGuest, lineOf, stopOf, type Outcome } from './helpers';
import type { StopEvent } from '../../vm-core/debug/engine';

const SRC = debugGuest('smp.asm');
const L = (m: string) => lineOf(SRC, m);

interface Recorded {
  label: string;
  position: number;
  vcpu: number;
  /** The state when the debugger stopped. */
  at: Map<string, string>;
  /** The state as the stop was left: after the edits made there, before the next run. */
  left?: Map<string, string>;
}

function launch(vcpus: number): EngineHarness {
  return EngineHarness.launch({ program: SRC, vcpus, defines: { NAPS: String(vcpus - 1) } });
}

/** The variable `name` of a scope, settable (an edit at the stop, recorded by the engine). */
function setVar(nodes: { name: string; set?: (t: string) => string }[], name: string, value: string): void {
  const n = nodes.find((x) => x.name === name);
  assert.ok(n?.set, `no settable variable ${name}`);
  n.set(value);
}

/**
 * The scripted session, from the entry stop of `h`. `ignore`: fingerprint fields left out (see
 * machineState). Returns every stop with its state.
 */
async function script(h: EngineHarness, ignore?: Set<string>): Promise<Recorded[]> {
  const e = h.engine;
  const vcpus = e.machine.vcpus.length;
  const stops: Recorded[] = [];
  const mark = (label: string, s: StopEvent) => stops.push({ label, position: h.position(), vcpu: s.vcpu, at: machineState(h, ignore) });
  const act = async (label: string, f: () => Promise<Outcome>): Promise<StopEvent> => {
    stops[stops.length - 1].left = machineState(h, ignore);
    const s = stopOf(await f());
    mark(label, s);
    return s;
  };
  mark('entry', e.lastStop!);
  e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
  e.setExitFilters([], [{ filterId: 'kvm-io', condition: 'port == 0x61' }]);
  // The BSP's first IN: stopped at the exit, the reply edited, then KVM completes it (a step).
  const io = await act('in exit', () => h.cont());
  assert.equal(io.vcpu, 0);
  assert.equal(e.machine.stoppedAtExit, e.machine.vcpus[0]);
  setVar(e.views[0].currentExitScope(), 'io.data (reply)', '0x5');
  await act('in completed', () => h.step(0, 'line'));
  await act('bsp movzx', () => h.step(0, 'line'));
  await act('bsp add', () => h.step(0, 'line'));
  e.setExitFilters([], []);
  // The BSP's turn ends; the APs start and one stops at its store.
  const bp1 = await act('ap bp 1', () => h.cont());
  assert.ok(bp1.vcpu > 0);
  // Line steps of each vCPU outside the round-robin, including the two-instruction macro lines.
  for (let k = 1; k < vcpus; k++) for (let n = 0; n < 3; n++) await act(`vCPU ${k} step`, () => h.step(k, 'line'));
  for (let n = 0; n < 5; n++) await act('vCPU 0 step', () => h.step(0, 'line'));
  // An edit: the value the stopped AP is about to store.
  setVar(e.views[bp1.vcpu].registersScope(), 'rax', '0x1234');
  await act('ap bp 2', () => h.cont());
  await act('ap step', () => h.step(e.focus, 'line'));
  // RESET (DAP restart with stopOnEntry), then the run again, differently interleaved by the steps before.
  await act('reset', () => h.run(() => { e.resetVm(); e.stopAtEntry('RESET'); }));
  await act('ap bp 3', () => h.cont());
  await act('vCPU 0 step after reset', () => h.step(0, 'line'));
  await act('vCPU 0 step after reset', () => h.step(0, 'line'));
  stops[stops.length - 1].left = machineState(h, ignore);
  return stops;
}

function assertSame(want: Map<string, string>, got: Map<string, string>, what: string): void {
  const d = stateDiff(want, got);
  assert.deepEqual(d, [], `${what}: state differs:\n  ${d.join('\n  ')}`);
}

for (const vcpus of [2, 4]) {
  describe(`reverse execution with ${vcpus} vCPUs`, () => {
    test('reverse steps land on every recorded stop exactly, back to the entry', async () => {
      const h = launch(vcpus);
      const e = h.engine;
      const stops = await script(h);
      // Walk back with reverse steps: every landing at a position where the debugger stopped is that
      // stop as it was left (with the edits made there). Over a continue (a long way back), a few
      // reverse steps into it, then goTo to the stop before it.
      let cursor = stops.length - 1;
      let compared = 0;
      let inGap = 0;
      for (let guard = 0; guard < 500 && cursor > 0; guard++) {
        const prev = stops[cursor - 1];
        let s: StopEvent | undefined;
        const before = e.machine.vcpus.map((v) => v.cpu.icount);
        if (h.position() - prev.position > 8 && inGap >= 3) {
          e.goTo(prev.position);
          inGap = 0;
        } else {
          s = stopOf(await h.stepBack(e.focus));
          assert.notEqual(s.description, 'At the start of the recording');
          if (h.position() - prev.position > 8) {
            // Inside a continue: exactly one vCPU went back exactly one instruction.
            inGap++;
            const down = e.machine.vcpus.map((v, i) => before[i] - v.cpu.icount);
            assert.deepEqual(down.filter((d) => d !== 0), [1], `one instruction of one vCPU undone (at ${h.position()}, before ${before}, after '${stops[cursor].label}', ${s.description})`);
            assert.equal(down.indexOf(1), s.vcpu, 'the stop names the vCPU that went back');
          }
        }
        const pos = h.position();
        let k = cursor - 1;
        while (k >= 0 && stops[k].position !== pos) k--;
        if (k >= 0) {
          assertSame(stops[k].left!, machineState(h), `back to '${stops[k].label}' (stop ${k}, position ${pos})`);
          if (s) assert.equal(s.vcpu, stops[k].vcpu, `reverse step to '${stops[k].label}' reports its vCPU`);
          cursor = k;
          compared++;
        }
        assert.ok(pos <= stops[cursor].position, 'never forward');
      }
      assert.equal(cursor, 0, 'walked back to the entry');
      assert.equal(compared, stops.length - 1);
      const s = stopOf(await h.stepBack(0));
      assert.equal(s.description, 'At the start of the recording');
    });

    test('reverse continue lands on each earlier breakpoint stop exactly; forward again reproduces them', async () => {
      const h = launch(vcpus);
      const stops = await script(h);
      const bpStops = stops.filter((s) => s.label.startsWith('ap bp'));
      for (const want of [...bpStops].reverse()) {
        const s = stopOf(await h.reverseContinue());
        assertSame(want.at, machineState(h), `reverse continue to '${want.label}'`);
        assert.equal(s.reason, 'breakpoint');
        assert.equal(s.vcpu, want.vcpu);
      }
      // No breakpoint before the first AP stop: the start of the recording.
      const start = stopOf(await h.reverseContinue());
      assert.equal(start.reason, 'entry');
      assertSame(stops[0].at, machineState(h), 'reverse continue to the start');
      // Forward again, the same actions: the same states at every stop (the run's slicing into
      // KVM_RUN calls is timed by the clock, so the last KVM_RUN's own budget may differ).
      const scratch = new Set(['runBudget', 'runStartIcount', 'stallUnits']);
      const again = await script(h, scratch);
      assert.equal(again.length, stops.length);
      const strip = (m: Map<string, string>) => new Map([...m].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits)$/.test(k)));
      again.forEach((s, k) => assertSame(strip(stops[k].at), s.at, `forward again, stop ${k} '${stops[k].label}'`));
    });
  });
}

describe('reverse execution inside calls (2 vCPUs)', () => {
  test('a reverse step into a line step of one vCPU lands where that vCPU had run one instruction', async () => {
    const h = launch(2);
    const e = h.engine;
    e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
    const bp = stopOf(await h.cont());
    assert.equal(bp.vcpu, 1, 'the AP stopped: the scheduler is on its turn');
    // Line-step the BSP (outside the round-robin) until it is at its two-instruction macro line.
    for (let n = 0; n < 20 && e.views[0].sourceLine()?.line !== L('bsp_mix'); n++) stopOf(await h.step(0, 'line'));
    assert.equal(e.views[0].sourceLine()?.line, L('bsp_mix'));
    const before = h.position();
    // The truth: one instruction step of the BSP from here (then undone by a reverse step).
    stopOf(await h.step(0, 'instruction'));
    const oneInsn = machineState(h);
    assert.equal(h.position(), before + 1);
    stopOf(await h.stepBack(0));
    assert.equal(h.position(), before);
    // The line step runs both instructions of the macro on the BSP only.
    stopOf(await h.step(0, 'line'));
    assert.equal(h.position(), before + 2);
    const s = stopOf(await h.stepBack(0));
    assert.equal(h.position(), before + 1);
    assert.equal(s.vcpu, 0, 'the BSP retired the instruction undone');
    // The state inside the line step equals the state after the one-instruction step, apart from
    // the arguments of the last KVM_RUN (a budget of 2 cut after one instruction, against 1).
    const strip = (m: Map<string, string>) => new Map([...m].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits)$/.test(k)));
    assertSame(strip(oneInsn), strip(machineState(h)), 'inside the line step');
  });

  test('goTo(N) inside a continue gives the state of a plain run to N; twice gives the same state', async () => {
    const h = launch(2);
    const e = h.engine;
    e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
    const bp = stopOf(await h.cont());
    assert.equal(bp.vcpu, 1);
    const end = h.position();
    // A position inside the BSP's first turn, away from its exits (between two of its loads).
    const target = 50_000;
    assert.ok(target < end);
    const vi = e.goTo(target);
    assert.equal(h.position(), target);
    assert.equal(vi, 0, 'the BSP retires the next instruction');
    const landed = machineState(h);
    // A machine run to the same point without a debugger stop on the way.
    const ref = launch(2);
    const m = ref.engine.machine;
    while (ref.position() < target) m.run(target - ref.position());
    // Apart from how the last machine call ended: cut at the boundary (a stop) against a budget run out.
    const strip = (x: Map<string, string>) => new Map([...x].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits|stoppedByHook)$/.test(k) && !/^machine\.stop\b/.test(k)));
    assertSame(strip(machineState(ref)), strip(landed), 'goTo(N) against a plain run');
    // Back to the stop (a later position is not reachable once the future is dropped), then again.
    e.goTo(target - 1000);
    const a = machineState(h);
    e.goTo(target - 2000);
    e.recording.checkpoint();
    stopOf(await h.cont());
    assert.equal(h.position(), end, 'continuing reaches the same breakpoint stop');
    e.goTo(target - 1000);
    // The continue sliced its run into KVM_RUN calls by the clock: only the last call's budget differs.
    const scratch = (x: Map<string, string>) => new Map([...x].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits)$/.test(k)));
    assertSame(scratch(a), scratch(machineState(h)), 'goTo twice');
  });

  test('pause mid-run: reverse steps come back to the paused state exactly', async () => {
    const h = EngineHarness.launch({ program: SRC, vcpus: 2, defines: { NAPS: '1', ITER: '2000000', AP_ITER: '2000000' } });
    const e = h.engine;
    const running = h.cont();
    await new Promise((r) => setTimeout(r, 150));
    e.pause();
    const p = stopOf(await running);
    assert.equal(p.reason, 'pause');
    const paused = machineState(h);
    const at = h.position();
    assert.ok(at > 0);
    stopOf(await h.step(1, 'line'));
    stopOf(await h.step(0, 'line'));
    stopOf(await h.step(1, 'line'));
    for (let k = 0; k < 10 && h.position() > at; k++) stopOf(await h.stepBack(0));
    assert.equal(h.position(), at);
    assertSame(paused, machineState(h), 'back at the pause');
  });
});

describe('reverse continue to events inside a continue (2 vCPUs)', () => {
  test('an exit filter: lands at the exit exactly as a forward run stopped there, and steps on from it the same', async () => {
    const h = launch(2);
    const e = h.engine;
    e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
    stopOf(await h.cont());
    // Back to the last IN of the BSP before the AP's breakpoint: inside the first continue.
    e.setSourceBreakpoints(SRC, []);
    e.setExitFilters([], [{ filterId: 'kvm-io', condition: 'port == 0x61' }]);
    const s = stopOf(await h.reverseContinue());
    assert.equal(s.vcpu, 0);
    assert.equal(s.exit?.name, 'IO');
    assert.equal(e.machine.stoppedAtExit, e.machine.vcpus[0], 'stopped at the exit, before the VMM answered it');
    const nth = e.machine.exitLog.filter((x) => x.detail === 'in port=0x61 size=1').length;
    assert.ok(nth > 1);
    const landed = machineState(h);
    // The same exit reached forward: continue from the entry with the filter, nth times.
    const ref = launch(2);
    ref.engine.setExitFilters([], [{ filterId: 'kvm-io', condition: 'port == 0x61' }]);
    for (let k = 0; k < nth; k++) assert.equal(stopOf(await ref.cont()).vcpu, 0);
    const strip = (x: Map<string, string>) => new Map([...x].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits)$/.test(k)));
    assertSame(strip(machineState(ref)), strip(landed), 'reverse continue to an exit against a forward stop there');
    // A step from the exit completes it (the VMM's answer, then KVM) in both.
    stopOf(await h.step(0));
    stopOf(await ref.step(0));
    assertSame(strip(machineState(ref)), strip(machineState(h)), 'a step from that exit');
  });

  test('a hardware-exit filter: lands at the VM exit before KVM handles it, as a forward stop there', async () => {
    const h = launch(2);
    const e = h.engine;
    e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
    stopOf(await h.cont());
    e.setSourceBreakpoints(SRC, []);
    // The AP's debug-port OUTs come after its first store: the last I/O exit before is the BSP's.
    e.setExitFilters([], [{ filterId: 'hw-io', condition: 'port == 0xe9' }]);
    const s = stopOf(await h.reverseContinue());
    assert.equal(s.vcpu, 0);
    assert.equal(s.exit?.layer, 'hardware');
    assert.ok(e.machine.vcpus[0].arch.hw_exit_pending, 'at the hardware exit, KVM has not handled it');
    const nth = e.machine.exitLog.filter((x) => x.detail === 'out port=0xe9 size=1').length + 1;
    const landed = machineState(h);
    // The same exit reached forward. (Not by stopping at each earlier hardware exit: resuming from
    // such a stop charges the vCPU one more unit of its round-robin turn, Machine.run's cost of an
    // exit to userspace that retired nothing, so that run would interleave differently. Stops at
    // exits to userspace cost nothing: stop at the OUTs there, then at the last one's VM exit.)
    const ref = launch(2);
    ref.engine.setExitFilters([], [{ filterId: 'kvm-io', condition: 'port == 0xe9' }]);
    for (let k = 0; k < nth - 1; k++) stopOf(await ref.cont());
    ref.engine.setExitFilters([], [{ filterId: 'hw-io', condition: 'port == 0xe9' }]);
    assert.equal(stopOf(await ref.cont()).exit?.layer, 'hardware');
    const strip = (x: Map<string, string>) => new Map([...x].filter(([k]) => !/\.(runBudget|runStartIcount|stallUnits)$/.test(k)));
    assertSame(strip(machineState(ref)), strip(landed), 'reverse continue to a hardware exit against a forward stop there');
  });

  test('a replay that does not follow the recording is reported, and the session goes on', async () => {
    const h = launch(2);
    const e = h.engine;
    for (let k = 0; k < 4; k++) stopOf(await h.step(0));
    // Corrupt the log: the second step claims to have ended one instruction later.
    const ops = e.recording.checkpoints[e.recording.checkpoints.length - 1].ops;
    const op = ops.filter((o) => o.kind === 'run')[1];
    op.end += 1;
    const s = stopOf(await h.stepBack(0));
    assert.match(s.description, /^Reverse execution failed: the replay diverged from the recording/);
    assert.match(h.console, /reverse execution: replay of call \d+ .*ended at position/);
    // The machine carries on from where the replay stopped (a new checkpoint): stepping works.
    const pos = h.position();
    stopOf(await h.step(0));
    assert.equal(h.position(), pos + 1);
    stopOf(await h.stepBack(0));
    assert.equal(h.position(), pos);
  });

  test('a data breakpoint: lands after the last write to the shared word before the stop, on the vCPU that wrote it', async () => {
    const h = launch(2);
    const e = h.engine;
    e.setSourceBreakpoints(SRC, [{ line: L('ap_store') }]);
    const bp = stopOf(await h.cont());
    assert.equal(bp.vcpu, 1);
    // The AP stopped before its first store: the last write was the BSP's, at the end of its turn.
    e.setSourceBreakpoints(SRC, []);
    e.setDataBreakpoints([{ kind: 'memory', address: 0x8000, size: 4, physical: true, access: 'write', description: 'shared' }]);
    const s = stopOf(await h.reverseContinue());
    assert.equal(s.reason, 'data breakpoint');
    assert.equal(s.vcpu, 0);
    const after = e.views[0].sourceLine()?.line;
    assert.ok(after === L('bsp_store') + 1 || after === L('bsp_in') + 3, `the BSP is after a write to the shared word (line ${after})`);
    // Forward: the AP's store is the next write, by vCPU 1.
    const next = stopOf(await h.cont());
    assert.equal(next.reason, 'data breakpoint');
    assert.equal(next.vcpu, 1);
  });
});
