// `node adapter/main.ts` (through tsx or a bundle): the adapter on stdio, or `--port N` on loopback.
import { serveDap } from './server';

const i = process.argv.indexOf('--port');
if (i >= 0) {
  const port = Number(process.argv[i + 1]);
  void serveDap({ port }).then((s) => process.stderr.write(`kvm-guest dap: listening on 127.0.0.1:${s.port}\n`));
} else {
  void serveDap({ stdio: true });
}
