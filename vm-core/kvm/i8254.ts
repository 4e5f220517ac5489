// The in-kernel 8254 PIT (arch/x86/kvm/i8254.c, KVM_CREATE_PIT2): three channels at ports
// 0x40-0x43 with modes 0-5, the counter latch and read-back commands, LSB/MSB/word access, BCD bit
// kept; channel 0 drives GSI 0 from an hrtimer on the VM clock (one-shot for modes 0, 1 and 4,
// periodic for 2 and 3, clamped to min_timer_period_us) with KVM's default reinjection (a tick is
// raised only after the previous one was acknowledged; missed ticks are counted and re-raised at
// each EOI). Port 0x61 (gate of channel 2, its output, the refresh bit) is in the kernel only with
// KVM_PIT_SPEAKER_DUMMY; otherwise it is the VMM's (QEMU's pcspk reads the state with KVM_GET_PIT2).
// Times are VM-clock ns (ktime_get of this VM's host).
import type { KvmVm } from './vm';
import { KVM_PIT_IRQ_SOURCE_ID } from './irq_comm';
import { MIN_TIMER_PERIOD_NS, APIC_LVT0 } from './lapic';

export const KVM_PIT_BASE_ADDRESS = 0x40, KVM_SPEAKER_BASE_ADDRESS = 0x61, KVM_PIT_MEM_LENGTH = 4;
export const KVM_PIT_FREQ = 1193182;
/** struct kvm_pit_config flags, struct kvm_pit_state2 flags. */
export const KVM_PIT_SPEAKER_DUMMY = 1, KVM_PIT_FLAGS_HPET_LEGACY = 1, KVM_PIT_FLAGS_SPEAKER_DATA_ON = 2;
/** rw_mode / read_state / write_state: 1 LSB (the default branches), 2 MSB, 3 word (LSB first), 4 its second byte. */
const RW_STATE_MSB = 2, RW_STATE_WORD0 = 3, RW_STATE_WORD1 = 4;
const NSEC_PER_SEC = 1_000_000_000;

/** struct kvm_pit_channel_state (count_load_time in VM ns). */
export interface kvm_pit_channel_state {
  count: number; latched_count: number; count_latched: number; status_latched: number; status: number;
  read_state: number; write_state: number; write_latch: number; rw_mode: number; mode: number; bcd: number;
  gate: number; count_load_time: number;
}
/** struct kvm_pit_state2 (KVM_GET/SET_PIT2). */
export interface kvm_pit_state2 { channels: kvm_pit_channel_state[]; flags: number; }

function newChannel(): kvm_pit_channel_state {
  return { count: 0, latched_count: 0, count_latched: 0, status_latched: 0, status: 0, read_state: 0, write_state: 0,
    write_latch: 0, rw_mode: 0, mode: 0, bcd: 0, gate: 0, count_load_time: 0 };
}

/** mul_u64_u32_div(a, mul, div) for a < 2^53: floor(a * mul / div) without losing precision. */
function mulDiv(a: number, mul: number, div: number): number {
  const q = Math.floor(a / div), r = a - q * div;
  return q * mul + Math.floor((r * mul) / div);
}

/** The OUT pin of a channel in `mode` with initial `count`, `d` input-clock ticks after it was loaded (pit_get_out). */
export function pit_channel_out(mode: number, count: number, d: number): number {
  switch (mode) {
    case 1: return d < count ? 1 : 0;
    case 2: return d % count === 0 && d !== 0 ? 1 : 0;
    case 3: return d % count < ((count + 1) >> 1) ? 1 : 0;
    case 4: case 5: return d === count ? 1 : 0;
    default: return d >= count ? 1 : 0;
  }
}
/** Input-clock ticks in `ns` nanoseconds (mul_u64_u32_div(ns, KVM_PIT_FREQ, NSEC_PER_SEC)). */
export function pit_ns_to_ticks(ns: number): number { return ns <= 0 ? 0 : mulDiv(ns, KVM_PIT_FREQ, NSEC_PER_SEC); }

export class KvmPit {
  /** struct kvm_kpit_state. */
  readonly channels: kvm_pit_channel_state[] = [newChannel(), newChannel(), newChannel()];
  flags = 0;
  /** The hrtimer: period (ns, 0 = never programmed), periodic or not, expiry (VM ns), armed. */
  period = 0;
  is_periodic = false;
  expiresNs = 0;
  armed = false;
  /** Host cycles of the armed expiry (Infinity: not armed). */
  expireCycles = Infinity;
  /** Reinjection (KVM_REINJECT_CONTROL): on by default; ticks not yet acknowledged; the last one was acked. */
  reinject = false;
  pending = 0;
  irq_ack = 1;
  /** pit->expired queued for the worker (runs at the next safe point: kvm_pit_run_work). */
  workQueued = false;
  /** Ticks raised on GSI 0 and timer expiries (statistics for the debugger). */
  ticksRaised = 0;
  expiries = 0;
  readonly speakerDummy: boolean;
  private readonly ackNotifier = { gsi: 0, irq_acked: () => this.kvm_pit_ack_irq() };
  private readonly maskNotifier = { gsi: 0, func: (masked: boolean) => this.pit_mask_notifier(masked) };

  constructor(private readonly vm: KvmVm, createFlags: number) {
    this.speakerDummy = (createFlags & KVM_PIT_SPEAKER_DUMMY) !== 0;
    this.kvm_pit_reset();
    this.kvm_pit_set_reinject(true);
  }

  private now(): number { return this.vm.clock.nowNs(); }

  // ---------------------------------------------------------------- counting

  private pit_set_gate(channel: number, val: number): void {
    const c = this.channels[channel];
    // Modes 1, 2, 3 and 5 restart counting on a rising edge; 0 and 4 would only pause (not modelled, as in KVM).
    if ((c.mode === 1 || c.mode === 2 || c.mode === 3 || c.mode === 5) && c.gate < val) c.count_load_time = this.now();
    c.gate = val;
  }

  /** __kpit_elapsed: channel 0 counts from the hrtimer (period minus what remains). */
  private __kpit_elapsed(): number {
    if (!this.period) return 0;
    return this.period - (this.expiresNs - this.now());
  }
  private kpit_elapsed(channel: number): number {
    return channel === 0 ? this.__kpit_elapsed() : this.now() - this.channels[channel].count_load_time;
  }
  /** The PIT input clock ticks elapsed (1.193182 MHz). */
  private ticks(channel: number): number {
    return pit_ns_to_ticks(this.kpit_elapsed(channel));
  }

  /** pit_get_count. */
  pit_get_count(channel: number): number {
    const c = this.channels[channel], d = this.ticks(channel);
    switch (c.mode) {
      case 0: case 1: case 4: case 5: return (((c.count - d) % 65536) + 65536) % 65536;
      case 3: return c.count - ((2 * d) % c.count); // KVM: "may be incorrect for odd counts"
      default: return c.count - (d % c.count);
    }
  }

  /** pit_get_out: the OUT pin. */
  pit_get_out(channel: number): number {
    const c = this.channels[channel];
    return pit_channel_out(c.mode, c.count, this.ticks(channel));
  }

  private pit_latch_count(channel: number): void {
    const c = this.channels[channel];
    if (!c.count_latched) { c.latched_count = this.pit_get_count(channel) & 0xffff; c.count_latched = c.rw_mode; }
  }
  /** pit_latch_status (NULL COUNT, bit 6, is never set, as in KVM). */
  private pit_latch_status(channel: number): void {
    const c = this.channels[channel];
    if (!c.status_latched) {
      c.status = ((this.pit_get_out(channel) << 7) | (c.rw_mode << 4) | (c.mode << 1) | c.bcd) & 0xff;
      c.status_latched = 1;
    }
  }

  // ---------------------------------------------------------------- the timer and reinjection

  /** kvm_pit_ack_irq: GSI 0 was EOIed; a missed tick is raised again. */
  private kvm_pit_ack_irq(): void {
    this.irq_ack = 1;
    if (this.pending > 0 && --this.pending > 0) this.workQueued = true;
  }

  private kvm_pit_reset_reinject(): void { this.pending = 0; this.irq_ack = 1; }

  /** kvm_pit_set_reinject: the ack and mask notifiers exist only while reinjecting. */
  kvm_pit_set_reinject(reinject: boolean): void {
    if (this.reinject === reinject) return;
    const r = this.vm.irqRouting;
    if (reinject) {
      this.kvm_pit_reset_reinject();
      r.ackNotifiers.push(this.ackNotifier);
      r.maskNotifiers.push(this.maskNotifier);
    } else {
      const a = r.ackNotifiers.indexOf(this.ackNotifier); if (a >= 0) r.ackNotifiers.splice(a, 1);
      const m = r.maskNotifiers.indexOf(this.maskNotifier); if (m >= 0) r.maskNotifiers.splice(m, 1);
    }
    this.reinject = reinject;
  }

  private pit_mask_notifier(masked: boolean): void { if (!masked) this.kvm_pit_reset_reinject(); }

  /** pit_do_work: a tick on GSI 0 (edge: high then low), and the NMI watchdog through LINT0 in NMI mode. */
  private pit_do_work(): void {
    if (this.reinject) {
      const ack = this.irq_ack;
      this.irq_ack = 0;
      if (!ack) return;
    }
    this.ticksRaised++;
    this.vm.kvm_set_irq(KVM_PIT_IRQ_SOURCE_ID, 0, true);
    this.vm.kvm_set_irq(KVM_PIT_IRQ_SOURCE_ID, 0, false);
    // Virtual wire: every vCPU whose LINT0 is in NMI mode gets the tick as an NMI (kvm_apic_nmi_wd_deliver).
    const vs = this.vm.vcpus;
    if (vs.some((v) => v.lapic !== null && v.lapic.lvt0_in_nmi_mode)) for (const v of vs) v.lapic?.kvm_apic_local_deliver(APIC_LVT0);
  }

  /** pit_timer_fn: the hrtimer fired. */
  private pit_timer_fn(): void {
    this.expiries++;
    if (this.reinject) this.pending++;
    this.workQueued = true;
    if (this.is_periodic) { this.expiresNs += this.period; this.expireCycles = this.vm.clock.nsToCycles(this.expiresNs); }
    else { this.armed = false; this.expireCycles = Infinity; }
  }

  /** The VM clock reached the hrtimer (possibly several periods at once) and the worker runs. */
  checkTimer(nowCycles: number): void {
    let n = 0;
    // The worker runs between expiries (each fire queues it once).
    while (nowCycles >= this.expireCycles && n++ < 64) { this.pit_timer_fn(); this.kvm_pit_run_work(); }
    if (nowCycles >= this.expireCycles) { // far behind (a long idle skip): catch up without looping
      const behind = Math.floor((this.now() - this.expiresNs) / this.period) + 1;
      this.expiries += behind; if (this.reinject) this.pending += behind;
      this.expiresNs += behind * this.period; this.expireCycles = this.vm.clock.nsToCycles(this.expiresNs);
    }
    this.kvm_pit_run_work();
  }
  /** The kvm-pit worker: runs queued work at a point where no device is in the middle of an access. */
  kvm_pit_run_work(): void {
    if (!this.workQueued) return;
    this.workQueued = false;
    this.pit_do_work();
  }

  private destroy_pit_timer(): void { this.armed = false; this.expireCycles = Infinity; this.workQueued = false; }

  /** create_pit_timer: needs the in-kernel IOAPIC, and not HPET legacy mode; the first expiry is `val` ticks away. */
  private create_pit_timer(val: number, is_period: boolean): void {
    if (!this.vm.ioapic || (this.flags & KVM_PIT_FLAGS_HPET_LEGACY)) return;
    const interval = mulDiv(val, NSEC_PER_SEC, KVM_PIT_FREQ);
    this.destroy_pit_timer();
    this.period = interval;
    this.is_periodic = is_period;
    this.kvm_pit_reset_reinject();
    if (is_period && this.period < MIN_TIMER_PERIOD_NS) this.period = MIN_TIMER_PERIOD_NS;
    this.expiresNs = this.now() + interval;
    this.armed = true;
    this.expireCycles = this.vm.clock.nsToCycles(this.expiresNs);
  }

  /** pit_load_count: 0 means 0x10000; channel 0 (re)starts the timer by mode. */
  private pit_load_count(channel: number, val: number): void {
    if (val === 0) val = 0x10000;
    this.channels[channel].count = val;
    if (channel !== 0) { this.channels[channel].count_load_time = this.now(); return; }
    switch (this.channels[0].mode) {
      case 0: case 1: case 4: this.create_pit_timer(val, false); break;
      case 2: case 3: this.create_pit_timer(val, true); break;
      default: this.destroy_pit_timer();
    }
  }
  private kvm_pit_load_count(channel: number, val: number, hpet_legacy_start: boolean): void {
    if (!hpet_legacy_start) { this.pit_load_count(channel, val); return; }
    const saved = this.channels[0].mode;
    this.channels[0].mode = 0xff;
    this.pit_load_count(channel, val);
    this.channels[0].mode = saved;
  }

  /** kvm_pit_reset: mode 0xff (never programmed), gates 1 1 0, counts 0x10000, timer stopped. */
  kvm_pit_reset(): void {
    this.flags = 0;
    for (let i = 0; i < 3; i++) {
      const c = this.channels[i];
      c.mode = 0xff;
      c.gate = i !== 2 ? 1 : 0;
      this.pit_load_count(i, 0);
    }
    this.kvm_pit_reset_reinject();
  }

  // ---------------------------------------------------------------- ports

  /** pit_ioport_write: control word (select, latch, read-back) at 0x43, counts at 0x40-0x42. */
  pit_ioport_write(addr: number, val: number): void {
    val &= 0xff;
    addr &= 3;
    if (addr === 3) {
      let channel = val >> 6;
      if (channel === 3) { // read-back: bit 5 clear latches counts, bit 4 clear latches status
        for (channel = 0; channel < 3; channel++) {
          if (val & (2 << channel)) {
            if (!(val & 0x20)) this.pit_latch_count(channel);
            if (!(val & 0x10)) this.pit_latch_status(channel);
          }
        }
        return;
      }
      const s = this.channels[channel], access = (val >> 4) & 3;
      if (access === 0) { this.pit_latch_count(channel); return; }
      s.rw_mode = access; s.read_state = access; s.write_state = access;
      s.mode = (val >> 1) & 7;
      if (s.mode > 5) s.mode -= 4;
      s.bcd = val & 1;
      return;
    }
    const s = this.channels[addr];
    switch (s.write_state) {
      case RW_STATE_MSB: this.pit_load_count(addr, val << 8); break;
      case RW_STATE_WORD0: s.write_latch = val; s.write_state = RW_STATE_WORD1; break;
      case RW_STATE_WORD1: this.pit_load_count(addr, s.write_latch | (val << 8)); s.write_state = RW_STATE_WORD0; break;
      default: this.pit_load_count(addr, val); break;
    }
  }

  /** pit_ioport_read: a latched status first, then a latched count, else the live count by access mode. */
  pit_ioport_read(addr: number): number {
    addr &= 3;
    if (addr === 3) return 0; // KVM returns without writing the data (its PIO buffer keeps what it had); reads 0 here
    const s = this.channels[addr];
    if (s.status_latched) { s.status_latched = 0; return s.status; }
    if (s.count_latched) {
      switch (s.count_latched) {
        case RW_STATE_MSB: s.count_latched = 0; return (s.latched_count >> 8) & 0xff;
        case RW_STATE_WORD0: s.count_latched = RW_STATE_MSB; return s.latched_count & 0xff;
        default: s.count_latched = 0; return s.latched_count & 0xff;
      }
    }
    switch (s.read_state) {
      case RW_STATE_MSB: return (this.pit_get_count(addr) >> 8) & 0xff;
      case RW_STATE_WORD0: s.read_state = RW_STATE_WORD1; return this.pit_get_count(addr) & 0xff;
      case RW_STATE_WORD1: s.read_state = RW_STATE_WORD0; return (this.pit_get_count(addr) >> 8) & 0xff;
      default: return this.pit_get_count(addr) & 0xff;
    }
  }

  /** speaker_ioport_write (port 0x61 with KVM_PIT_SPEAKER_DUMMY): bit 0 gate 2, bit 1 speaker data. */
  speaker_ioport_write(val: number): void {
    if (val & 2) this.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON; else this.flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
    this.pit_set_gate(2, val & 1);
  }
  /** speaker_ioport_read: data-on (bit 1), gate 2 (bit 0), OUT2 (bit 5), the refresh toggle (bit 4, 2^14 ns). */
  speaker_ioport_read(): number {
    const refresh = Math.floor(this.now() / 16384) & 1;
    return ((this.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) ? 2 : 0) | this.channels[2].gate | (this.pit_get_out(2) << 5) | (refresh << 4);
  }

  /** Channel 2's gate as QEMU's pcspk sets it (kvm_pit_set_gate: KVM_GET_PIT2, gate, KVM_SET_PIT2). */
  setGate(channel: number, val: number): void { this.pit_set_gate(channel, val ? 1 : 0); }

  // ---------------------------------------------------------------- KVM_GET/SET_PIT2

  kvm_vm_ioctl_get_pit2(): kvm_pit_state2 {
    return { channels: this.channels.map((c) => ({ ...c })), flags: this.flags };
  }
  /** kvm_vm_ioctl_set_pit2: the channels as given, every count reloaded (HPET legacy on: channel 0's timer stays off). */
  kvm_vm_ioctl_set_pit2(ps: kvm_pit_state2): void {
    const start = !(this.flags & KVM_PIT_FLAGS_HPET_LEGACY) && (ps.flags & KVM_PIT_FLAGS_HPET_LEGACY) !== 0;
    for (let i = 0; i < 3; i++) {
      const src = ps.channels[i] ?? newChannel(), c = this.channels[i];
      c.count = src.count >>> 0; c.latched_count = src.latched_count & 0xffff; c.count_latched = src.count_latched & 0xff;
      c.status_latched = src.status_latched & 0xff; c.status = src.status & 0xff; c.read_state = src.read_state & 0xff;
      c.write_state = src.write_state & 0xff; c.write_latch = src.write_latch & 0xff; c.rw_mode = src.rw_mode & 0xff;
      c.mode = src.mode & 0xff; c.bcd = src.bcd & 0xff; c.gate = src.gate & 0xff; c.count_load_time = src.count_load_time;
    }
    this.flags = ps.flags >>> 0;
    for (let i = 0; i < 3; i++) this.kvm_pit_load_count(i, this.channels[i].count, start && i === 0);
  }
}
