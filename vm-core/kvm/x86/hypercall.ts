// KVM hypercalls (x86.c ____kvm_emulate_hypercall, complete_hypercall_exit; hypercalls.rst):
// nr in RAX, a0..a3 in RBX, RCX, RDX, RSI, result in RAX; 32-bit outside 64-bit mode; CPL != 0 is
// -KVM_EPERM; PV features gated by KVM_CAP_ENFORCE_PV_FEATURE_CPUID; KVM_HC_MAP_GPA_RANGE exits to
// userspace when KVM_CAP_EXIT_HYPERCALL enabled it (seed 003).
import type { KvmVcpu } from '../vcpu';
import {
  KVM_ENOSYS, KVM_EPERM, KVM_EINVAL, KVM_EXIT_HYPERCALL, KVM_HC_VAPIC_POLL_IRQ, KVM_HC_KICK_CPU, KVM_HC_SEND_IPI,
  KVM_HC_SCHED_YIELD, KVM_HC_MAP_GPA_RANGE, KVM_FEATURE_PV_UNHALT, KVM_FEATURE_PV_SEND_IPI,
  KVM_FEATURE_PV_SCHED_YIELD, KVM_EXIT_HYPERCALL_LONG_MODE, KVM_HC_CLOCK_PAIRING, KVM_EOPNOTSUPP,
} from '../uapi';
import { kvm_gpr_read, kvm_gpr_write } from './kvm_cache_regs';
import { is_64_bit_mode, kvm_skip_emulated_instruction } from './x86';
import { guest_pv_has } from './msr';
import { kvm_hv_hypercall_enabled, kvm_hv_hypercall } from '../hyperv';

const TWO32 = 4294967296;
/** Hypercall result as a 64-bit two's complement number for a negative errno (exact as BigInt later). */
function neg(e: number): number { return -e; }

/** The result of the last in-kernel hypercall, before completion (also the debugger's view). */
export interface HypercallRecord { nr: number; a: number[]; ret: number; longMode: boolean; cpl: number; }

/** ____kvm_emulate_hypercall: returns 1 (completed in the kernel, ret in v.hcRet) or 0 (userspace exit). */
export function kvm_hypercall_dispatch(v: KvmVcpu, cpl: number, complete: (v: KvmVcpu) => number): number {
  const op64 = is_64_bit_mode(v);
  let nr = kvm_gpr_read(v, 0), a0 = kvm_gpr_read(v, 3), a1 = kvm_gpr_read(v, 1), a2 = kvm_gpr_read(v, 2);
  const a3 = kvm_gpr_read(v, 6);
  if (!op64) { nr = nr % TWO32; a0 = a0 % TWO32; a1 = a1 % TWO32; a2 = a2 % TWO32; }
  v.stats.hypercalls++;
  let ret: number;
  if (cpl !== 0) ret = neg(KVM_EPERM);
  else {
    switch (nr) {
      case KVM_HC_VAPIC_POLL_IRQ: ret = 0; break;
      case KVM_HC_KICK_CPU:
        if (!guest_pv_has(v, KVM_FEATURE_PV_UNHALT)) { ret = neg(KVM_ENOSYS); break; }
        v.vm.pvKickCpu(a1);
        ret = 0;
        break;
      case KVM_HC_CLOCK_PAIRING: ret = neg(KVM_EOPNOTSUPP); break;
      case KVM_HC_SEND_IPI:
        if (!guest_pv_has(v, KVM_FEATURE_PV_SEND_IPI)) { ret = neg(KVM_ENOSYS); break; }
        ret = v.vm.pvSendIpi(a0, a1, a2, a3);
        break;
      case KVM_HC_SCHED_YIELD:
        if (!guest_pv_has(v, KVM_FEATURE_PV_SCHED_YIELD)) { ret = neg(KVM_ENOSYS); break; }
        ret = 0;
        break;
      case KVM_HC_MAP_GPA_RANGE: {
        ret = neg(KVM_ENOSYS);
        if (!(v.vm.hypercallExitMask & (1 << KVM_HC_MAP_GPA_RANGE))) break;
        const gfn = Math.floor(a0 / 4096);
        if (a0 % 4096 !== 0 || a1 === 0 || gfn + a1 >= 2 ** 64) { ret = neg(KVM_EINVAL); break; }
        const run = v.kvm_run;
        run.exit_reason = KVM_EXIT_HYPERCALL;
        run.hypercall.nr = BigInt(KVM_HC_MAP_GPA_RANGE);
        run.hypercall.ret = 0n;
        run.hypercall.args[0] = BigInt(a0); run.hypercall.args[1] = BigInt(a1); run.hypercall.args[2] = BigInt(a2);
        run.hypercall.args[3] = 0n; run.hypercall.args[4] = 0n; run.hypercall.args[5] = 0n;
        run.hypercall.flags = op64 ? KVM_EXIT_HYPERCALL_LONG_MODE : 0n;
        v.arch.complete_userspace_io = complete;
        return 0;
      }
      default: ret = neg(KVM_ENOSYS);
    }
  }
  v.kvm_run.hypercall.ret = BigInt.asUintN(64, BigInt(ret));
  return 1;
}

/** complete_hypercall_exit: RAX = run->hypercall.ret (32-bit outside 64-bit mode), then skip. */
export function complete_hypercall_exit(v: KvmVcpu): number {
  const ret = v.kvm_run.hypercall.ret;
  const lo = Number(ret & 0xffffffffn) | 0;
  const hi = is_64_bit_mode(v) ? Number((ret >> 32n) & 0xffffffffn) | 0 : 0;
  kvm_gpr_write(v, 0, lo, hi);
  return kvm_skip_emulated_instruction(v);
}

/** kvm_emulate_hypercall: Hyper-V's once the guest OS ID is set (hyperv.ts), else KVM's (Xen's are not modelled). */
export function kvm_emulate_hypercall(v: KvmVcpu): number {
  if (kvm_hv_hypercall_enabled(v)) return kvm_hv_hypercall(v);
  const r = kvm_hypercall_dispatch(v, v.ops.get_cpl(), complete_hypercall_exit);
  return r > 0 ? complete_hypercall_exit(v) : r;
}
