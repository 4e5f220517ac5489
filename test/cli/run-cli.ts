// Runs kvm-guest from its TypeScript sources in a child process (signals, raw stdout bytes, timing):
// node --import tsx test/cli/run-cli.ts run IMAGE [options]
import { main } from '../../bin/cli';

void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
