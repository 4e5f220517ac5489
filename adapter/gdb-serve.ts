// `kvm-guest run --gdb PORT`: the guest stopped at its entry, served over the GDB remote protocol
// until the client kills or detaches from it or the guest ends.
import type { LaunchOptions } from '../vm-core/config/launch-options';
import { DebugEngine } from '../vm-core/debug/engine';
import { GdbStub } from './gdb-stub';

export interface GdbServeIo { out(s: string): void; err(s: string): void; }

export function serveGdb(options: LaunchOptions, baseDir: string, io: GdbServeIo): Promise<number> {
  return new Promise((resolve) => {
    let stub: GdbStub | undefined;
    let done = false;
    const finish = (code: number) => { if (!done) { done = true; setTimeout(() => { stub?.close(); resolve(code); }, 50); } };
    const r = DebugEngine.launch({ ...options, stopOnEntry: true }, baseDir, {
      stopped: (e) => stub?.onStopped(e),
      output: (text, category) => { if (category === 'stdout') io.out(text); },
      ended: (info) => { stub?.onEnded(info); io.err(`kvm-guest: guest ended: ${info.end}${info.message ? ` (${info.message})` : ''}\n`); finish(info.code); },
    });
    for (const w of r.warnings) io.err(`${w}\n`);
    if (!r.engine) { for (const e of r.errors) io.err(`${e}\n`); resolve(2); return; }
    const engine = r.engine;
    stub = new GdbStub(engine, { port: options.gdbPort ?? 0 });
    stub.onDetach = () => finish(0);
    engine.configurationDone(true);
    stub.listen().then((port) => io.err(`kvm-guest: GDB remote protocol on 127.0.0.1:${port} (gdb -ex 'target remote :${port}')\n`),
      (e: Error) => { io.err(`kvm-guest: --gdb ${options.gdbPort}: ${e.message}\n`); finish(2); });
  });
}
