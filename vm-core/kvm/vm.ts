// A KVM VM (struct kvm) and its ioctls: KVM_SET_USER_MEMORY_REGION (kvm_main.c
// __kvm_set_memory_region), KVM_ENABLE_CAP (x86.c kvm_vm_ioctl_enable_cap), KVM_CREATE_IRQCHIP,
// KVM_CREATE_VCPU; per-VM options; a deterministic round-robin helper over the vCPUs.
import { PhysBus } from '../cpu/phys';
import type { Cpu } from '../cpu/cpu';
import * as U from './uapi';
import { KvmVcpu } from './vcpu';
import { resolveVmOptions, type ResolvedVmOptions, type VmOptions } from './options';
import { KvmObservers, type KvmObserver } from './observers';
import { APIC_DEST_PHYSICAL, APIC_INT_ASSERT, APIC_INT_LEVELTRIG, type KvmLapicIrq } from './lapic';
import { KvmHv, kvm_hv_stimer_timers_fn, kvm_hv_setup_tsc_page } from './hyperv';
import { KvmClock, DEFAULT_TSC_KHZ } from './clock';
import { kvm_request_clock_update } from './x86/kvmclock';
import { KvmIoapic, type kvm_ioapic_state } from './ioapic';
import { kvm_irq_delivery_to_apic, APIC_DEST_LOGICAL } from './lapic';
import { KvmPic, type kvm_pic_state } from './i8259';
import { KvmPit, KVM_PIT_BASE_ADDRESS, KVM_PIT_MEM_LENGTH, KVM_SPEAKER_BASE_ADDRESS, type kvm_pit_state2 } from './i8254';
import { KvmIrqRoutingTable, kvm_default_irq_routing, KVM_USERSPACE_IRQ_SOURCE_ID, type kvm_irq_routing_entry } from './irq_comm';

export interface MemSlot { slot: number; flags: number; gpa: number; size: number; mem: Uint8Array; }

const KVM_MAX_VCPUS = 1024;
const PAGE = 4096;

export class KvmVm {
  readonly bus = new PhysBus();
  readonly vcpus: KvmVcpu[] = [];
  readonly memslots = new Map<number, MemSlot>();
  readonly observers = new KvmObservers();
  readonly options: ResolvedVmOptions;
  /** kvm->arch.disabled_quirks is the complement: the quirks still enabled. */
  enabledQuirks = U.KVM_X86_VALID_QUIRKS;
  /** kvm->arch.hypercall_exit_enabled (KVM_CAP_EXIT_HYPERCALL). */
  hypercallExitMask = 0;
  /** kvm->arch.user_space_msr_mask (KVM_CAP_X86_USER_SPACE_MSR). */
  userSpaceMsrMask = 0;
  tripleFaultEventEnabled = false;
  exceptionPayloadEnabled = false;
  notifyVmexitFlags = 0;
  notifyWindow = 0;
  /** kvm->arch.hyperv (hyperv.ts). */
  readonly hyperv = new KvmHv();
  /** kvm_xen_hypercall_enabled (KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL): only its effect on the Hyper-V hypercall page is modelled. */
  xenHypercallEnabled = false;
  irqchip = false;
  /** kvm->arch.vioapic and kvm->arch.vpic (KVM_CREATE_IRQCHIP), kvm->arch.vpit (KVM_CREATE_PIT2). */
  ioapic: KvmIoapic | null = null;
  pic: KvmPic | null = null;
  pit: KvmPit | null = null;
  /** kvm->irq_routing (KVM_SET_GSI_ROUTING), with the ack and mask notifiers. */
  readonly irqRouting = new KvmIrqRoutingTable(this);
  bsp_vcpu_id = 0;
  /** gfns that have an MMIO SPTE (first access was an EPT violation / NPF). */
  readonly mmioSptes = new Set<number>();
  /** Instructions per KVM_RUN before KVM_EXIT_INTR when the caller gives no maxInsns. */
  defaultRunBudget = 50_000_000;
  /** Debug hook installed on every vCPU's processor (debugger breakpoints). */
  beforeInsn: ((c: Cpu) => boolean) | null = null;
  /**
   * Debugger hook (not KVM): called at every hardware exit before KVM handles it; returning true
   * makes KVM_RUN return -EINTR with the exit still to handle (the next KVM_RUN handles it first).
   */
  hwExitStop: ((vcpu: import('./vcpu').KvmVcpu) => boolean) | null = null;
  /** The VM's virtual time (clock.ts): the host TSC and nanoseconds every timer and clock is built on. */
  readonly clock: KvmClock;
  /** Debugger hooks (not KVM): an interrupt injected into a processor, a LAPIC timer expiry, an EOI, an IPI sent. */
  injectObserver: ((vcpu: KvmVcpu, vector: number, kind: 'irq' | 'nmi' | 'extint') => void) | null = null;
  timerObserver: ((vcpu: KvmVcpu, lvtt: number) => void) | null = null;
  eoiObserver: ((vcpu: KvmVcpu, vector: number, level: number) => void) | null = null;
  /** A Hyper-V synthetic timer expired and was delivered (hyperv.ts stimer_expiration). */
  stimerObserver: ((vcpu: KvmVcpu, index: number, config: number) => void) | null = null;
  ipiObserver: ((vcpu: KvmVcpu, irq: KvmLapicIrq) => void) | null = null;

  constructor(readonly vendor: 'intel' | 'amd', options: VmOptions = {}) {
    this.options = resolveVmOptions(options);
    this.clock = new KvmClock(this, this.options.tscKhz ?? DEFAULT_TSC_KHZ);
    // A page that gets (or loses) an overlay is no longer MMIO: drop its MMIO SPTE.
    this.bus.addMapListener((ppn) => this.mmioSptes.delete(ppn));
  }

  hasQuirk(q: number): boolean { return (this.enabledQuirks & q) !== 0; }

  /** Register an observer (hardware exits, userspace exits, cache accesses, VMREAD/VMWRITE, ...). */
  observe(o: KvmObserver): () => void {
    const off = this.observers.add(o);
    for (const v of this.vcpus) v.attachTrace();
    return () => { off(); for (const v of this.vcpus) v.attachTrace(); };
  }

  // ---------------------------------------------------------------- KVM_SET_USER_MEMORY_REGION

  /** __kvm_set_memory_region: create, move/flags-change (by delete + create), or delete (size 0). */
  setUserMemoryRegion(r: U.kvm_userspace_memory_region): number {
    const gpa = Number(r.guest_phys_addr), size = Number(r.memory_size);
    const slotId = r.slot & 0xffff;
    if (r.flags & ~(U.KVM_MEM_LOG_DIRTY_PAGES | U.KVM_MEM_READONLY)) return -U.EINVAL;
    if (size % PAGE !== 0 || gpa % PAGE !== 0) return -U.EINVAL;
    if ((r.slot >>> 16) !== 0 || slotId >= U.KVM_USER_MEM_SLOTS) return -U.EINVAL;
    if (gpa + size > 2 ** 52) return -U.EINVAL;
    const old = this.memslots.get(slotId);
    if (size === 0) {
      if (!old) return -U.EINVAL;
      this.memslots.delete(slotId);
      this.bus.setRegion(slotId, 0, undefined, false);
      this.memoryMapChanged();
      return 0;
    }
    if (!r.userspace_addr || r.userspace_addr.length < size) return -U.EFAULT;
    if (old) {
      // An existing slot may change flags or move, not change size or backing.
      if (old.size !== size || old.mem !== r.userspace_addr) return -U.EINVAL;
      if ((old.flags ^ r.flags) & U.KVM_MEM_READONLY) return -U.EINVAL;
    }
    for (const s of this.memslots.values()) {
      if (s.slot === slotId) continue;
      if (gpa < s.gpa + s.size && s.gpa < gpa + size) return -U.EEXIST;
    }
    const mem = r.userspace_addr.subarray(0, size);
    this.memslots.set(slotId, { slot: slotId, flags: r.flags, gpa, size, mem });
    this.bus.setRegion(slotId, gpa, mem, (r.flags & U.KVM_MEM_READONLY) !== 0);
    this.memoryMapChanged();
    return 0;
  }

  private memoryMapChanged(): void {
    this.mmioSptes.clear();
    for (const v of this.vcpus) { v.cpu.flushTlb(false); v.cpu.invalidateAllCode(); }
  }

  // ---------------------------------------------------------------- KVM_CHECK_EXTENSION (VM)

  checkExtension(cap: number): number { return kvmCheckExtension(cap, this.vendor); }

  // ---------------------------------------------------------------- KVM_ENABLE_CAP (VM)

  enableCap(c: U.kvm_enable_cap): number {
    if (c.flags) return -U.EINVAL;
    const arg0 = BigInt(c.args?.[0] ?? 0);
    switch (c.cap) {
      case U.KVM_CAP_DISABLE_QUIRKS:
        this.enabledQuirks &= ~(Number(arg0 & BigInt(U.KVM_X86_VALID_QUIRKS)));
        return 0;
      case U.KVM_CAP_DISABLE_QUIRKS2:
        if (arg0 & ~BigInt(U.KVM_X86_VALID_QUIRKS)) return -U.EINVAL;
        this.enabledQuirks &= ~Number(arg0);
        return 0;
      case U.KVM_CAP_EXIT_HYPERCALL:
        if (arg0 & ~BigInt(U.KVM_EXIT_HYPERCALL_VALID_MASK)) return -U.EINVAL;
        this.hypercallExitMask = Number(arg0);
        return 0;
      case U.KVM_CAP_X86_USER_SPACE_MSR:
        if (arg0 & ~BigInt(U.KVM_MSR_EXIT_REASON_VALID_MASK)) return -U.EINVAL;
        this.userSpaceMsrMask = Number(arg0);
        return 0;
      case U.KVM_CAP_X86_TRIPLE_FAULT_EVENT:
        this.tripleFaultEventEnabled = arg0 !== 0n;
        return 0;
      case U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE:
        // Seed 002's patch: no arguments, no vCPU check.
        this.hyperv.overlay_hcall_page = true;
        return 0;
      case U.KVM_CAP_X86_NOTIFY_VMEXIT: {
        const flags = Number(arg0 & 0xffffffffn);
        if (flags & ~(U.KVM_X86_NOTIFY_VMEXIT_ENABLED | U.KVM_X86_NOTIFY_VMEXIT_USER)) return -U.EINVAL;
        if (this.vendor !== 'intel') return -U.EINVAL;
        if (!(flags & U.KVM_X86_NOTIFY_VMEXIT_ENABLED)) return -U.EINVAL;
        if (this.vcpus.length) return -U.EINVAL;
        this.notifyVmexitFlags = flags;
        this.notifyWindow = Number(arg0 >> 32n);
        return 0;
      }
    }
    return -U.EINVAL;
  }

  // ---------------------------------------------------------------- KVM_CREATE_IRQCHIP / KVM_CREATE_VCPU

  /** KVM_CREATE_IRQCHIP: in-kernel LAPICs for vCPUs created afterwards. */
  createIrqchip(): number {
    if (this.irqchip) return -U.EEXIST;
    if (this.vcpus.length) return -U.EINVAL;
    this.irqchip = true;
    this.pic = new KvmPic(this);
    this.ioapic = new KvmIoapic(this);
    this.irqRouting.kvm_set_irq_routing(kvm_default_irq_routing());
    return 0;
  }

  /** KVM_CREATE_PIT2 (KVM_PIT_SPEAKER_DUMMY puts port 0x61 in the kernel): -EEXIST, -ENOENT without the in-kernel PIC. */
  createPit2(config: { flags: number } = { flags: 0 }): number {
    if (this.pit) return -U.EEXIST;
    if (!this.pic) return -U.ENOENT;
    this.pit = new KvmPit(this, config.flags >>> 0);
    return 0;
  }
  /** KVM_GET_PIT2 (-ENXIO without a PIT). */
  getPit2(): { r: number; state?: kvm_pit_state2 } {
    return this.pit ? { r: 0, state: this.pit.kvm_vm_ioctl_get_pit2() } : { r: -U.ENXIO };
  }
  /** KVM_SET_PIT2. */
  setPit2(ps: kvm_pit_state2): number {
    if (!this.pit) return -U.ENXIO;
    this.pit.kvm_vm_ioctl_set_pit2(ps);
    return 0;
  }
  /** KVM_REINJECT_CONTROL. */
  reinjectControl(c: { pit_reinject: number }): number {
    if (!this.pit) return -U.ENXIO;
    this.pit.kvm_pit_set_reinject(c.pit_reinject !== 0);
    return 0;
  }
  /** KVM_SET_GSI_ROUTING: -EINVAL without the in-kernel irqchip (kvm_arch_can_set_irq_routing) or for a bad entry. */
  setGsiRouting(r: { entries: readonly kvm_irq_routing_entry[]; flags?: number }): number {
    if (!this.irqchip) return -U.EINVAL;
    return this.irqRouting.kvm_set_irq_routing(r.entries, r.flags ?? 0);
  }

  // ---------------------------------------------------------------- the PIO bus (kvm_io_bus, KVM_PIO_BUS)

  /**
   * kvm_io_bus_read on KVM_PIO_BUS: the in-kernel device whose range holds [port, port + len), or
   * null (the access goes to userspace). PIC 0x20-0x21, 0xA0-0xA1, ELCR 0x4D0-0x4D1; PIT 0x40-0x43;
   * the speaker port 0x61-0x64 with KVM_PIT_SPEAKER_DUMMY (only 0x61 answers).
   */
  kvm_io_bus_read(port: number, len: number): number | null {
    const end = port + len;
    const pic = this.pic;
    if (pic !== null && ((port >= 0x20 && end <= 0x22) || (port >= 0xa0 && end <= 0xa2) || (port >= 0x4d0 && end <= 0x4d2))) return pic.picdev_read(port, len);
    const pit = this.pit;
    if (pit !== null) {
      if (port >= KVM_PIT_BASE_ADDRESS && end <= KVM_PIT_BASE_ADDRESS + KVM_PIT_MEM_LENGTH) { const v = pit.pit_ioport_read(port); return len >= 4 ? v : v & ((1 << (8 * len)) - 1); }
      if (pit.speakerDummy && port === KVM_SPEAKER_BASE_ADDRESS && end <= KVM_SPEAKER_BASE_ADDRESS + 4) return pit.speaker_ioport_read();
    }
    return null;
  }
  /** kvm_io_bus_write on KVM_PIO_BUS: true if an in-kernel device took it. */
  kvm_io_bus_write(port: number, len: number, val: number): boolean {
    const end = port + len;
    const pic = this.pic;
    if (pic !== null && ((port >= 0x20 && end <= 0x22) || (port >= 0xa0 && end <= 0xa2) || (port >= 0x4d0 && end <= 0x4d2))) return pic.picdev_write(port, len, val);
    const pit = this.pit;
    if (pit !== null) {
      if (port >= KVM_PIT_BASE_ADDRESS && end <= KVM_PIT_BASE_ADDRESS + KVM_PIT_MEM_LENGTH) { pit.pit_ioport_write(port, val); return true; }
      if (pit.speakerDummy && port === KVM_SPEAKER_BASE_ADDRESS && end <= KVM_SPEAKER_BASE_ADDRESS + 4) { pit.speaker_ioport_write(val); return true; }
    }
    return false;
  }

  /** KVM_CREATE_VCPU: the vCPU, or -EEXIST / -EINVAL. The vCPU is RESET before it is returned. */
  createVcpu(id: number): KvmVcpu | number {
    if (id < 0 || id >= KVM_MAX_VCPUS) return -U.EINVAL;
    if (this.vcpus.some((v) => v.vcpu_id === id)) return -U.EEXIST;
    const v = new KvmVcpu(this, id);
    this.vcpus.push(v);
    return v;
  }

  // ---------------------------------------------------------------- PV hypercall helpers

  /** KVM_HC_KICK_CPU: wake the vCPU whose APIC ID is `apicId`. */
  pvKickCpu(apicId: number): void {
    const t = this.vcpus.find((v) => v.lapic && v.lapic.id === apicId);
    if (t && t.arch.mp_state === U.KVM_MP_STATE_HALTED) { t.arch.mp_state = U.KVM_MP_STATE_RUNNABLE; t.cpu.halted = false; }
  }
  /**
   * kvm_pv_send_ipi (KVM_HC_SEND_IPI): bitmap (a0, a1) of physical APIC IDs starting at a2, the
   * ICR's low word in a3 (vector, delivery mode, level, trigger); returns the count accepted.
   */
  pvSendIpi(lo: number, hi: number, min: number, icr: number): number {
    const irq: KvmLapicIrq = { vector: icr & 0xff, delivery_mode: icr & 0x700, dest_mode: APIC_DEST_PHYSICAL,
      level: (icr & APIC_INT_ASSERT) !== 0, trig_mode: icr & APIC_INT_LEVELTRIG, shorthand: 0, dest_id: 0 };
    let count = 0;
    for (const v of this.vcpus) {
      const l = v.lapic;
      if (!l || !l.hwEnabled) continue;
      const bit = l.id - min;
      const set = bit >= 0 && bit < 64 && (bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1);
      if (set) count += l.kvm_apic_set_irq(irq);
    }
    return count;
  }

  // ---------------------------------------------------------------- in-kernel irqchip and timers

  /** kvm_ioapic_update_eoi: a LAPIC EOI for `vector` reaches the in-kernel IOAPIC. */
  kvm_ioapic_update_eoi(_v: KvmVcpu, vector: number, trig: number): void { this.ioapic?.kvm_ioapic_update_eoi(vector, trig); }
  /** kvm_notify_acked_irq: an EOI at (irqchip, pin) reaches the ack notifiers of the GSI routed there. */
  kvm_notify_acked_irq(irqchip: number, pin: number): void { this.irqRouting.kvm_notify_acked_irq(irqchip, pin); }
  /** kvm_fire_mask_notifiers. */
  kvm_fire_mask_notifiers(irqchip: number, pin: number, masked: boolean): void { this.irqRouting.kvm_fire_mask_notifiers(irqchip, pin, masked); }
  /** kvm_set_irq: `source` drives GSI `gsi` through the routing table (PIC and/or IOAPIC pins, MSI). */
  kvm_set_irq(source: number, gsi: number, level: boolean): number { return this.irqRouting.kvm_set_irq(source, gsi, level); }

  /**
   * KVM_IRQ_LINE (kvm_vm_ioctl_irq_line -> kvm_set_irq through the routing table; KVM_CREATE_IRQCHIP's
   * default sends GSI 0-15 to the PIC and the IOAPIC pin of the same number, 16-23 to the IOAPIC).
   * Returns 0 and the status as KVM_IRQ_LINE_STATUS does (the sum over the chips of 1 delivered /
   * 0 coalesced, -1 if none took it or the GSI has no route), or -ENXIO without an irqchip.
   */
  irqLine(l: { irq: number; level: number }): { r: number; status: number } {
    if (!this.irqchip) return { r: -U.ENXIO, status: 0 };
    if (!Number.isInteger(l.irq) || l.irq < 0 || l.irq > 0xffffffff) return { r: -U.EINVAL, status: 0 };
    return { r: 0, status: this.irqRouting.kvm_set_irq(KVM_USERSPACE_IRQ_SOURCE_ID, l.irq, l.level !== 0) };
  }

  /**
   * KVM_SIGNAL_MSI (kvm_set_msi): address 0xFEExxxxx with destination ID in bits 19:12 and logical
   * destination in bit 2; data with vector, delivery mode, level (bit 14) and trigger (bit 15).
   * Returns > 0 delivered, 0 blocked, -EINVAL for flags or a bad address, -ENXIO without an irqchip.
   */
  signalMsi(m: { address_lo: number; address_hi: number; data: number; flags?: number }): number {
    if (!this.irqchip) return -U.ENXIO;
    if (m.flags) return -U.EINVAL;
    if ((m.address_lo >>> 20) !== 0xfee || m.address_hi !== 0) return -U.EINVAL;
    return this.kvm_set_msi(m.address_lo, m.address_hi, m.data);
  }
  /** kvm_set_msi_irq + kvm_irq_delivery_to_apic: > 0 delivered, 0 blocked or nobody. */
  kvm_set_msi(address_lo: number, _address_hi: number, data: number): number {
    const m = { address_lo, data };
    const irq: KvmLapicIrq = {
      vector: m.data & 0xff, delivery_mode: m.data & 0x700, dest_mode: (m.address_lo & 4) ? APIC_DEST_LOGICAL : APIC_DEST_PHYSICAL,
      level: true, trig_mode: m.data & (1 << 15), shorthand: 0, dest_id: (m.address_lo >>> 12) & 0xff,
    };
    const r = kvm_irq_delivery_to_apic(this.vcpus, null, irq);
    return r < 0 ? 0 : r;
  }

  /** KVM_GET_IRQCHIP: chips 0/1 (struct kvm_pic_state) and 2 (the IOAPIC); -ENXIO without an irqchip, -EINVAL for another chip. */
  getIrqchip(chip_id: number): { r: number; ioapic?: kvm_ioapic_state; pic?: kvm_pic_state } {
    if (!this.ioapic || !this.pic) return { r: -U.ENXIO };
    if (chip_id === U.KVM_IRQCHIP_PIC_MASTER || chip_id === U.KVM_IRQCHIP_PIC_SLAVE) return { r: 0, pic: this.pic.getState(chip_id) };
    if (chip_id !== U.KVM_IRQCHIP_IOAPIC) return { r: -U.EINVAL };
    return { r: 0, ioapic: this.ioapic.getState() };
  }
  /** KVM_SET_IRQCHIP: `s` is a kvm_pic_state for chips 0/1, a kvm_ioapic_state for chip 2. */
  setIrqchip(chip_id: number, s: kvm_ioapic_state | kvm_pic_state): number {
    if (!this.ioapic || !this.pic) return -U.ENXIO;
    if (chip_id === U.KVM_IRQCHIP_PIC_MASTER || chip_id === U.KVM_IRQCHIP_PIC_SLAVE) {
      if (!('imr' in s)) return -U.EINVAL;
      this.pic.setState(chip_id, s);
      return 0;
    }
    if (chip_id !== U.KVM_IRQCHIP_IOAPIC || !('redirtbl' in s)) return -U.EINVAL;
    this.ioapic.setState(s);
    return 0;
  }

  /** get_kvmclock_ns: the VM's kvmclock time (virtual ns plus the KVM_SET_CLOCK offset). */
  get_kvmclock_ns(): number { return this.clock.nowNs() + this.clock.kvmclockOffset; }
  /** KVM_GET_CLOCK: kvmclock ns; flags KVM_CLOCK_TSC_STABLE (every vCPU's TSC counts together). */
  getClock(): U.kvm_clock_data { return { clock: BigInt(this.get_kvmclock_ns()), flags: U.KVM_CLOCK_TSC_STABLE }; }
  /** KVM_SET_CLOCK: kvmclock reads `clock` now (flags other than KVM_CLOCK_REALTIME are -EINVAL; REALTIME has no meaning without a wall clock). */
  setClock(d: U.kvm_clock_data): number {
    if (d.flags & ~U.KVM_CLOCK_VALID_FLAGS) return -U.EINVAL;
    if (d.flags & U.KVM_CLOCK_REALTIME) return -U.EINVAL;
    this.clock.kvmclockOffset = Number(d.clock) - this.clock.nowNs();
    kvm_request_clock_update(this.vcpus);
    kvm_hv_setup_tsc_page(this);
    return 0;
  }

  /** The i8259 master's INT output (kvm_pic->output). */
  kvm_pic_output(): boolean { return this.pic !== null && this.pic.output !== 0; }
  /** kvm_pic_read_irq: the INTA cycle (-1 without a PIC). */
  kvm_pic_read_irq(): number { return this.pic ? this.pic.kvm_pic_read_irq() : -1; }

  /** The earliest deadline that can interrupt `v`: its LAPIC timer and the VM's devices (the PIT). */
  nextTimerCyclesFor(v: KvmVcpu): number {
    let t = v.lapic ? v.lapic.expireCycles : Infinity;
    const hv = v.arch.hyperv;
    if (hv !== null && hv.stimerExpireCycles < t) t = hv.stimerExpireCycles;
    const p = this.pit ? this.pit.expireCycles : Infinity;
    return p < t ? p : t;
  }

  /** The earliest host-cycle deadline of any in-kernel timer (Infinity: none armed). */
  nextTimerCycles(): number {
    let t = this.pit ? this.pit.expireCycles : Infinity;
    for (const v of this.vcpus) {
      if (v.lapic && v.lapic.expireCycles < t) t = v.lapic.expireCycles;
      if (v.arch.hyperv !== null && v.arch.hyperv.stimerExpireCycles < t) t = v.arch.hyperv.stimerExpireCycles;
    }
    return t;
  }

  /** Run every timer the clock has reached (the host's hrtimer interrupts) and the PIT's worker. */
  runExpiredTimers(): void {
    const now = this.clock.cycles();
    this.pit?.checkTimer(now);
    for (const v of this.vcpus) {
      if (v.lapic) v.lapic.checkTimer(now);
      if (v.arch.hyperv !== null) kvm_hv_stimer_timers_fn(v, now);
    }
  }
  /** The VM's device timers (the PIT's hrtimer and its worker), run before a vCPU enters. */
  kvm_check_device_timers(): void {
    const pit = this.pit;
    if (pit !== null && (pit.workQueued || this.clock.cycles() >= pit.expireCycles)) pit.checkTimer(this.clock.cycles());
  }
}

/** KVM_CHECK_EXTENSION values of this model. */
export function kvmCheckExtension(cap: number, vendor: 'intel' | 'amd' = 'intel'): number {
  switch (cap) {
    case U.KVM_CAP_IRQCHIP: case U.KVM_CAP_HLT: case U.KVM_CAP_USER_MEMORY: case U.KVM_CAP_EXT_CPUID:
    case U.KVM_CAP_MP_STATE: case U.KVM_CAP_SYNC_MMU: case U.KVM_CAP_IMMEDIATE_EXIT: case U.KVM_CAP_SET_GUEST_DEBUG:
    case U.KVM_CAP_VCPU_EVENTS: case U.KVM_CAP_XCRS: case U.KVM_CAP_READONLY_MEM: case U.KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
    case U.KVM_CAP_X86_TRIPLE_FAULT_EVENT:
    case U.KVM_CAP_HYPERV: case U.KVM_CAP_HYPERV_VP_INDEX: case U.KVM_CAP_HYPERV_CPUID: case U.KVM_CAP_SYS_HYPERV_CPUID:
    case U.KVM_CAP_HYPERV_ENFORCE_CPUID: case U.KVM_CAP_HYPERV_SYNIC: case U.KVM_CAP_HYPERV_SYNIC2:
    case U.KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE:
    case U.KVM_CAP_PIT2: case U.KVM_CAP_PIT_STATE2: case U.KVM_CAP_REINJECT_CONTROL: case U.KVM_CAP_IRQ_ROUTING:
    case U.KVM_CAP_IRQ_INJECT_STATUS: case U.KVM_CAP_SIGNAL_MSI:
      return 1;
    case U.KVM_CAP_NR_VCPUS: return 8;
    case U.KVM_CAP_MAX_VCPUS: return KVM_MAX_VCPUS;
    case U.KVM_CAP_NR_MEMSLOTS: return U.KVM_USER_MEM_SLOTS;
    case U.KVM_CAP_DISABLE_QUIRKS: return 1;
    case U.KVM_CAP_DISABLE_QUIRKS2: return U.KVM_X86_VALID_QUIRKS;
    case U.KVM_CAP_EXIT_HYPERCALL: return U.KVM_EXIT_HYPERCALL_VALID_MASK;
    case U.KVM_CAP_X86_USER_SPACE_MSR: return 1;
    case U.KVM_CAP_X86_NOTIFY_VMEXIT: return vendor === 'intel' ? 1 : 0; // kvm_caps.has_notify_vmexit (VMX only)
  }
  return 0;
}
