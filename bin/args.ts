// Command-line parsing for kvm-guest: flags are the launch-option schema's names in kebab-case,
// so `kvm-guest run`, `--config FILE.json` and launch.json accept exactly the same options.
import { OPTION_SPECS, OptionSpec, kebab } from '../vm-core/config/launch-options';

export interface ParsedArgs {
  command: string;
  positional: string[];
  /** Launch options collected from flags, keyed by schema name (values still raw strings). */
  options: Record<string, unknown>;
  /** CLI-only flags (--json, -o, --listing, --port, --config, --help...). */
  flags: Record<string, string | boolean>;
  errors: string[];
}

/** CLI-only flags: name -> takes a value. */
const CLI_FLAGS: Record<string, boolean> = {
  json: false, config: true, output: true, listing: true, port: true, help: false, version: false,
  quiet: false, timeout: true, stdin: false,
};
/** The CLI-only flags each command takes (others are refused, naming the command). */
export const COMMAND_FLAGS: Record<string, string[]> = {
  run: ['json', 'config', 'quiet', 'timeout', 'stdin', 'help', 'version'],
  asm: ['output', 'listing', 'help', 'version'],
  dap: ['port', 'help', 'version'],
};
const SHORT: Record<string, string> = { o: 'output', h: 'help', l: 'listing', D: 'defines', q: 'quiet' };

const BY_FLAG = new Map<string, OptionSpec>();
for (const s of OPTION_SPECS) {
  if (s.name === 'program') continue;
  BY_FLAG.set(kebab(s.name), s);
}
// Friendlier singular aliases for the repeatable options.
BY_FLAG.set('cap', OPTION_SPECS.find((s) => s.name === 'caps')!);
BY_FLAG.set('define', OPTION_SPECS.find((s) => s.name === 'defines')!);
BY_FLAG.set('gdb', OPTION_SPECS.find((s) => s.name === 'gdbPort')!);
BY_FLAG.set('disable-quirk', OPTION_SPECS.find((s) => s.name === 'disableQuirks')!);

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { command: '', positional: [], options: {}, flags: {}, errors: [] };
  let i = 0;
  const takeValue = (name: string, inline: string | undefined): string | undefined => {
    if (inline !== undefined) return inline;
    if (i < argv.length) return argv[i++];
    out.errors.push(`--${name}: missing value`);
    return undefined;
  };
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '--') { out.positional.push(...argv.slice(i)); break; }
    let name: string | undefined, inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(a)) {
      name = SHORT[a[1]];
      if (!name) { out.errors.push(`unknown option ${a}`); continue; }
    } else if (/^-D./.test(a)) {
      name = 'defines'; inline = a.slice(2);
    } else {
      if (!out.command) out.command = a; else out.positional.push(a);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(CLI_FLAGS, name)) {
      if (CLI_FLAGS[name]) { const v = takeValue(name, inline); if (v !== undefined) out.flags[name] = v; }
      else out.flags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const spec = BY_FLAG.get(name);
    if (!spec) { out.errors.push(`unknown option --${name}${suggestFlag(name)}`); continue; }
    if (spec.kind === 'boolean') {
      // --flag, --flag=false, and --flag false / --flag true (the next word, when it is one of those).
      if (inline === undefined && (argv[i] === 'true' || argv[i] === 'false')) inline = argv[i++];
      out.options[spec.name] = inline === undefined ? true : inline;
      continue;
    }
    const v = takeValue(name, inline);
    if (v === undefined) continue;
    if (spec.kind === 'list' || spec.kind === 'map') {
      const prev = out.options[spec.name];
      out.options[spec.name] = [...(Array.isArray(prev) ? prev : []), v];
    } else {
      out.options[spec.name] = v;
    }
  }
  return out;
}

function suggestFlag(name: string): string {
  let best = '', bestD = 3;
  for (const k of [...BY_FLAG.keys(), ...Object.keys(CLI_FLAGS)]) {
    const d = editDistance(name, k);
    if (d < bestD) { bestD = d; best = k; }
  }
  return best ? ` (did you mean --${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length][b.length];
}

const EXIT_STATUS_TEXT = [
  'Exit status: a write of V to the exit device (port 0xF4) ends the run with status (V << 1) | 1 for',
  'multiboot kernels, as QEMU\'s isa-debug-exit (kvm-unit-tests: 1 pass, 3 fail, 77 skip), and with the',
  'byte V for other images (--exit-device picks either); 0 when it ended',
  'otherwise cleanly (HLT with nothing to wake it); 2 for bad options or images; 3 when a limit',
  '(--max-instructions, --max-exits, --timeout) stopped it; 4 for KVM_EXIT_SHUTDOWN (triple fault);',
  '5 for KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_FAIL_ENTRY, a KVM bug, or an exit this VMM does not answer',
  '(KVM_EXIT_NOTIFY under --notify-policy stop, KVM_EXIT_SYSTEM_EVENT ...); 70 when kvm-guest itself',
  'failed; 130 when interrupted (Ctrl-C).',
];

function row(flag: string, text: string): string {
  const W = 36;
  return flag.length <= W - 4 ? `  ${flag.padEnd(W - 2)}${text}` : `  ${flag}\n${' '.repeat(W)}${text}`;
}

/** One option of run as a help row: the flag, its aliases, the --flag=false form, the default. */
function optionRow(s: OptionSpec): string {
  const aliases = [...BY_FLAG.entries()].filter(([k, v]) => v === s && k !== kebab(s.name)).map(([k]) => `--${k}`);
  const value = s.kind === 'boolean' ? '' : ' ' + (s.arg ?? (s.values ? s.values.join('|') : 'VALUE'));
  let flag = `--${kebab(s.name)}${value}`;
  if (s.kind === 'boolean' && s.default === true) flag += ` | --${kebab(s.name)}=false`;
  if (aliases.length) flag += ` (also ${aliases.map((a) => a + value).join(', ')})`;
  let text = s.description;
  if (s.repeatable) text += ' Repeatable.';
  if (s.default !== undefined && !(Array.isArray(s.default) && s.default.length === 0) && !(typeof s.default === 'object' && !Array.isArray(s.default) && Object.keys(s.default as object).length === 0)) {
    const d = s.kind === 'size' && typeof s.default === 'number' ? `${s.default / 2 ** 20}M` : String(s.default);
    text += ` [default: ${d}]`;
  }
  return row(flag, text);
}

/** Usage text, generated from the schema: all commands, or one command's (`kvm-guest CMD --help`). */
export function usage(command?: string): string {
  if (command === 'asm') {
    return [
      'Usage: kvm-guest asm FILE -o OUT [-l LISTING] [-D NAME[=VALUE]]...',
      '',
      'Assemble NASM-syntax source into a flat binary (and a listing).',
      '',
      row('-o, --output OUT', 'the flat binary to write (required)'),
      row('-l, --listing LISTING', 'also write a listing: address, bytes, source line'),
      row('-D, --define NAME[=VALUE]', 'a preprocessor definition (%define NAME VALUE). Repeatable.'),
      row('-h, --help', 'this help'),
      '',
      'Exit status: 0 when assembled, 2 for errors (each printed as FILE:LINE:COLUMN: error: ...).',
    ].join('\n');
  }
  if (command === 'dap') {
    return [
      'Usage: kvm-guest dap [--port N]',
      '',
      'Serve the Debug Adapter Protocol (for VS Code or any DAP client): on stdio, one session;',
      'with --port, on 127.0.0.1:N, a session per connection (0: any free port, printed on stderr).',
      '',
      row('--port N', 'listen on 127.0.0.1:N instead of stdio'),
      row('-h, --help', 'this help'),
    ].join('\n');
  }
  const runOptions = OPTION_SPECS.filter((s) => s.name !== 'program' && !s.dapOnly).map(optionRow);
  const runFlags = [
    row('--config FILE.json', 'read options from a JSON file (camelCase names, as in launch.json); flags override it'),
    row('--json', 'print one JSON document instead of the guest\'s output: exits (kvm_run fields, the newest --exit-log-size), exits_total, exit_counts (by reason, every exit), end (EXIT_PORT, HLT, SHUTDOWN, LIMIT, TIMEOUT, INTERRUPTED, INTERNAL_ERROR ...), exit_code, output, regs, sregs (64-bit values as "0x..." strings), instructions (guest instructions retired by all vCPUs; a REP string instruction counts once, when it completes), message (what ended it, when not clean)'),
    row('--timeout SECONDS', 'stop after this much wall-clock time (end TIMEOUT, status 3); the run so far is printed'),
    row('-q, --quiet', 'do not print why the run ended (stderr); the exit status still says it'),
    row('--stdin | --stdin=false', 'feed standard input to the serial port\'s receiver (COM1 0x3F8, IRQ 4), as QEMU -serial stdio. Default: when stdin is a pipe or a file, not a terminal; --stdin reads a terminal too (raw: each key at once, Ctrl-C still interrupts). A guest halted with the receive interrupt enabled waits for input until stdin ends'),
  ];
  if (command === 'run') {
    return [
      'Usage: kvm-guest run IMAGE [options]',
      '',
      'Run a guest headless and print what it writes to the debug port (0xE9) and the serial port',
      '(0x3F8), byte for byte, as it writes it. IMAGE is NASM-syntax assembly (.asm, .nasm: assembled',
      'on the fly), an ELF32/ELF64 executable, a Linux bzImage or vmlinux (booted by the Linux boot',
      'protocol with --append and --initrd), or a flat binary (anything else; see --format).',
      'Boolean options take --flag, --flag=true|false or --flag true|false.',
      '',
      'Options (also accepted in --config FILE.json and launch.json, by their camelCase names):',
      ...runOptions,
      ...runFlags,
      '',
      ...EXIT_STATUS_TEXT,
    ].join('\n');
  }
  return [
    'Usage: kvm-guest <command> [options]      kvm-guest <command> --help for its options',
    '',
    'Commands:',
    row('run IMAGE [options]', 'run a guest headless (.asm assembled on the fly, ELF, or flat binary)'),
    row('asm FILE -o OUT [-l LST]', 'assemble NASM-syntax source into a flat binary (and a listing)'),
    row('dap [--port N]', 'serve the Debug Adapter Protocol on stdio, or on 127.0.0.1:N'),
    row('bench', 'run the benchmarks (same as npm run bench)'),
    row('unittests DIR [NAME...]', 'run kvm-unit-tests x86 tests (DIR/x86/unittests.cfg) headless: PASS/FAIL/SKIP'),
    '',
    'Options of every command:',
    row('-h, --help', 'help (of the command, after it)'),
    row('--version', 'print the version'),
    '',
    'Options of run (also accepted in --config FILE.json and launch.json, by their camelCase names):',
    ...runOptions,
    ...runFlags,
    '',
    ...EXIT_STATUS_TEXT,
  ].join('\n');
}
