// Shared by the GDB stub tests: a guest launched in this process (stopped at its entry) and served
// by adapter/gdb-stub.ts on a free port of 127.0.0.1.
import assert from 'node:assert/strict';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { DebugEngine } from '../../vm-core/debug/engine';
import { GdbStub } from '../../adapter/gdb-stub';

export async function serveGdbStub(elf: string): Promise<{ stub: GdbStub; port: number; engine: DebugEngine }> {
  const { options, errors } = resolveLaunchOptions({ program: elf });
  assert.deepEqual(errors, []);
  let stub: GdbStub | undefined;
  const r = DebugEngine.launch(options, process.cwd(), { stopped: (e) => stub?.onStopped(e), output: () => {}, ended: (i) => stub?.onEnded(i) });
  assert.ok(r.engine, r.errors.join('; '));
  stub = new GdbStub(r.engine, { port: 0 });
  r.engine.configurationDone(true);
  return { stub, port: await stub.listen(), engine: r.engine };
}
