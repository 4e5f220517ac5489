// The debug model of vm-core: what a debugger needs from the engine, with no DAP in it (the adapter
// translates). It owns a Machine (the VM and its default VMM), runs it in slices so a front end
// stays responsive, stops on code/data/register breakpoints and on exit filters, steps forward and
// backward over a recording, and answers inspection requests.
import { describeTripleFault } from '../vmm/stop-text';
import type { LaunchOptions } from '../config/launch-options';
import { launch } from '../vmm/launch';
import type { Machine, StopReason } from '../vmm/machine';
import type { KvmVcpu } from '../kvm/vcpu';
import type { GuestImage } from '../loader/image';
import { hex64, lineForAddress } from '../loader/image';
import type { KvmObserver } from '../kvm/observers';
import { Expression, parseHitCondition, formatLogMessage, exprErrorText, type EvalContext } from './expr';
import { EXIT_FILTERS, activateFilters, type ActiveFilter, type ExitEvent } from './exit-filters';
import { Recording, ReplayDivergence, type Cut, type ReplayObserver, type RunOp } from './recording';
import type { Cpu } from '../cpu/cpu';
import { ShadowCallStack } from './callstack';
import { exitRecord, completeExitRecord, type ExitRecord } from '../vmm/exit-record';
import { hwExitEvent, userExitEvent, handlerChain } from './exit-events';
import { watchInterrupts } from './irq-events';
import { VcpuView } from './inspect';
import { CConditions } from './c-condition';

export type StopKind = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'data breakpoint' |
  'instruction breakpoint' | 'exception' | 'pause' | 'goto';

export interface StopEvent {
  reason: StopKind;
  vcpu: number;
  description: string;
  text?: string;
  hitBreakpointIds?: number[];
  exit?: ExitEvent;
}

export interface EngineHost {
  stopped(e: StopEvent): void;
  output(text: string, category: 'stdout' | 'console' | 'stderr' | 'important'): void;
  /** The guest ended (exit port, HLT with nothing pending, shutdown, internal error, limit). */
  ended(info: { code: number; end: string; message?: string }): void;
  /** Long runs: called with the instruction count every ~100 ms of running. */
  progress?(instructions: number): void;
  /** The guest's COM1 output alone (one char per byte), for a terminal on the serial port. */
  uart?(text: string): void;
}

export interface CodeBreakpoint {
  id: number;
  kind: 'source' | 'instruction' | 'function';
  address: number;
  verified: boolean;
  message?: string;
  source?: string;
  line?: number;
  condition?: Expression;
  /** The condition as C (a guest with DWARF): tested first, in the innermost C frame (c-condition.ts). */
  cCondition?: string;
  hit?: (n: number) => boolean;
  logMessage?: string;
  hits: number;
}

export interface DataBreakpoint {
  id: number;
  kind: 'memory' | 'register';
  /** memory: linear (virtual) or guest-physical address range. */
  address?: number;
  size?: number;
  physical?: boolean;
  access: 'read' | 'write' | 'readWrite';
  /** register: name (cr0, cr3, cr4, efer, rax ...). */
  register?: string;
  condition?: Expression;
  hit?: (n: number) => boolean;
  hits: number;
  description: string;
}

let nextBreakpointId = 1;

/** Instructions a source-line step may run (including the calls it steps over) before it gives up and stops. */
const LINE_STEP_BUDGET = 2_000_000;
/** Instructions per slice before checking the clock (the front end's pause answers within a slice). */
const SLICE_INSNS = 200_000;
const SLICE_CALL_MS = 2;
const SLICE_MS = 8;

export class DebugEngine {
  readonly machine: Machine;
  readonly image: GuestImage;
  readonly options: LaunchOptions;
  readonly recording: Recording;
  readonly stacks: ShadowCallStack[];
  readonly views: VcpuView[];
  state: 'stopped' | 'running' | 'ended' = 'stopped';
  /** The vCPU the last stop happened on. */
  focus = 0;
  lastStop: StopEvent | null = null;

  private codeBps = new Map<string, CodeBreakpoint[]>(); // by source file / instruction / function group
  private readonly cConditions = new CConditions(this);
  private tempBps: { address: number; spAbove?: number; vcpu: number }[] = [];
  private dataBps: DataBreakpoint[] = [];
  private filters: ActiveFilter[] = [];
  private pendingStop: StopEvent | null = null;
  private pauseRequested = false;
  private stopsSuppressed = false;
  /** Events seen before the front end configured filters (vCPU creation, RESET). */
  private earlyEvents: ExitEvent[] = [];
  private configured = false;
  private regWatchValues = new Map<number, bigint>();
  private exitRecords: (ExitRecord & { index: number; layer: string; pc?: string })[] = [];
  /**
   * What the exit log and the statistics count, rewound with the machine by the recording (the
   * records themselves are dropped past `exitsLogged` on a rewind and logged again by the replay).
   * exitsLogged: exits logged so far, the next record's index (unique after old ones are dropped).
   */
  private log = {
    exitsLogged: 0,
    pendingRecord: null as { rec: ExitRecord; vcpu: number } | null,
    statsByReason: new Map<string, number>(),
    timeline: [] as { instructions: number; count: number }[],
  };
  /** A replay of the recording is running: stops come only from the cuts it reproduces. */
  private replaying = false;
  /** Reverse continue's search: what would have stopped a forward run, observed during a replay. */
  private search: SearchState | null = null;
  private runToken = 0;

  private constructor(machine: Machine, image: GuestImage, options: LaunchOptions, private host: EngineHost,
    observerSink: { engine: DebugEngine | null }) {
    this.machine = machine;
    this.image = image;
    this.options = options;
    observerSink.engine = this;
    this.stacks = machine.vcpus.map(() => new ShadowCallStack());
    this.views = machine.vcpus.map((v) => new VcpuView(this, v));
    machine.vcpus.forEach((v, i) => { v.cpu.callTrack = this.stacks[i]; });
    machine.onExit = (v, run) => this.onUserspaceExit(v, run);
    machine.vm.hwExitStop = (v) => this.onHardwareExit(v);
    this.recording = new Recording(machine, () => [...this.stacks, this.stacks.map((s) => s.frames), this.log].flat(), {
      save: () => null,
      // The object graph brought `log` back; drop the records logged after that point.
      restore: () => {
        const n = this.log.exitsLogged;
        let k = this.exitRecords.length;
        while (k > 0 && this.exitRecords[k - 1].index >= n) k--;
        this.exitRecords.length = k;
      },
    });
  }

  /** Create the VM from launch options; errors name the option or the file location. */
  static launch(options: LaunchOptions, baseDir: string, host: EngineHost): { engine?: DebugEngine; errors: string[]; warnings: string[] } {
    const sink: { engine: DebugEngine | null } = { engine: null };
    const early: ExitEvent[] = [];
    const observer: KvmObserver = {
      neverWritten: (e) => {
        const ev: ExitEvent = { layer: 'regcache', vcpu: e.vcpu, name: 'never-written', fields: { field: BigInt(e.field), rip: BigInt(Math.trunc(e.rip)) },
          description: `KVM read ${e.name} (0x${e.field.toString(16)}) before it was ever written` };
        if (sink.engine) sink.engine.onModelEvent(ev); else early.push(ev);
      },
      staleCache: (e) => {
        const ev: ExitEvent = { layer: 'regcache', vcpu: e.vcpu, name: 'stale', fields: { reg: BigInt(e.reg), cached: BigInt(Math.trunc(e.cached)), actual: BigInt(Math.trunc(e.actual)), rip: BigInt(Math.trunc(e.rip)) },
          description: `vcpu->arch.regs[${e.name}] is marked available but holds 0x${e.cached.toString(16)} while the VMCS/VMCB has 0x${e.actual.toString(16)}` };
        if (sink.engine) sink.engine.onModelEvent(ev); else early.push(ev);
      },
      kvmBug: (e) => {
        const ev: ExitEvent = { layer: 'kvm', vcpu: e.vcpu, name: e.kind, fields: { rip: BigInt(Math.trunc(e.rip)) }, description: e.message };
        if (sink.engine) sink.engine.onModelEvent(ev); else early.push(ev);
      },
    };
    const l = launch(options, baseDir, { observers: [observer] });
    if (!l.ok) return { errors: l.errors, warnings: l.warnings };
    // Installed before the engine (and its recording) exist, so every snapshot has them.
    watchInterrupts(l.machine.vm, { onModelEvent: (e) => sink.engine?.onModelEvent(e) });
    const engine = new DebugEngine(l.machine, l.image, options, host, sink);
    // Events of vCPU creation and RESET: logged now, matched against the filters at configurationDone.
    for (const e of early) engine.onModelEvent(e);
    return { engine, errors: [], warnings: l.warnings };
  }

  // ---------------------------------------------------------------- configuration

  /** Exit filters available (DAP exceptionBreakpointFilters). */
  static exitFilters() { return EXIT_FILTERS; }

  setExitFilters(ids: string[], options: { filterId: string; condition?: string }[]): Map<string, string> {
    const { active, errors } = activateFilters(ids, options);
    this.filters = active;
    return errors;
  }

  /** Source breakpoints for one file: lines -> addresses through the image's line map. */
  setSourceBreakpoints(path: string, bps: { line: number; condition?: string; hitCondition?: string; logMessage?: string }[]): CodeBreakpoint[] {
    const key = 'src:' + normPath(path);
    const out = bps.map((b) => {
      const bp = this.newCodeBp('source', b.condition, b.hitCondition, b.logMessage);
      bp.source = path;
      const loc = this.addressForLine(path, b.line);
      if (!loc) { bp.verified = false; bp.message = `no code at ${path}:${b.line}`; bp.line = b.line; }
      else { bp.address = loc.address; bp.line = loc.line; }
      return bp;
    });
    this.codeBps.set(key, out);
    this.applyCodeBreakpoints();
    return out;
  }

  setInstructionBreakpoints(bps: { address: number; condition?: string; hitCondition?: string }[]): CodeBreakpoint[] {
    const out = bps.map((b) => {
      const bp = this.newCodeBp('instruction', b.condition, b.hitCondition, undefined);
      bp.address = b.address;
      const l = lineForAddress(this.image.lines, b.address);
      if (l) { bp.source = l.file; bp.line = l.line; }
      return bp;
    });
    this.codeBps.set('insn', out);
    this.applyCodeBreakpoints();
    return out;
  }

  setFunctionBreakpoints(bps: { name: string; condition?: string; hitCondition?: string }[]): CodeBreakpoint[] {
    const out = bps.map((b) => {
      const bp = this.newCodeBp('function', b.condition, b.hitCondition, undefined);
      const addr = this.symbolAddress(b.name);
      if (addr === undefined) { bp.verified = false; bp.message = `no symbol '${b.name}'`; }
      else {
        bp.address = addr;
        const l = lineForAddress(this.image.lines, addr);
        if (l) { bp.source = l.file; bp.line = l.line; }
      }
      return bp;
    });
    this.codeBps.set('func', out);
    this.applyCodeBreakpoints();
    return out;
  }

  private newCodeBp(kind: CodeBreakpoint['kind'], condition?: string, hitCondition?: string, logMessage?: string): CodeBreakpoint {
    const bp: CodeBreakpoint = { id: nextBreakpointId++, kind, address: 0, verified: true, hits: 0, logMessage };
    if (condition && condition.trim()) {
      let regErr: unknown, cErr: unknown;
      try { bp.condition = Expression.parse(condition); } catch (e) { regErr = e; }
      if (this.cConditions.available) {
        try { this.cConditions.parse(condition); bp.cCondition = condition; } catch (e) { cErr = e; }
      }
      // Neither language reads it: the C error where C applies (its column), else the register language's.
      if (!bp.condition && !bp.cCondition) { bp.verified = false; bp.message = `condition: ${exprErrorText(cErr ?? regErr)}`; }
    }
    if (hitCondition && hitCondition.trim()) {
      const h = parseHitCondition(hitCondition);
      if (typeof h === 'string') { bp.verified = false; bp.message = h; } else bp.hit = h;
    }
    return bp;
  }

  private applyCodeBreakpoints(): void {
    const addrs = new Set<number>();
    for (const list of this.codeBps.values()) for (const b of list) if (b.verified) addrs.add(b.address);
    for (const t of this.tempBps) addrs.add(t.address);
    for (const v of this.machine.vcpus) v.cpu.setCodeBreakpoints(addrs);
  }

  /** Data breakpoints: memory ranges (GVA/GPA) and registers. */
  setDataBreakpoints(bps: Omit<DataBreakpoint, 'id' | 'hits'>[]): DataBreakpoint[] {
    this.dataBps = bps.map((b) => ({ ...b, id: nextBreakpointId++, hits: 0 }));
    const mem = this.dataBps.filter((b) => b.kind === 'memory');
    for (const [i, v] of this.machine.vcpus.entries()) {
      v.cpu.memWatch = mem.length ? (lin, len, write) => this.onMemAccess(i, lin, len, write) : null;
      v.cpu.updateAccessMode();
    }
    this.regWatchValues.clear();
    this.installInsnHook();
    return this.dataBps;
  }

  /** Register watches start from each vCPU's value now. */
  private initWatchValues(): void {
    const regs = this.dataBps.filter((b) => b.kind === 'register');
    for (let i = 0; i < this.machine.vcpus.length; i++) {
      for (const b of regs) this.regWatchValues.set(b.id * 64 + i, this.views[i].registerValue(b.register!) ?? 0n);
    }
  }

  private installInsnHook(): void {
    this.initWatchValues();
    const regs = this.dataBps.filter((b) => b.kind === 'register');
    const hook = regs.length || this.dataBps.length ? (vi: number) => this.onInstructionBoundary(vi) : null;
    this.machine.vm.beforeInsn = null;
    for (const [i, v] of this.machine.vcpus.entries()) {
      v.guestDebugHook = hook ? () => hook(i) : null;
      v.cpu.beforeInsn = v.guestDebugHook;
      v.cpu.slow = true;
    }
  }

  // ---------------------------------------------------------------- breakpoint and exit callbacks

  private dataHit: { bp: DataBreakpoint; vcpu: number; detail: string } | null = null;

  private onMemAccess(vcpu: number, lin: number, len: number, write: boolean): void {
    // Replaying: only reverse continue's search looks (and counts no hits: hit conditions are ignored backwards).
    const searching = this.search !== null;
    if (this.stopsSuppressed && !searching) return;
    for (const b of this.dataBps) {
      if (b.kind !== 'memory') continue;
      if (write ? b.access === 'read' : b.access === 'write') continue;
      let a = lin;
      if (b.physical) {
        const gpa = this.machine.vcpus[vcpu].cpu.tryTranslate(lin, 0);
        if (gpa < 0) continue;
        a = gpa;
      }
      if (a < b.address! + b.size! && b.address! < a + len) {
        if (!searching) {
          b.hits++;
          if (b.hit && !b.hit(b.hits)) continue;
        }
        this.dataHit = { bp: b, vcpu, detail: `${write ? 'write' : 'read'} of ${len} byte(s) at ${b.physical ? 'GPA' : ''} 0x${a.toString(16)}` };
        this.machine.vcpus[vcpu].cpu.slow = true;
      }
    }
  }

  /** Called before each instruction while data breakpoints exist (slow path). */
  private onInstructionBoundary(vi: number): boolean {
    if (this.stopsSuppressed) return false;
    const s = this.watchStop(vi, true);
    if (s) this.pendingStop = s;
    return s !== null;
  }

  /**
   * The data or register breakpoint that stops before vCPU `vi`'s next instruction, if any.
   * `count`: hit counts advance and hit conditions apply (a forward run; not reverse's search).
   */
  private watchStop(vi: number, count: boolean): StopEvent | null {
    if (this.dataHit) {
      const d = this.dataHit;
      this.dataHit = null;
      if (d.bp.condition && !this.testCondition(d.bp.condition, d.vcpu, true, !count)) return null;
      return { reason: 'data breakpoint', vcpu: d.vcpu, description: `Data breakpoint: ${d.bp.description}`, text: d.detail, hitBreakpointIds: [d.bp.id] };
    }
    for (const b of this.dataBps) {
      if (b.kind !== 'register') continue;
      const key = b.id * 64 + vi;
      const now = this.views[vi].registerValue(b.register!, true) ?? 0n;
      const before = this.regWatchValues.get(key);
      if (before !== undefined && now !== before) {
        this.regWatchValues.set(key, now);
        if (count) {
          b.hits++;
          if (b.hit && !b.hit(b.hits)) continue;
        }
        if (b.condition && !this.testCondition(b.condition, vi, true, !count)) continue;
        return { reason: 'data breakpoint', vcpu: vi, description: `${b.register} changed`,
          text: `${b.register}: 0x${before.toString(16)} -> 0x${now.toString(16)}`, hitBreakpointIds: [b.id] };
      }
      this.regWatchValues.set(key, now);
    }
    return null;
  }

  private onHardwareExit(v: KvmVcpu): boolean {
    if (this.stopsSuppressed && !this.replaying) return false;
    const vi = this.machine.vcpus.indexOf(v);
    const ev = hwExitEvent(v, vi);
    this.count(ev.name);
    if (this.options.exitLog === 'all') this.logExit({ reason: ev.name, vcpu: vi, rip: '0x' + v.cpu.rip.toString(16), details: ev.description }, 'hardware', v.cpu.rip);
    if (this.replaying) {
      if (this.search) {
        const s = this.filterStop(ev, true);
        if (s) this.searchHit(s, { kind: 'hw', vcpu: vi, exits: v.stats.exits });
      }
      return this.recording.replayHwCut(v);
    }
    return this.matchFilters(ev);
  }

  private onUserspaceExit(v: KvmVcpu, run: import('../kvm/uapi').kvm_run): boolean {
    const vi = this.machine.vcpus.indexOf(v);
    if (this.log.pendingRecord) { completeExitRecord(this.log.pendingRecord.rec, this.machine.vcpus[this.log.pendingRecord.vcpu].kvm_run); this.log.pendingRecord = null; }
    // KVM's RIP, what KVM_GET_REGS returns now: past the HLT for KVM_EXIT_HLT, which KVM skipped
    // before exiting (the processor's RIP is written back only at the next entry).
    const rip = this.views[vi].rip();
    const rec = exitRecord(run, vi, rip);
    this.log.pendingRecord = { rec: this.logExit(rec, 'userspace', rip), vcpu: vi };
    this.count(rec.reason);
    if (this.replaying) {
      if (this.search) {
        const s = this.filterStop(userExitEvent(rec, vi), true);
        if (s) this.searchHit(s, { kind: 'user', vcpu: vi, uexits: v.stats.userspaceExits });
      }
      return this.recording.replayUserCut(v);
    }
    if (this.stopsSuppressed) return false;
    return this.matchFilters(userExitEvent(rec, vi));
  }

  /** Register-cache and KVM-model events: stop before the next instruction when a filter wants it. */
  onModelEvent(e: ExitEvent): void {
    e.handlers ??= handlerChain(e);
    if (e.layer === 'interrupt') this.count(`${e.name} 0x${(e.fields.vector ?? 0n).toString(16)}`);
    this.logExit({ reason: e.layer === 'kvm' ? `KVM_BUG(${e.name})` : e.layer === 'interrupt' ? e.name : e.name === 'stale' ? 'STALE_CACHE' : 'NEVER_WRITTEN_FIELD', vcpu: e.vcpu, rip: '0x' + (e.fields.rip ?? 0n).toString(16), details: e.description }, e.layer,
      // Events at vCPU creation are logged after the boot set-up changed CS: no linear address for them.
      this.configured && e.fields.rip !== undefined ? Number(e.fields.rip) : undefined);
    if (!this.configured) { this.earlyEvents.push(e); return; }
    if (this.search) {
      // Reverse continue's search: a forward run would stop at the next instruction boundary.
      const s = this.filterStop(e, true);
      if (s && !this.search.modelStop) this.search.modelStop = s;
      return;
    }
    if (this.stopsSuppressed || this.pendingStop) return;
    if (this.matchFilters(e)) {
      // Stop at the next instruction boundary of that vCPU.
      const v = this.machine.vcpus[e.vcpu] ?? this.machine.vcpus[0];
      const stopNow = () => true;
      this.machine.vm.beforeInsn = stopNow;
      v.cpu.beforeInsn = stopNow;
      v.cpu.slow = true;
    }
  }

  private matchFilters(e: ExitEvent): boolean {
    const s = this.filterStop(e);
    if (s) this.pendingStop = s;
    return s !== null;
  }

  /** The stop an exit filter makes at event `e`, if any (`quiet`: a broken condition is not reported). */
  private filterStop(e: ExitEvent, quiet = false): StopEvent | null {
    for (const f of this.filters) {
      if (!f.def.match(e)) continue;
      if (f.condition) {
        try { if (!f.condition.test(this.evalContext(e.vcpu, e))) continue; }
        catch (err) { if (!quiet) this.host.output(`exit filter '${f.def.label}': condition ${f.condition.source}: ${(err as Error).message}\n`, 'stderr'); }
      }
      return { reason: 'exception', vcpu: e.vcpu, description: `${f.def.label}: ${e.description}`, text: e.description, exit: e };
    }
    return null;
  }

  private count(reason: string): void {
    this.log.statsByReason.set(reason, (this.log.statsByReason.get(reason) ?? 0) + 1);
    const pos = this.recording.position();
    const bucket = Math.floor(pos / 100_000) * 100_000;
    const last = this.log.timeline[this.log.timeline.length - 1];
    if (last && last.instructions === bucket) last.count++; else this.log.timeline.push({ instructions: bucket, count: 1 });
    if (this.log.timeline.length > 10_000) this.log.timeline.splice(0, this.log.timeline.length - 10_000);
  }

  /**
   * Add a record to the exit log. `rip` also gives the record's `pc`: the linear address CS.base + RIP
   * (RIP itself in 64-bit mode) with the vCPU's CS now, which is where its source line is.
   */
  private logExit(r: Record<string, unknown> & { reason: string; vcpu: number; rip: string }, layer: string, rip?: number): ExitRecord {
    const rec = { ...r } as ExitRecord & { index: number; layer: string; pc?: string };
    rec.index = this.log.exitsLogged++;
    rec.layer = layer;
    const view = this.views?.[r.vcpu];
    if (rip !== undefined && view) rec.pc = '0x' + view.linearAt(rip).toString(16);
    this.exitRecords.push(rec);
    // The newest exitLogSize records (dropped a quarter at a time); statistics count every exit.
    const size = this.options.exitLogSize;
    if (this.exitRecords.length > size + (size >> 2)) this.exitRecords.splice(0, this.exitRecords.length - size);
    return rec;
  }

  // ---------------------------------------------------------------- execution

  /** The front end finished configuring: report events that happened at creation, or stop on entry. */
  configurationDone(stopOnEntry: boolean): void {
    this.configured = true;
    const early = this.earlyEvents;
    this.earlyEvents = [];
    for (const e of early) {
      if (this.matchFilters(e)) { this.stop(this.pendingStop!); this.pendingStop = null; return; }
    }
    if (stopOnEntry) this.stop({ reason: 'entry', vcpu: 0, description: 'Stopped on entry' });
    // The first run: a breakpoint on the entry instruction has not been hit yet, so it must stop.
    else this.resume(false);
  }

  /** Report a stop (`again`: a reverse step brought the run back to a stop already recorded). */
  private stop(e: StopEvent, again = false): void {
    this.state = 'stopped';
    this.focus = e.vcpu;
    this.lastStop = e;
    this.recording.checkpointAtStop();
    this.recording.noteStop(e, again);
    this.clearStopHooks();
    this.host.stopped(e);
  }

  /** The run's end that came with the last stop (a livelock a filter stopped at) ends it on resume. */
  private endAfterStop: StopReason | null = null;
  private takeEndAfterStop(): boolean {
    const r = this.endAfterStop;
    if (!r) return false;
    this.endAfterStop = null;
    this.end(r);
    return true;
  }

  /**
   * The core threw (a bug: a guest must never make it): end the run with the message instead of
   * letting the exception take the debug adapter down.
   */
  private emulatorFailed(err: unknown): void {
    this.state = 'ended';
    const e = err as Error;
    this.host.output(`emulator failure: ${e?.stack ?? String(err)}\n`, 'stderr');
    this.host.ended({ code: 5, end: 'EMULATOR_FAILURE', message: `the emulator failed (${e?.message ?? String(err)}); this is a bug, not guest behaviour` });
  }

  /** Remove the one-shot "stop at the next boundary" hooks a model event installed. */
  private clearStopHooks(): void {
    this.machine.vm.beforeInsn = null;
    for (const v of this.machine.vcpus) v.cpu.beforeInsn = v.guestDebugHook;
  }

  private end(s: StopReason): void {
    this.state = 'ended';
    if (this.log.pendingRecord) { completeExitRecord(this.log.pendingRecord.rec, this.machine.vcpus[this.log.pendingRecord.vcpu].kvm_run); this.log.pendingRecord = null; }
    const info = endInfo(s);
    if (s.kind === 'shutdown' && this.machine.endVcpu) info.message = `KVM_EXIT_SHUTDOWN: ${describeTripleFault(this.machine.endVcpu)}`;
    this.host.ended(info);
  }

  /** Continue all vCPUs (asynchronously, in slices). `fromStop` false (the first run, after RESET): a breakpoint at RIP stops instead of being stepped over. */
  resume(fromStop = true): void {
    if (this.state === 'ended') return;
    this.waitingForInput = false;
    if (this.takeEndAfterStop()) return;
    this.state = 'running';
    this.pauseRequested = false;
    const token = ++this.runToken;
    this.prepareResume(fromStop);
    const loop = () => {
      if (token !== this.runToken || this.state !== 'running') return;
      const t0 = Date.now();
      try {
        while (Date.now() - t0 < SLICE_MS) {
          if (this.pauseRequested) { this.pauseRequested = false; this.stop({ reason: 'pause', vcpu: this.focus, description: 'Paused' }); return; }
          const t1 = Date.now();
          const r = this.recording.run(this.sliceInsns);
          this.adaptSlice(Date.now() - t1);
          this.flushOutput();
          if (this.handleRunResult(r)) return;
          this.recording.maybeCheckpoint();
        }
      } catch (err) { this.emulatorFailed(err); return; }
      this.host.progress?.(this.recording.position());
      setImmediate(loop);
    };
    setImmediate(loop);
  }

  /**
   * Instructions per Machine.run call, adapted so one call takes about SLICE_CALL_MS however fast
   * the processor runs here (a busy host, data breakpoints on the slow path): a pause or a request
   * waits at most one call.
   */
  private sliceInsns = 20_000;
  private adaptSlice(ms: number): void {
    const want = ms <= 0 ? this.sliceInsns * 2 : Math.round(this.sliceInsns * SLICE_CALL_MS / ms);
    this.sliceInsns = Math.max(1_000, Math.min(SLICE_INSNS, want, this.sliceInsns * 2));
  }

  pause(): void {
    if (this.state === 'running' && this.waitingForInput) { this.waitingForInput = false; this.stop({ reason: 'pause', vcpu: this.focus, description: 'Paused' }); return; }
    if (this.state === 'running') this.pauseRequested = true;
  }

  /**
   * Every vCPU halted with COM1's received-data interrupt enabled (and an irqchip to deliver it): the
   * guest waits for the user to type, so the run neither ends nor stops; serialInput resumes it.
   */
  waitingForInput = false;
  private waitingNoted = false;

  private waitsForSerialInput(): boolean {
    const m = this.machine;
    return m.vm.irqchip && (m.platform.uart.ier & 1) !== 0;
  }

  /**
   * Bytes for COM1's receiver (the user typing on the serial line: the Debug Console's `uart`, the
   * uartInput request, a terminal). Recorded as an input at this point of the run, so reverse
   * execution replays it; accepted while stopped or running. Returns how many bytes were taken.
   */
  serialInput(bytes: Uint8Array): number {
    if (this.state === 'ended') return 0;
    let n = 0;
    const copy = Uint8Array.from(bytes);
    this.recording.input({ describe: `COM1 input (${copy.length} bytes)`, apply: (m) => { n = m.platform.uart.receive(copy); } });
    if (this.waitingForInput) { this.waitingForInput = false; this.resume(); }
    return n;
  }

  /** Handle what Machine.run returned; true when the run loop must end (stopped or ended). */
  private handleRunResult(r: StopReason): boolean {
    if (r.kind === 'slice') return false;
    if (r.kind === 'halted' && !this.pendingStop && this.waitsForSerialInput()) {
      this.waitingForInput = true;
      if (!this.waitingNoted) { this.waitingNoted = true; this.host.output('The guest is halted waiting for serial input: type `uart TEXT` in the Debug Console (or pause).\n', 'console'); }
      return true;
    }
    // A model event a filter wants (e.g. kvm-bug) came with the run's end: stop there first; the
    // end is reported when the run continues (the machine ends the same way again).
    if (r.kind !== 'stopped' && this.pendingStop) { const s = this.pendingStop; this.pendingStop = null; this.stop(s); this.endAfterStop = r; return true; }
    if (r.kind === 'stopped') {
      const v = this.machine.vcpus[r.vcpu];
      if (this.pendingStop) { const s = this.pendingStop; this.pendingStop = null; this.stop(s); return true; }
      if (!Number.isNaN(v.cpu.bpHit)) {
        const s = this.codeBreakpointStop(r.vcpu, v.cpu.bpHit);
        if (s) { this.stop(s); return true; }
        // Not stopping (condition false, logpoint): step over it and go on.
        this.prepareResume();
        return false;
      }
      // An exit to userspace the default VMM does not answer (KVM_EXIT_SYSTEM_EVENT, an unknown
      // KVM_EXIT_HYPERV, KVM_EXIT_NOTIFY under the 'stop' policy): stop there, describing it.
      const p = this.log.pendingRecord;
      if (!v.stoppedByHook && p && p.vcpu === r.vcpu) {
        const ev = userExitEvent(p.rec, r.vcpu);
        this.stop({ reason: 'exception', vcpu: r.vcpu, description: `KVM_EXIT_${p.rec.reason} is not handled by the VMM: the run stops here`, text: ev.description, exit: ev });
        return true;
      }
      // A model event asked to stop at this boundary.
      this.stop({ reason: 'exception', vcpu: r.vcpu, description: 'Stopped' });
      return true;
    }
    this.end(r);
    return true;
  }

  /** Decide whether the code breakpoint at `addr` stops (conditions, hit counts, logpoints). */
  private codeBreakpointStop(vi: number, addr: number): StopEvent | null {
    const v = this.machine.vcpus[vi];
    v.cpu.bpHit = NaN;
    // Step-over / step-out targets.
    for (const t of this.tempBps) {
      if (t.address === addr && t.vcpu === vi && (t.spAbove === undefined || this.views[vi].sp() > t.spAbove)) {
        this.tempBps = [];
        this.applyCodeBreakpoints();
        return { reason: 'step', vcpu: vi, description: 'Step' };
      }
    }
    const hitIds: number[] = [];
    let kind: StopKind = 'breakpoint';
    for (const list of this.codeBps.values()) {
      for (const b of list) {
        if (!b.verified || b.address !== addr) continue;
        if ((b.condition || b.cCondition) && !this.testBpCondition(b, vi, false)) continue;
        b.hits++;
        if (b.hit && !b.hit(b.hits)) continue;
        if (b.logMessage !== undefined) { this.host.output(formatLogMessage(b.logMessage, this.evalContext(vi)) + '\n', 'console'); continue; }
        hitIds.push(b.id);
        kind = b.kind === 'function' ? 'function breakpoint' : b.kind === 'instruction' ? 'instruction breakpoint' : 'breakpoint';
      }
    }
    if (!hitIds.length) return null;
    return { reason: kind, vcpu: vi, description: `Breakpoint at ${hex64(addr)}`, hitBreakpointIds: hitIds };
  }

  /** A code breakpoint's condition at a hit: C first where it is C, else the register language. */
  private testBpCondition(b: CodeBreakpoint, vi: number, quiet: boolean): boolean {
    if (b.cCondition !== undefined) {
      try { return this.cConditions.test(b.cCondition, vi); } catch (err) {
        if (!b.condition) {
          if (!quiet) this.host.output(`breakpoint condition '${b.cCondition}': ${exprErrorText(err)}\n`, 'stderr');
          return true; // a broken condition stops, so the user sees it
        }
      }
    }
    return b.condition ? this.testCondition(b.condition, vi, true, quiet) : true;
  }

  private testCondition(e: Expression, vi: number, live = false, quiet = false): boolean {
    try { return e.test(live ? this.views[vi].evalContext(undefined, true) : this.evalContext(vi)); }
    catch (err) {
      if (!quiet) this.host.output(`breakpoint condition '${e.source}': ${(err as Error).message}\n`, 'stderr');
      return true; // a broken condition stops, so the user sees it
    }
  }

  /** Before running again: step over breakpoints at the current RIP of stopped vCPUs. */
  private prepareResume(skipAtRip = true): void {
    for (const view of this.views) {
      const lin = view.linearRip(), c = view.v.cpu;
      c.bpSkip = skipAtRip && c.codeBreakpoints().has(lin) ? lin : NaN;
    }
  }

  private flushOutput(): void {
    const m = this.machine;
    if (m.output.length > this.outLen) { this.host.output(m.output.slice(this.outLen), 'stdout'); this.outLen = m.output.length; }
    if (m.serial.length > this.serialLen) {
      const text = m.serial.slice(this.serialLen);
      this.host.output(text, 'stdout');
      this.host.uart?.(text);
      this.serialLen = m.serial.length;
    }
    // After a rewind the output is shorter; what the replay writes again was already shown (the
    // counters are high-water marks; a RESET starts them over).
  }
  private outLen = 0;
  private serialLen = 0;

  /** Run exactly `n` instructions of one vCPU (synchronously), honouring stops. */
  private runSteps(vi: number, n: number): StopReason {
    this.prepareResume();
    const r = this.recording.runVcpu(vi, n);
    this.flushOutput();
    return r;
  }

  /** Step one instruction (granularity 'instruction') or one source line. */
  step(vi: number, granularity: 'instruction' | 'line' = 'instruction'): void {
    if (this.state === 'ended') return;
    if (this.takeEndAfterStop()) return;
    try { this.stepUnguarded(vi, granularity); } catch (err) { this.emulatorFailed(err); }
  }

  private stepUnguarded(vi: number, granularity: 'instruction' | 'line', over = false): void {
    this.pendingStop = null;
    const view = this.views[vi];
    let startLine = granularity === 'line' ? view.sourceLine() : undefined;
    // Stopped at an exit (hardware or userspace): the step lets KVM finish it (e.g. complete the
    // hypercall with the reply, skip the instruction) and stops before the next instruction.
    let n = this.lastStop?.exit && this.lastStop.vcpu === vi && this.lastStop.exit.layer !== 'regcache' ? 0 : 1;
    let budget = LINE_STEP_BUDGET;
    const one = (inCall = false): 'stepped' | 'stopped' => {
      const before = this.machine.vcpus[vi].cpu.icount;
      const r = this.runSteps(vi, n);
      n = 1;
      if (r.kind !== 'slice' && r.kind !== 'stopped') { if (!this.handleRunResult(r)) this.end(r); return 'stopped'; }
      // A breakpoint, a filter, or a model stop (nothing retired, not at an exit): report it.
      const c = this.machine.vcpus[vi].cpu;
      if (r.kind === 'stopped' && (this.pendingStop || !Number.isNaN(c.bpHit) || (c.icount === before && !this.machine.stoppedAtExit))) {
        if (this.handleRunResult(r)) return 'stopped';
      }
      // Single steps through a stepped-over call: a breakpoint the call reaches stops it.
      if (inCall) {
        const bp = this.codeBreakpointStop(vi, view.linearRip());
        if (bp) { this.stop(bp); return 'stopped'; }
      }
      return 'stepped';
    };
    for (let guard = 0; guard < 100_000 && budget > 0; guard++) {
      // Line step over (gdb `next`): a call on the line runs to its return, breakpoints inside it still stop.
      const call = over && startLine && n === 1 ? view.callReturnAddress() : undefined;
      if (call) {
        while (budget-- > 0) {
          if (one(true) === 'stopped') return;
          if (view.linearRip() === call.address && view.sp() > call.sp - 1) break;
        }
        if (budget <= 0) break;
      } else if (one() === 'stopped') return;
      budget--;
      if (!startLine) break;
      const now = view.sourceLine();
      if (now && now.file === startLine.file && now.line === startLine.line) continue;
      // DWARF is_stmt false: an instruction in the middle of a statement, not a place to stop.
      if (now?.isStmt === false) continue;
      // Stepped into a function without line information: run it to its return (gdb's step does).
      if (!now && this.image.debug) {
        const top = this.stacks[vi].frames[this.stacks[vi].frames.length - 1];
        if (top) {
          while (budget-- > 0) {
            if (one(true) === 'stopped') return;
            if (view.linearRip() === top.returnAddress && view.sp() > top.sp) break;
          }
          if (view.sourceLine()?.line === startLine.line && view.sourceLine()?.file === startLine.file) continue;
          if (view.sourceLine()) break;
        }
        break;
      }
      // Stepped into a function: skip its prologue (the entry line) to the first statement, as gdb.
      const lin = view.linearRip();
      if (now && this.image.debug && this.image.functions?.some((f) => f.low === lin && f.file)) { startLine = now; continue; }
      break;
    }
    if (budget <= 0 && startLine) this.host.output(`step: still on the line after ${LINE_STEP_BUDGET} instructions; stopped\n`, 'console');
    this.stop({ reason: 'step', vcpu: vi, description: 'Step' });
  }

  /** Step over a CALL (run until the return address with the stack unwound), else like step. */
  stepOver(vi: number, granularity: 'instruction' | 'line' = 'instruction'): void {
    if (granularity === 'line' && this.image.debug && this.views[vi].sourceLine()) {
      if (this.state === 'ended' || this.takeEndAfterStop()) return;
      try { this.stepUnguarded(vi, 'line', true); } catch (err) { this.emulatorFailed(err); }
      return;
    }
    const next = this.views[vi].callReturnAddress();
    if (next === undefined) { this.step(vi, granularity); return; }
    this.tempBps = [{ address: next.address, spAbove: next.sp - 1, vcpu: vi }];
    this.applyCodeBreakpoints();
    this.resume();
  }

  /** Run until the current function returns (the shadow call stack's innermost frame). */
  stepOut(vi: number): void {
    const frames = this.stacks[vi].frames;
    const top = frames[frames.length - 1];
    if (!top) { this.step(vi); return; }
    this.tempBps = [{ address: top.returnAddress, spAbove: top.sp, vcpu: vi }];
    this.applyCodeBreakpoints();
    this.resume();
  }

  // ---------------------------------------------------------------- reverse execution
  //
  // Every way back rebuilds a moment of the recorded run exactly (see recording.ts): rewind to a
  // checkpoint, then replay the logged machine calls and inputs, forcing the cuts they had, so that
  // every vCPU, KVM and the VMM are as they were then, with one vCPU or several.

  /**
   * Reverse step: when the previous stop is at most one instruction back (the last thing done was a
   * step), back to that stop exactly, as it was left (inputs made there kept); otherwise back to
   * just before the last instruction retired, on whichever vCPU retired it. `vi` is the thread the
   * request named: the stop is reported on the vCPU that moved.
   */
  stepBack(vi: number): void {
    this.reverse(() => {
      const rec = this.recording;
      const pos = rec.position();
      const prev = rec.previousStop();
      if (prev && prev.position >= pos - 1) {
        this.landAt({ cp: prev.cp, ops: prev.ops });
        const was = prev.stop as StopEvent;
        this.stop({ reason: 'step', vcpu: was.vcpu, description: 'Reverse step', text: was.exit ? was.text : undefined, exit: was.exit }, true);
        return;
      }
      if (pos <= rec.start()) { this.stop({ reason: 'step', vcpu: vi, description: 'At the start of the recording' }); return; }
      const moved = this.goTo(pos - 1);
      // Landed where the debugger had stopped: that stop's vCPU and exit (a step there completes the exit).
      const now = rec.now();
      const was = rec.stopAt(now.cp, now.ops)?.stop as StopEvent | undefined;
      if (was) this.stop({ reason: 'step', vcpu: was.vcpu, description: 'Reverse step', text: was.exit ? was.text : undefined, exit: was.exit }, true);
      else this.stop({ reason: 'step', vcpu: moved ?? this.focus, description: 'Reverse step' });
    });
  }

  /**
   * Reverse continue: back to the last moment before now at which a forward run would have stopped
   * with the current breakpoints and exit filters (code breakpoints with their conditions, data and
   * register breakpoints, exit filters; hit counts are not applied backwards), or the start.
   */
  reverseContinue(): void {
    this.reverse(() => {
      const rec = this.recording;
      const now = rec.lastCall();
      for (let k = rec.checkpoints.length - 1; k >= 0; k--) {
        const n = rec.checkpoints[k].ops.length;
        const hits = this.withReplay(() => { rec.rewind(k); return this.searchInterval(n); })
          .filter((h) => !(h.atEnd && now && now.cp === k && now.op === h.op));
        const h = hits[hits.length - 1];
        if (!h) continue;
        // A hit where a recorded call was cut is that recorded stop: land after the call, exactly.
        this.landAt(h.atEnd ? { cp: k, ops: h.op + 1 } : { cp: k, ops: h.op, cut: h.cut });
        const reason: StopKind = h.stop.reason === 'exception' ? 'breakpoint' : h.stop.reason;
        this.stop({ ...h.stop, reason, description: `Reverse continue: ${h.stop.description}` });
        return;
      }
      this.landAt({ cp: 0, ops: 0 });
      this.stop({ reason: 'entry', vcpu: 0, description: 'Reverse continue: start of the recording' });
    });
  }

  /**
   * Restore the machine to position `target` (guest instructions retired, summed over vCPUs): the
   * last moment the run was there, just before instruction target + 1 began (after everything done
   * at a stop there, if the debugger stopped there). Positions before the recording's start go to
   * its start; the present and beyond stay. Returns the vCPU that retires instruction target + 1.
   */
  goTo(target: number): number | undefined {
    const rec = this.recording;
    if (target < rec.start()) { this.landAt({ cp: 0, ops: 0 }); return undefined; }
    const at = rec.opRetiring(target);
    if (!at) return undefined;
    const op = rec.op(at.cp, at.op) as RunOp;
    const before = this.machine.vcpus.map((v) => v.cpu.icount);
    let cut: Cut | undefined;
    if (op.start < target) {
      // Inside a call: replay up to it, then run it watching every instruction boundary for the
      // last one at `target`; then land there (a second replay, cut at that boundary).
      cut = this.withReplay(() => {
        rec.rewind(at.cp);
        rec.replay(0, at.op);
        let last: Cut | undefined;
        rec.replay(at.op, at.op + 1, { boundary: (vi, c) => { if (rec.position() === target) last = this.boundaryCut(vi, c); } });
        return last;
      });
    }
    this.landAt({ cp: at.cp, ops: at.op, cut });
    if (cut) return cut.vcpu;
    if (op.vcpu >= 0) return op.vcpu;
    const down = this.machine.vcpus.map((v, i) => before[i] - v.cpu.icount);
    const one = down.filter((d) => d > 0).length === 1 ? down.findIndex((d) => d > 0) : -1;
    return one >= 0 ? one : undefined;
  }

  /** Run a reverse operation: from an ended run too; a replay that diverges is reported, not thrown. */
  private reverse(f: () => void): void {
    this.runToken++; // a run still going (a client that did not wait for the stop) ends here
    if (this.state === 'ended' || this.state === 'running') this.state = 'stopped';
    this.endAfterStop = null;
    this.pendingStop = null;
    try { f(); }
    catch (err) {
      if (!(err instanceof ReplayDivergence)) { this.emulatorFailed(err); return; }
      // Keep what replayed, start a new checkpoint here and say so: the run continues from this state.
      this.recording.abandonReplay();
      this.rewire();
      this.host.output(`reverse execution: ${err.message}\n`, 'stderr');
      this.stop({ reason: 'step', vcpu: this.focus, description: `Reverse execution failed: the replay diverged from the recording (${err.message})` });
    }
  }

  /** Replay with the debugger's own stops off (only the recording's cuts stop the machine). */
  private withReplay<T>(f: () => T): T {
    this.replaying = true;
    this.stopsSuppressed = true;
    this.pendingStop = null;
    this.dataHit = null;
    try { return f(); }
    finally {
      this.replaying = false;
      this.stopsSuppressed = false;
      this.search = null;
      this.pendingStop = null;
      this.dataHit = null;
    }
  }

  /** Rebuild moment `m` of the recording and make it the present (the later log is dropped). */
  private landAt(m: { cp: number; ops: number; cut?: Cut }): void {
    this.withReplay(() => {
      const rec = this.recording;
      rec.rewind(m.cp);
      rec.replay(0, m.ops);
      if (m.cut) rec.replayCutAt(m.ops, m.cut);
      else rec.truncate(m.ops);
    });
    this.tempBps = [];
    this.rewire();
    this.state = 'stopped';
  }

  /** The debugger's hooks and breakpoints again after a replay (a rewind also restores old wiring). */
  private rewire(): void {
    this.installInsnHook();
    this.applyCodeBreakpoints();
  }

  /** Instruction boundary of vCPU `vi` (processor `c`) as a cut. */
  private boundaryCut(vi: number, c: Cpu): Cut {
    const v = this.machine.vcpus[vi];
    return { kind: 'insn', vcpu: vi, icount: c.icount, rip: c.rip, exits: v.stats.exits, uexits: v.stats.userspaceExits };
  }

  /**
   * Reverse continue's search over the last checkpoint's `n` log entries (after a rewind): replay
   * them, noting every moment a forward run would have stopped at.
   */
  private searchInterval(n: number): SearchHit[] {
    const rec = this.recording;
    const cp = rec.checkpoints.length - 1;
    const st: SearchState = {
      hits: [], skip: [], skipOp: -1, seq: 0, modelStop: null,
      bps: new Set([...this.codeBps.values()].flat().filter((b) => b.verified && b.logMessage === undefined).map((b) => b.address)),
    };
    this.search = st;
    this.initWatchValues();
    const observer: ReplayObserver = { boundary: (vi, c, op) => this.searchBoundary(st, vi, c, op) };
    for (let j = 0; j < n; j++) {
      const op = rec.op(cp, j)!;
      const seqBefore = st.seq;
      rec.replay(j, j + 1, op.kind === 'run' ? observer : null);
      const cut = op.kind === 'run' ? op.cut : null;
      if (!cut) continue;
      // Hits at the point where this call was cut: that is the stop the call ended with.
      for (const h of st.hits) {
        if (h.op !== j) continue;
        const c = h.cut;
        if (cut.kind === 'user') h.atEnd ||= c.kind === 'user' && c.vcpu === cut.vcpu && c.uexits === cut.uexits;
        else if (cut.kind === 'hw') h.atEnd ||= c.kind === 'hw' && c.vcpu === cut.vcpu && c.exits === cut.exits;
        else h.atEnd ||= h.seq !== undefined && h.seq === st.seq && st.seq > seqBefore && c.vcpu === cut.vcpu;
      }
    }
    return st.hits;
  }

  /** At an instruction boundary during the search: would a forward run stop here? */
  private searchBoundary(st: SearchState, vi: number, c: Cpu, op: number): void {
    if (op !== st.skipOp) {
      // Each call began with the breakpoint skips it was made with (a resume steps over a breakpoint at RIP).
      st.skipOp = op;
      const o = this.recording.op(this.recording.checkpoints.length - 1, op);
      st.skip = o?.kind === 'run' ? o.skip.slice() : [];
    }
    const seq = ++st.seq;
    let s = st.modelStop;
    st.modelStop = null;
    const w = this.dataBps.length ? this.watchStop(vi, false) : null;
    s ??= w;
    const lin = this.views[vi].linearAt(c.rip);
    if (lin === st.skip[vi]) st.skip[vi] = NaN;
    else if (!s && st.bps.has(lin)) s = this.codeBreakpointAt(vi, lin);
    if (s) this.searchHit(s, this.boundaryCut(vi, c), seq);
  }

  private searchHit(stop: StopEvent, cut: Cut, seq?: number): void {
    this.search?.hits.push({ op: this.recording.observing, cut, stop, seq, atEnd: false });
  }

  /** The stop the code breakpoints at `lin` make for vCPU `vi` now (conditions; no hit counts, no logpoints). */
  private codeBreakpointAt(vi: number, lin: number): StopEvent | null {
    const ids: number[] = [];
    let kind: StopKind = 'breakpoint';
    for (const list of this.codeBps.values()) {
      for (const b of list) {
        if (!b.verified || b.address !== lin || b.logMessage !== undefined) continue;
        if ((b.condition || b.cCondition) && !this.testBpCondition(b, vi, true)) continue;
        ids.push(b.id);
        kind = b.kind === 'function' ? 'function breakpoint' : b.kind === 'instruction' ? 'instruction breakpoint' : 'breakpoint';
      }
    }
    return ids.length ? { reason: kind, vcpu: vi, description: `Breakpoint at ${hex64(lin)}`, hitBreakpointIds: ids } : null;
  }

  /** RESET of the whole VM (KVM cannot do this; the debugger can: DAP restart). */
  resetVm(): void {
    this.endAfterStop = null;
    this.pendingStop = null;
    if (this.state === 'ended') this.state = 'stopped';
    // A hardware exit the debugger stopped at is not handled after a RESET (it belonged to the old run).
    // Recorded like an injected event, so reverse execution through it replays it.
    this.recording.input({
      describe: 'RESET',
      apply: () => {
        for (const v of this.machine.vcpus) v.arch.hw_exit_pending = false;
        this.machine.resetVm();
        this.stacks.forEach((s) => s.clear());
      },
    });
    this.outLen = 0;
    this.serialLen = 0;
    this.lastStop = null;
    this.tempBps = [];
    this.applyCodeBreakpoints();
  }

  /** Report a stop at the entry point (stopOnEntry after a RESET). */
  stopAtEntry(description = 'Stopped on entry'): void {
    this.stop({ reason: 'entry', vcpu: 0, description });
  }

  /** Inject INIT, NMI or a triple fault into a vCPU (recorded so reverse execution replays it). */
  inject(kind: 'init' | 'nmi' | 'triple-fault', vi: number): string {
    const v = this.machine.vcpus[vi];
    let result = '';
    this.recording.input({
      describe: `inject ${kind} into vCPU ${vi}`,
      apply: () => {
        if (kind === 'init') { const r = v.injectInit(); result = r < 0 ? `INIT refused (${r})` : 'INIT latched'; }
        else if (kind === 'nmi') { const e = v.getVcpuEvents(); e.nmi.pending = 1; e.flags |= 1; const r = v.setVcpuEvents(e); result = r < 0 ? `NMI refused (${r})` : 'NMI pending'; }
        else {
          const e = v.getVcpuEvents(); e.triple_fault.pending = 1; e.flags |= 0x20;
          const r = v.setVcpuEvents(e);
          if (r < 0) { v.requestTripleFault(); result = 'triple fault requested (KVM_CAP_X86_TRIPLE_FAULT_EVENT is not enabled, so the debugger made the request directly)'; }
          else result = 'triple fault pending (KVM_SET_VCPU_EVENTS)';
        }
      },
    });
    return result;
  }

  /** A user edit at the current stop (register or reply field), recorded for reverse execution. */
  edit(describe: string, apply: () => void): void {
    const m = this.machine;
    const reply = /reply|hypercall|mmio|io\.|msr\./.test(describe);
    // The reply flag is part of the input, so a rewind through this stop replays it too.
    this.recording.input({ describe, apply: () => { apply(); if (reply && m.stoppedAtExit) m.replyOverridden = true; } });
  }

  // ---------------------------------------------------------------- inspection helpers

  evalContext(vi: number, ev?: ExitEvent): EvalContext {
    return this.views[vi].evalContext(ev ?? this.lastStop?.exit);
  }

  exitLog(since = 0) { return this.exitRecords.filter((r) => r.index >= since); }
  statistics() {
    return {
      byReason: [...this.log.statsByReason.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
      timeline: this.log.timeline.slice(),
      totalInstructions: this.recording.position(),
    };
  }

  addressForLine(path: string, line: number): { address: number; line: number } | undefined {
    const want = normPath(path);
    let best: { address: number; line: number } | undefined;
    for (const e of this.image.lines) {
      if (normPath(e.file) !== want) continue;
      if (e.line === line) return { address: e.addr, line };
      if (e.line > line && (!best || e.line < best.line || (e.line === best.line && e.addr < best.address))) best = { address: e.addr, line: e.line };
    }
    return best && best.line - line <= 20 ? best : undefined;
  }

  symbolAddress(name: string): number | undefined {
    const f = this.image.functions?.find((x) => x.name === name);
    if (f) return f.low;
    const s = this.image.symbols.find((x) => x.name === name && x.kind !== 'constant');
    if (s) return s.addr;
    if (/^(0x[0-9a-f]+|\d+)$/i.test(name)) return Number(name);
    return undefined;
  }
}

/** A moment reverse continue's search found: where, and the stop a forward run would have made there. */
interface SearchHit {
  /** Log entry of the checkpoint searched. */
  op: number;
  cut: Cut;
  stop: StopEvent;
  /** Boundary sequence number (instruction-boundary hits). */
  seq?: number;
  /** The hit is where that call was cut (the recorded stop itself). */
  atEnd: boolean;
}

interface SearchState {
  hits: SearchHit[];
  /** Breakpoint skips of the call being replayed (as the processor consumes them). */
  skip: number[];
  skipOp: number;
  seq: number;
  /** A model event matched a filter: a forward run stops at the next boundary. */
  modelStop: StopEvent | null;
  /** Addresses of code breakpoints that stop (verified, not logpoints). */
  bps: Set<number>;
}

function normPath(p: string): string {
  return p.replace(/\\/g, '/').replace(/^([a-z]):/, (m) => m.toUpperCase());
}

function endInfo(s: StopReason): { code: number; end: string; message?: string } {
  switch (s.kind) {
    case 'exit-port': return { code: s.code, end: 'EXIT_PORT' };
    case 'halted': return { code: 0, end: 'HLT' };
    case 'shutdown': return { code: 4, end: 'SHUTDOWN', message: 'KVM_EXIT_SHUTDOWN (triple fault)' };
    case 'limit': return { code: 3, end: 'LIMIT', message: 'instruction limit reached' };
    case 'internal-error': return { code: 5, end: 'INTERNAL_ERROR', message: `KVM_EXIT_INTERNAL_ERROR (suberror ${s.suberror}): ${s.message}` };
    case 'fail-entry': return { code: 5, end: 'FAIL_ENTRY', message: `KVM_EXIT_FAIL_ENTRY (0x${s.reason.toString(16)})` };
    case 'kvm-bug': return { code: 5, end: 'KVM_BUG', message: `${s.bug}: ${s.message}` };
    default: return { code: 0, end: s.kind.toUpperCase() };
  }
}
