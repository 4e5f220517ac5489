// The VMCS of one vCPU (SDM Vol. 3C ch. 25). The processor IS the guest state while the vCPU is
// in VMX non-root operation, so guest-state fields read and write the Cpu directly; control fields
// live here and are applied to cpu.intercepts at VM entry; exit-information fields are filled from
// cpu.exit at VM exit. VMREAD/VMWRITE are counted, and a read of a field that was never written
// (zero-allocated VMCS, seed 001) is reported.
import type { Cpu } from '../../cpu/cpu';
import { getRflags } from '../../cpu/flags';
import { OP_NONE } from '../../cpu/flags';
import * as F from './vmcs_fields';

export interface VmcsTracer {
  /** Every VMREAD (write=false) and VMWRITE (write=true). */
  access(write: boolean, field: number, value: number): void;
  /** A VMREAD of a field nothing ever wrote. */
  neverWritten(field: number): void;
}

const TWO32 = 4294967296;
const SIZE = 0x8000;

/** Guest-state encodings this model backs with the processor. */
const GUEST_FIELDS: number[] = [
  ...F.SEG_SELECTOR, ...F.SEG_LIMIT, ...F.SEG_AR, ...F.SEG_BASE,
  F.GUEST_GDTR_BASE, F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_BASE, F.GUEST_IDTR_LIMIT,
  F.GUEST_CR0, F.GUEST_CR3, F.GUEST_CR4, F.GUEST_DR7, F.GUEST_RSP, F.GUEST_RIP, F.GUEST_RFLAGS,
  F.GUEST_IA32_EFER, F.GUEST_IA32_PAT, F.GUEST_PDPTR0, F.GUEST_PDPTR1, F.GUEST_PDPTR2, F.GUEST_PDPTR3,
  F.GUEST_INTERRUPTIBILITY_INFO, F.GUEST_ACTIVITY_STATE, F.GUEST_SYSENTER_CS, F.GUEST_SYSENTER_ESP,
  F.GUEST_SYSENTER_EIP, F.GUEST_PENDING_DBG_EXCEPTIONS, F.GUEST_IA32_DEBUGCTL, F.VMCS_LINK_POINTER,
];

export class Vmcs {
  vmreads = 0;
  vmwrites = 0;
  /** 1 for every field written by VMWRITE or by the processor (VM exit). */
  readonly written = new Uint8Array(SIZE);
  private readonly store = new Float64Array(SIZE);
  /** Low half (as int32) and high half of the last value read or peeked (exact 64-bit values). */
  get lo(): number { return this.halvesSet ? this.lo32 : this.lastValue % TWO32 | 0; }
  get hi(): number { return this.halvesSet ? this.hi32 : Math.floor(this.lastValue / TWO32) | 0; }
  private lastValue = 0;
  private halvesSet = false;
  private lo32 = 0;
  private hi32 = 0;
  /** Guest CR0/CR4/EFER/segments changed: the processor recomputes its mode at entry. */
  modeDirty = true;
  /** CR3 or paging bits changed: flush the TLBs at entry. */
  tlbDirty = true;
  /** Control fields changed: re-apply them to cpu.intercepts at entry. */
  controlsDirty = true;
  /** Set while the processor's wait-for-SIPI activity state is requested. */
  private waitSipi = false;
  tracer: VmcsTracer | null = null;

  constructor(readonly cpu: Cpu) {}

  /** VMREAD (counted; never-written fields read as 0 and are reported). */
  read(field: number): number {
    this.vmreads++;
    let v: number;
    if (!this.written[field]) {
      if (this.tracer) this.tracer.neverWritten(field);
      v = 0; this.lastValue = 0; this.halvesSet = false;
    } else {
      v = this.peek(field);
    }
    if (this.tracer) this.tracer.access(false, field, v);
    return v;
  }

  /** VMWRITE (counted). */
  write(field: number, v: number): void {
    this.vmwrites++;
    this.written[field] = 1;
    this.poke(field, v);
    if (this.tracer) this.tracer.access(true, field, v);
  }

  /** Written by the processor at VM exit (not a VMWRITE). */
  hwSet(field: number, v: number): void {
    this.written[field] = 1;
    this.store[field] = v;
  }

  /** The processor saved the guest-state area (first VM exit). */
  markGuestStateSaved(): void {
    for (const f of GUEST_FIELDS) this.written[f] = 1;
  }

  wasWritten(field: number): boolean {
    return this.written[field] === 1;
  }

  /** Current value without counting (debugger view, stale-cache checks). */
  peek(field: number): number {
    if (GUEST_BACKED[field] === 1) return this.peekGuest(field);
    const v = this.store[field];
    this.lastValue = v; this.halvesSet = false;
    return v;
  }

  private nat(lo: number, hi: number): number {
    this.lo32 = lo | 0; this.hi32 = hi | 0; this.halvesSet = true;
    return hi * TWO32 + (lo >>> 0);
  }
  private num(v: number): number {
    this.lastValue = v; this.halvesSet = false;
    return v;
  }

  private peekGuest(f: number): number {
    const c = this.cpu;
    const segIdx = SEG_INDEX[f];
    if (segIdx >= 0) {
      const s = c.seg[segIdx & 7];
      switch (segIdx >> 3) {
        case 0: return this.num(s.selector);
        case 1: return this.num(s.limit >>> 0);
        case 2: return this.num(s.ar);
        default: return this.num(s.base);
      }
    }
    switch (f) {
      case F.GUEST_RIP: return this.num(c.rip);
      case F.GUEST_RSP: return this.nat(c.R[8], c.R[9]);
      case F.GUEST_RFLAGS: return this.num(getRflags(c));
      case F.GUEST_INTERRUPTIBILITY_INFO:
        return this.num((c.stiShadow ? F.GUEST_INTR_STATE_STI : 0) | (c.movSsShadow ? F.GUEST_INTR_STATE_MOV_SS : 0) |
          (c.nmiBlocked ? F.GUEST_INTR_STATE_NMI : 0));
      case F.GUEST_CR0: return this.num(c.cr0 >>> 0);
      case F.GUEST_CR3: return this.num(c.cr3);
      case F.GUEST_CR4: return this.num(c.cr4 >>> 0);
      case F.GUEST_DR7: return this.num(c.dr7);
      case F.GUEST_IA32_EFER: return this.num(c.efer);
      case F.GUEST_IA32_PAT: return this.nat(c.pat[0], c.pat[1]);
      case F.GUEST_GDTR_BASE: return this.num(c.gdtr.base);
      case F.GUEST_GDTR_LIMIT: return this.num(c.gdtr.limit);
      case F.GUEST_IDTR_BASE: return this.num(c.idtr.base);
      case F.GUEST_IDTR_LIMIT: return this.num(c.idtr.limit);
      case F.GUEST_PDPTR0: case F.GUEST_PDPTR1: case F.GUEST_PDPTR2: case F.GUEST_PDPTR3:
        return this.num(c.pdpte[(f - F.GUEST_PDPTR0) >> 1]);
      case F.GUEST_ACTIVITY_STATE:
        return this.num(this.waitSipi ? F.GUEST_ACTIVITY_WAIT_SIPI : c.shutdown ? F.GUEST_ACTIVITY_SHUTDOWN
          : c.halted ? F.GUEST_ACTIVITY_HLT : F.GUEST_ACTIVITY_ACTIVE);
      case F.GUEST_SYSENTER_CS: return this.num(c.sysenterCs);
      case F.GUEST_SYSENTER_ESP: return this.num(c.sysenterEsp);
      case F.GUEST_SYSENTER_EIP: return this.num(c.sysenterEip);
    }
    return this.num(this.store[f]);
  }

  private poke(f: number, v: number): void {
    const c = this.cpu;
    const segIdx = SEG_INDEX[f];
    if (segIdx >= 0) {
      const s = c.seg[segIdx & 7];
      switch (segIdx >> 3) {
        case 0: s.selector = v & 0xffff; break;
        case 1: s.limit = v >>> 0; break;
        case 2: s.ar = v & 0x1f0ff; break;
        default: s.base = v;
      }
      this.modeDirty = true;
      return;
    }
    switch (f) {
      case F.GUEST_RIP: c.rip = v; return;
      case F.GUEST_RSP: c.R[8] = v % TWO32 | 0; c.R[9] = Math.floor(v / TWO32) | 0; return;
      case F.GUEST_RFLAGS: c.lfOp = OP_NONE; c.rflags = (v | 2) & 0x3f7fd7; this.modeDirty = true; return;
      case F.GUEST_CR0: c.cr0 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case F.GUEST_CR3: c.cr3 = v; this.tlbDirty = true; return;
      case F.GUEST_CR4: c.cr4 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case F.GUEST_DR7: c.dr7 = v; c.slow = true; return;
      case F.GUEST_IA32_EFER: c.efer = v; this.modeDirty = true; this.tlbDirty = true; return;
      case F.GUEST_IA32_PAT: c.pat[0] = v % TWO32 | 0; c.pat[1] = Math.floor(v / TWO32) | 0; return;
      case F.GUEST_GDTR_BASE: c.gdtr.base = v; return;
      case F.GUEST_GDTR_LIMIT: c.gdtr.limit = v & 0xffff; return;
      case F.GUEST_IDTR_BASE: c.idtr.base = v; return;
      case F.GUEST_IDTR_LIMIT: c.idtr.limit = v & 0xffff; return;
      case F.GUEST_PDPTR0: case F.GUEST_PDPTR1: case F.GUEST_PDPTR2: case F.GUEST_PDPTR3:
        c.pdpte[(f - F.GUEST_PDPTR0) >> 1] = v; this.tlbDirty = true; return;
      case F.GUEST_INTERRUPTIBILITY_INFO:
        c.stiShadow = (v & F.GUEST_INTR_STATE_STI) !== 0;
        c.movSsShadow = (v & F.GUEST_INTR_STATE_MOV_SS) !== 0;
        c.nmiBlocked = (v & F.GUEST_INTR_STATE_NMI) !== 0;
        c.slow = true;
        return;
      case F.GUEST_ACTIVITY_STATE:
        c.halted = v === F.GUEST_ACTIVITY_HLT;
        this.waitSipi = v === F.GUEST_ACTIVITY_WAIT_SIPI;
        c.shutdown = v === F.GUEST_ACTIVITY_SHUTDOWN;
        c.slow = true;
        return;
      case F.GUEST_SYSENTER_CS: c.sysenterCs = v & 0xffff; return;
      case F.GUEST_SYSENTER_ESP: c.sysenterEsp = v; return;
      case F.GUEST_SYSENTER_EIP: c.sysenterEip = v; return;
    }
    this.store[f] = v;
    if (CONTROL_FIELD[f] === 1) this.controlsDirty = true;
  }

  /** Every field ever written, with its current value (debugger view). */
  fields(): { field: number; value: number }[] {
    const out: { field: number; value: number }[] = [];
    for (let f = 0; f < SIZE; f++) if (this.written[f]) out.push({ field: f, value: this.peek(f) });
    return out;
  }
}

/** Segment field -> (kind << 3) | segment, or -1; fields the processor backs; control fields (tables). */
const SEG_INDEX = new Int8Array(SIZE);
const GUEST_BACKED = new Uint8Array(SIZE);
const CONTROL_FIELD = new Uint8Array(SIZE);
for (let f = 0; f < SIZE; f++) {
  SEG_INDEX[f] = segIndex(f);
  CONTROL_FIELD[f] = !F.isGuestStateField(f) && !F.isExitInfoField(f) ? 1 : 0;
}
for (const f of [F.GUEST_RIP, F.GUEST_RSP, F.GUEST_RFLAGS, F.GUEST_CR0, F.GUEST_CR3, F.GUEST_CR4, F.GUEST_DR7,
  F.GUEST_IA32_EFER, F.GUEST_IA32_PAT, F.GUEST_GDTR_BASE, F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_BASE, F.GUEST_IDTR_LIMIT,
  F.GUEST_PDPTR0, F.GUEST_PDPTR1, F.GUEST_PDPTR2, F.GUEST_PDPTR3, F.GUEST_INTERRUPTIBILITY_INFO, F.GUEST_ACTIVITY_STATE,
  F.GUEST_SYSENTER_CS, F.GUEST_SYSENTER_ESP, F.GUEST_SYSENTER_EIP]) GUEST_BACKED[f] = 1;
for (let f = 0; f < SIZE; f++) if (SEG_INDEX[f] >= 0) GUEST_BACKED[f] = 1;

/** Segment field -> (kind << 3) | segment (kind 0 selector, 1 limit, 2 AR, 3 base), or -1. */
function segIndex(f: number): number {
  if (f >= 0x800 && f <= 0x80e && !(f & 1)) return (f - 0x800) >> 1;
  if (f >= 0x4800 && f <= 0x480e && !(f & 1)) return 8 | ((f - 0x4800) >> 1);
  if (f >= 0x4814 && f <= 0x4822 && !(f & 1)) return 16 | ((f - 0x4814) >> 1);
  if (f >= 0x6806 && f <= 0x6814 && !(f & 1)) return 24 | ((f - 0x6806) >> 1);
  return -1;
}
