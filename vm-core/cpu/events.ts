// Exception and interrupt delivery (Intel SDM Vol. 3A ch. 6): the IVT in real mode, IDT gates in
// protected and IA-32e mode, privilege changes through the TSS, the double-fault classes of
// Table 6-5, triple fault, and the exception-bitmap intercept (SDM Vol. 3C 25.2).
import type { Cpu } from './cpu';
import { AC, CS, IF, NT, RF, SS, TF, TR, VM, CR0_PE } from './state';
import { getRflags, materializeFlags } from './flags';
import {
  EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_NOTIFY, EXIT_REASON_NMI_WINDOW,
  EXIT_REASON_INTERRUPT_WINDOW, INTR_INFO_DELIVER_CODE, INTR_INFO_VALID, INTR_TYPE_EXT_INTR,
  INTR_TYPE_HARD_EXCEPTION, INTR_TYPE_NMI, INTR_TYPE_PRIV_SW_EXCEPTION, INTR_TYPE_SOFT_EXCEPTION, INTR_TYPE_SOFT_INTR,
} from './exits';
import { arFromDescriptor, loadCode, readDescriptor } from './segmentation';
import { EXIT } from './signals';

/** Pending event types (VMX interruption types + 1, so 0 means none). */
export const EVT_NONE = 0;
export const EVT_EXTINT = 1 + INTR_TYPE_EXT_INTR, EVT_NMI = 1 + INTR_TYPE_NMI, EVT_EXCEPTION = 1 + INTR_TYPE_HARD_EXCEPTION,
  EVT_SOFT_INT = 1 + INTR_TYPE_SOFT_INTR, EVT_PRIV_SOFT = 1 + INTR_TYPE_PRIV_SW_EXCEPTION,
  EVT_SOFT_EXC = 1 + INTR_TYPE_SOFT_EXCEPTION;

const BENIGN = 0, CONTRIBUTORY = 1, PAGE_FAULT = 2;
/** SDM Table 6-4: exception classes. */
function exceptionClass(v: number): number {
  if (v === 14) return PAGE_FAULT;
  if (v === 0 || v === 10 || v === 11 || v === 12 || v === 13) return CONTRIBUTORY;
  return BENIGN;
}
/** Vectors that push an error code (SDM Table 6-1). */
export function hasErrorCode(v: number): boolean {
  return v === 8 || (v >= 10 && v <= 14) || v === 17 || v === 21;
}
/** Fault-class exceptions: the RFLAGS image pushed for them has RF = 1 (SDM Vol. 3A 17.3.1.1). */
function isFaultClass(v: number): boolean {
  return v === 0 || (v >= 5 && v <= 7) || (v >= 10 && v <= 14) || v === 16 || v === 17 || v === 19 || v === 20 || v === 21;
}

/**
 * An exception raised by an instruction or during event delivery: apply SDM Table 6-5 against the
 * event being delivered (if any) and make the result pending. Any exception while delivering #DF
 * is a triple fault (SDM 6.15, Interrupt 8). `isTrap`: reported after the instruction (#DB traps).
 */
export function raiseFaultDuringDelivery(c: Cpu, vector: number, err: number, isTrap: boolean): void {
  void isTrap;
  if (c.delivering >= 0) {
    const first = c.delivering, firstType = c.deliveringType;
    c.delivering = -1;
    const firstIsException = firstType === EVT_EXCEPTION;
    // The chain a triple fault reports (describeTripleFault): every fault raised while delivering.
    const ch = c.faultChain;
    if (c.faultChainLen < ch.length) ch[c.faultChainLen++] = vector;
    if (first === 8 && firstIsException) { c.faultChainAddr = vector === 14 ? c.pfAddr : NaN; c.pendingTripleFault = true; c.slow = true; return; }
    const fc = firstIsException ? exceptionClass(first) : BENIGN, sc = exceptionClass(vector);
    if ((fc === CONTRIBUTORY && sc === CONTRIBUTORY) || (fc === PAGE_FAULT && sc !== BENIGN)) {
      if (c.faultChainLen < ch.length) ch[c.faultChainLen++] = 8;
      vector = 8; err = 0;
    }
  } else {
    c.faultChain[0] = vector; c.faultChainLen = 1; c.faultChainRip = c.insnRip;
  }
  c.evType = EVT_EXCEPTION;
  c.evVector = vector;
  c.evError = err >= 0 ? err : 0;
  c.evHasError = err >= 0 && hasErrorCode(vector);
  c.evInsnLen = 0;
  c.evInjected = false;
  c.slow = true;
}

/** Queue a software interrupt or exception (INT n, INT3, INTO, INT1) raised by the instruction just executed. */
export function softwareInterrupt(c: Cpu, type: number, vector: number, insnLen: number): void {
  c.evType = type;
  c.evVector = vector;
  c.evError = 0;
  c.evHasError = false;
  c.evInsnLen = insnLen;
  c.evInjected = false;
  c.slow = true;
}

// ---------------------------------------------------------------- the hypervisor's view

/**
 * Inject an event as VM entry does (SDM Vol. 3C 26.6, VM-entry interruption-information field):
 * `type` is the VMX interruption type (INTR_TYPE_*), `errorCode` -1 for none, `instrLen` the
 * VM-entry instruction length for software interrupts/exceptions (RIP then points past the
 * instruction, as if it had just executed). Delivered at the next instruction boundary, without
 * consulting the exception bitmap and without writing CR2 (KVM sets CR2 itself for #PF).
 */
export function injectEvent(c: Cpu, type: number, vector: number, errorCode = -1, instrLen = 0): void {
  c.evType = type + 1;
  c.evVector = vector & 0xff;
  c.evHasError = errorCode >= 0;
  c.evError = errorCode >= 0 ? errorCode : 0;
  c.evInsnLen = 0;
  if (type === INTR_TYPE_SOFT_INTR || type === INTR_TYPE_SOFT_EXCEPTION || type === INTR_TYPE_PRIV_SW_EXCEPTION) {
    c.evInsnLen = instrLen;
    c.rip = c.maskIp(c.rip + instrLen);
  }
  c.evInjected = true;
  c.slow = true;
}

/** The pending (not yet delivered) event in VM-entry interruption-information format, 0 if none. */
export function pendingEventInfo(c: Cpu): { info: number; errorCode: number; instrLen: number } {
  if (c.evType === EVT_NONE) return { info: 0, errorCode: 0, instrLen: 0 };
  const info = (c.evVector & 0xff) | ((c.evType - 1) << 8) | (c.evHasError ? INTR_INFO_DELIVER_CODE : 0) | INTR_INFO_VALID;
  return { info, errorCode: c.evError, instrLen: c.evInsnLen };
}
/** Drop the pending event (KVM_SET_VCPU_EVENTS clearing it, or the hypervisor taking it over). */
export function cancelPendingEvent(c: Cpu): void {
  if (c.evType !== EVT_NONE && c.evInsnLen) c.rip = c.maskIp(c.rip - c.evInsnLen);
  c.evType = EVT_NONE;
  c.evInjected = false;
}

/** Interrupt window (SDM Vol. 3C 25.2): RFLAGS.IF = 1, no STI/MOV SS blocking, nothing pending. */
export function interruptWindowOpen(c: Cpu): boolean {
  return (c.rflags & IF) !== 0 && !c.stiShadow && !c.movSsShadow && c.evType === EVT_NONE && !c.pendingTripleFault;
}
/** NMI window: no NMI blocking, no STI/MOV SS blocking (KVM's vmx_nmi_blocked), nothing pending. */
export function nmiWindowOpen(c: Cpu): boolean {
  return !c.nmiBlocked && !c.stiShadow && !c.movSsShadow && c.evType === EVT_NONE && !c.pendingTripleFault;
}
/** Assert the INTR line of a bare processor (delivered when the interrupt window opens); -1 lowers it. */
export function raiseInterrupt(c: Cpu, vector: number): void { c.intrLine = vector; c.slow = true; }
/** Latch an NMI on a bare processor (delivered when NMIs are not blocked). */
export function raiseNmi(c: Cpu): void { c.nmiLine = true; c.slow = true; }

/** Work that keeps the slow path on at every boundary (lines, window exits, notify, breakpoints). */
export function boundaryWork(c: Cpu): boolean {
  const x = c.intercepts;
  return c.intrLine >= 0 || c.nmiLine || x.interruptWindow || x.nmiWindow || (c.dr7 & 0xff) !== 0 ||
    c.evType !== EVT_NONE || c.pendingTripleFault;
}

/**
 * Everything that happens at an instruction boundary before the next instruction, in the priority
 * order of SDM Vol. 3A Table 6-2 and Vol. 3C 25.2: triple fault, notify window, the pending
 * event, NMI-window and interrupt-window exits, NMI, external interrupt. Returns a RUN_* code to
 * stop (RUN_SHUTDOWN), else -1. Throws EXIT for exits (run() reports RUN_EXIT).
 */
export function instructionBoundary(c: Cpu): number {
  if (c.pendingTripleFault) { tripleFault(c); return c.shutdown ? RUN_SHUTDOWN_CODE : -1; }
  const x = c.intercepts;
  if (c.evType !== EVT_NONE) { deliverPendingEvent(c); c.slow = true; return -1; }
  if (x.nmiWindow && nmiWindowOpen(c)) windowExit(c, EXIT_REASON_NMI_WINDOW);
  if (x.interruptWindow && interruptWindowOpen(c)) windowExit(c, EXIT_REASON_INTERRUPT_WINDOW);
  if (c.nmiLine && nmiWindowOpen(c)) {
    c.nmiLine = false;
    c.evType = EVT_NMI; c.evVector = 2; c.evHasError = false; c.evInsnLen = 0; c.evInjected = false;
    deliverPendingEvent(c); c.slow = true; return -1;
  }
  if (c.intrLine >= 0 && interruptWindowOpen(c)) {
    const v = c.intrLine;
    c.intrLine = -1;
    c.evType = EVT_EXTINT; c.evVector = v; c.evHasError = false; c.evInsnLen = 0; c.evInjected = false;
    deliverPendingEvent(c); c.slow = true; return -1;
  }
  return -1;
}
const RUN_SHUTDOWN_CODE = 4;

// ---------------------------------------------------------------- notify VM exits (SDM Vol. 3C 26.2, 25.9.1)

/**
 * Units beyond the VMM's notify window the processor tolerates (real processors add an internal
 * threshold too), so that legitimate chains (fault -> #DF -> triple fault, a #DB trap after a
 * delivery) never cause a notify exit even with window 0.
 */
export const NOTIFY_INTERNAL_THRESHOLD = 8;
/** Exit qualification bit 0 of a notify exit: the VM context is invalid. */
export const NOTIFY_VM_CONTEXT_INVALID = 1;

/**
 * One unit of time without an instruction boundary: an event delivery begins, or a delivery
 * commits CS:RIP, SS:RSP and RFLAGS (`committed`). Reaching an instruction with nothing to deliver
 * (an event window) resets the count, and so does VM entry (kvm/vcpu.ts runCpu). Past the window
 * (plus the internal threshold), VM exit NOTIFY: at the start
 * of a delivery nothing has changed and the event is reported in the IDT-vectoring information
 * for re-injection; after a commit the exit interrupts a delivery that already changed guest state,
 * so the VM context is invalid (exit qualification bit 0).
 */
function notifyTick(c: Cpu, info: number, err: number, ilen: number, committed: boolean): void {
  const x = c.intercepts;
  if (++c.noBoundaryCount <= x.notifyWindow + NOTIFY_INTERNAL_THRESHOLD || !x.notify) return;
  c.noBoundaryCount = 0;
  const e = c.exit;
  e.reset();
  e.reason = EXIT_REASON_NOTIFY;
  e.qual = committed ? NOTIFY_VM_CONTEXT_INVALID : 0;
  e.idtVectoringInfo = info;
  e.idtVectoringError = err >= 0 ? err : 0;
  e.instrLen = ilen;
  // A software event not yet begun is re-injected with its length: RIP back at the instruction.
  if (!committed && ilen) c.rip = c.maskIp(c.rip - ilen);
  c.delivering = -1;
  c.vectoringInfo = 0;
  c.slow = true;
  throw EXIT;
}

function windowExit(c: Cpu, reason: number): never {
  const e = c.exit;
  e.reset();
  e.reason = reason;
  c.halted = false;
  throw EXIT;
}

// ---------------------------------------------------------------- debug registers (SDM Vol. 3B 17.2)

/** Length in bytes of DR7's LENn encoding (00 1, 01 2, 11 4, 10 8). */
function bpLen(dr7: number, n: number): number {
  const l = (dr7 >>> (18 + 4 * n)) & 3;
  return l === 0 ? 1 : l === 1 ? 2 : l === 3 ? 4 : 8;
}
function bpEnabled(dr7: number, n: number): boolean { return ((dr7 >>> (2 * n)) & 3) !== 0; }
function bpRw(dr7: number, n: number): number { return (dr7 >>> (16 + 4 * n)) & 3; }

/** Instruction breakpoints (R/W = 00) at the linear RIP; suppressed by RFLAGS.RF. Also tracks data breakpoints. */
export function checkCodeBreakpoints(c: Cpu): void {
  c.slow = true;
  c.dbHits = 0;
  const dr7 = c.dr7;
  let data = false;
  for (let n = 0; n < 4; n++) if (bpEnabled(dr7, n) && (bpRw(dr7, n) & 1)) data = true;
  if (data !== c.dataBpOn) { c.dataBpOn = data; c.updateAccessMode(); }
  if (c.rflags & RF) return;
  // Intel processors inhibit instruction breakpoints while MOV SS / POP SS blocking is in effect
  // (the instruction after it); AMD processors report them (KVM's kvm_vcpu_check_code_breakpoint).
  if (c.movSsShadow && c.vendor === 'intel') return;
  const lin = c.codeBits === 64 ? c.rip : (c.seg[CS].base + c.rip) >>> 0;
  let hits = 0;
  for (let n = 0; n < 4; n++) if (bpEnabled(dr7, n) && bpRw(dr7, n) === 0 && c.dr[n] === lin) hits |= 1 << n;
  if (hits) {
    c.dr6 = ((c.dr6 & ~0xf) | hits) >>> 0;
    c.insnRip = c.rip;
    c.cur = null;
    c.fault(1);
  }
}

/** A data access at `lin` (called from the slow access path while data breakpoints are on). */
export function noteDataAccess(c: Cpu, lin: number, len: number, write: boolean): void {
  const dr7 = c.dr7;
  for (let n = 0; n < 4; n++) {
    if (!bpEnabled(dr7, n)) continue;
    const rw = bpRw(dr7, n);
    if (rw === 1 ? !write : rw !== 3) continue;
    const l = bpLen(dr7, n), a = c.dr[n] - (c.dr[n] % l);
    if (lin < a + l && a < lin + len) c.dbHits |= 1 << n;
  }
}

/** After an instruction completes: data-breakpoint hits and the single-step trap become one #DB. */
export function afterInstruction(c: Cpu, singleStep: boolean): void {
  let bits = 0;
  if (c.dbHits) { bits |= c.dbHits; c.dbHits = 0; }
  if (singleStep) bits |= 0x4000;
  if (!bits || c.evType !== EVT_NONE) return;
  c.dr6 = ((c.dr6 & ~0xf) | bits) >>> 0;
  raiseFaultDuringDelivery(c, 1, -1, true);
}

/** Triple fault (SDM 6.15 Interrupt 8): a hardware exit when intercepted, else shutdown. */
export function tripleFault(c: Cpu): void {
  c.pendingTripleFault = false;
  c.evType = EVT_NONE;
  c.delivering = -1;
  c.vectoringInfo = 0;
  if (c.intercepts.tripleFault) {
    c.exit.reset();
    c.exit.reason = EXIT_REASON_TRIPLE_FAULT;
    c.exit.idtVectoringInfo = 0;
    throw EXIT;
  }
  c.shutdown = true;
}

/** Deliver the pending event (called at an instruction boundary by the slow path). */
export function deliverPendingEvent(c: Cpu): void {
  if (c.pendingTripleFault) { tripleFault(c); return; }
  const type = c.evType, vector = c.evVector, err = c.evHasError ? c.evError : -1, ilen = c.evInsnLen;
  const injected = c.evInjected;
  c.evType = EVT_NONE;
  c.evInjected = false;
  c.halted = false;
  // A fault during delivery restarts at the instruction for software events, else at RIP.
  c.insnRip = ilen ? c.maskIp(c.rip - ilen) : c.rip;
  c.eventOrigin = c.cur;
  c.cur = null;
  c.dbHits = 0; // data breakpoints of an instruction that did not complete are not reported
  const vmxType = type - 1;
  const info = (vector & 0xff) | (vmxType << 8) | (err >= 0 ? INTR_INFO_DELIVER_CODE : 0) | INTR_INFO_VALID;
  notifyTick(c, info, err, ilen, false);
  // Exception bitmap (SDM Vol. 3C 25.2): exceptions, INT3/INTO and INT1 cause a VM exit instead.
  if (!injected && (type === EVT_EXCEPTION || type === EVT_SOFT_EXC || type === EVT_PRIV_SOFT) &&
    ((c.intercepts.exceptionBitmap >>> vector) & 1)) {
    const e = c.exit;
    e.reset();
    e.reason = EXIT_REASON_EXCEPTION_NMI;
    e.intrInfo = info;
    e.intrError = err >= 0 ? err : 0;
    e.idtVectoringInfo = c.vectoringInfo;
    e.idtVectoringError = c.vectoringError;
    if (vector === 14) e.qual = c.pfAddr;       // #PF: the faulting linear address, CR2 untouched
    if (vector === 1 && type === EVT_EXCEPTION) e.qual = c.dr6 & 0x600f;
    if (type !== EVT_EXCEPTION) { e.instrLen = ilen; c.rip = c.maskIp(c.rip - ilen); }
    c.delivering = -1;
    c.vectoringInfo = 0;
    throw EXIT;
  }
  if (type === EVT_EXCEPTION && vector === 14 && !injected) c.cr2 = c.pfAddr;
  // Entering the #DB handler clears DR7.GD, so the handler may use the debug registers (SDM Vol. 3B 17.2.4).
  if (vector === 1 && (type === EVT_EXCEPTION || type === EVT_PRIV_SOFT)) c.dr7 &= ~0x2000;
  c.delivering = vector;
  c.deliveringType = type;
  c.vectoringInfo = info;
  c.vectoringError = err >= 0 ? err : 0;
  const ext = type === EVT_EXCEPTION || type === EVT_EXTINT || type === EVT_NMI || type === EVT_PRIV_SOFT ? 1 : 0;
  const rfImage = type === EVT_EXCEPTION && isFaultClass(vector) ? RF : 0;
  try {
    if (!(c.cr0 & CR0_PE)) deliverReal(c, vector);
    else if (c.rflags & VM) c.notEmulated(c.cur ?? dummyInsn(c), 'virtual-8086 mode is not emulated (event delivery in VM86)');
    else if (c.isLongMode()) deliverLong(c, type, vector, err, ext, rfImage);
    else deliverProtected(c, type, vector, err, ext, rfImage);
  } catch (e) {
    if (e === EXIT) {
      // An exit in the middle of delivery (EPT violation, unemulated task gate): the event is
      // reported in the IDT-vectoring information and the hypervisor re-injects it.
      if (ilen) c.exit.instrLen = ilen;
      c.delivering = -1;
      c.vectoringInfo = 0;
    }
    throw e;
  }
  if (type === EVT_NMI) c.nmiBlocked = true;
  notifyTick(c, info, err, ilen, true);
  c.delivering = -1;
  c.vectoringInfo = 0;
  // The frame's pushes hit a data breakpoint: a #DB trap before the handler's first instruction
  // (SDM Vol. 3B 17.3.1.2); with the frame on the breakpoint this loops forever (CVE-2015-8104).
  if (c.dbHits) afterInstruction(c, false);
}

function dummyInsn(c: Cpu) { void c; return { mnemonic: 'event delivery', bytes: new Uint8Array(0), len: 0 } as never; }

/** Real-address mode (SDM Vol. 3A 20.1.4): IVT entry of 4 bytes, push FLAGS, CS, IP. */
function deliverReal(c: Cpu, vector: number): void {
  const off = vector * 4;
  if (off + 3 > c.idtr.limit) c.gp(vector * 8 + 2);
  const ip = c.readSys(c.idtr.base + off, 2);
  const cs = c.readSys(c.idtr.base + off + 2, 2);
  const flags = getRflags(c) & 0xffff;
  const ss = c.seg[SS];
  let sp = c.R[2 * 4] & 0xffff;
  const mask = c.stackBits === 32 ? 0xffffffff : 0xffff;
  const spFull = c.stackBits === 32 ? c.R[2 * 4] >>> 0 : sp;
  const a1 = (spFull - 2) & mask, a2 = (spFull - 4) & mask, a3 = (spFull - 6) & mask;
  c.writeLin16(c.linear(SS, a1, 2, true), flags);
  c.writeLin16(c.linear(SS, a2, 2, true), c.seg[CS].selector);
  c.writeLin16(c.linear(SS, a3, 2, true), c.rip & 0xffff);
  void ss; void sp;
  if (c.stackBits === 32) c.R[2 * 4] = a3; else c.set16(4, a3);
  c.rflags &= ~(IF | TF | AC | RF);
  const s = c.seg[CS];
  s.selector = cs; s.base = cs << 4;
  c.rip = ip;
  c.updateMode();
}

interface Gate { selector: number; offset: number; type: number; dpl: number; present: boolean; ist: number; }

function readGate(c: Cpu, vector: number, size: number, ext: number): Gate {
  const off = vector * size;
  if (off + size - 1 > c.idtr.limit) c.gp(vector * 8 + 2 + ext);
  const lo = c.readSys(c.idtr.base + off, 4) | 0;
  const hi = c.readSys(c.idtr.base + off + 4, 4) | 0;
  let offset = ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
  if (size === 16) {
    const up = c.readSys(c.idtr.base + off + 8, 4) | 0;
    offset = up * 4294967296 + offset; // sign of bits 63:32 keeps canonical values exact
  }
  return { selector: (lo >>> 16) & 0xffff, offset, type: (hi >> 8) & 0xf, dpl: (hi >> 13) & 3,
    present: (hi & 0x8000) !== 0, ist: hi & 7 };
}

/** Check the gate and the target code segment; returns the descriptor and new CPL. */
function checkGateTarget(c: Cpu, g: Gate, type: number, vector: number, ext: number) {
  const idtErr = vector * 8 + 2 + ext;
  // Software interrupts check the gate DPL against CPL (SDM 6.12.1.1).
  if ((type === EVT_SOFT_INT || type === EVT_SOFT_EXC) && g.dpl < c.cpl) c.gp(idtErr);
  if (!g.present) c.fault(11, idtErr);
  const sel = g.selector;
  if ((sel & 0xfffc) === 0) c.gp(ext);
  const d = readDescriptor(c, sel);
  if (!d) c.gp((sel & 0xfffc) + ext);
  const ar = arFromDescriptor(d.hi);
  const dpl = (ar >> 5) & 3;
  if (!(ar & 0x10) || !(ar & 8) || dpl > c.cpl) c.gp((sel & 0xfffc) + ext);
  if (!(ar & 0x80)) c.fault(11, (sel & 0xfffc) + ext);
  const conforming = (ar & 4) !== 0;
  const newCpl = conforming ? c.cpl : dpl;
  return { d, newCpl, sel };
}

function deliverProtected(c: Cpu, type: number, vector: number, err: number, ext: number, rfImage: number): void {
  const g = readGate(c, vector, 8, ext);
  if (g.type === 5) c.notEmulated(c.cur ?? dummyInsn(c), `task gate for vector ${vector}: task switching is not emulated`);
  if (g.type !== 6 && g.type !== 7 && g.type !== 0xe && g.type !== 0xf) c.gp(vector * 8 + 2 + ext);
  const { d, newCpl, sel } = checkGateTarget(c, g, type, vector, ext);
  const gate32 = (g.type & 8) !== 0;
  const w = gate32 ? 4 : 2;
  const flags = getRflags(c) | rfImage;
  const oldCs = c.seg[CS].selector, oldSs = c.seg[SS].selector, oldEsp = c.R[8] >>> 0, oldCpl = c.cpl;
  let ssSel = oldSs, esp = c.stackBits === 32 ? oldEsp : oldEsp & 0xffff;
  let ssDesc: { lo: number; hi: number } | undefined;
  let ssBase = c.seg[SS].base, ss32 = c.stackBits === 32;
  let ssLimit = c.seg[SS].limit, ssErr = 0;
  if (newCpl < oldCpl) {
    // Stack switch from the TSS (SDM 6.12.1): SS0:ESP0 etc.
    const tr = c.seg[TR];
    const tss32 = (tr.ar & 8) !== 0;
    const o = tss32 ? 4 + newCpl * 8 : 2 + newCpl * 4;
    if (o + (tss32 ? 5 : 3) > tr.limit) c.fault(10, (tr.selector & 0xfffc) + ext);
    esp = tss32 ? c.readSys(tr.base + o, 4) >>> 0 : c.readSys(tr.base + o, 2);
    ssSel = c.readSys(tr.base + o + (tss32 ? 4 : 2), 2);
    if ((ssSel & 0xfffc) === 0) c.fault(10, ext);
    ssDesc = readDescriptor(c, ssSel);
    if (!ssDesc) c.fault(10, (ssSel & 0xfffc) + ext);
    const ar = arFromDescriptor(ssDesc.hi);
    if ((ssSel & 3) !== newCpl || ((ar >> 5) & 3) !== newCpl || !(ar & 0x10) || (ar & 8) || !(ar & 2)) {
      c.fault(10, (ssSel & 0xfffc) + ext);
    }
    if (!(ar & 0x80)) c.fault(12, (ssSel & 0xfffc) + ext);
    ssBase = ((ssDesc.lo >>> 16) | ((ssDesc.hi & 0xff) << 16) | (ssDesc.hi & 0xff000000)) >>> 0;
    ss32 = (ar & 0x4000) !== 0;
    ssLimit = (ssDesc.lo & 0xffff) | (ssDesc.hi & 0xf0000);
    if (ssDesc.hi & 0x800000) ssLimit = (ssLimit * 4096 + 0xfff) >>> 0;
    ssErr = (ssSel & 0xfffc) + ext;
  }
  const frame: number[] = [];
  if (newCpl < oldCpl) frame.push(oldSs, oldEsp);
  frame.push(flags, oldCs, c.rip >>> 0);
  if (err >= 0) frame.push(err);
  const mask = ss32 ? 0xffffffff : 0xffff;
  let sp = esp;
  const addrs: number[] = [];
  for (let k = 0; k < frame.length; k++) {
    sp = (sp - w) & mask;
    // The new frame must fit the (expand-up) stack segment: #SS (SDM Vol. 3A 6.12.1).
    if ((sp >>> 0) + w - 1 > ssLimit) c.fault(12, ssErr);
    addrs.push(sp >>> 0);
    // Pushes at CPL 3 (no privilege change) are alignment-checked: #AC while delivering #AC loops (CVE-2015-5307).
    if (newCpl === 3 && c.acCheck && ((ssBase + sp) & (w - 1))) c.fault(17, 0);
  }
  for (let k = 0; k < frame.length; k++) {
    const lin = (ssBase + addrs[k]) >>> 0;
    if (w === 4) c.writeSys(lin, 4, frame[k] | 0); else c.writeSys(lin, 2, frame[k] & 0xffff);
    if (c.dataBpOn) noteDataAccess(c, lin, w, true);
  }
  if (ssDesc) {
    const s = c.seg[SS];
    s.selector = ssSel; s.base = ssBase;
    s.limit = (ssDesc.lo & 0xffff) | (ssDesc.hi & 0xf0000);
    if (ssDesc.hi & 0x800000) s.limit = (s.limit * 4096 + 0xfff) >>> 0;
    s.ar = arFromDescriptor(ssDesc.hi);
  }
  if (ss32) c.R[8] = sp; else c.set16(4, sp);
  loadCode(c, sel, d, newCpl);
  c.rip = gate32 ? g.offset >>> 0 : g.offset & 0xffff;
  c.rflags &= ~(TF | NT | RF | VM);
  if (!(g.type & 1)) c.rflags &= ~IF;
  c.updateMode();
  c.updateAcCheck();
}

function deliverLong(c: Cpu, type: number, vector: number, err: number, ext: number, rfImage: number): void {
  const g = readGate(c, vector, 16, ext);
  if (g.type !== 0xe && g.type !== 0xf) c.gp(vector * 8 + 2 + ext);
  const { d, newCpl, sel } = checkGateTarget(c, g, type, vector, ext);
  if (!(d.hi & 0x200000) || (d.hi & 0x400000)) c.gp((sel & 0xfffc) + ext); // target must be 64-bit code (L=1, D=0)
  if (g.offset < -0x800000000000 || g.offset >= 0x800000000000) c.gp(ext);
  materializeFlags(c);
  const flags = c.rflags | rfImage;
  const oldCs = c.seg[CS].selector, oldSs = c.seg[SS].selector;
  const oldRspLo = c.R[8], oldRspHi = c.R[9];
  let rsp: number;
  const tr = c.seg[TR];
  if (g.ist) {
    const o = 0x24 + (g.ist - 1) * 8;
    if (o + 7 > tr.limit) c.fault(10, (tr.selector & 0xfffc) + ext);
    const lo = c.readSys(tr.base + o, 4), hi = c.readSys(tr.base + o + 4, 4) | 0;
    rsp = hi * 4294967296 + (lo >>> 0);
  } else if (newCpl < c.cpl) {
    const o = 4 + newCpl * 8;
    if (o + 7 > tr.limit) c.fault(10, (tr.selector & 0xfffc) + ext);
    const lo = c.readSys(tr.base + o, 4), hi = c.readSys(tr.base + o + 4, 4) | 0;
    rsp = hi * 4294967296 + (lo >>> 0);
  } else {
    rsp = c.codeBits === 64 ? oldRspHi * 4294967296 + (oldRspLo >>> 0) : oldRspLo >>> 0;
  }
  rsp -= ((rsp % 16) + 16) % 16; // align to 16 (SDM 6.14.2)
  if (rsp < -0x800000000000 || rsp >= 0x800000000000) c.fault(12, ext);
  const ripVal = c.rip;
  const vals: [number, number][] = [
    [oldSs, 0], [oldRspLo, oldRspHi], [flags, 0], [oldCs, 0],
    [ripVal >>> 0 | 0, Math.floor(ripVal / 4294967296) | 0],
  ];
  if (err >= 0) vals.push([err, 0]);
  let sp = rsp;
  for (const [lo, hi] of vals) {
    sp -= 8;
    if (newCpl < 3) { c.writeSys(sp, 8, lo | 0, hi); if (c.dataBpOn) noteDataAccess(c, sp, 8, true); }
    else c.writeLin64(sp, lo | 0, hi);
  }
  if (newCpl < c.cpl) {
    const s = c.seg[SS];
    s.selector = newCpl; s.base = 0; s.limit = 0; s.ar = 0x10000 | 0x93 | (newCpl << 5);
  }
  c.R[8] = sp | 0;
  c.R[9] = Math.floor(sp / 4294967296) | 0;
  loadCode(c, sel, d, newCpl);
  c.rip = g.offset;
  c.rflags &= ~(TF | NT | RF | VM);
  if (!(g.type & 1)) c.rflags &= ~IF;
  c.updateMode();
  c.updateAcCheck();
}
