// kvm-guest subcommands: run, asm, dap, bench. Thin: everything real lives in vm-core and adapter.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, usage, ParsedArgs, COMMAND_FLAGS } from './args';

import { EXIT_USAGE, EXIT_INTERNAL, type CliIo } from './status';
export * from './status';
const stdio: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  guest: (s) => process.stdout.write(Buffer.from(s, 'latin1')),
  stdin: () => process.stdin,
};

export async function main(argv: string[], io: CliIo = stdio): Promise<number> {
  const args = parseArgs(argv);
  // bench has options of its own (--section, --seconds, --no-peers ...): everything after the word goes to it.
  if (args.command === 'bench') return cmdBench(argv.slice(argv.indexOf('bench') + 1), io);
  if (args.command === 'unittests') return (await import('./unittests')).cmdUnittests(argv.slice(argv.indexOf('unittests') + 1), io);
  if (args.flags.version) { io.out(`kvm-guest ${version()}\n`); return 0; }
  if (args.flags.help || !args.command || args.command === 'help') {
    const topic = args.command === 'help' ? args.positional[0] : args.command;
    io.out(usage(topic && topic in COMMAND_FLAGS ? topic : undefined) + '\n');
    return args.command || args.flags.help ? 0 : EXIT_USAGE;
  }
  // Options that do nothing for this command are refused, not silently ignored.
  const allowed = COMMAND_FLAGS[args.command];
  if (allowed) {
    for (const f of Object.keys(args.flags)) {
      if (!allowed.includes(f)) args.errors.push(`--${f} is not an option of ${args.command} (it belongs to ${Object.entries(COMMAND_FLAGS).filter(([, v]) => v.includes(f)).map(([k]) => k).join(', ')}; kvm-guest ${args.command} --help)`);
    }
    if (args.command !== 'run' && Object.keys(args.options).some((k) => k !== 'defines' || args.command !== 'asm')) {
      const names = Object.keys(args.options).filter((k) => k !== 'defines' || args.command !== 'asm');
      if (names.length) args.errors.push(`${names.map((n) => `--${n.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase())}`).join(', ')}: an option of run, not of ${args.command}`);
    }
  }
  if (args.errors.length) {
    for (const e of args.errors) io.err(`kvm-guest: ${e}\n`);
    return EXIT_USAGE;
  }
  switch (args.command) {
    case 'asm': return cmdAsm(args, io);
    case 'run': return (await import('./run')).cmdRun(args, io);
    case 'dap': return (await import('./dap')).cmdDap(args, io);
    default:
      io.err(`kvm-guest: unknown command '${args.command}' (run, asm, dap, bench, unittests)\n`);
      return EXIT_USAGE;
  }
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** kvm-guest asm FILE -o OUT [-l LISTING] [-D NAME=VALUE]: NASM-syntax source to a flat binary. */
async function cmdAsm(args: ParsedArgs, io: CliIo): Promise<number> {
  // Loaded here, not at the top: the assembler's tables cost --help and --version their start-up time.
  const { assemble } = await import('../vm-core/loader/assemble');
  const { formatDiagnostic, hex64 } = await import('../vm-core/loader/image');
  const file = args.positional[0];
  if (!file || args.positional.length > 1) { io.err('kvm-guest asm: expected one source FILE\n'); return EXIT_USAGE; }
  const outFile = typeof args.flags.output === 'string' ? args.flags.output : undefined;
  if (!outFile) { io.err('kvm-guest asm: missing -o OUT\n'); return EXIT_USAGE; }
  const listing = typeof args.flags.listing === 'string' ? args.flags.listing : undefined;
  const defines: Record<string, string> = {};
  for (const d of (args.options.defines as string[] | undefined) ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(d);
    if (!m) { io.err(`kvm-guest asm: --define: bad definition '${d}' (NAME=VALUE)\n`); return EXIT_USAGE; }
    defines[m[1]] = m[2] ?? '';
  }
  const r = assemble({ path: resolve(file), defines, listing: listing !== undefined });
  for (const d of r.diagnostics) io.err(formatDiagnostic(d) + '\n');
  if (!r.ok) return EXIT_USAGE;
  const seg = r.image.segments[0];
  const bytes = seg ? seg.bytes : new Uint8Array(0);
  try {
    writeFileSync(outFile, bytes);
    if (listing !== undefined && r.listing !== undefined) writeFileSync(listing, r.listing);
  } catch (e) {
    io.err(`kvm-guest asm: cannot write output: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  io.out(`${file}: ${bytes.length} bytes at ${hex64(seg?.addr ?? 0)}, ${r.image.symbols.length} symbols -> ${outFile}\n`);
  return 0;
}

async function cmdBench(benchArgs: string[], io: CliIo): Promise<number> {
  const { spawnSync } = await import('node:child_process');
  const script = resolve(__dirname, '..', 'scripts', 'run-bundled.mjs');
  const bench = resolve(__dirname, '..', 'bench', 'run.ts');
  // The bench is bundled on the fly with esbuild, a devDependency: it runs from a clone, not from an installed package.
  if (!existsSync(script) || !existsSync(bench)) {
    io.err(`kvm-guest bench: ${bench} not found: the bench runs from a clone of the repository (npm install, then npm run bench)\n`);
    return EXIT_USAGE;
  }
  const r = spawnSync(process.execPath, [script, bench, ...benchArgs], { stdio: 'inherit' });
  return r.status ?? EXIT_INTERNAL;
}

// Run from the sources (node --import tsx bin/cli.ts ...): the same entry as bin/kvm-guest.js gives the bundle.
if (require.main === module) {
  main(process.argv.slice(2)).then((status) => { process.exitCode = status; }, (e: unknown) => {
    process.stderr.write(`kvm-guest: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 70;
  });
}
