// The VMCB of one vCPU (AMD APM Vol. 2 Appendix B; struct vmcb in asm/svm.h). The save area is the
// processor's state while the guest runs; control fields live here. KVM reads and writes the VMCB
// as plain memory; this model counts those accesses like VMREAD/VMWRITE so both vendors compare.
import type { Cpu } from '../../cpu/cpu';
import { getRflags, OP_NONE } from '../../cpu/flags';
import type { ControlBlockTracer } from '../x86_ops';

/** Field ids (not hardware offsets): control area then save area. */
export enum VmcbField {
  intercept_cr, intercept_dr, intercept_exceptions, intercept, tsc_offset, int_ctl, int_state, exit_code,
  exit_info_1, exit_info_2, exit_int_info, exit_int_info_err, nested_ctl, event_inj, event_inj_err, next_rip,
  insn_len, g_pat,
  es_sel, cs_sel, ss_sel, ds_sel, fs_sel, gs_sel, ldtr_sel, tr_sel,
  es_attrib, cs_attrib, ss_attrib, ds_attrib, fs_attrib, gs_attrib, ldtr_attrib, tr_attrib,
  es_limit, cs_limit, ss_limit, ds_limit, fs_limit, gs_limit, ldtr_limit, tr_limit,
  es_base, cs_base, ss_base, ds_base, fs_base, gs_base, ldtr_base, tr_base,
  gdtr_base, gdtr_limit, idtr_base, idtr_limit, cpl, efer, cr4, cr3, cr0, dr7, dr6, rflags, rip, rsp, rax, cr2,
  COUNT,
}
export const VMCB_FIELD_NAMES = ['control.intercept_cr', 'control.intercept_dr', 'control.intercept_exceptions',
  'control.intercepts', 'control.tsc_offset', 'control.int_ctl', 'control.int_state', 'control.exit_code',
  'control.exit_info_1', 'control.exit_info_2', 'control.exit_int_info', 'control.exit_int_info_err',
  'control.nested_ctl', 'control.event_inj', 'control.event_inj_err', 'control.next_rip', 'control.insn_len',
  'save.g_pat',
  ...['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'].map((s) => `save.${s}.selector`),
  ...['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'].map((s) => `save.${s}.attrib`),
  ...['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'].map((s) => `save.${s}.limit`),
  ...['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'].map((s) => `save.${s}.base`),
  'save.gdtr.base', 'save.gdtr.limit', 'save.idtr.base', 'save.idtr.limit', 'save.cpl', 'save.efer', 'save.cr4',
  'save.cr3', 'save.cr0', 'save.dr7', 'save.dr6', 'save.rflags', 'save.rip', 'save.rsp', 'save.rax', 'save.cr2'];

const TWO32 = 4294967296;

/** VMX access rights <-> SVM 12-bit attrib (type, S, DPL, P in 7:0; AVL, L, DB, G in 11:8). */
export function arToAttrib(ar: number): number { return (ar & 0xff) | ((ar >> 4) & 0xf00); }
export function attribToAr(a: number): number { return (a & 0xff) | ((a & 0xf00) << 4) | ((a & 0x80) ? 0 : 0x10000); }

export class Vmcb {
  reads = 0;
  writes = 0;
  private readonly store = new Float64Array(VmcbField.COUNT);
  /** Exact 32-bit halves of the stored values (EXITINFO1 with bit 63 set does not fit a double exactly). */
  private readonly lo32 = new Int32Array(VmcbField.COUNT);
  private readonly hi32 = new Int32Array(VmcbField.COUNT);
  modeDirty = true;
  tlbDirty = true;
  controlsDirty = true;
  tracer: ControlBlockTracer | null = null;

  constructor(readonly cpu: Cpu) {}

  fieldName(f: number): string { return VMCB_FIELD_NAMES[f] ?? `vmcb[${f}]`; }

  read(f: VmcbField): number {
    this.reads++;
    const v = f < VmcbField.g_pat ? this.store[f] : this.peekSave(f);
    if (this.tracer) this.tracer.access(false, f, v);
    return v;
  }
  write(f: VmcbField, v: number): void {
    this.writes++;
    this.poke(f, v);
    if (this.tracer) this.tracer.access(true, f, v);
  }
  /** Written by the processor at #VMEXIT. */
  hwSet(f: VmcbField, v: number): void { this.setStore(f, v); }
  /** Written by the processor at #VMEXIT as exact halves (the number view may round). */
  hwSet64(f: VmcbField, lo: number, hi: number): void {
    this.store[f] = (hi >>> 0) * TWO32 + (lo >>> 0); this.lo32[f] = lo; this.hi32[f] = hi; this.exact[f] = 1;
  }
  /** Bits 31:0 and 63:32 of a control-area field (uncounted: use after read()). */
  low32(f: VmcbField): number { return this.exact[f] ? this.lo32[f] : this.store[f] | 0; }
  high32(f: VmcbField): number { return this.exact[f] ? this.hi32[f] : Math.floor(this.store[f] / TWO32) | 0; }
  private readonly exact = new Uint8Array(VmcbField.COUNT);
  private setStore(f: VmcbField, v: number): void { this.store[f] = v; this.exact[f] = 0; }

  /**
   * svm_vcpu_run's copies of RAX, RSP and RIP from vcpu->arch.regs into the save area before VMRUN,
   * as exact halves (three counted writes, traced in that order).
   */
  writeRegs(regs: Int32Array): void {
    const c = this.cpu, R = c.R;
    this.writes += 3;
    R[0] = regs[0]; R[1] = regs[1];
    R[8] = regs[8]; R[9] = regs[9];
    c.rip = regs[33] * TWO32 + (regs[32] >>> 0);
    if (this.tracer) {
      this.tracer.access(true, VmcbField.rax, regs[1] * TWO32 + (regs[0] >>> 0));
      this.tracer.access(true, VmcbField.rsp, regs[9] * TWO32 + (regs[8] >>> 0));
      this.tracer.access(true, VmcbField.rip, c.rip);
    }
  }
  /** The copies back after #VMEXIT: RAX, RSP and RIP into vcpu->arch.regs (three counted reads). */
  readRegs(regs: Int32Array): void {
    const c = this.cpu, R = c.R;
    this.reads += 3;
    regs[0] = R[0]; regs[1] = R[1];
    regs[8] = R[8]; regs[9] = R[9];
    regs[32] = c.rip | 0; regs[33] = Math.floor(c.rip / TWO32) | 0;
    if (this.tracer) {
      this.tracer.access(false, VmcbField.rax, regs[1] * TWO32 + (regs[0] >>> 0));
      this.tracer.access(false, VmcbField.rsp, regs[9] * TWO32 + (regs[8] >>> 0));
      this.tracer.access(false, VmcbField.rip, regs[33] * TWO32 + (regs[32] >>> 0));
    }
  }

  peek(f: VmcbField): number {
    return f < VmcbField.g_pat ? this.store[f] : this.peekSave(f);
  }
  /** The save area: the processor's state while the guest runs. */
  private peekSave(f: VmcbField): number {
    const c = this.cpu;
    if (f >= VmcbField.es_sel && f < VmcbField.gdtr_base) {
      const k = f - VmcbField.es_sel, seg = c.seg[k & 7];
      switch (k >> 3) {
        case 0: return seg.selector;
        case 1: return arToAttrib(seg.ar);
        case 2: return seg.limit >>> 0;
        default: return seg.base;
      }
    }
    switch (f) {
      case VmcbField.gdtr_base: return c.gdtr.base;
      case VmcbField.gdtr_limit: return c.gdtr.limit;
      case VmcbField.idtr_base: return c.idtr.base;
      case VmcbField.idtr_limit: return c.idtr.limit;
      case VmcbField.cpl: return c.cpl;
      case VmcbField.efer: return c.efer;
      case VmcbField.cr4: return c.cr4 >>> 0;
      case VmcbField.cr3: return c.cr3;
      case VmcbField.cr0: return c.cr0 >>> 0;
      case VmcbField.dr7: return c.dr7;
      case VmcbField.dr6: return c.dr6;
      case VmcbField.rflags: return getRflags(c);
      case VmcbField.rip: return c.rip;
      case VmcbField.rsp: return c.R[9] * TWO32 + (c.R[8] >>> 0);
      case VmcbField.rax: return c.R[1] * TWO32 + (c.R[0] >>> 0);
      case VmcbField.cr2: return c.cr2;
      case VmcbField.g_pat: return c.pat[1] * TWO32 + (c.pat[0] >>> 0);
    }
    return this.store[f];
  }

  private poke(f: VmcbField, v: number): void {
    if (f < VmcbField.g_pat) {
      this.setStore(f, v);
      if (f <= VmcbField.int_ctl || f === VmcbField.nested_ctl) this.controlsDirty = true; // intercepts, TSC offset, V_IRQ
    } else this.pokeSave(f, v);
  }
  private pokeSave(f: VmcbField, v: number): void {
    const c = this.cpu;
    if (f >= VmcbField.es_sel && f < VmcbField.gdtr_base) {
      const k = f - VmcbField.es_sel, seg = c.seg[k & 7];
      switch (k >> 3) {
        case 0: seg.selector = v & 0xffff; break;
        case 1: seg.ar = attribToAr(v); break;
        case 2: seg.limit = v >>> 0; break;
        default: seg.base = v;
      }
      this.modeDirty = true;
      return;
    }
    switch (f) {
      case VmcbField.gdtr_base: c.gdtr.base = v; return;
      case VmcbField.gdtr_limit: c.gdtr.limit = v & 0xffff; return;
      case VmcbField.idtr_base: c.idtr.base = v; return;
      case VmcbField.idtr_limit: c.idtr.limit = v & 0xffff; return;
      case VmcbField.cpl: this.setStore(f, v); this.modeDirty = true; return;
      case VmcbField.efer: c.efer = v; this.modeDirty = true; this.tlbDirty = true; return;
      case VmcbField.cr4: c.cr4 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case VmcbField.cr3: c.cr3 = v; this.tlbDirty = true; return;
      case VmcbField.cr0: c.cr0 = v | 0; this.modeDirty = true; this.tlbDirty = true; return;
      case VmcbField.dr7: c.dr7 = v; c.slow = true; return;
      case VmcbField.dr6: c.dr6 = v; return;
      case VmcbField.rflags: c.lfOp = OP_NONE; c.rflags = (v | 2) & 0x3f7fd7; this.modeDirty = true; return;
      case VmcbField.rip: c.rip = v; return;
      case VmcbField.rsp: c.R[8] = v | 0; c.R[9] = Math.floor(v / TWO32) | 0; return;
      case VmcbField.rax: c.R[0] = v | 0; c.R[1] = Math.floor(v / TWO32) | 0; return;
      case VmcbField.cr2: c.cr2 = v; return;
      case VmcbField.g_pat: c.pat[0] = v | 0; c.pat[1] = Math.floor(v / TWO32) | 0; return;
    }
    this.setStore(f, v);
  }

  fields(): { field: number; value: number }[] {
    const out: { field: number; value: number }[] = [];
    for (let f = 0; f < VmcbField.COUNT; f++) out.push({ field: f, value: this.peek(f) });
    return out;
  }
}
