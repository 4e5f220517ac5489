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
  quiet: false, 'no-color': false, iterations: true, section: true,
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
    if (name in CLI_FLAGS) {
      if (CLI_FLAGS[name]) { const v = takeValue(name, inline); if (v !== undefined) out.flags[name] = v; }
      else out.flags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const spec = BY_FLAG.get(name);
    if (!spec) { out.errors.push(`unknown option --${name}${suggestFlag(name)}`); continue; }
    if (spec.kind === 'boolean') {
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

/** Usage text, generated from the schema. */
export function usage(): string {
  const lines = [
    'Usage: kvm-guest <command> [options]',
    '',
    'Commands:',
    '  run IMAGE [options]       run a guest headless (.asm assembled on the fly, ELF, or flat binary)',
    '  asm FILE -o OUT [-l LST]  assemble NASM-syntax source into a flat binary (and a listing)',
    '  dap [--port N]            serve the Debug Adapter Protocol on stdio, or on 127.0.0.1:N',
    '  bench                     run the benchmarks (same as npm run bench)',
    '  unittests DIR [NAME...]   run kvm-unit-tests x86 tests (DIR/x86/unittests.cfg) headless: PASS/FAIL/SKIP',
    '',
    'Options of run (also accepted in --config FILE.json and launch.json, by their camelCase names):',
  ];
  for (const s of OPTION_SPECS) {
    if (s.name === 'program' || s.dapOnly) continue;
    const flag = `--${kebab(s.name)}${s.kind === 'boolean' ? '' : ' ' + (s.arg ?? (s.values ? s.values.join('|') : 'VALUE'))}`;
    lines.push(`  ${flag.padEnd(34)} ${s.description}`);
  }
  lines.push(
    `  ${'--config FILE.json'.padEnd(34)} read options from a JSON file (flags override it)`,
    `  ${'--json'.padEnd(34)} print one JSON document: exits, end, exit_code, output, regs, sregs`,
    '',
    'Exit status: the byte the guest wrote to the exit device (port 0xF4); 0 when it ended otherwise',
    'cleanly (HLT, exit port); 2 for bad options or images; 3 when a limit stopped it; 4 for a SHUTDOWN',
    '(triple fault); 5 for an internal error exit.',
  );
  return lines.join('\n');
}
