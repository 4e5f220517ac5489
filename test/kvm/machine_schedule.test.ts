// The default VMM's round-robin schedule does not depend on where a debugger stops: a run that
// stops at every hardware exit of the debug-port OUTs (vm.hwExitStop, what the hw-* exit filters
// use) and resumes interleaves the vCPUs exactly as a run without stops. The guest folds
// non-commuting maps into one shared word from two vCPUs, so any change of interleaving changes
// its result (test/debug/guests/smp.asm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { launch } from '../../vm-core/vmm/launch';
import type { Machine } from '../../vm-core/vmm/machine';

function machine(): Machine {
  const { options, errors } = resolveLaunchOptions({
    program: join(__dirname, '../debug/guests/smp.asm'), vcpus: 2, defines: { NAPS: '1', ITER: '6000', AP_ITER: '5000' },
  });
  assert.deepEqual(errors, []);
  const r = launch(options);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.machine;
}
const trace = (m: Machine) => m.exitLog.filter((e) => e.kind === 'kvm').map((e) => `${e.vcpu}:${e.reason}:${e.detail}`);

test('stopping at hardware exits and resuming leaves the SMP round-robin schedule unchanged', () => {
  const plain = machine();
  const end = plain.run();
  assert.equal(end.kind, 'exit-port');

  const stopped = machine();
  let stops = 0;
  stopped.vm.hwExitStop = (v) => v.cpu.exit.reason === 30 && v.cpu.exit.port === 0xe9; // EXIT_REASON_IO_INSTRUCTION
  let r = stopped.run();
  while (r.kind === 'stopped') { stops++; r = stopped.run(); }
  assert.ok(stops >= 8, `stopped ${stops} times`);
  assert.deepEqual(r, end);
  assert.equal(stopped.output, plain.output);
  assert.deepEqual(trace(stopped), trace(plain));
  assert.deepEqual(stopped.vcpus.map((v) => v.cpu.icount), plain.vcpus.map((v) => v.cpu.icount));
});
