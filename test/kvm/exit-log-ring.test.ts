// The VMM's exit log is bounded (issue 14): a guest making exits without end keeps at most
// exitLogSize (+ a quarter, dropped in batches) entries, while exitsLogged and exitCounts count
// every exit; the debugger's log is bounded the same way, and a recording checkpoint does not copy it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { launch } from '../../vm-core/vmm/launch';
import { DebugEngine } from '../../vm-core/debug/engine';

const STORM = join(__dirname, '../fuzz/guests/mmio-storm.asm');

test('Machine.exitLog keeps the newest exitLogSize entries; the counts cover every exit', () => {
  const { options, errors } = resolveLaunchOptions({ program: STORM, exitLogSize: 200, maxInstructions: 40_000 });
  assert.deepEqual(errors, []);
  const l = launch(options);
  if (!l.ok) throw new Error(l.errors.join('\n'));
  const m = l.machine;
  assert.deepEqual(m.run(), { kind: 'limit' });
  assert.equal(m.exitsLogged, 10_000); // one MMIO write per 4 instructions
  assert.equal(m.exitCounts.get('kvm:KVM_EXIT_MMIO'), 10_000);
  assert.ok(m.exitLog.length >= 200 && m.exitLog.length <= 250, String(m.exitLog.length));
  assert.equal(m.exitLog[m.exitLog.length - 1].index, 9_999);
  assert.ok(m.exitLog.every((e, k) => k === 0 || e.index === m.exitLog[k - 1].index + 1));
});

test('the debugger: exit records bounded by exitLogSize, statistics count every exit, checkpoints stay small', async () => {
  const { options } = resolveLaunchOptions({ program: STORM, exitLogSize: 100 });
  let stopped = 0;
  const r = DebugEngine.launch(options, process.cwd(), { stopped: () => { stopped++; }, output: () => {}, ended: () => {} } as never);
  const e = r.engine!;
  e.configurationDone(false);
  while (e.machine.exitsLogged < 5_000) await new Promise((res) => setTimeout(res, 20));
  e.pause();
  while (e.state === 'running') await new Promise((res) => setImmediate(res));
  assert.equal(stopped, 1);
  assert.ok(e.exitLog().length <= 125, String(e.exitLog().length));
  const mmio = e.statistics().byReason.find((x) => x.reason === 'MMIO')!;
  assert.ok(mmio.count >= 5_000, String(mmio.count));
  assert.ok(e.machine.exitLog.length <= 125 * 100, String(e.machine.exitLog.length));
  // A checkpoint's object graph does not hold the exit log (it would grow with every exit).
  const cp = e.recording.checkpoints[e.recording.checkpoints.length - 1];
  assert.ok(!cp.graph.entries.some((x) => x.obj === e.machine.exitLog), 'the exit log is not copied into checkpoints');
  assert.ok(cp.graph.entries.length < 1000, String(cp.graph.entries.length));
  e.state = 'ended';
});
