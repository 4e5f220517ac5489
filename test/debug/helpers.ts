// Shared pieces of the debug-engine tests: an engine launched from launch options with a host that
// records stops, output and the end, promises for asynchronous runs, and a fingerprint of the whole
// machine state (every object reachable from the Machine: the KVM model with its register caches and
// VMCS/VMCB, the VMM and its exit log, each processor's architectural state; guest memory; the
// debugger's exit log and shadow call stacks) that two points in time can be compared by.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { DebugEngine, type StopEvent } from '../../vm-core/debug/engine';
import { resolveLaunchOptions } from '../../vm-core/config/launch-options';
import { Cpu } from '../../vm-core/cpu/cpu';
import { PhysBus } from '../../vm-core/cpu/phys';
import { saveCpu } from '../../vm-core/cpu/snapshot';
import { getRflags } from '../../vm-core/cpu/flags';
import { Segment } from '../../vm-core/cpu/state';

export const ROOT = resolve(__dirname, '../..');
export const DEBUG_GUESTS = join(ROOT, 'test/debug/guests');
export const debugGuest = (name: string): string => join(DEBUG_GUESTS, name);

/** The 1-based line of `; @marker` in a guest source. */
export function lineOf(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => new RegExp(`;\\s*@${marker}\\b`).test(l));
  if (i < 0) throw new Error(`no marker @${marker} in ${file}`);
  return i + 1;
}

export type Outcome = { stop: StopEvent } | { end: { code: number; end: string; message?: string } };

/** A launched engine and what its host saw. */
export class EngineHarness {
  readonly stops: StopEvent[] = [];
  output = '';
  console = '';
  ended: { code: number; end: string; message?: string } | undefined;
  private waiters: ((o: Outcome) => void)[] = [];
  engine!: DebugEngine;

  static launch(raw: Record<string, unknown>, stopOnEntry = true): EngineHarness {
    const h = new EngineHarness();
    const { options, errors } = resolveLaunchOptions(raw);
    if (errors.length) throw new Error(errors.map((e) => `${e.option}: ${e.message}`).join('; '));
    const r = DebugEngine.launch(options, ROOT, {
      stopped: (e) => { h.stops.push(e); h.settle({ stop: e }); },
      output: (text, cat) => { if (cat === 'stdout') h.output += text; else h.console += text; },
      ended: (info) => { h.ended = info; h.settle({ end: info }); },
    });
    if (!r.engine) throw new Error(r.errors.join('; '));
    h.engine = r.engine;
    h.engine.configurationDone(stopOnEntry);
    return h;
  }

  private settle(o: Outcome): void {
    const w = this.waiters.shift();
    w?.(o);
  }

  /** Resolves with the next stop or the end (register before starting what causes it). */
  next(): Promise<Outcome> { return new Promise((r) => this.waiters.push(r)); }

  /** Run `start` (which stops synchronously or asynchronously) and wait for its stop or end. */
  async run(start: () => void): Promise<Outcome> {
    const p = this.next();
    start();
    return p;
  }

  async cont(): Promise<Outcome> { return this.run(() => this.engine.resume()); }
  async step(vi: number, granularity: 'instruction' | 'line' = 'instruction'): Promise<Outcome> { return this.run(() => this.engine.step(vi, granularity)); }
  async stepOver(vi: number, granularity: 'instruction' | 'line' = 'instruction'): Promise<Outcome> { return this.run(() => this.engine.stepOver(vi, granularity)); }
  async stepBack(vi: number): Promise<Outcome> { return this.run(() => this.engine.stepBack(vi)); }
  async reverseContinue(): Promise<Outcome> { return this.run(() => this.engine.reverseContinue()); }

  position(): number { return this.engine.recording.position(); }
}

export function stopOf(o: Outcome): StopEvent {
  if ('stop' in o) return o.stop;
  throw new Error(`expected a stop, the guest ended: ${JSON.stringify(o.end)}`);
}

// ---------------------------------------------------------------- state fingerprint

/**
 * Processor fields that are not architectural state: the lazy-flag operands (the materialized
 * RFLAGS is compared instead: reading RFLAGS folds them), the fast/slow path switch, the current
 * instruction's address kept for faults, TLB/fetch caches, the debugger's breakpoint skip/hit, and
 * the mode caches derived from the segment and control registers (Cpu.updateMode: code/stack size,
 * CS base and limit, CPL = SS.DPL), which a VM entry recomputes after KVM writes those registers and
 * which restoring a snapshot recomputes (cpu/snapshot.ts).
 */
const CPU_SCRATCH = new Set(['lfOp', 'lfSz', 'lfDst', 'lfSrc', 'lfRes', 'lfDstHi', 'lfSrcHi', 'lfResHi', 'lfCin', 'insnRip',
  'slow', 'exitSlow', 'accMode', 'tagMode', 'fetchHasBp', 'bpSkip', 'bpHit', 'tlbLarge', 'lastWalkLarge', 'rflags',
  'codeBits', 'stackBits', 'csBase', 'csLimit', 'cpl']);
/** A segment register's limit/type check window, derived on every load (updateSegmentChecks). */
const SEGMENT_DERIVED = new Set(['readLo', 'readHi', 'writeLo', 'writeHi', 'readable', 'writable']);

function valueText(v: unknown): string {
  if (typeof v === 'bigint') return v.toString() + 'n';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return typeof v + ':' + String(v);
}

/**
 * Everything reachable from the machine and the debugger's rewound state, flattened to
 * path -> value. Guest RAM is hashed; functions (wiring) are skipped; an object seen before is
 * written as a reference to its first path; fields named in `ignore` are left out.
 */
export function machineState(h: EngineHarness, ignore?: Set<string>): Map<string, string> {
  const e = h.engine, m = e.machine;
  const out = new Map<string, string>();
  const seen = new Map<object, string>();
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'function' || v === undefined) return;
    if (v === null || typeof v !== 'object') { out.set(path, valueText(v)); return; }
    const prev = seen.get(v);
    if (prev !== undefined) { out.set(path, '@' + prev); return; }
    seen.set(v, path);
    if (v instanceof Cpu) {
      for (const [k, x] of saveCpu(v)) if (!CPU_SCRATCH.has(k)) walk(x, `${path}.${k}`);
      out.set(`${path}.rflags`, valueText(getRflags(v)));
      return;
    }
    if (v instanceof Segment) {
      for (const k of Object.keys(v)) if (!SEGMENT_DERIVED.has(k)) walk((v as unknown as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    if (v instanceof PhysBus || v === m.image) return;
    if (v === m.mem) { out.set(path, createHash('sha1').update(m.mem).digest('hex')); return; }
    if (ArrayBuffer.isView(v)) {
      if (v instanceof DataView) return;
      const a = v as unknown as ArrayLike<number | bigint>;
      out.set(path, a.length > 4096 ? createHash('sha1').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex')
        : Array.from(a, (x) => valueText(x)).join(','));
      return;
    }
    if (Array.isArray(v)) { out.set(`${path}.length`, String(v.length)); v.forEach((x, i) => walk(x, `${path}[${i}]`)); return; }
    if (v instanceof Map) { let i = 0; for (const [k, x] of v) { walk(k, `${path}{${i}}.key`); walk(x, `${path}{${i}}.value`); i++; } out.set(`${path}.size`, String(v.size)); return; }
    if (v instanceof Set) { let i = 0; for (const x of v) walk(x, `${path}{${i++}}`); out.set(`${path}.size`, String(v.size)); return; }
    for (const k of Object.keys(v)) if (!ignore?.has(k)) walk((v as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(m, 'machine');
  walk(e.stacks.map((s) => s.frames), 'stacks');
  const log = e.exitLog();
  out.set('exitLog.count', String(log.length));
  out.set('exitLog.last', JSON.stringify(log[log.length - 1] ?? null, (_k, x) => typeof x === 'bigint' ? x.toString() + 'n' : x));
  out.set('position', String(e.recording.position()));
  return out;
}

/** Paths whose values differ between two fingerprints (at most `max`). */
export function stateDiff(a: Map<string, string>, b: Map<string, string>, max = 25): string[] {
  const d: string[] = [];
  for (const [k, v] of a) {
    if (b.get(k) !== v) d.push(`${k}: ${v} -> ${b.get(k) ?? '(missing)'}`);
    if (d.length >= max) return d;
  }
  for (const k of b.keys()) {
    if (!a.has(k)) d.push(`${k}: (missing) -> ${b.get(k)}`);
    if (d.length >= max) break;
  }
  return d;
}
