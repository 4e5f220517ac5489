// kvm-guest run IMAGE [options]: run a guest headless and print its output (or one JSON document).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ParsedArgs } from './args';
import { EXIT_INTERNAL, EXIT_LIMIT, EXIT_SHUTDOWN, EXIT_USAGE, type CliIo } from './status';
import { resolveLaunchOptions, kebab, type LaunchOptions } from '../vm-core/config/launch-options';
import { launch } from '../vm-core/vmm/launch';
import { exitRecord, completeExitRecord, regsJson, sregsJson, hex, type ExitRecord } from '../vm-core/vmm/exit-record';
import { describeTripleFault } from '../vm-core/vmm/stop-text';
import type { Machine, StopReason } from '../vm-core/vmm/machine';
import { serveGdb } from '../adapter/gdb-serve';
import { SerialInput } from './serial-input';

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

/** A halted guest that input can wake: an in-kernel irqchip and COM1's received-data interrupt enabled (IER bit 0). */
function waitsForSerialInput(m: Machine): boolean {
  return m.vm.irqchip && (m.platform.uart.ier & 1) !== 0;
}

/** Guest instructions per Machine.run call: between calls output is flushed and Ctrl-C / --timeout are seen. */
const RUN_SLICE = 1_000_000;
const MAX_EVENTS = 1000;
export const EXIT_INTERRUPTED = 130;

export async function cmdRun(args: ParsedArgs, io: CliIo): Promise<number> {
  const { options: opts, baseDir, errors } = collectOptions(args);
  let timeoutMs = Infinity;
  if (args.flags.timeout !== undefined) {
    const t = Number(args.flags.timeout);
    if (typeof args.flags.timeout !== 'string' || !(t > 0) || !Number.isFinite(t)) errors.push(`--timeout: expected a number of seconds, got "${String(args.flags.timeout)}"`);
    else timeoutMs = t * 1000;
  }
  if (!opts || errors.length) { for (const e of errors) io.err(`kvm-guest: ${e}\n`); return EXIT_USAGE; }
  const options: LaunchOptions = opts;
  if (options.gdbPort !== undefined) return serveGdb(options, baseDir, io);
  // Ctrl-C (from here on) and --timeout end the run between slices; what happened so far is printed.
  let interrupted = null as 'INTERRUPTED' | 'TIMEOUT' | null;
  const onSigint = () => { interrupted = 'INTERRUPTED'; };
  process.on('SIGINT', onSigint);
  try { return await runGuest(); } finally { process.removeListener('SIGINT', onSigint); }

  async function runGuest(): Promise<number> {
  // KVM-model events (seed 001: a VMCS field read before written; a stale register cache; a KVM bug):
  // they show what --pre-fix-seed001 and the like change. The first MAX_EVENTS are kept.
  const events: { vcpu: number; event: string; description: string }[] = [];
  let eventsTotal = 0;
  const addEvent = (vcpu: number, event: string, description: string) => { if (eventsTotal++ < MAX_EVENTS) events.push({ vcpu, event, description }); };
  const l = launch(options, baseDir, { observers: [{
    neverWritten: (e) => addEvent(e.vcpu, 'never-written', `KVM read ${e.name} (0x${e.field.toString(16)}) before it was ever written`),
    staleCache: (e) => addEvent(e.vcpu, 'stale-cache', `vcpu->arch.regs[${e.name}] was marked available but held 0x${e.cached.toString(16)} while the VMCS/VMCB had 0x${e.actual.toString(16)}`),
    kvmBug: (e) => addEvent(e.vcpu, `kvm-bug(${e.kind})`, e.message),
  }] });
  for (const w of l.warnings) io.err(`${w}\n`);
  if (!l.ok) { for (const e of l.errors) io.err(`${e}\n`); return EXIT_USAGE; }
  const m = l.machine;
  const json = args.flags.json === true, quiet = args.flags.quiet === true;
  const note = (s: string) => { if (!quiet) io.err(s); };
  // --json: the newest exitLogSize exits (a ring: dropped a quarter at a time), every exit counted.
  const exits: ExitRecord[] = [];
  let exitsTotal = 0;
  let pending: ExitRecord | null = null;
  let exitLimitHit = false;
  let output = '';
  // Guest bytes go out raw (one char per byte: latin1), as soon as the guest wrote them.
  const flushOutput = () => {
    const text = m.output + m.serial;
    if (!text) return;
    m.output = ''; m.serial = '';
    if (json) output += text; else if (io.guest) io.guest(text); else io.out(text);
  };
  m.onExit = (v, run) => {
    flushOutput();
    if (pending) { completeExitRecord(pending, m.vcpus[pending.vcpu].kvm_run); pending = null; }
    exitsTotal++;
    if (json) {
      const rec = exitRecord(run, v.vcpu_id, v.peekRip());
      exits.push(rec);
      if (exits.length > options.exitLogSize + (options.exitLogSize >> 2)) exits.splice(0, exits.length - options.exitLogSize);
      pending = rec;
    }
    if (options.maxExits > 0 && exitsTotal > options.maxExits) { exitLimitHit = true; return true; }
    return false;
  };
  // Standard input to COM1 (--stdin; by default when it is a pipe or a file, not a terminal).
  const stdinFlag = args.flags.stdin;
  const stream = stdinFlag === false || !io.stdin ? undefined : io.stdin();
  const input = stream && (stdinFlag === true || stream.isTTY !== true) ? new SerialInput(stream, () => { interrupted = 'INTERRUPTED'; }) : null;
  const t0 = Date.now();
  let stop: StopReason;
  try {
    for (;;) {
      input?.feed(m.platform.uart);
      stop = m.run(RUN_SLICE);
      flushOutput();
      // Halted with the receive interrupt enabled: the guest waits for a key, as it would under QEMU.
      if (stop.kind === 'halted' && input && !input.ended && waitsForSerialInput(m)) {
        if (Date.now() - t0 >= timeoutMs) { interrupted = 'TIMEOUT'; break; }
        await input.waitForInput(Math.min(100, timeoutMs - (Date.now() - t0)));
        if (interrupted) break;
        continue;
      }
      if (stop.kind !== 'slice') break;
      if (Date.now() - t0 >= timeoutMs) interrupted = 'TIMEOUT';
      if (!interrupted) await new Promise((r) => setImmediate(r));
      if (interrupted) break;
    }
  } catch (e) {
    input?.close();
    // The core threw: a bug (a guest must never make it), reported as such rather than as a crash.
    io.err(`kvm-guest: emulator failure (a bug, not guest behaviour): ${(e as Error)?.message ?? String(e)}\n`);
    if (json) io.out(JSON.stringify({ exits, end: 'EMULATOR_FAILURE', exit_code: EXIT_INTERNAL, output: output + m.output + m.serial, message: (e as Error)?.message ?? String(e) }, null, 2) + '\n');
    return EXIT_INTERNAL;
  }
  input?.close();
  if (pending) completeExitRecord(pending, m.vcpus[(pending as ExitRecord).vcpu].kvm_run);
  const end: StopReason = exitLimitHit ? { kind: 'limit' } : stop!;
  const status = interrupted === 'INTERRUPTED' ? EXIT_INTERRUPTED : interrupted === 'TIMEOUT' ? EXIT_LIMIT : exitStatus(end);
  // Stopped at an exit the VMM does not answer (KVM_EXIT_NOTIFY, SYSTEM_EVENT ...): the end is that exit.
  const lastExit = m.exitLog.length ? m.exitLog.filter((e) => e.kind === 'kvm').pop() : undefined;
  const endReason = interrupted ?? (end.kind === 'stopped' && lastExit ? lastExit.reason.replace(/^KVM_EXIT_/, '') : endName(end));
  const retired = m.vcpus.reduce((n, v) => n + v.cpu.icount, 0);
  let message: string | undefined;
  if (interrupted === 'INTERRUPTED') message = `interrupted (Ctrl-C) after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  else if (interrupted === 'TIMEOUT') message = `stopped by --timeout ${Number(args.flags.timeout)} (seconds)`;
  else if (end.kind === 'internal-error') message = `KVM_EXIT_INTERNAL_ERROR (suberror ${end.suberror}${end.suberror === 1 ? ': KVM_INTERNAL_ERROR_EMULATION' : ''}): ${end.message}`;
  else if (end.kind === 'kvm-bug') message = `${end.bug}: ${end.message}`;
  else if (end.kind === 'shutdown') message = `KVM_EXIT_SHUTDOWN: ${m.endVcpu ? describeTripleFault(m.endVcpu) : 'triple fault'}`;
  else if (end.kind === 'limit') {
    message = exitLimitHit ? `stopped at the --max-exits ${options.maxExits} limit`
      : `stopped at the --max-instructions ${options.maxInstructions} limit: ${retired} instructions retired` +
        (retired < options.maxInstructions ? `; the other ${options.maxInstructions - retired} steps were exits to userspace or event deliveries that retired no instruction (a REP string instruction retires once, when it completes)` : '');
  } else if (end.kind === 'fail-entry') message = `KVM_EXIT_FAIL_ENTRY (0x${end.reason.toString(16)})`;
  else if (end.kind === 'stopped') message = `KVM_EXIT_${endReason}: not handled by this VMM, the run stops`;
  const counts = Object.fromEntries([...m.exitCounts].filter(([k]) => options.exitLog === 'all' || k.startsWith('kvm:'))
    .map(([k, n]) => [k.replace(/^kvm:(KVM_EXIT_)?/, ''), n]));
  const v0 = m.vcpus[0];
  if (json) {
    const doc: Record<string, unknown> = {
      exits, exits_total: exitsTotal, exit_counts: counts, end: endReason,
      exit_code: end.kind === 'exit-port' && !interrupted ? end.code : status,
      ...(end.kind === 'exit-port' && !interrupted ? { exit_value: m.exitValue, exit_device: m.exitDeviceMode } : {}),
      output, regs: regsJson(v0.getRegs()), sregs: sregsJson(v0.getSregs()),
      instructions: retired,
    };
    if (eventsTotal) { doc.kvm_events = events; doc.kvm_events_total = eventsTotal; }
    if (options.exitLog === 'all') doc.hardware_exits = m.exitLog.filter((e) => e.kind === 'hw').map((e) => ({ reason: e.reason, vcpu: e.vcpu, rip: hex(e.rip), detail: e.detail }));
    if (message) doc.message = message;
    if (end.kind === 'fail-entry') doc.hardware_entry_failure_reason = '0x' + end.reason.toString(16);
    io.out(JSON.stringify(doc, null, 2) + '\n');
  } else {
    for (const e of events) note(`kvm-guest: vCPU ${e.vcpu}: ${e.event}: ${e.description}\n`);
    if (eventsTotal > events.length) note(`kvm-guest: ... and ${eventsTotal - events.length} more KVM events\n`);
    if (message) note(`kvm-guest: ${message}\n`);
    if (options.exitLog === 'all') note(`kvm-guest: exits by reason: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}\n`);
  }
  return status;
  }
}
