// The guest-physical address space as the processor sees it: RAM regions backed by host buffers
// (KVM memory slots map onto these), read-only regions, and holes (MMIO: no backing page, so an
// access is an EPT violation / NPF for the hypervisor to handle).

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

export interface PhysRegion {
  id: number;
  gpa: number;
  size: number;
  buf: Uint8Array;
  dv: DataView;
  readonly: boolean;
}

/** Listener told of every write to a physical page that holds decoded code (SMC invalidation). */
export type CodeWriteListener = (ppn: number) => void;
/** Listener told when what backs a physical page changes (an overlay appears or goes): flush TLBs. */
export type MapListener = (ppn: number) => void;
/** Which layer of a page with an overlay to read: what the guest sees, or the RAM underneath. */
export type MemoryLayer = 'visible' | 'underlying';

export class PhysBus {
  /** Region index + 1 for each physical page number (0: no backing). */
  private pageRegion = new Uint16Array(0);
  readonly regions: (PhysRegion | undefined)[] = [];
  /** 1 for physical pages that have decoded instructions cached. */
  codePage = new Uint8Array(0);
  /** Every processor on this bus registers here (several vCPUs share guest memory). */
  private codeWriteListeners: CodeWriteListener[] = [];
  addCodeWriteListener(l: CodeWriteListener): void { this.codeWriteListeners.push(l); }
  removeCodeWriteListener(l: CodeWriteListener): void {
    this.codeWriteListeners = this.codeWriteListeners.filter((x) => x !== l);
  }
  /** Bumped whenever the map changes, so TLBs holding host references can flush. */
  generation = 0;

  // ------------------------------------------------------------ write tracking (undo log)
  // The debugger's recording keeps, for each checkpoint epoch, the old contents of every RAM page
  // written during that epoch (like KVM's dirty logging, the first write to a page in an epoch is
  // caught: processors drop their write TLB entries at each new epoch).
  private tracking = false;
  private epoch = 1;
  private pageEpoch = new Uint32Array(0);
  /** Pages saved in the current epoch: guest-physical page number -> old contents. */
  private undo = new Map<number, Uint8Array>();
  private epochListeners: (() => void)[] = [];

  /** Processors register to flush their write TLBs when a new epoch starts. */
  addEpochListener(l: () => void): void { this.epochListeners.push(l); }
  isTracking(): boolean { return this.tracking; }

  /** Start or stop tracking; starting begins a fresh epoch. */
  setTracking(on: boolean): void {
    this.tracking = on;
    this.newEpoch();
  }

  /** Close the current epoch and return its undo log (old page contents). */
  newEpoch(): Map<number, Uint8Array> {
    const log = this.undo;
    this.undo = new Map();
    this.epoch++;
    for (const l of this.epochListeners) l();
    return log;
  }

  /** Called before RAM at gpa is modified: saves the page's old contents once per epoch. */
  prepareWrite(gpa: number, len = 1): void {
    if (!this.tracking) return;
    const first = Math.floor(gpa / PAGE_SIZE), last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) {
      if (p >= this.pageEpoch.length || this.pageEpoch[p] === this.epoch) continue;
      const r = this.regionAt(p * PAGE_SIZE);
      if (!r) continue;
      const off = p * PAGE_SIZE - r.gpa;
      this.undo.set(p, r.buf.slice(off, off + PAGE_SIZE));
      this.pageEpoch[p] = this.epoch;
    }
  }

  /** Writes are tracked, and this page was written since tracking began (a debugger's RESET saves only those). */
  get trackingWrites(): boolean { return this.tracking; }
  writtenWhileTracking(ppn: number): boolean { return this.tracking && ppn < this.pageEpoch.length && this.pageEpoch[ppn] !== 0; }

  /** True when writes to this page need prepareWrite first (no fast-path write mapping yet). */
  needsPrepare(ppn: number): boolean {
    return this.tracking && ppn < this.pageEpoch.length && this.pageEpoch[ppn] !== this.epoch;
  }

  /** Put pages back from an undo log (newest epoch first when undoing several). */
  applyUndo(log: Map<number, Uint8Array>): void {
    for (const [p, data] of log) {
      const r = this.regionAt(p * PAGE_SIZE);
      if (!r) continue;
      r.buf.set(data, p * PAGE_SIZE - r.gpa);
      if (p < this.codePage.length && this.codePage[p]) { this.codePage[p] = 0; for (const l of this.codeWriteListeners) l(p); }
    }
    // The current epoch's saved pages were restored too: start over so the next write saves again.
    this.newEpoch();
  }

  /** Install (or replace) a region; size 0 deletes it. Regions must not overlap (the caller checks). */
  setRegion(id: number, gpa: number, buf: Uint8Array | undefined, readonly: boolean): void {
    const old = this.regions[id];
    if (old) this.fill(old.gpa, old.size, 0);
    if (!buf || buf.length === 0) {
      this.regions[id] = undefined;
    } else {
      const r: PhysRegion = { id, gpa, size: buf.length, buf, dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), readonly };
      this.regions[id] = r;
      this.grow(Math.ceil((gpa + buf.length) / PAGE_SIZE));
      this.fill(gpa, buf.length, id + 1);
    }
    this.generation++;
  }

  private grow(pages: number): void {
    if (pages <= this.pageRegion.length) return;
    const n = new Uint16Array(pages);
    n.set(this.pageRegion);
    this.pageRegion = n;
    const c = new Uint8Array(pages);
    c.set(this.codePage);
    this.codePage = c;
    const e = new Uint32Array(pages);
    e.set(this.pageEpoch);
    this.pageEpoch = e;
  }

  private fill(gpa: number, size: number, v: number): void {
    const first = Math.floor(gpa / PAGE_SIZE), last = Math.floor((gpa + size - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) this.pageRegion[p] = v;
  }

  // ------------------------------------------------------------ overlay pages (Hyper-V TLFS 5.2.1, seed 002)
  // An overlay is a page the hypervisor places at a GPA: while it is there the processor, the VMM's
  // accessors and the debugger's 'visible' layer see it instead of the RAM page (or hole) beneath;
  // removing it uncovers the original bytes, which were never touched.
  private overlays = new Map<number, PhysRegion>();
  private mapListeners: MapListener[] = [];
  /** Processors register to flush their TLBs when a page's backing changes (overlays). */
  addMapListener(l: MapListener): void { this.mapListeners.push(l); }
  removeMapListener(l: MapListener): void { this.mapListeners = this.mapListeners.filter((x) => x !== l); }

  /** Place (or replace) the overlay page at the page containing `gpa`; `data` (up to 4 KiB) fills it from offset 0. */
  setOverlay(gpa: number, data: Uint8Array, readonly = true): void {
    const ppn = Math.floor(gpa / PAGE_SIZE);
    const buf = new Uint8Array(PAGE_SIZE);
    buf.set(data.subarray(0, PAGE_SIZE));
    this.overlays.set(ppn, { id: -1, gpa: ppn * PAGE_SIZE, size: PAGE_SIZE, buf, dv: new DataView(buf.buffer), readonly });
    this.grow(ppn + 1);
    this.pageChanged(ppn);
  }
  /** Remove the overlay at the page containing `gpa` (uncovering the page beneath); false if there was none. */
  removeOverlay(gpa: number): boolean {
    const ppn = Math.floor(gpa / PAGE_SIZE);
    if (!this.overlays.delete(ppn)) return false;
    this.pageChanged(ppn);
    return true;
  }
  isOverlay(gpa: number): boolean {
    return this.overlays.size !== 0 && this.overlays.has(Math.floor(gpa / PAGE_SIZE));
  }
  /** Guest-physical addresses of the pages that have an overlay. */
  overlayPages(): number[] { return [...this.overlays.keys()].sort((a, b) => a - b).map((p) => p * PAGE_SIZE); }

  /** Decoded code and TLB entries of the page are stale: tell every processor. */
  private pageChanged(ppn: number): void {
    this.generation++;
    if (ppn < this.codePage.length) this.codePage[ppn] = 0;
    for (const l of this.codeWriteListeners) l(ppn);
    for (const l of this.mapListeners) l(ppn);
  }

  /** The RAM region at a physical address, ignoring overlays. */
  ramRegionAt(gpa: number): PhysRegion | undefined {
    const ppn = Math.floor(gpa / PAGE_SIZE);
    const idx = ppn < this.pageRegion.length ? this.pageRegion[ppn] : 0;
    return idx ? this.regions[idx - 1] : undefined;
  }

  /**
   * Read one layer of guest-physical memory for memory views and data breakpoints: 'visible' is what
   * the guest sees (overlays on top), 'underlying' the RAM beneath them. Holes read as 0 and are
   * listed in `holes`.
   */
  readLayer(gpa: number, len: number, layer: MemoryLayer, holes?: number[]): Uint8Array {
    if (layer === 'visible' || this.overlays.size === 0) return this.read(gpa, len, holes);
    const out = new Uint8Array(len);
    let i = 0;
    while (i < len) {
      const a = gpa + i;
      const r = this.ramRegionAt(a);
      const n = Math.min(PAGE_SIZE - (a % PAGE_SIZE), len - i);
      if (r) out.set(r.buf.subarray(a - r.gpa, a - r.gpa + n), i);
      else if (holes) for (let k = 0; k < n; k++) holes.push(a + k);
      i += n;
    }
    return out;
  }

  /** The region backing a physical address (an overlay first), or undefined for a hole. */
  regionAt(gpa: number): PhysRegion | undefined {
    const ppn = Math.floor(gpa / PAGE_SIZE);
    if (this.overlays.size !== 0) { const o = this.overlays.get(ppn); if (o) return o; }
    const idx = ppn < this.pageRegion.length ? this.pageRegion[ppn] : 0;
    return idx ? this.regions[idx - 1] : undefined;
  }

  isRam(gpa: number): boolean {
    return this.regionAt(gpa) !== undefined;
  }

  /** Mark a page as holding decoded code. */
  markCode(ppn: number): void {
    if (ppn < this.codePage.length) this.codePage[ppn] = 1;
  }

  /** Called after any write into RAM at [gpa, gpa+len): invalidates decoded code there. */
  noteWrite(gpa: number, len: number): void {
    const first = Math.floor(gpa / PAGE_SIZE), last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    for (let p = first; p <= last; p++) {
      if (p < this.codePage.length && this.codePage[p]) {
        this.codePage[p] = 0;
        for (const l of this.codeWriteListeners) l(p);
      }
    }
  }

  // Byte-granular accessors for slow paths and for the VMM / debugger. They return -1 for a hole
  // (read) or false (write) and never fault: faults are the processor's business.
  readByte(gpa: number): number {
    const r = this.regionAt(gpa);
    return r ? r.buf[gpa - r.gpa] : -1;
  }

  writeByte(gpa: number, v: number, ignoreReadonly = false): boolean {
    const r = this.regionAt(gpa);
    if (!r || (r.readonly && !ignoreReadonly)) return false;
    this.prepareWrite(gpa, 1);
    r.buf[gpa - r.gpa] = v;
    const ppn = Math.floor(gpa / PAGE_SIZE);
    if (this.codePage[ppn]) this.noteWrite(gpa, 1);
    return true;
  }

  /** Copy out guest-physical memory; unbacked bytes are reported in `holes` (if given) and read as 0. */
  read(gpa: number, len: number, holes?: number[]): Uint8Array {
    const out = new Uint8Array(len);
    let i = 0;
    while (i < len) {
      const a = gpa + i;
      const r = this.regionAt(a);
      const pageLeft = PAGE_SIZE - (a % PAGE_SIZE);
      const n = Math.min(pageLeft, len - i);
      if (r) out.set(r.buf.subarray(a - r.gpa, a - r.gpa + n), i);
      else if (holes) for (let k = 0; k < n; k++) holes.push(a + k);
      i += n;
    }
    return out;
  }

  /** Write guest-physical memory (as a VMM writing through its mapping); returns bytes written. */
  write(gpa: number, data: Uint8Array, ignoreReadonly = true): number {
    let done = 0;
    let i = 0;
    while (i < data.length) {
      const a = gpa + i;
      const r = this.regionAt(a);
      const pageLeft = PAGE_SIZE - (a % PAGE_SIZE);
      const n = Math.min(pageLeft, data.length - i);
      if (r && (!r.readonly || ignoreReadonly)) {
        this.prepareWrite(a, n);
        r.buf.set(data.subarray(i, i + n), a - r.gpa);
        done += n;
        this.noteWrite(a, n);
      }
      i += n;
    }
    return done;
  }
}
