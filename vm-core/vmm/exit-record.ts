// A JSON-ready record of one exit to userspace, with the field names of struct kvm_run
// (`kvm-guest run --json`, the debugger's exit log and its conditions). 64-bit values are
// "0x..." strings; small numbers stay numbers.
import * as U from '../kvm/uapi';

export type ExitRecord = Record<string, unknown> & { reason: string; vcpu: number; rip: string };

export function hex(v: number | bigint): string {
  const b = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? (1n << 64n) + BigInt(v) : BigInt(v);
  return '0x' + b.toString(16);
}

/** Short name of a KVM_EXIT_* reason: "IO", "HYPERCALL", ... */
export function exitReasonName(reason: number): string {
  return (U.KVM_EXIT_NAMES[reason] ?? `KVM_EXIT_${reason}`).replace(/^KVM_EXIT_/, '');
}

/**
 * Describe the exit now in `run`. For KVM_EXIT_IO the data of an OUT is included; the data an IN
 * returns is added by `completeExitRecord` once the VMM has answered.
 */
export function exitRecord(run: U.kvm_run, vcpu: number, rip: number): ExitRecord {
  const r: ExitRecord = { reason: exitReasonName(run.exit_reason), vcpu, rip: hex(rip) };
  switch (run.exit_reason) {
    case U.KVM_EXIT_IO: {
      const io = run.io;
      Object.assign(r, { port: io.port, dir: io.direction === U.KVM_EXIT_IO_OUT ? 'out' : 'in', size: io.size, count: io.count });
      if (io.direction === U.KVM_EXIT_IO_OUT) r.data = Array.from(run.data.subarray(io.data_offset, io.data_offset + io.size * io.count));
      break;
    }
    case U.KVM_EXIT_MMIO: {
      const m = run.mmio;
      Object.assign(r, { addr: hex(m.phys_addr), len: m.len, is_write: m.is_write });
      if (m.is_write) r.data = Array.from(m.data.subarray(0, m.len));
      break;
    }
    case U.KVM_EXIT_HYPERCALL: {
      const h = run.hypercall;
      Object.assign(r, { nr: Number(h.nr), args: h.args.map(hex), ret: hex(h.ret), flags: hex(h.flags) });
      break;
    }
    case U.KVM_EXIT_INTERNAL_ERROR: {
      const e = run.internal;
      r.suberror = e.suberror;
      r.ndata = e.ndata;
      r.data = e.data.slice(0, Math.min(e.ndata, 16)).map(hex);
      if (e.suberror === U.KVM_INTERNAL_ERROR_EMULATION && run.emulation_failure.insn_size) {
        r.insn_bytes = Array.from(run.emulation_failure.insn_bytes.subarray(0, run.emulation_failure.insn_size));
      }
      break;
    }
    case U.KVM_EXIT_SYSTEM_EVENT:
      Object.assign(r, { type: run.system_event.type, ndata: run.system_event.ndata, data: run.system_event.data.slice(0, run.system_event.ndata).map(hex) });
      break;
    case U.KVM_EXIT_X86_RDMSR: case U.KVM_EXIT_X86_WRMSR:
      Object.assign(r, { index: hex(run.msr.index), data: hex(run.msr.data), msr_reason: run.msr.reason, error: run.msr.error });
      break;
    case U.KVM_EXIT_HYPERV: {
      // Only the union member the type names: HCALL {input, result, params}, SYNIC {msr, control, evt_page,
      // msg_page}, OVERLAY {msr, gpa, data_len, data}.
      const hv = run.hyperv as unknown as { type: number; u: Record<string, Record<string, unknown>> };
      r.type = hv.type;
      const member = hv.type === U.KVM_EXIT_HYPERV_HCALL ? 'hcall' : hv.type === U.KVM_EXIT_HYPERV_SYNIC ? 'synic' : hv.type === 4 ? 'overlay' : undefined;
      if (member && hv.u[member]) {
        for (const [k, v] of Object.entries(hv.u[member])) {
          if (k === 'data' && v instanceof Uint8Array) r.data = Array.from(v.subarray(0, Number(hv.u[member].data_len ?? 0)));
          else r[k] = jsonable(v);
        }
      }
      break;
    }
    case U.KVM_EXIT_NOTIFY: r.flags = run.notify.flags; break;
    case U.KVM_EXIT_DEBUG: {
      const d = run.debug.arch;
      Object.assign(r, { exception: d.exception, pc: hex(d.pc), dr6: hex(d.dr6), dr7: hex(d.dr7) });
      break;
    }
    case U.KVM_EXIT_FAIL_ENTRY: r.hardware_entry_failure_reason = hex(run.fail_entry.hardware_entry_failure_reason); break;
    case U.KVM_EXIT_UNKNOWN: r.hardware_exit_reason = hex(run.hw.hardware_exit_reason); break;
    case U.KVM_EXIT_MEMORY_FAULT:
      Object.assign(r, { flags: hex(run.memory_fault.flags), gpa: hex(run.memory_fault.gpa), size: hex(run.memory_fault.size) });
      break;
  }
  return r;
}

/** After the VMM answered: the data an IN or MMIO read returned, and a hypercall's reply. */
export function completeExitRecord(r: ExitRecord, run: U.kvm_run): void {
  if (run.exit_reason === U.KVM_EXIT_IO && run.io.direction === U.KVM_EXIT_IO_IN) {
    r.data = Array.from(run.data.subarray(run.io.data_offset, run.io.data_offset + run.io.size * run.io.count));
  } else if (run.exit_reason === U.KVM_EXIT_MMIO && !run.mmio.is_write) {
    r.data = Array.from(run.mmio.data.subarray(0, run.mmio.len));
  } else if (run.exit_reason === U.KVM_EXIT_HYPERCALL) {
    r.ret = hex(run.hypercall.ret);
  }
}

function jsonable(v: unknown): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(jsonable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonable(x)]));
  return v;
}

/** struct kvm_regs / kvm_sregs as JSON (64-bit values as "0x..." strings). */
export function regsJson(regs: U.kvm_regs): Record<string, string> {
  return Object.fromEntries(Object.entries(regs).map(([k, v]) => [k, hex(v as bigint)]));
}
export function sregsJson(s: U.kvm_sregs): Record<string, unknown> {
  const seg = (x: U.kvm_segment) => ({ selector: x.selector, base: hex(x.base), limit: hex(x.limit >>> 0), type: x.type,
    s: x.s, dpl: x.dpl, present: x.present, db: x.db, l: x.l, g: x.g, avl: x.avl, unusable: x.unusable });
  const dt = (x: U.kvm_dtable) => ({ base: hex(x.base), limit: x.limit });
  return {
    cs: seg(s.cs), ds: seg(s.ds), es: seg(s.es), fs: seg(s.fs), gs: seg(s.gs), ss: seg(s.ss), tr: seg(s.tr), ldt: seg(s.ldt),
    gdt: dt(s.gdt), idt: dt(s.idt), cr0: hex(s.cr0), cr2: hex(s.cr2), cr3: hex(s.cr3), cr4: hex(s.cr4), cr8: hex(s.cr8),
    efer: hex(s.efer), apic_base: hex(s.apic_base),
  };
}
