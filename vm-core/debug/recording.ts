// The recording behind reverse execution. The machine is deterministic, so a position in the run is
// just the number of guest instructions retired (summed over vCPUs). Checkpoints are taken at every
// stop and periodically while running: the processors' exact state, the KVM model and VMM state (an
// in-place object-graph snapshot) and, for guest memory, an undo log of the pages written until the
// next checkpoint (the bus's dirty-logging epochs). Going back to position T restores the latest
// checkpoint at or before T, re-applies the edits the user made there (reply values, injected events)
// and runs forward T - checkpoint instructions with stops disabled.
import type { Machine } from '../vmm/machine';
import { Cpu } from '../cpu/cpu';
import { PhysBus } from '../cpu/phys';
import { saveCpu, restoreCpu, type CpuSnapshot } from '../cpu/snapshot';
import { snapshotGraph, restoreGraph, type GraphSnapshot } from './object-snapshot';

/** Something the user did at a stop that changes the run (replayed when rewinding through it). */
export interface RecordedInput {
  describe: string;
  apply(m: Machine): void;
}

export interface Checkpoint {
  position: number;
  cpus: CpuSnapshot[];
  graph: GraphSnapshot;
  /** Pages as they were at this checkpoint, for every page written before the next one. */
  undo?: Map<number, Uint8Array>;
  inputs: RecordedInput[];
}

/** Largest typed array snapshotted by value (guest RAM and firmware rewind through the undo log). */
const MAX_COPIED_ARRAY = 1 << 20;

export class Recording {
  readonly checkpoints: Checkpoint[] = [];
  /** Take a checkpoint at least this often while running (guest instructions). */
  interval = 2_000_000;
  private lastAuto = 0;

  constructor(private readonly m: Machine, private readonly extraRoots: () => object[] = () => []) {
    m.vm.bus.setTracking(true);
    this.checkpoint();
  }

  /** Current position: guest instructions retired by all vCPUs. */
  position(): number {
    let n = 0;
    for (const v of this.m.vcpus) n += v.cpu.icount;
    return n;
  }

  private stopObject = (o: object): boolean =>
    o instanceof Cpu || o instanceof PhysBus || o === this.m.image || o === this.m.mem || o instanceof Recording ||
    (ArrayBuffer.isView(o) && o.byteLength > MAX_COPIED_ARRAY);

  private roots(): object[] {
    const r: object[] = [this.m];
    for (const v of this.m.vcpus) r.push(v.cpu.intercepts, v.cpu.exit);
    return r.concat(this.extraRoots());
  }

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
      inputs: [],
    };
    this.checkpoints.push(cp);
    this.lastAuto = pos;
    return cp;
  }

  /**
   * At a stop: a checkpoint unless the last one is near (replaying up to `near` instructions to get
   * back here is cheaper than snapshotting at every step). With several vCPUs every stop gets one:
   * a debugger step runs one vCPU outside the round-robin, which a replay would not reproduce.
   */
  checkpointAtStop(near = 20_000): void {
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (this.m.vcpus.length === 1 && last && this.position() - last.position < near && this.position() >= last.position) return;
    this.checkpoint();
  }

  /** While running: a periodic checkpoint when the interval has passed. */
  maybeCheckpoint(): void {
    if (this.position() - this.lastAuto >= this.interval) this.checkpoint();
  }

  /** Record an input made at the current position (and apply it). */
  input(i: RecordedInput): void {
    const cp = this.checkpoint();
    cp.inputs.push(i);
    i.apply(this.m);
  }

  /** The earliest position that can be reached. */
  start(): number { return this.checkpoints[0]?.position ?? 0; }

  /**
   * Rewind to the latest checkpoint at or before `target` and return its position (the caller runs
   * forward the rest with stops disabled). Checkpoints after it are dropped: the future is re-executed.
   */
  rewindTo(target: number): number {
    let k = this.checkpoints.length - 1;
    while (k > 0 && this.checkpoints[k].position > target) k--;
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
    this.m.vcpus.forEach((v, i) => restoreCpu(v.cpu, cp.cpus[i]));
    for (const i of cp.inputs) i.apply(this.m);
    this.lastAuto = cp.position;
    return cp.position;
  }
}
