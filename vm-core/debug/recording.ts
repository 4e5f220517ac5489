// The recording behind reverse execution: checkpoints plus an exact log of everything that was done
// to the machine between them, so any moment of the run can be rebuilt exactly, with one vCPU or
// many, whatever mix of machine runs, single-vCPU steps, pauses and user edits led there.
//
// A position in the run is the number of guest instructions retired (summed over vCPUs). Checkpoints
// are taken at stops (unless the last one is near) and periodically while running: the processors'
// exact state, the KVM model and VMM state (an in-place object-graph snapshot) and, for guest memory,
// an undo log of the pages written until the next checkpoint (the bus's dirty-logging epochs).
//
// After each checkpoint, the log records every call the debugger made into the machine, in order:
// Machine.run(limit) (a slice of the round-robin scheduler), Machine.runVcpu(vcpu, n) (a step of one
// vCPU outside the round-robin), with the breakpoint-skip state the call began with, where it was
// cut short by a debugger hook (a code breakpoint, an instruction-boundary hook, a hardware exit or
// an exit to userspace the debugger stopped at) and the position it ended at; and each input the user
// made at a stop (register, memory and reply edits, injected events, RESET). The machine is
// deterministic, so replaying those calls from a checkpoint, with the same cuts forced at the same
// points (and no other debugger stops), rebuilds every vCPU, KVM's register caches, the VMM and its
// output exactly as they were: the replay runs the same scheduling decisions, not the scheduler again
// from a different starting point. A moment of the run is "after the first `ops` log entries of
// checkpoint `cp`", optionally followed by entry `ops` cut short at a chosen point (see Moment).
import type { Machine, StopReason } from '../vmm/machine';
import type { KvmVcpu } from '../kvm/vcpu';
import { Cpu } from '../cpu/cpu';
import { PhysBus } from '../cpu/phys';
import { saveCpu, restoreCpu, type CpuSnapshot } from '../cpu/snapshot';
import { snapshotGraph, restoreGraph, type GraphSnapshot } from './object-snapshot';

/** Something the user did at a stop that changes the run (replayed when rewinding through it). */
export interface RecordedInput {
  describe: string;
  apply(m: Machine): void;
}

/**
 * Where a machine call was cut short by a debugger hook (the call then returned 'stopped'):
 * - bp: a code breakpoint at linear address `lin` (the processor stopped before that instruction);
 * - insn: an instruction-boundary hook (data breakpoint, a stop requested by a model event, a
 *   replayed moment) before the instruction at `rip` with the vCPU's counters as given;
 * - hw: the debugger stopped at a hardware VM exit (KVM handles it on the next KVM_RUN);
 * - user: the debugger stopped at an exit to userspace (the VMM answers it when the run resumes).
 */
export type Cut =
  | { kind: 'bp'; vcpu: number; lin: number }
  | { kind: 'insn'; vcpu: number; icount: number; rip: number; exits: number; uexits: number }
  | { kind: 'hw'; vcpu: number; exits: number }
  | { kind: 'user'; vcpu: number; uexits: number };

/** One call into the machine: Machine.run(arg) (vcpu -1) or Machine.runVcpu(vcpus[vcpu], arg). */
export interface RunOp {
  kind: 'run';
  vcpu: number;
  arg: number;
  /** Each processor's breakpoint skip (bpSkip) when the call began. */
  skip: number[];
  cut: Cut | null;
  start: number;
  end: number;
  /** The debugger's stop reported right after this call, if any (opaque to the recording). */
  stop?: unknown;
}

export interface InputOp {
  kind: 'input';
  input: RecordedInput;
  start: number;
  end: number;
  stop?: unknown;
}

export type Op = RunOp | InputOp;

export interface Checkpoint {
  position: number;
  cpus: CpuSnapshot[];
  graph: GraphSnapshot;
  /** Pages as they were at this checkpoint, for every page written before the next one. */
  undo?: Map<number, Uint8Array>;
  /** Everything done to the machine after this checkpoint, until the next one. */
  ops: Op[];
  /** The stop reported at this checkpoint's moment before any op ran, if any. */
  stop?: unknown;
  /** State the debugger keeps outside the object graph (see RecordingSide). */
  side: unknown;
}

/**
 * A moment of the recorded run: after the first `ops` entries of checkpoint `cp`'s log; with `cut`,
 * then entry `ops` (a machine call) run again and cut short there instead of where it ended.
 */
export interface Moment {
  cp: number;
  ops: number;
  cut?: Cut;
}

/** What the debugger adds to a checkpoint beyond the object graph (e.g. where its exit log was). */
export interface RecordingSide {
  save(): unknown;
  restore(saved: unknown): void;
}

/** A replay that did not follow the recording (a bug: the machine is meant to be deterministic). */
export class ReplayDivergence extends Error {}

/** Observes a replay (reverse continue's search, reverse step's search for the last boundary). */
export interface ReplayObserver {
  /** Before an instruction of vCPU `vi` (every vCPU's every boundary while observing). */
  boundary(vi: number, c: Cpu, op: number): void;
}

/** Largest typed array snapshotted by value (guest RAM and firmware rewind through the undo log). */
const MAX_COPIED_ARRAY = 1 << 20;
/** A stop takes a checkpoint when this many log entries or instructions followed the last one. */
const MAX_OPS_BETWEEN = 512;
const NEAR_INSNS = 20_000;

const NO_BPS: number[] = [];

export class Recording {
  readonly checkpoints: Checkpoint[] = [];
  /** Take a checkpoint at least this often while running (guest instructions). */
  interval = 2_000_000;
  private lastAuto = 0;

  // ---- replay state (see replayOp): what the current replayed call must be cut at
  private replayCut: Cut | null = null;
  private replayCutDone = false;
  private observer: ReplayObserver | null = null;
  private observedOp = -1;
  /** Log entries of the last checkpoint replayed so far (what abandonReplay keeps). */
  private replayed = 0;
  /** Code breakpoints currently installed by the replay (null: the debugger's own). */
  private replayBps: number[] | null = null;

  constructor(private readonly m: Machine, private readonly extraRoots: () => object[] = () => [],
    private readonly side: RecordingSide | null = null) {
    m.vm.bus.setTracking(true);
    this.checkpoint();
  }

  /** Current position: guest instructions retired by all vCPUs. */
  position(): number {
    let n = 0;
    for (const v of this.m.vcpus) n += v.cpu.icount;
    return n;
  }

  // The exit log is not copied at each checkpoint (it would make every checkpoint as large as the
  // log): its entries are indexed, and a rewind drops those logged after the checkpoint.
  private stopObject = (o: object): boolean =>
    o instanceof Cpu || o instanceof PhysBus || o === this.m.image || o === this.m.mem || o instanceof Recording || o === this.m.exitLog ||
    (ArrayBuffer.isView(o) && o.byteLength > MAX_COPIED_ARRAY);

  private roots(): object[] {
    const r: object[] = [this.m];
    for (const v of this.m.vcpus) r.push(v.cpu.intercepts, v.cpu.exit);
    return r.concat(this.extraRoots());
  }

  private get last(): Checkpoint { return this.checkpoints[this.checkpoints.length - 1]; }

  /** Take a checkpoint here (closing the memory epoch of the previous one). */
  checkpoint(): Checkpoint {
    const pos = this.position();
    const last = this.checkpoints[this.checkpoints.length - 1];
    const log = this.m.vm.bus.newEpoch();
    if (last) last.undo = log;
    const cp: Checkpoint = {
      position: pos,
      cpus: this.m.vcpus.map((v) => saveCpu(v.cpu)),
      graph: snapshotGraph(this.roots(), this.stopObject),
      ops: [],
      side: this.side?.save(),
    };
    this.checkpoints.push(cp);
    this.lastAuto = pos;
    return cp;
  }

  /**
   * At a stop: a checkpoint unless the last one is near (replaying up to a few thousand instructions
   * and a few hundred logged calls to get back here is cheaper than snapshotting at every step).
   */
  checkpointAtStop(near = NEAR_INSNS): void {
    const last = this.last;
    if (last && this.position() - last.position < near && this.position() >= last.position && last.ops.length < MAX_OPS_BETWEEN) return;
    this.checkpoint();
  }

  /** While running: a periodic checkpoint when the interval has passed. */
  maybeCheckpoint(): void {
    if (this.position() - this.lastAuto >= this.interval || this.last.ops.length >= 4 * MAX_OPS_BETWEEN) this.checkpoint();
  }

  // ---------------------------------------------------------------- the live run (logged)

  private skips(): number[] {
    const vs = this.m.vcpus;
    const s = new Array<number>(vs.length);
    for (let i = 0; i < vs.length; i++) s[i] = vs[i].cpu.bpSkip;
    return s;
  }

  /** How a call that returned `r` was cut short by a debugger hook (null: it was not). */
  private cutOf(r: StopReason): Cut | null {
    if (r.kind !== 'stopped') return null;
    const v = this.m.vcpus[r.vcpu];
    if (!v) return null;
    if (this.m.stoppedAtExit === v) return { kind: 'user', vcpu: r.vcpu, uexits: v.stats.userspaceExits };
    if (v.arch.hw_exit_pending) return { kind: 'hw', vcpu: r.vcpu, exits: v.stats.exits };
    if (!v.stoppedByHook) return null;
    const c = v.cpu;
    if (!Number.isNaN(c.bpHit)) return { kind: 'bp', vcpu: r.vcpu, lin: c.bpHit };
    return { kind: 'insn', vcpu: r.vcpu, icount: c.icount, rip: c.rip, exits: v.stats.exits, uexits: v.stats.userspaceExits };
  }

  /** Machine.run(limit), logged. */
  run(limit: number): StopReason {
    const skip = this.skips(), start = this.position();
    const r = this.m.run(limit);
    this.last.ops.push({ kind: 'run', vcpu: -1, arg: limit, skip, cut: this.cutOf(r), start, end: this.position() });
    return r;
  }

  /** Machine.runVcpu(vcpus[vi], n), logged. */
  runVcpu(vi: number, n: number): StopReason {
    const skip = this.skips(), start = this.position();
    const r = this.m.runVcpu(this.m.vcpus[vi], n);
    this.last.ops.push({ kind: 'run', vcpu: vi, arg: n, skip, cut: this.cutOf(r), start, end: this.position() });
    return r;
  }

  /** Record an input made at the current position (and apply it). */
  input(i: RecordedInput): void {
    const pos = this.position();
    this.last.ops.push({ kind: 'input', input: i, start: pos, end: pos });
    i.apply(this.m);
  }

  /**
   * The debugger reported a stop here: remember it with the moment (reverse step lands on stops).
   * `again`: the run was brought back to a stop already recorded (as it was left, inputs made there
   * included): that stop is reported again, not a new one after those inputs.
   */
  noteStop(stop: unknown, again = false): void {
    const cp = this.last;
    if (again) {
      const s = this.stopAt(this.checkpoints.length - 1, cp.ops.length);
      if (s) {
        const c = this.checkpoints[s.cp];
        if (s.ops === 0) c.stop = stop; else c.ops[s.ops - 1].stop = stop;
        return;
      }
    }
    const op = cp.ops[cp.ops.length - 1];
    if (op) op.stop = stop;
    else cp.stop = stop;
  }

  /** The earliest position that can be reached. */
  start(): number { return this.checkpoints[0]?.position ?? 0; }

  // ---------------------------------------------------------------- moments

  /** The moment now: after every logged entry. */
  now(): Moment { return { cp: this.checkpoints.length - 1, ops: this.last.ops.length }; }

  /** The op at index `i` of checkpoint `cp`. */
  op(cp: number, i: number): Op | undefined { return this.checkpoints[cp]?.ops[i]; }

  /**
   * The stop reported at moment (cp, ops), looking back over inputs made at it (they run no
   * instruction), or undefined when the moment is not a stop.
   */
  stopAt(cp: number, ops: number): { stop: unknown; cp: number; ops: number } | undefined {
    for (let k = ops - 1; k >= 0; k--) {
      const op = this.checkpoints[cp].ops[k];
      if (op.stop !== undefined) return { stop: op.stop, cp, ops: k + 1 };
      if (op.kind === 'input') continue;
      return undefined;
    }
    const c = this.checkpoints[cp];
    if (c.stop !== undefined) return { stop: c.stop, cp, ops: 0 };
    // The checkpoint was taken after the previous one's last entry: the same moment.
    return cp > 0 ? this.stopAt(cp - 1, this.checkpoints[cp - 1].ops.length) : undefined;
  }

  /** The latest stop reported before moment (cp, ops), not at it. */
  private stopBefore(cp: number, ops: number): { stop: unknown; cp: number; ops: number } | undefined {
    for (let c = cp, k = ops - 1; c >= 0; c--, k = c >= 0 ? this.checkpoints[c].ops.length - 1 : -1) {
      const list = this.checkpoints[c].ops;
      for (; k >= 0; k--) {
        const op = list[k];
        // A stop recorded on entry k is the moment after it (k + 1), which is before (c, ops) when k + 1 < ops.
        if (op.stop !== undefined && (c < cp || k + 1 < ops)) return { stop: op.stop, cp: c, ops: k + 1 };
      }
      if (this.checkpoints[c].stop !== undefined && (c < cp || ops > 0)) return { stop: this.checkpoints[c].stop, cp: c, ops: 0 };
    }
    return undefined;
  }

  /**
   * The latest stop reported before the current one (the stop now, with any inputs made at it, is
   * not counted): where a reverse step over the last step lands.
   */
  previousStop(): { stop: unknown; cp: number; ops: number; position: number } | undefined {
    const now = this.now();
    const cur = this.stopAt(now.cp, now.ops);
    const s = cur ? this.stopBefore(cur.cp, cur.ops) : this.stopBefore(now.cp, now.ops);
    if (!s) return undefined;
    // The stop as it was left: with the inputs made at it (up to the next call or stop).
    const list = this.checkpoints[s.cp].ops;
    let ops = s.ops;
    while (ops < list.length && list[ops].kind === 'input' && list[ops].stop === undefined) ops++;
    return { stop: s.stop, cp: s.cp, ops, position: this.positionAt(s.cp, ops) };
  }

  /** The last machine call (only inputs after it), as (cp, op), or undefined. */
  lastCall(): { cp: number; op: number } | undefined {
    for (let c = this.checkpoints.length - 1; c >= 0; c--) {
      const ops = this.checkpoints[c].ops;
      for (let k = ops.length - 1; k >= 0; k--) if (ops[k].kind === 'run') return { cp: c, op: k };
    }
    return undefined;
  }

  /** The position at moment (cp, ops). */
  positionAt(cp: number, ops: number): number {
    const c = this.checkpoints[cp];
    return ops === 0 ? c.position : c.ops[ops - 1].end;
  }

  /**
   * The log entry in which instruction `target + 1` retired (the first with end > target), as
   * (cp, index), or undefined when it has not retired (target at or past the current position).
   */
  opRetiring(target: number): { cp: number; op: number } | undefined {
    let k = this.checkpoints.length - 1;
    while (k > 0 && this.checkpoints[k].position > target) k--;
    for (let c = k; c < this.checkpoints.length; c++) {
      const ops = this.checkpoints[c].ops;
      for (let i = 0; i < ops.length; i++) if (ops[i].end > target) return { cp: c, op: i };
    }
    return undefined;
  }

  /**
   * Put the machine back to checkpoint `k` (memory through the undo logs, then the object graph and
   * the processors). Later checkpoints are dropped; checkpoint k keeps its log until truncate().
   */
  rewind(k: number): void {
    const bus = this.m.vm.bus;
    // Memory: back to the last checkpoint, then through each older epoch to checkpoint k.
    bus.applyUndo(bus.newEpoch());
    for (let j = this.checkpoints.length - 2; j >= k; j--) {
      const u = this.checkpoints[j].undo;
      if (u) bus.applyUndo(u);
    }
    const cp = this.checkpoints[k];
    this.checkpoints.length = k + 1;
    cp.undo = undefined;
    restoreGraph(cp.graph);
    this.m.rewindExitLog();
    this.m.vcpus.forEach((v, i) => restoreCpu(v.cpu, cp.cpus[i]));
    if (this.side) this.side.restore(cp.side);
    this.lastAuto = cp.position;
  }

  /**
   * Replay log entries [from, to) of the last checkpoint (after rewind()) exactly, with `observer`
   * told of every instruction boundary. The debugger's own stops must be off meanwhile.
   */
  replay(from: number, to: number, observer: ReplayObserver | null = null): void {
    const ops = this.last.ops;
    for (let i = from; i < to; i++) {
      this.replayed = i;
      this.replayOp(ops[i], i, ops[i].kind === 'run' ? (ops[i] as RunOp).cut : null, observer);
    }
    this.replayed = to;
    this.endReplay();
  }

  /**
   * After a replay that diverged (threw ReplayDivergence): keep the log entries that replayed, drop
   * the rest and take a checkpoint of the machine as it is, which the run continues from.
   */
  abandonReplay(): void {
    this.endReplay();
    this.replayCut = null;
    this.observer = null;
    this.last.ops.length = Math.min(this.replayed, this.last.ops.length);
    this.checkpoint();
  }

  /**
   * Replay log entry `i` of the last checkpoint cut at `cut` instead of its own end (a moment inside
   * it), then drop the rest of the log: the run continues from here. Returns how the call ended.
   */
  replayCutAt(i: number, cut: Cut, observer: ReplayObserver | null = null): StopReason {
    const op = this.last.ops[i];
    if (op.kind !== 'run') throw new ReplayDivergence(`log entry ${i} is an input, not a machine call`);
    this.replayed = i;
    const r = this.replayOp(op, i, cut, observer);
    this.endReplay();
    this.last.ops.length = i;
    this.last.ops.push({ ...op, cut: this.cutOf(r), end: this.position(), stop: undefined });
    return r;
  }

  /** Drop the log of the last checkpoint after its first `n` entries (the future is re-executed). */
  truncate(n: number): void {
    const ops = this.last.ops;
    ops.length = Math.min(n, ops.length);
  }

  /** While replaying: must the exit to userspace just taken by `v` stop the call (a recorded cut)? */
  replayUserCut(v: KvmVcpu): boolean {
    const c = this.replayCut;
    if (!c || c.kind !== 'user' || this.replayCutDone) return false;
    if (this.m.vcpus[c.vcpu] !== v || v.stats.userspaceExits !== c.uexits) return false;
    this.replayCutDone = true;
    return true;
  }

  /** While replaying: must the hardware exit just taken by `v` stop the call (a recorded cut)? */
  replayHwCut(v: KvmVcpu): boolean {
    const c = this.replayCut;
    if (!c || c.kind !== 'hw' || this.replayCutDone) return false;
    if (this.m.vcpus[c.vcpu] !== v || v.stats.exits !== c.exits) return false;
    this.replayCutDone = true;
    return true;
  }

  /** The log entry being replayed while observing (-1 otherwise). */
  get observing(): number { return this.observer ? this.observedOp : -1; }

  /**
   * Run one logged machine call again exactly: the same arguments and breakpoint skips, cut at
   * `cut` (its own recorded cut, or a moment inside it) and nowhere else.
   */
  private replayOp(op: Op, index: number, cut: Cut | null, observer: ReplayObserver | null): StopReason {
    const m = this.m;
    if (op.kind === 'input') {
      if (this.position() !== op.start) throw new ReplayDivergence(`replay reached position ${this.position()} before '${op.input.describe}', recorded at ${op.start}`);
      op.input.apply(m);
      return { kind: 'slice' };
    }
    if (this.position() !== op.start) throw new ReplayDivergence(`replay reached position ${this.position()} where call ${index} began at ${op.start}`);
    this.replayCut = cut;
    this.replayCutDone = false;
    this.observer = observer;
    this.observedOp = index;
    // Code breakpoints: only the recorded one, so the call is cut exactly where it was.
    const bps = cut?.kind === 'bp' ? [cut.lin] : NO_BPS;
    if (this.replayBps === null || this.replayBps.length !== bps.length || this.replayBps[0] !== bps[0]) {
      for (const v of m.vcpus) v.cpu.setCodeBreakpoints(bps);
      this.replayBps = bps;
    }
    // Instruction-boundary hooks: the recorded cut's vCPU (and every vCPU while observing).
    m.vm.beforeInsn = null;
    m.vcpus.forEach((v, i) => {
      const c = v.cpu;
      c.bpSkip = op.skip[i] ?? NaN;
      c.bpHit = NaN;
      const cutHere = cut?.kind === 'insn' && cut.vcpu === i ? cut : null;
      let hook: ((c: Cpu) => boolean) | null = null;
      if (cutHere || observer) {
        hook = (cpu) => {
          if (observer) observer.boundary(i, cpu, index);
          if (cutHere && !this.replayCutDone && cpu.icount === cutHere.icount && cpu.rip === cutHere.rip &&
            v.stats.exits === cutHere.exits && v.stats.userspaceExits === cutHere.uexits) {
            this.replayCutDone = true;
            return true;
          }
          return false;
        };
      }
      v.guestDebugHook = hook;
      c.beforeInsn = hook;
      if (hook) c.slow = true;
    });
    let r: StopReason;
    let hit = false;
    try {
      r = op.vcpu < 0 ? m.run(op.arg) : m.runVcpu(m.vcpus[op.vcpu], op.arg);
      hit = this.replayCutDone || (cut?.kind === 'bp' && r.kind === 'stopped' && r.vcpu === cut.vcpu && m.vcpus[r.vcpu].cpu.bpHit === cut.lin);
    } finally {
      for (const v of m.vcpus) v.cpu.bpHit = NaN;
      this.replayCut = null;
      this.observer = null;
      this.observedOp = -1;
    }
    if (cut && !hit) {
      throw new ReplayDivergence(`replay of call ${index} (${op.vcpu < 0 ? `run(${op.arg})` : `vCPU ${op.vcpu} step(${op.arg})`}) ` +
        `did not reach its ${cut.kind} stop on vCPU ${cut.vcpu} (ended ${r.kind} at position ${this.position()})`);
    }
    if (cut === op.cut && this.position() !== op.end) {
      throw new ReplayDivergence(`replay of call ${index} ended at position ${this.position()}, recorded ${op.end}`);
    }
    return r;
  }

  private endReplay(): void {
    for (const v of this.m.vcpus) { v.guestDebugHook = null; v.cpu.beforeInsn = null; }
    this.replayBps = null;
  }
}
