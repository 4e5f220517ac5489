// kvm-guest run IMAGE [options]: run a guest headless and print its output (or one JSON document).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ParsedArgs } from './args';
import { EXIT_INTERNAL, EXIT_LIMIT, EXIT_SHUTDOWN, EXIT_USAGE, type CliIo } from './status';
import { resolveLaunchOptions, kebab, type LaunchOptions } from '../vm-core/config/launch-options';
import { launch } from '../vm-core/vmm/launch';
import { exitRecord, completeExitRecord, regsJson, sregsJson, type ExitRecord } from '../vm-core/vmm/exit-record';
import type { StopReason } from '../vm-core/vmm/machine';
import { serveGdb } from '../adapter/gdb-serve';

/** Read --config FILE.json: an object of launch options (paths in it are relative to the file). */
function readConfig(file: string): { raw: Record<string, unknown>; baseDir: string } | string {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { return `--config ${file}: ${(e as Error).message}`; }
  try {
    const raw = JSON.parse(text) as unknown;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return `--config ${file}: expected a JSON object of launch options`;
    return { raw: raw as Record<string, unknown>, baseDir: dirname(resolve(file)) };
  } catch (e) {
    return `--config ${file}: invalid JSON: ${(e as Error).message}`;
  }
}

/** Merge the config file and the flags into validated launch options; errors name the flag. */
export function collectOptions(args: ParsedArgs): { options?: LaunchOptions; baseDir: string; errors: string[] } {
  let raw: Record<string, unknown> = {};
  let baseDir = process.cwd();
  if (typeof args.flags.config === 'string') {
    const c = readConfig(args.flags.config);
    if (typeof c === 'string') return { baseDir, errors: [c] };
    raw = { ...c.raw };
    baseDir = c.baseDir;
    // Launch configurations may carry DAP keys; they are not options of `run`.
    for (const k of ['type', 'request', 'name', 'stopOnEntry', 'console', 'cwd']) delete raw[k];
  }
  const fromFlags = { ...args.options };
  if (args.positional.length > 1) return { baseDir, errors: [`run: expected one IMAGE, got ${args.positional.length}`] };
  if (args.positional[0]) { fromFlags.program = resolve(process.cwd(), args.positional[0]); }
  const merged = { ...raw, ...fromFlags };
  const { options, errors } = resolveLaunchOptions(merged);
  const fromFile = new Set(Object.keys(raw));
  return {
    options: errors.length ? undefined : options,
    baseDir,
    errors: errors.map((e) => e.option === 'program' && !fromFile.has('program')
      ? 'run: missing IMAGE (kvm-guest run IMAGE [options])'
      : `${fromFile.has(e.option) && !(e.option in fromFlags) ? `--config: "${e.option}"` : `--${kebab(e.option)}`}: ${e.message}`),
  };
}

export function endName(s: StopReason): string {
  switch (s.kind) {
    case 'exit-port': return 'EXIT_PORT';
    case 'halted': return 'HLT';
    case 'shutdown': return 'SHUTDOWN';
    case 'limit': return 'LIMIT';
    case 'internal-error': return 'INTERNAL_ERROR';
    case 'fail-entry': return 'FAIL_ENTRY';
    case 'kvm-bug': return 'KVM_BUG';
    case 'stopped': return 'STOPPED';
    case 'slice': return 'SLICE';
    case 'system-event': return s.event === 'reset' ? 'SYSTEM_RESET' : 'SYSTEM_SLEEP';
  }
}

export function exitStatus(s: StopReason): number {
  switch (s.kind) {
    case 'exit-port': return s.code;
    case 'halted': case 'system-event': return 0;
    case 'limit': return EXIT_LIMIT;
    case 'shutdown': return EXIT_SHUTDOWN;
    default: return EXIT_INTERNAL;
  }
}

export function cmdRun(args: ParsedArgs, io: CliIo): number | Promise<number> {
  const { options, baseDir, errors } = collectOptions(args);
  if (!options) { for (const e of errors) io.err(`kvm-guest: ${e}\n`); return EXIT_USAGE; }
  if (options.gdbPort !== undefined) return serveGdb(options, baseDir, io);
  const l = launch(options, baseDir);
  for (const w of l.warnings) io.err(`${w}\n`);
  if (!l.ok) { for (const e of l.errors) io.err(`${e}\n`); return EXIT_USAGE; }
  const m = l.machine;
  const json = args.flags.json === true;
  const exits: ExitRecord[] = [];
  let pending: ExitRecord | null = null;
  let exitLimitHit = false;
  let printedOut = 0, printedSerial = 0;
  const flushOutput = () => {
    if (json) return;
    if (m.output.length > printedOut) { io.out(m.output.slice(printedOut)); printedOut = m.output.length; }
    if (m.serial.length > printedSerial) { io.out(m.serial.slice(printedSerial)); printedSerial = m.serial.length; }
  };
  m.onExit = (v, run) => {
    if (pending) { completeExitRecord(pending, m.vcpus[pending.vcpu].kvm_run); pending = null; }
    const rec = exitRecord(run, v.vcpu_id, v.peekRip());
    if (json) exits.push(rec);
    pending = rec;
    flushOutput();
    if (options.maxExits > 0 && ++exitCount > options.maxExits) { exitLimitHit = true; return true; }
    return false;
  };
  let exitCount = 0;
  let stop: StopReason;
  try { stop = m.run(); }
  catch (e) {
    // The core threw: a bug (a guest must never make it), reported as such rather than as a crash.
    io.err(`kvm-guest: emulator failure (a bug, not guest behaviour): ${(e as Error)?.message ?? String(e)}\n`);
    if (json) io.out(JSON.stringify({ exits, end: 'EMULATOR_FAILURE', exit_code: EXIT_INTERNAL, output: m.output + m.serial, message: (e as Error)?.message ?? String(e) }, null, 2) + '\n');
    return EXIT_INTERNAL;
  }
  if (pending) completeExitRecord(pending, m.vcpus[(pending as ExitRecord).vcpu].kvm_run);
  flushOutput();
  const end: StopReason = exitLimitHit ? { kind: 'limit' } : stop;
  const status = exitStatus(end);
  // Stopped at an exit the VMM does not answer (KVM_EXIT_NOTIFY, SYSTEM_EVENT ...): the end is that exit.
  const lastExit = exits.length ? exits[exits.length - 1] : pending as ExitRecord | null;
  const endReason = end.kind === 'stopped' && lastExit ? lastExit.reason : endName(end);
  const v0 = m.vcpus[0];
  if (json) {
    const doc: Record<string, unknown> = {
      exits, end: endReason, exit_code: end.kind === 'exit-port' ? end.code : status,
      output: m.output + m.serial, regs: regsJson(v0.getRegs()), sregs: sregsJson(v0.getSregs()),
      instructions: m.vcpus.reduce((n, v) => n + v.cpu.icount, 0),
    };
    if (end.kind === 'internal-error' || end.kind === 'kvm-bug') doc.message = end.message;
    if (end.kind === 'fail-entry') doc.hardware_entry_failure_reason = '0x' + end.reason.toString(16);
    io.out(JSON.stringify(doc, null, 2) + '\n');
  } else {
    if (end.kind === 'internal-error') io.err(`kvm-guest: KVM_EXIT_INTERNAL_ERROR (suberror ${end.suberror}): ${end.message}\n`);
    else if (end.kind === 'kvm-bug') io.err(`kvm-guest: ${end.bug}: ${end.message}\n`);
    else if (end.kind === 'shutdown') io.err('kvm-guest: KVM_EXIT_SHUTDOWN (triple fault)\n');
    else if (end.kind === 'limit') io.err(`kvm-guest: stopped at the ${exitLimitHit ? `--max-exits ${options.maxExits}` : `--max-instructions ${options.maxInstructions}`} limit\n`);
    else if (end.kind === 'fail-entry') io.err(`kvm-guest: KVM_EXIT_FAIL_ENTRY (0x${end.reason.toString(16)})\n`);
    else if (end.kind === 'stopped') io.err(`kvm-guest: KVM_EXIT_${endReason}: not handled by this VMM, the run stops\n`);
  }
  return status;
}
