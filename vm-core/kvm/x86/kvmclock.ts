// kvmclock (x86.c kvm_write_system_time, kvm_guest_time_update, kvm_write_wall_clock,
// kvm_get_time_scale; asm/pvclock-abi.h): the per-vCPU pvclock_vcpu_time_info page the guest
// reads with its TSC, and the wall-clock structure. Time is the VM clock's (clock.ts): the master
// clock is always in use (every vCPU's TSC counts from the same host cycles), so the TSC_STABLE
// flag is set and one update per MSR write, TSC offset change or KVM_SET_CLOCK keeps it exact.
// No wall clock reaches the guest: the VM boots at the Unix epoch (the wall clock reads 0 s + kvmclock).
import type { KvmVcpu } from '../vcpu';

export const PVCLOCK_TSC_STABLE_BIT = 1 << 0;
/** vcpu->arch.time: the MSR value (GPA | enable) and whether KVM_REQ_CLOCK_UPDATE is pending. */
export class KvmClockVcpu {
  msr = 0;
  msrNew = false;
  updatePending = false;
  version = 0;
  /** Updates written (for tests and the debugger). */
  updates = 0;
}

/** kvm_get_time_scale(NSEC_PER_SEC, tsc_hz): ns = ((tsc delta << shift) * mul) >> 32. */
export function kvm_get_time_scale(scaledHz: number, baseHz: number): { shift: number; mul: number } {
  let tps64 = BigInt(baseHz), scaled64 = BigInt(scaledHz), shift = 0;
  const HI = 0xffffffff00000000n;
  while (tps64 > scaled64 * 2n || (tps64 & HI)) { tps64 >>= 1n; shift--; }
  let tps32 = tps64 & 0xffffffffn;
  while (tps32 <= scaled64 || (scaled64 & HI)) {
    if ((scaled64 & HI) || (tps32 & 0x80000000n)) scaled64 >>= 1n; else tps32 <<= 1n;
    shift++;
  }
  return { shift, mul: Number((scaled64 << 32n) / tps32) };
}

/** kvm_write_system_time: MSR_KVM_SYSTEM_TIME(_NEW), bit 0 enables the page at the rest of the GPA. */
export function kvm_write_system_time(v: KvmVcpu, data: number, isNew: boolean): void {
  const t = v.arch.kvmclock;
  t.msr = data; t.msrNew = isNew;
  if (data % 2) t.updatePending = true;
}

/** Request KVM_REQ_CLOCK_UPDATE on every vCPU (KVM_REQ_GLOBAL_CLOCK_UPDATE / KVM_SET_CLOCK / TSC changes). */
export function kvm_request_clock_update(vcpus: readonly KvmVcpu[]): void {
  for (const v of vcpus) if (v.arch.kvmclock.msr % 2) v.arch.kvmclock.updatePending = true;
}

/** kvm_guest_time_update: write pvclock_vcpu_time_info (version odd while writing, then even). */
export function kvm_guest_time_update(v: KvmVcpu): void {
  const t = v.arch.kvmclock;
  t.updatePending = false;
  if (!(t.msr % 2)) return;
  const gpa = t.msr - 1;
  const clock = v.vm.clock;
  const host = clock.cycles();
  const tsc = host + v.arch.tsc_offset;
  const ns = clock.cyclesToNs(host) + clock.kvmclockOffset;
  const { shift, mul } = kvm_get_time_scale(1_000_000_000, clock.tscKhz * 1000);
  const buf = new Uint8Array(32), dv = new DataView(buf.buffer);
  t.version += 2;
  dv.setUint32(0, t.version, true);
  dv.setBigUint64(8, BigInt.asUintN(64, BigInt(tsc)), true);
  dv.setBigUint64(16, BigInt.asUintN(64, BigInt(ns)), true);
  dv.setUint32(24, mul >>> 0, true);
  dv.setInt8(28, shift);
  dv.setUint8(29, t.msrNew ? PVCLOCK_TSC_STABLE_BIT : 0);
  v.vm.bus.write(gpa, buf, false);
  t.updates++;
}

/** kvm_write_wall_clock: {version, sec, nsec} of the time the VM booted: the epoch, minus the KVM_SET_CLOCK offset. */
export function kvm_write_wall_clock(v: KvmVcpu, gpa: number): void {
  const bootNs = Math.max(0, -v.vm.clock.kvmclockOffset);
  const sec = Math.floor(bootNs / 1e9), nsec = bootNs - sec * 1e9;
  const buf = new Uint8Array(12), dv = new DataView(buf.buffer);
  dv.setUint32(0, 2, true);
  dv.setUint32(4, sec >>> 0, true);
  dv.setUint32(8, nsec >>> 0, true);
  v.vm.bus.write(gpa, buf, false);
}
