// The VM's virtual time (what x86.c takes from the host: rdtsc(), ktime_get(), get_kvmclock_ns).
// No wall clock reaches the guest: the clock is a count of "host TSC cycles" made of
//  - one cycle per guest instruction retired by any vCPU of the VM (the vCPUs run one at a time in
//    a deterministic schedule, so this is QEMU's -icount round-robin model: time advances with the
//    instructions of whichever vCPU runs), plus
//  - the cycles skipped while every vCPU was halted waiting for a timer (vcpu_block: the host
//    would sleep until the hrtimer fires; here time jumps to the deadline).
// The cycles tick at `tscKhz` (default 2,000,000 kHz: 2 GHz, so one instruction is 0.5 ns). Every
// vCPU's TSC is these cycles plus its TSC offset (KVM with a TSC scaling ratio of 1), and
// nanoseconds (kvmclock, the LAPIC timer, Hyper-V reference time) are cycles * 10^6 / tscKhz.
// The state is plain numbers on objects the recording snapshots, so reverse execution is exact.
import type { KvmVm } from './vm';

/** Default virtual TSC frequency in kHz (2 GHz). */
export const DEFAULT_TSC_KHZ = 2_000_000;
/** Largest accepted TSC frequency (kHz): KVM's limit for KVM_SET_TSC_KHZ is the 32-bit field. */
export const MAX_TSC_KHZ = 0xffffffff;

export class KvmClock {
  /** Cycles skipped while every vCPU was blocked with a timer armed (see vcpu_block). */
  idleCycles = 0;
  /** kvm->arch.kvmclock_offset: kvmclock ns = nowNs() + kvmclockOffset (KVM_SET_CLOCK moves it). */
  kvmclockOffset = 0;

  constructor(private readonly vm: KvmVm, public tscKhz: number = DEFAULT_TSC_KHZ) {}

  /** The host TSC: instructions retired by every vCPU of the VM plus the skipped idle time. */
  cycles(): number {
    let n = this.idleCycles;
    const vs = this.vm.vcpus;
    for (let k = 0; k < vs.length; k++) n += vs[k].cpu.icount;
    return n;
  }

  /** Monotonic virtual nanoseconds since the VM was created (ktime_get of this VM's host). */
  nowNs(): number { return this.cyclesToNs(this.cycles()); }

  /** Exact floor(c * 10^6 / tscKhz) for any c below 2^53. */
  cyclesToNs(c: number): number {
    const k = this.tscKhz;
    const q = Math.floor(c / k), r = c - q * k;
    return q * 1_000_000 + Math.floor((r * 1_000_000) / k);
  }

  /** nsec_to_cycles: the cycles `ns` nanoseconds take, rounded up (a timer never fires early). */
  nsToCycles(ns: number): number {
    const q = Math.floor(ns / 1_000_000), r = ns - q * 1_000_000;
    return q * this.tscKhz + Math.ceil((r * this.tscKhz) / 1_000_000);
  }

  /** Time passes with nothing running (every vCPU blocked): the host TSC jumps to `cycles`. */
  advanceTo(cycles: number): void {
    const now = this.cycles();
    if (cycles > now) this.idleCycles += cycles - now;
  }
}
