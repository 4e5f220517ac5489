// The VMCS of one vCPU (SDM Vol. 3C ch. 25). The processor IS the guest state while the vCPU is
// in VMX non-root operation, so guest-state fields read and write the Cpu directly; control fields
// live here and are applied to cpu.intercepts at VM entry; exit-information fields are filled from
// cpu.exit at VM exit. VMREAD/VMWRITE are counted, and a read of a field that was never written
// (zero-allocated VMCS, seed 001) is reported.
import type { Cpu } from '../../cpu/cpu';
import type { HwExitInfo } from '../../cpu/exits';
import { getRflags } from '../../cpu/flags';
import { OP_NONE } from '../../cpu/flags';
import * as F from './vmcs_fields';

import type { ControlBlockTracer } from '../x86_ops';
export type VmcsTracer = ControlBlockTracer;

const TWO32 = 4294967296;

/** The exit-information fields saveExitInfo writes. */
const EXIT_INFO_FIELDS: number[] = [F.VM_EXIT_REASON, F.EXIT_QUALIFICATION, F.VM_EXIT_INSTRUCTION_LEN, F.VM_EXIT_INTR_INFO,
  F.VM_EXIT_INTR_ERROR_CODE, F.IDT_VECTORING_INFO_FIELD, F.IDT_VECTORING_ERROR_CODE, F.GUEST_PHYSICAL_ADDRESS,
  F.GUEST_LINEAR_ADDRESS, F.VMX_INSTRUCTION_INFO];
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
  /** Low half (as int32) and high half of the value the last readRspHalves() returned (exact 64-bit values). */
  lo = 0;
  hi = 0;
  /** Guest CR0/CR4/EFER/segments changed: the processor recomputes its mode at entry. */
  modeDirty = true;
  /** CR3 or paging bits changed: flush the TLBs at entry. */
  tlbDirty = true;
  /** Control fields changed: re-apply them to cpu.intercepts at entry. */
  controlsDirty = true;
  /**
   * Not the current VMCS (vmx_switch_vmcs loaded another, the vmcs02 of nested.ts): its guest
   * state lives in its own store, not in the processor.
   */
  private detached = false;
  /** Set while the processor's wait-for-SIPI activity state is requested. */
  private waitSipi = false;
  tracer: VmcsTracer | null = null;

  constructor(readonly cpu: Cpu) {}

  /** VMREAD (counted; never-written fields read as 0 and are reported). Small, so callers inline it. */
  read(field: number): number {
    this.vmreads++;
    if (this.tracer !== null || this.written[field] === 0) return this.readTraced(field);
    const k = KIND[field];
    return k === K_STORE || this.detached ? this.store[field] : this.peekGuest(k, field);
  }
  /** VMREAD with a tracer attached, or of a field never written. */
  private readTraced(field: number): number {
    let v: number;
    if (this.written[field] === 0) {
      if (this.tracer) this.tracer.neverWritten(field);
      v = 0;
    } else {
      v = this.peek(field);
    }
    if (this.tracer) this.tracer.access(false, field, v);
    return v;
  }

  /** VMREAD of GUEST_RSP with exact halves (a double cannot hold every 64-bit value): left in lo and hi. */
  readRspHalves(): void {
    const v = this.read(F.GUEST_RSP);
    if (this.written[F.GUEST_RSP] === 1) { this.lo = this.cpu.R[8]; this.hi = this.cpu.R[9]; return; }
    this.lo = v | 0; this.hi = Math.floor(v / TWO32) | 0;
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

  /**
   * The processor writes the exit-information fields at VM exit (SDM Vol. 3C 28.2.1-28.2.4).
   * Every exit writes all nine, so their written marks are set once, at the first exit.
   */
  saveExitInfo(reason: number, e: HwExitInfo): void {
    const s = this.store;
    s[F.VM_EXIT_REASON] = reason;
    s[F.EXIT_QUALIFICATION] = e.qual;
    s[F.VM_EXIT_INSTRUCTION_LEN] = e.instrLen;
    s[F.VM_EXIT_INTR_INFO] = e.intrInfo >>> 0;
    s[F.VM_EXIT_INTR_ERROR_CODE] = e.intrError;
    s[F.IDT_VECTORING_INFO_FIELD] = e.idtVectoringInfo >>> 0;
    s[F.IDT_VECTORING_ERROR_CODE] = e.idtVectoringError;
    s[F.GUEST_PHYSICAL_ADDRESS] = e.gpa;
    s[F.GUEST_LINEAR_ADDRESS] = e.gla;
    s[F.VMX_INSTRUCTION_INFO] = e.insnInfo;
    if (!this.exitInfoSaved) {
      this.exitInfoSaved = true;
      for (const f of EXIT_INFO_FIELDS) this.written[f] = 1;
    }
  }
  private exitInfoSaved = false;

  /** The processor saved the guest-state area (first VM exit). */
  markGuestStateSaved(): void {
    for (const f of GUEST_FIELDS) this.written[f] = 1;
  }

  wasWritten(field: number): boolean {
    return this.written[field] === 1;
  }

  /** Current value without counting (debugger view, stale-cache checks). */
  peek(field: number): number {
    const k = KIND[field];
    return k === K_STORE || this.detached ? this.store[field] : this.peekGuest(k, field);
  }

  /**
   * vmx_switch_vmcs away from this VMCS: the processor's guest state is saved into the store (the
   * processor goes on with another VMCS's guest).
   */
  detach(): void {
    if (this.detached) return;
    for (const f of GUEST_FIELDS) this.store[f] = this.peek(f);
    this.detached = true;
  }
  /** vmx_switch_vmcs back: the saved guest state is loaded into the processor again. */
  attach(): void {
    if (!this.detached) return;
    this.detached = false;
    for (const f of GUEST_FIELDS) if (KIND[f] !== K_STORE) this.poke(f, this.store[f]);
    this.modeDirty = true; this.tlbDirty = true; this.controlsDirty = true;
  }
  get isDetached(): boolean { return this.detached; }
  /**
   * While detached, take `from`'s guest state as this VMCS's (the nested vmcs02 starts from L1's
   * state: whatever vmcs12 does not load is L1's, e.g. DR7 without "load debug controls").
   */
  inheritGuestState(from: Vmcs): void {
    if (!this.detached) return;
    for (const f of GUEST_FIELDS) if (KIND[f] !== K_STORE) this.store[f] = from.peek(f);
  }

  /** A guest-state field the processor backs, by kind (see KIND): the fields KVM reads on every exit first. */
  private peekGuest(k: number, f: number): number {
    const c = this.cpu;
    switch (k) {
      case K_RIP: return c.rip;
      case K_RFLAGS: return getRflags(c);
      case K_INTERRUPTIBILITY:
        return (c.stiShadow ? F.GUEST_INTR_STATE_STI : 0) | (c.movSsShadow ? F.GUEST_INTR_STATE_MOV_SS : 0) |
          (c.nmiBlocked ? F.GUEST_INTR_STATE_NMI : 0);
      case K_RSP: return c.R[9] * TWO32 + (c.R[8] >>> 0);
      case K_CR0: return c.cr0 >>> 0;
      case K_CR3: return c.cr3;
      case K_CR4: return c.cr4 >>> 0;
    }
    return this.peekGuestOther(k, f);
  }
  private peekGuestOther(k: number, f: number): number {
    const c = this.cpu;
    switch (k) {
      case K_SEG_SEL: return c.seg[SEG_OF[f]].selector;
      case K_SEG_LIMIT: return c.seg[SEG_OF[f]].limit >>> 0;
      case K_SEG_AR: return c.seg[SEG_OF[f]].ar;
      case K_SEG_BASE: return c.seg[SEG_OF[f]].base;
      case K_DR7: return c.dr7;
      case K_EFER: return c.efer;
      case K_PAT: return c.pat[1] * TWO32 + (c.pat[0] >>> 0);
      case K_GDTR_BASE: return c.gdtr.base;
      case K_GDTR_LIMIT: return c.gdtr.limit;
      case K_IDTR_BASE: return c.idtr.base;
      case K_IDTR_LIMIT: return c.idtr.limit;
      case K_PDPTR: return c.pdpte[(f - F.GUEST_PDPTR0) >> 1];
      case K_ACTIVITY:
        return this.waitSipi ? F.GUEST_ACTIVITY_WAIT_SIPI : c.shutdown ? F.GUEST_ACTIVITY_SHUTDOWN
          : c.halted ? F.GUEST_ACTIVITY_HLT : F.GUEST_ACTIVITY_ACTIVE;
      case K_SYSENTER_CS: return c.sysenterCs;
      case K_SYSENTER_ESP: return c.sysenterEsp;
      case K_SYSENTER_EIP: return c.sysenterEip;
      // Pending debug exceptions (SDM Vol. 3C 25.4.2): B3-B0 of data breakpoints whose #DB trap is
      // still to be delivered.
      case K_PENDING_DBG: return c.dbHits & 0xf;
    }
    return this.store[f];
  }

  private poke(f: number, v: number): void {
    const k = KIND[f];
    if (k === K_STORE || this.detached) {
      this.store[f] = v;
      if (CONTROL_FIELD[f] === 1) this.controlsDirty = true;
    } else if (k === K_RIP) this.cpu.rip = v;
    else this.pokeGuest(k, f, v);
  }
  private pokeGuest(k: number, f: number, v: number): void {
    const c = this.cpu;
    switch (k) {
      case K_SEG_SEL: c.seg[SEG_OF[f]].selector = v & 0xffff; this.modeDirty = true; return;
      case K_SEG_LIMIT: c.seg[SEG_OF[f]].limit = v >>> 0; this.modeDirty = true; return;
      case K_SEG_AR: c.seg[SEG_OF[f]].ar = v & 0x1f0ff; this.modeDirty = true; return;
      case K_SEG_BASE: c.seg[SEG_OF[f]].base = v; this.modeDirty = true; return;
      case K_RIP: c.rip = v; return;
      case K_RSP: c.R[8] = v | 0; c.R[9] = Math.floor(v / TWO32) | 0; return;
      case K_RFLAGS: c.lfOp = OP_NONE; c.rflags = (v | 2) & 0x3f7fd7; this.modeDirty = true; return;
      case K_CR0: c.cr0 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case K_CR3: c.cr3 = v; this.tlbDirty = true; return;
      case K_CR4: c.cr4 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case K_DR7: c.dr7 = v; c.slow = true; return;
      case K_EFER: c.efer = v; this.modeDirty = true; this.tlbDirty = true; return;
      case K_PAT: c.pat[0] = v | 0; c.pat[1] = Math.floor(v / TWO32) | 0; return;
      case K_GDTR_BASE: c.gdtr.base = v; return;
      case K_GDTR_LIMIT: c.gdtr.limit = v & 0xffff; return;
      case K_IDTR_BASE: c.idtr.base = v; return;
      case K_IDTR_LIMIT: c.idtr.limit = v & 0xffff; return;
      case K_PDPTR: c.pdpte[(f - F.GUEST_PDPTR0) >> 1] = v; this.tlbDirty = true; return;
      case K_INTERRUPTIBILITY:
        c.stiShadow = (v & F.GUEST_INTR_STATE_STI) !== 0;
        c.movSsShadow = (v & F.GUEST_INTR_STATE_MOV_SS) !== 0;
        c.nmiBlocked = (v & F.GUEST_INTR_STATE_NMI) !== 0;
        c.slow = true;
        return;
      case K_ACTIVITY:
        c.halted = v === F.GUEST_ACTIVITY_HLT;
        this.waitSipi = v === F.GUEST_ACTIVITY_WAIT_SIPI;
        c.shutdown = v === F.GUEST_ACTIVITY_SHUTDOWN;
        c.slow = true;
        return;
      case K_SYSENTER_CS: c.sysenterCs = v & 0xffff; return;
      case K_SYSENTER_ESP: c.sysenterEsp = v; return;
      case K_SYSENTER_EIP: c.sysenterEip = v; return;
      case K_PENDING_DBG: c.dbHits = v & 0xf; if (c.dbHits) c.slow = true; return;
    }
  }

  /** Every field ever written, with its current value (debugger view). */
  fields(): { field: number; value: number }[] {
    const out: { field: number; value: number }[] = [];
    for (let f = 0; f < SIZE; f++) if (this.written[f]) out.push({ field: f, value: this.peek(f) });
    return out;
  }
}

/**
 * How each encoding is backed: K_STORE in the VMCS's own store, otherwise the processor state of
 * that kind (segment kinds take the segment from SEG_OF). Small dense numbers, so peek and poke
 * dispatch through a jump table.
 */
const K_STORE = 0, K_SEG_SEL = 1, K_SEG_LIMIT = 2, K_SEG_AR = 3, K_SEG_BASE = 4, K_RIP = 5, K_RSP = 6, K_RFLAGS = 7,
  K_INTERRUPTIBILITY = 8, K_CR0 = 9, K_CR3 = 10, K_CR4 = 11, K_DR7 = 12, K_EFER = 13, K_PAT = 14, K_GDTR_BASE = 15,
  K_GDTR_LIMIT = 16, K_IDTR_BASE = 17, K_IDTR_LIMIT = 18, K_PDPTR = 19, K_ACTIVITY = 20, K_SYSENTER_CS = 21,
  K_SYSENTER_ESP = 22, K_SYSENTER_EIP = 23, K_PENDING_DBG = 24;
const KIND = new Uint8Array(SIZE);
const SEG_OF = new Uint8Array(SIZE);
const CONTROL_FIELD = new Uint8Array(SIZE);
for (let f = 0; f < SIZE; f++) {
  CONTROL_FIELD[f] = !F.isGuestStateField(f) && !F.isExitInfoField(f) ? 1 : 0;
  const seg = segIndex(f);
  if (seg >= 0) { KIND[f] = K_SEG_SEL + (seg >> 3); SEG_OF[f] = seg & 7; }
}
for (const [f, k] of [[F.GUEST_RIP, K_RIP], [F.GUEST_RSP, K_RSP], [F.GUEST_RFLAGS, K_RFLAGS], [F.GUEST_CR0, K_CR0],
  [F.GUEST_CR3, K_CR3], [F.GUEST_CR4, K_CR4], [F.GUEST_DR7, K_DR7], [F.GUEST_IA32_EFER, K_EFER], [F.GUEST_IA32_PAT, K_PAT],
  [F.GUEST_GDTR_BASE, K_GDTR_BASE], [F.GUEST_GDTR_LIMIT, K_GDTR_LIMIT], [F.GUEST_IDTR_BASE, K_IDTR_BASE],
  [F.GUEST_IDTR_LIMIT, K_IDTR_LIMIT], [F.GUEST_PDPTR0, K_PDPTR], [F.GUEST_PDPTR1, K_PDPTR], [F.GUEST_PDPTR2, K_PDPTR],
  [F.GUEST_PDPTR3, K_PDPTR], [F.GUEST_INTERRUPTIBILITY_INFO, K_INTERRUPTIBILITY], [F.GUEST_ACTIVITY_STATE, K_ACTIVITY],
  [F.GUEST_SYSENTER_CS, K_SYSENTER_CS], [F.GUEST_SYSENTER_ESP, K_SYSENTER_ESP], [F.GUEST_SYSENTER_EIP, K_SYSENTER_EIP],
  [F.GUEST_PENDING_DBG_EXCEPTIONS, K_PENDING_DBG]]) KIND[f] = k;

/** Segment field -> (kind << 3) | segment (kind 0 selector, 1 limit, 2 AR, 3 base), or -1. */
function segIndex(f: number): number {
  if (f >= 0x800 && f <= 0x80e && !(f & 1)) return (f - 0x800) >> 1;
  if (f >= 0x4800 && f <= 0x480e && !(f & 1)) return 8 | ((f - 0x4800) >> 1);
  if (f >= 0x4814 && f <= 0x4822 && !(f & 1)) return 16 | ((f - 0x4814) >> 1);
  if (f >= 0x6806 && f <= 0x6814 && !(f & 1)) return 24 | ((f - 0x6806) >> 1);
  return -1;
}
