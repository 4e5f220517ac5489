// kvm-guest dap [--port N]: serve the Debug Adapter Protocol on stdio, or on 127.0.0.1:N.
import type { ParsedArgs } from './args';
import { EXIT_USAGE, type CliIo } from './status';
import { serveDap } from '../adapter/server';

export async function cmdDap(args: ParsedArgs, io: CliIo): Promise<number> {
  const p = args.flags.port;
  if (p === undefined) { await serveDap({ stdio: true }); return 0; }
  const port = Number(p);
  if (typeof p !== 'string' || !/^\d+$/.test(p) || port > 65535) { io.err(`kvm-guest dap: --port: expected a port number, got "${String(p)}"\n`); return EXIT_USAGE; }
  const server = await serveDap({ port });
  io.err(`kvm-guest dap: listening on 127.0.0.1:${server.port}\n`);
  await server.closed;
  return 0;
}
