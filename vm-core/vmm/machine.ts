// The default userspace (a VMM with no configuration), the way QEMU drives /dev/kvm: memory layout,
// devices (debug port 0xE9, 16550 serial at 0x3F8, exit device 0xF4), all-ones for unknown ports and
// MMIO reads, boot set-ups, a deterministic round-robin over vCPUs, an exit log and hooks that let a
// debugger stop at any exit and edit the reply before resuming.
import { Kvm } from '../kvm/kvm';
import type { KvmVm } from '../kvm/vm';
import type { KvmVcpu } from '../kvm/vcpu';
import type { VmOptions } from '../kvm/options';
import type { GuestImage } from '../loader/image';
import * as U from '../kvm/uapi';
import { setupEntry, type EntryMode } from './boot';
import { handlePortIn, handlePortOut, exitDeviceStatus, DEBUG_PORT, EXIT_PORT, type ExitDeviceMode } from './devices';
import { configureHypervVm, vcpuCpuid, HypervOverlays, type HypervMachineOptions } from './overlay';
import { HypervSynicVmm, HV_TEST_DEV_PORT } from './hyperv-synic';
import { configureNotifyVm, handleNotifyExit, type NotifyMachineOptions } from './notify';
import { Platform } from './platform';
import { setupPcIrqchip, firmwarePicSetup } from './irq-routing';
import { PcSpeaker, PCSPK_PORT } from './pcspk';
import type { kvm_pic_state } from '../kvm/i8259';
import type { kvm_ioapic_state } from '../kvm/ioapic';
import type { kvm_pit_state2 } from '../kvm/i8254';
import { writeMultibootInfo, setupMultibootEntry, MultibootError, type MultibootModule } from './multiboot';
import { hideHypervisorLeaves } from './bare-metal';
import { cpuidWithTopology } from './cpuid-topology';
import { writeLinuxBootParams, setupLinuxEntry, LinuxBootError } from './linux-boot';
import { describeInternalError } from './stop-text';

/** Seed 002 (hyperv, hypervOverlay: overlay.ts) and seed 004 (notifyWindow, notifyUser, tripleFaultEvent, notifyPolicy: notify.ts). */
export interface MachineOptions extends HypervMachineOptions, NotifyMachineOptions {
  vendor?: 'intel' | 'amd';
  /** Guest RAM at GPA 0 (default 64 MiB; below 4 GiB minus the firmware hole). */
  memSize?: number;
  entry?: EntryMode;
  vcpus?: number;
  /**
   * KVM_CREATE_IRQCHIP (default true). false: no in-kernel LAPIC, so KVM returns KVM_EXIT_HLT for
   * HLT and the VMM answers it (see handleExitDefault); one vCPU only, as there is no userspace LAPIC.
   */
  irqchip?: boolean;
  /** KVM_CAP_DISABLE_QUIRKS2 mask. */
  disableQuirks?: number;
  /** KVM_CAP_EXIT_HYPERCALL mask. */
  exitHypercall?: number;
  /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID on every vCPU. */
  enforcePvCpuid?: boolean;
  vm?: VmOptions;
  /** Total guest instructions before the run stops with 'limit'. */
  maxInsns?: number;
  /** Instructions per vCPU slice of the round-robin scheduler. */
  slice?: number;
  /** Also log every hardware exit. */
  logHardwareExits?: boolean;
  /** Entries the exit log keeps (the newest; default EXIT_LOG_SIZE). Counts by reason cover every exit. */
  exitLogSize?: number;
  /**
   * Give the vCPU its CPUID before a RESET (a VMM that does so): RDX then holds CPUID.1.EAX instead
   * of KVM's 0x600 fallback (kvm_vcpu_reset).
   */
  cpuidBeforeReset?: boolean;
  /** Observers attached before any vCPU exists (so events during vCPU creation and RESET are seen). */
  observers?: import('../kvm/observers').KvmObserver[];
  /** Further KVM_ENABLE_CAP calls on the VM, made before any vCPU exists (vCPU caps go to each vCPU). */
  caps?: { cap: number; args: bigint[]; vcpu?: boolean }[];
  /** Multiboot kernels: the command line after the kernel path (QEMU -append); Linux kernels: the kernel command line. */
  cmdline?: string;
  /** Multiboot kernels: the modules (QEMU -initrd); Linux kernels: the initrd (several are concatenated, as cpio archives may be). */
  modules?: MultibootModule[];
  /** Write the ACPI and MP tables into the BIOS area (default: for multiboot kernels). */
  platformTables?: boolean;
  /** Run hot guest code compiled to WebAssembly (vm-core/cpu/jit; default off: the interpreter runs everything). */
  jit?: boolean;
  /** Bare-metal mode: no hypervisor CPUID leaves, CPUID.1:ECX.HYPERVISOR clear (bare-metal.ts). */
  hideHypervisor?: boolean;
  /** A guest's reset request (port 0x92, 0xCF9, i8042) resets the VM and runs on (default: the run stops, like QEMU -no-reboot). */
  reboot?: boolean;
  /** How a write to the exit device (0xF4) becomes the exit status (default byte). */
  exitDevice?: ExitDeviceMode;
}

/** `index`: the entry's position among every exit logged since the VM was created. */
export interface ExitLogEntry { vcpu: number; kind: 'kvm' | 'hw'; reason: string; detail: string; rip: number; index: number; }

/** Default size of the exit logs (the machine's, the debugger's, `run --json`'s exits). */
export const EXIT_LOG_SIZE = 10_000;

export type StopReason =
  /** The guest wrote to the exit device; `code` is the exit status it makes (exitDeviceStatus; the value is Machine.exitValue). */
  | { kind: 'exit-port'; code: number }
  | { kind: 'shutdown' }
  | { kind: 'halted' }
  | { kind: 'limit' }
  | { kind: 'internal-error'; suberror: number; message: string }
  | { kind: 'fail-entry'; reason: bigint }
  | { kind: 'kvm-bug'; bug: string; message: string }
  | { kind: 'stopped'; vcpu: number }
  /** run(sliceLimit) used up its slice: nothing happened, call run() again to continue. */
  | { kind: 'slice' }
  /** The guest asked the platform for a reset (and reboot is off) or an ACPI sleep state. */
  | { kind: 'system-event'; event: 'reset' | 'sleep'; source: string };

/** A hook called at every exit to userspace before the VMM handles it; return true to stop the run. */
export type ExitHook = (vcpu: KvmVcpu, run: U.kvm_run) => boolean | void;

/** A configuration KVM refused (the message names the ioctl and the errno). */
export class MachineConfigError extends Error {}

/** KVM_CAP_* number -> name, from the uapi table. */
export function capName(cap: number): string {
  for (const [k, v] of Object.entries(U)) if (k.startsWith('KVM_CAP_') && v === cap) return k;
  return `cap ${cap}`;
}
/** errno value -> name (EINVAL...). */
export function errnoName(e: number): string {
  for (const [k, v] of Object.entries(U)) if (/^E[A-Z0-9]+$/.test(k) && v === e) return `-${k}`;
  return `-${e}`;
}

export class Machine {
  readonly kvm = new Kvm();
  readonly vm: KvmVm;
  readonly mem: Uint8Array;
  readonly vcpus: KvmVcpu[] = [];
  /**
   * The newest exits (at most opts.exitLogSize, oldest dropped first): a bounded log, so a guest
   * making exits for hours does not exhaust memory. exitsLogged and exitCounts cover every exit.
   */
  readonly exitLog: ExitLogEntry[] = [];
  /** Exits logged since the VM was created (the next entry's index). */
  exitsLogged = 0;
  /** Exits by reason ("kvm:IO", "hw:EXIT_REASON_CPUID"), every one since the VM was created. */
  readonly exitCounts = new Map<string, number>();
  output = '';
  serial = '';
  onExit: ExitHook | null = null;
  /** The vCPU whose exit ended the run (SHUTDOWN, INTERNAL_ERROR): describeTripleFault names its fault chain. */
  endVcpu: KvmVcpu | null = null;
  private stop: StopReason | null = null;
  /** Overlay pages placed for KVM_EXIT_HYPERV_OVERLAY (seed 002). */
  readonly hypervOverlays = new HypervOverlays();
  /** With `hyperv` and the irqchip: every vCPU's SynIC is activated (KVM_CAP_HYPERV_SYNIC2) and userspace's half runs here. */
  readonly hypervSynic: HypervSynicVmm | null;
  /** The PC platform's devices (platform.ts); rebuilt by a RESET of the VM. */
  platform!: Platform;
  /** What a write to port 0xF4 makes the exit status (opts.exitDevice, default the byte; launch picks isa-debug-exit for multiboot kernels). */
  get exitDeviceMode(): ExitDeviceMode { return this.opts.exitDevice ?? 'byte'; }
  /** The value the guest last wrote to the exit device (the whole access). */
  exitValue: number | null = null;
  /** Where the multiboot information structure was written (multiboot kernels). */
  multibootInfo: number | null = null;
  /** Where boot_params (the zero page) was written (Linux kernels, linux-boot.ts). */
  linuxBootParams: number | null = null;

  constructor(readonly image: GuestImage | null, readonly opts: MachineOptions = {}) {
    const vendor = opts.vendor ?? 'intel';
    this.vm = this.kvm.createVm({ vendor, options: opts.vm });
    for (const o of opts.observers ?? []) this.vm.observe(o);
    this.mem = new Uint8Array(opts.memSize ?? 64 << 20);
    this.vm.setUserMemoryRegion({ slot: 0, flags: 0, guest_phys_addr: 0, memory_size: this.mem.length, userspace_addr: this.mem });
    if (opts.irqchip === false) {
      if ((opts.vcpus ?? 1) > 1) throw new MachineConfigError(`irqchip: false supports one vCPU (vcpus is ${opts.vcpus}): without the in-kernel LAPIC the APs would need a userspace LAPIC for INIT/SIPI, which this VMM does not have`);
    } else {
      this.vm.createIrqchip();
      const r = setupPcIrqchip(this.vm);
      if (r < 0) throw new MachineConfigError(`KVM_SET_GSI_ROUTING / KVM_CREATE_PIT2 failed: ${errnoName(-r)}`);
      this.irqchipResetState = { pic: [0, 1].map((c) => this.vm.getIrqchip(c).pic!), ioapic: this.vm.getIrqchip(U.KVM_IRQCHIP_IOAPIC).ioapic!, pit: this.vm.getPit2().state! };
    }
    this.hypervSynic = (opts.hyperv || opts.hypervOverlay) && this.vm.irqchip ? new HypervSynicVmm(this.vm) : null;
    if (opts.disableQuirks) this.vm.enableCap({ cap: U.KVM_CAP_DISABLE_QUIRKS2, args: [opts.disableQuirks] });
    if (opts.exitHypercall) this.vm.enableCap({ cap: U.KVM_CAP_EXIT_HYPERCALL, args: [opts.exitHypercall] });
    for (const c of opts.caps ?? []) {
      if (c.vcpu) continue;
      const r = this.vm.enableCap({ cap: c.cap, args: c.args });
      if (r < 0) throw new MachineConfigError(`KVM_ENABLE_CAP(${capName(c.cap)}, 0x${(c.args[0] ?? 0n).toString(16)}) failed: ${errnoName(-r)}`);
    }
    const hv = configureHypervVm(this.vm, opts);
    if (hv < 0) throw new MachineConfigError(`KVM_ENABLE_CAP(KVM_CAP_HYPERV_OVERLAY_HCALL_PAGE) failed: ${errnoName(-hv)}`);
    const nf = configureNotifyVm(this.vm, opts);
    if (nf) throw new MachineConfigError(`KVM_ENABLE_CAP(${capName(nf[0])}, 0x${nf[1].toString(16)}) failed: ${errnoName(-nf[2])}` +
      (nf[0] === U.KVM_CAP_X86_NOTIFY_VMEXIT && this.vm.vendor !== 'intel' ? ' (Notify VM exits are Intel-only: KVM_CHECK_EXTENSION returns 0 on AMD)' : ''));
    this.platform = this.createPlatform();
    if (image) { this.load(image); this.bootProtocol(); }
    const entryMode = opts.entry ?? this.defaultEntry();
    for (let k = 0; k < (opts.vcpus ?? 1); k++) this.addVcpu(k, entryMode);
    if (opts.logHardwareExits) this.vm.observe({ hwExit: (e) => this.logExit('hw', e.vcpu, e.name, `info1=0x${e.info1.toString(16)}`, e.rip) });
  }

  private createPlatform(): Platform {
    const img = this.image, mb = img?.multiboot;
    const p = new Platform({
      mem: this.mem,
      vcpus: this.opts.vcpus ?? 1,
      nowNs: () => this.vm.clock.nowNs(),
      transmit: (b) => { this.serial += String.fromCharCode(b); },
      systemEvent: (event, source) => {
        if (event === 'reset' && this.opts.reboot) this.resetRequested = source;
        else this.stop = { kind: 'system-event', event, source };
      },
      fwCfg: img && mb ? {
        kernel: { addr: img.segments[0]?.addr ?? 0, size: img.segments.reduce((n, s) => n + s.bytes.length, 0), entry: img.entry },
        cmdline: { addr: 0, text: this.opts.cmdline ?? '' },
        ...(this.opts.modules?.length ? { initrd: { addr: 0, size: this.opts.modules[0].bytes.length } } : {}),
      } : undefined,
    });
    // ISA IRQ lines (COM1, pc-testdev) as QEMU's pc machine drives them: KVM_IRQ_LINE on GSI n for ISA
    // IRQ n; the routing table (irq-routing.ts) takes them to the PIC and the IOAPIC (IRQ0 on pin 2).
    // Without an irqchip the lines go nowhere.
    p.setIrq = (line, level) => { if (this.vm.irqchip) this.vm.irqLine({ irq: line, level }); };
    if (this.vm.pit) p.bus.register(PCSPK_PORT, 1, new PcSpeaker(this.vm));
    // QEMU's -device hyperv-testdev (kvm-unit-tests' hyperv_synic / hyperv_connections drive it).
    if (this.hypervSynic) p.bus.register(HV_TEST_DEV_PORT, 4, this.hypervSynic);
    return p;
  }

  /** The in-kernel PIC, IOAPIC and PIT states at power-on (restored by resetVm). */
  private irqchipResetState: { pic: kvm_pic_state[]; ioapic: kvm_ioapic_state; pit: kvm_pit_state2 } | null = null;
  /** A reset request seen while reboot is on: the VMM resets the VM after the current exit. */
  private resetRequested: string | null = null;

  /** Multiboot kernels: the MBI, modules and tables (the boot vCPU is set up in addVcpu / resetVm). */
  private bootProtocol(): void {
    const img = this.image;
    if (!img) return;
    if (this.opts.platformTables ?? !!(img.multiboot || img.linux)) Platform.writeTables(this.mem, this.opts.vcpus ?? 1);
    if (img.linux && !this.opts.entry) { this.linuxBootProtocol(); return; }
    if (!img.multiboot || this.opts.entry) return;
    // The firmware QEMU runs before a -kernel image leaves the 8259s initialized and masked.
    if (this.vm.pic) { const r = firmwarePicSetup(this.vm); if (r < 0) throw new MachineConfigError(`KVM_SET_IRQCHIP (PIC) failed: ${errnoName(-r)}`); }
    try {
      const info = writeMultibootInfo(this.mem, img, { cmdline: [img.path, this.opts.cmdline ?? ''].filter((x) => x).join(' '), modules: this.opts.modules ?? [], memSize: this.mem.length });
      this.multibootInfo = info.mbi;
    } catch (e) {
      if (e instanceof MultibootError) throw new MachineConfigError(e.message);
      throw e;
    }
  }

  /** Linux kernels: boot_params, the command line and the initrd (linux-boot.ts). */
  private linuxBootProtocol(): void {
    const mods = this.opts.modules ?? [];
    const initrd = mods.length === 1 ? mods[0].bytes : mods.length ? concatBytes(mods.map((m) => m.bytes)) : undefined;
    try {
      this.linuxBootParams = writeLinuxBootParams(this.mem, this.image!, { cmdline: this.opts.cmdline ?? '', initrd, memSize: this.mem.length }).bootParams;
    } catch (e) {
      if (e instanceof LinuxBootError) throw new MachineConfigError(e.message);
      throw e;
    }
  }

  private setupBootVcpu(v: KvmVcpu, mode: EntryMode): void {
    if (!this.image) return;
    if (this.linuxBootParams !== null && this.image.linux && !this.opts.entry) { setupLinuxEntry(v, this.mem, this.image.linux, this.linuxBootParams); return; }
    if (this.multibootInfo !== null && !this.opts.entry) setupMultibootEntry(v, this.mem, this.image.entry, this.multibootInfo);
    else setupEntry(v, this.mem, mode, this.image.entry);
  }

  private defaultEntry(): EntryMode {
    const img = this.image;
    if (!img) return 'reset';
    if (img.bits === 64) return 'long';
    if (img.bits === 32) return 'protected';
    return img.entry >= 0xfff00000 ? 'reset' : 'real';
  }

  /** Copy the image; segments above RAM form a firmware image ending at 4 GiB, its last 128 KiB aliased below 1 MiB. */
  private load(img: GuestImage): void {
    for (const s of img.segments) {
      if (s.addr + s.bytes.length <= this.mem.length) { this.mem.set(s.bytes, s.addr); continue; }
      if (s.addr + s.memSize > 0x100000000) throw new Error(`segment at 0x${s.addr.toString(16)} runs past 4 GiB`);
      const size = Math.ceil((0x100000000 - s.addr) / 4096) * 4096;
      const fw = new Uint8Array(size);
      fw.set(s.bytes, size - (0x100000000 - s.addr));
      this.vm.setUserMemoryRegion({ slot: 1, flags: U.KVM_MEM_READONLY, guest_phys_addr: 0x100000000 - size, memory_size: size, userspace_addr: fw });
      const alias = Math.min(size, 128 << 10);
      this.mem.set(fw.subarray(size - alias), 0x100000 - alias);
    }
  }

  private addVcpu(id: number, mode: EntryMode): void {
    const v = this.vm.createVcpu(id) as KvmVcpu;
    const cpuid = cpuidWithTopology(vcpuCpuid(this.kvm, this.vm, this.opts), id, this.opts.vcpus ?? 1, this.vm.vendor);
    v.setCpuid2(this.opts.hideHypervisor ? hideHypervisorLeaves(cpuid) : cpuid);
    if (this.opts.cpuidBeforeReset) v.reset();
    if (this.opts.enforcePvCpuid) v.enableCap({ cap: U.KVM_CAP_ENFORCE_PV_FEATURE_CPUID, args: [1] });
    if (this.hypervSynic) v.enableCap({ cap: U.KVM_CAP_HYPERV_SYNIC2, args: [0] });
    for (const c of this.opts.caps ?? []) {
      if (!c.vcpu) continue;
      const r = v.enableCap({ cap: c.cap, args: c.args });
      if (r < 0) throw new MachineConfigError(`KVM_ENABLE_CAP(${capName(c.cap)}) on vCPU ${id} failed: ${errnoName(-r)}`);
    }
    if (id === 0) this.setupBootVcpu(v, mode);
    if (this.opts.jit) v.cpu.setJit(true);
    this.vcpus.push(v);
  }

  /** The round-robin position: whose turn it is and how much of the turn is left (-1: a new turn). */
  private cursor = 0;
  private turnLeft = -1;
  /** Instructions left before the run stops with 'limit' (opts.maxInsns). */
  private totalLeft = NaN;
  /** An exit to userspace a hook stopped at, handled by the VMM when the run resumes. */
  private pendingExit: KvmVcpu | null = null;
  /** The stopped exit's reply was edited (e.g. by a debugger): the VMM must not answer it again. */
  replyOverridden = false;

  /** The vCPU whose exit to userspace is waiting for the VMM (a hook stopped there). */
  get stoppedAtExit(): KvmVcpu | null { return this.pendingExit; }

  /** Resuming after a hook stopped at an exit: the VMM answers it now (unless its reply was edited). True if that ended the run. */
  private answerPendingExit(): boolean {
    const v = this.pendingExit;
    if (!v) return false;
    this.pendingExit = null;
    if (!this.replyOverridden) this.handleExitDefault(v);
    this.replyOverridden = false;
    return this.stop !== null;
  }

  /**
   * Run until a stop reason, or until `sliceLimit` more guest instructions have run ('slice').
   * Round-robin over the vCPUs in `opts.slice`-instruction turns; the turn position persists across
   * calls, so how a run is cut into slices never changes the interleaving (deterministic).
   */
  run(sliceLimit = Infinity): StopReason {
    this.stop = null;
    if (Number.isNaN(this.totalLeft)) this.totalLeft = this.opts.maxInsns ?? 100_000_000;
    if (this.answerPendingExit()) return this.stop!;
    const turn = this.opts.slice ?? 100_000;
    let sliceLeft = sliceLimit;
    let idle = 0; // consecutive vCPUs that could not run
    while (!this.stop) {
      if (this.totalLeft <= 0) { this.stop = { kind: 'limit' }; break; }
      if (sliceLeft <= 0) return { kind: 'slice' };
      const v = this.vcpus[this.cursor];
      if (this.turnLeft < 0) this.turnLeft = turn;
      const before = v.cpu.icount;
      // A KVM_RUN that first completes a hardware exit a debugger stopped at continues the one the
      // stop interrupted: it is not charged as a new exit, so stopping there leaves the schedule as it was.
      const resumesStop = v.arch.hw_exit_pending;
      const r = v.run({ maxInsns: Math.min(this.turnLeft, sliceLeft, this.totalLeft) });
      let used = v.cpu.icount - before;
      // An endless event-delivery chain retires nothing, but its turn's time is spent; an exit to
      // userspace that retired nothing costs one unit (seed 004: notify exits resumed forever).
      if (used === 0 && r === -U.EINTR && v.stalled) used = Math.min(this.turnLeft, sliceLeft, this.totalLeft);
      else if (used === 0 && r === 0 && !resumesStop) used = 1;
      this.turnLeft -= used; sliceLeft -= used; this.totalLeft -= used;
      // An IPI to another vCPU ends the sender's turn, so the target runs next (KvmVcpu.kickedOther).
      let yieldTurn = this.turnLeft <= 0 || v.kickedOther;
      if (r === 0) { idle = 0; this.handleExit(v); }
      else if (v.livelocked && v.lastBug) this.stop = { kind: 'kvm-bug', bug: v.lastBug.kind, message: v.lastBug.message };
      else if (v.stoppedByHook) this.stop = { kind: 'stopped', vcpu: v.vcpu_id };
      else if (v.blocked || r === -U.EAGAIN) { yieldTurn = true; if (++idle >= this.vcpus.length) this.stop = { kind: 'halted' }; }
      else if (used > 0) idle = 0;
      if (yieldTurn && !this.stop) { this.cursor = (this.cursor + 1) % this.vcpus.length; this.turnLeft = -1; }
    }
    return this.stop;
  }

  /**
   * Run one vCPU for at most `n` instructions (a debugger's step), outside the round-robin: other
   * vCPUs stay where they are. Exits are handled as in run(); returns 'slice' when n were run.
   */
  runVcpu(v: KvmVcpu, n: number): StopReason {
    this.stop = null;
    if (this.answerPendingExit()) return this.stop!;
    let left = n;
    let first = true; // n = 0 still enters KVM_RUN once: KVM completes a pending exit, runs nothing
    while (!this.stop && (left > 0 || first)) {
      first = false;
      const before = v.cpu.icount;
      const r = v.run({ maxInsns: left });
      const used = v.cpu.icount - before;
      left -= used;
      if (r === 0) this.handleExit(v);
      else if (v.livelocked && v.lastBug) this.stop = { kind: 'kvm-bug', bug: v.lastBug.kind, message: v.lastBug.message };
      else if (v.stoppedByHook) this.stop = { kind: 'stopped', vcpu: v.vcpu_id };
      else if (v.blocked || r === -U.EAGAIN) this.stop = { kind: 'halted' };
      else if (used === 0 && r !== 0) break;
    }
    return this.stop ?? { kind: 'slice' };
  }

  /**
   * RESET of the whole VM, which KVM cannot expose (seed 001): every vCPU back to its RESET state
   * (kvm_vcpu_reset(vcpu, false)), the boot set-up applied again, guest RAM reloaded from the image.
   */
  resetVm(): void {
    this.clearRamForReset();
    const rs = this.irqchipResetState;
    if (rs) { // QEMU's device resets: KVM_SET_IRQCHIP and KVM_SET_PIT2 with the power-on states
      rs.pic.forEach((s, c) => this.vm.setIrqchip(c, s));
      this.vm.setIrqchip(U.KVM_IRQCHIP_IOAPIC, rs.ioapic);
      this.vm.setPit2(rs.pit);
    }
    this.platform = this.createPlatform();
    this.multibootInfo = null;
    this.linuxBootParams = null;
    this.resetRequested = null;
    if (this.image) { this.load(this.image); this.bootProtocol(); }
    const mode = this.opts.entry ?? this.defaultEntry();
    for (const v of this.vcpus) {
      v.reset();
      if (v.vcpu_id === 0) this.setupBootVcpu(v, mode);
    }
    this.vm.bus.noteWrite(0, this.mem.length);
    this.output = '';
    this.serial = '';
    this.pendingExit = null;
    this.replyOverridden = false;
    this.cursor = 0;
    this.turnLeft = -1;
    this.totalLeft = NaN;
  }

  /**
   * Zero RAM for a RESET. While a debugger's recording tracks writes (dirty-logging epochs) only the
   * pages written since it began (and the image's) can differ from a fresh VM: those are saved for
   * the recording and cleared. Otherwise all of RAM is cleared. (Saving and clearing all 64 MiB page
   * by page cost ~0.5 s per RESET.)
   */
  private clearRamForReset(): void {
    const bus = this.vm.bus, mem = this.mem;
    if (!bus.trackingWrites) { mem.fill(0); return; }
    for (let p = 0; p < mem.length >>> 12; p++) {
      if (!bus.writtenWhileTracking(p)) continue;
      bus.prepareWrite(p * 4096, 4096);
      mem.fill(0, p * 4096, p * 4096 + 4096);
    }
    for (const s of this.image?.segments ?? []) {
      if (s.addr < mem.length) {
        const n = Math.max(1, Math.min(s.memSize ?? s.bytes.length, mem.length - s.addr));
        bus.prepareWrite(s.addr, n);
        mem.fill(0, s.addr, s.addr + n);
      } else if (mem.length >= 0x100000) bus.prepareWrite(0x100000 - (128 << 10), 128 << 10); // the firmware alias below 1 MiB
    }
  }

  /** The VMM's handling of one KVM_EXIT_*: the hook first (a debugger may stop here), then the default. */
  private handleExit(v: KvmVcpu): void {
    const run = v.kvm_run;
    this.logExit('kvm', v.vcpu_id, run.exitName, this.describe(run), v.peekRip());
    if (this.onExit && this.onExit(v, run)) {
      this.pendingExit = v;
      this.replyOverridden = false;
      this.stop = { kind: 'stopped', vcpu: v.vcpu_id };
      return;
    }
    this.handleExitDefault(v);
  }

  private logExit(kind: 'kvm' | 'hw', vcpu: number, reason: string, detail: string, rip: number): void {
    const key = `${kind}:${reason}`;
    this.exitCounts.set(key, (this.exitCounts.get(key) ?? 0) + 1);
    const log = this.exitLog, size = this.opts.exitLogSize ?? EXIT_LOG_SIZE;
    log.push({ vcpu, kind, reason, detail, rip, index: this.exitsLogged++ });
    // Dropped in batches of a quarter: amortised O(1) per exit.
    if (log.length > size + (size >> 2)) log.splice(0, log.length - size);
  }

  /** A debugger rewound the machine (exitsLogged came back with it): drop the entries logged since. */
  rewindExitLog(): void {
    const log = this.exitLog;
    let k = log.length;
    while (k > 0 && log[k - 1].index >= this.exitsLogged) k--;
    log.length = k;
  }

  /** What this VMM answers to each KVM_EXIT_* when nobody else did. */
  private handleExitDefault(v: KvmVcpu): void {
    const run = v.kvm_run;
    switch (run.exit_reason) {
      case U.KVM_EXIT_IO: this.handleIo(v); break;
      case U.KVM_EXIT_MMIO: this.handleMmio(v); break;
      case U.KVM_EXIT_HLT: if (!this.haltWakes(v)) this.stop = { kind: 'halted' }; break;
      case U.KVM_EXIT_SHUTDOWN: this.stop = { kind: 'shutdown' }; this.endVcpu = v; break;
      case U.KVM_EXIT_HYPERCALL: break; // reply ret = 0 (set by KVM) unless a hook changed it
      case U.KVM_EXIT_X86_RDMSR: case U.KVM_EXIT_X86_WRMSR: run.msr.error = 1; break;
      case U.KVM_EXIT_INTERNAL_ERROR:
        this.stop = { kind: 'internal-error', suberror: run.internal.suberror, message: v.lastInternalError || describeInternalError(this, v) }; this.endVcpu = v; break;
      case U.KVM_EXIT_FAIL_ENTRY: this.stop = { kind: 'fail-entry', reason: run.fail_entry.hardware_entry_failure_reason }; break;
      case U.KVM_EXIT_HYPERV: if (!this.hypervOverlays.handleExit(this.vm, v, this.hypervSynic)) this.stop = { kind: 'stopped', vcpu: v.vcpu_id }; break;
      case U.KVM_EXIT_NOTIFY: if (!handleNotifyExit(v, this.opts.notifyPolicy ?? 'stop')) this.stop = { kind: 'stopped', vcpu: v.vcpu_id }; break;
      default: this.stop = { kind: 'stopped', vcpu: v.vcpu_id };
    }
  }

  /**
   * KVM_EXIT_HLT (no in-kernel irqchip; KVM already skipped the HLT): like QEMU's kvm_handle_halt, the
   * VMM re-enters KVM_RUN at once when it has an event for the vCPU, else the vCPU stays halted. The
   * only event this VMM (or a debugger acting as it) can raise without an irqchip is an NMI
   * (KVM_SET_VCPU_EVENTS nmi.pending), so it asks KVM (KVM_GET_VCPU_EVENTS); with one vCPU and no
   * device interrupts, halted is for good.
   */
  private haltWakes(v: KvmVcpu): boolean {
    const e = v.getVcpuEvents();
    return e.nmi.pending !== 0 || e.nmi.injected !== 0;
  }

  private handleIo(v: KvmVcpu): void {
    const run = v.kvm_run, io = run.io;
    for (let k = 0; k < io.count; k++) {
      const off = io.data_offset + k * io.size;
      if (io.direction === U.KVM_EXIT_IO_OUT) {
        let val = 0;
        for (let b = 0; b < io.size; b++) val |= run.data[off + b] << (8 * b);
        if (io.port === EXIT_PORT) { this.exitValue = val >>> 0; this.stop = { kind: 'exit-port', code: exitDeviceStatus(val, this.exitDeviceMode) }; return; }
        if (this.platform.bus.write(io.port, io.size, val >>> 0)) { if (this.stop) return; continue; }
        const text = handlePortOut(this, io.port, io.size, val >>> 0);
        if (text && io.port === DEBUG_PORT) this.output += text;
      } else {
        const val = this.platform.bus.read(io.port, io.size) ?? handlePortIn(this, io.port, io.size);
        for (let b = 0; b < io.size; b++) run.data[off + b] = (val >>> (8 * b)) & 0xff;
      }
    }
    if (this.resetRequested !== null) {
      // The guest's reset request with reboot on: the VM restarts inside this run, whose instruction budget goes on.
      const left = this.totalLeft, output = this.output, serial = this.serial;
      this.resetVm();
      this.totalLeft = left; this.output = output; this.serial = serial;
    }
  }

  /** KVM_EXIT_MMIO: the platform's MMIO windows (pc-testdev's IORAM); elsewhere reads are all ones, writes dropped. */
  private handleMmio(v: KvmVcpu): void {
    const mmio = v.kvm_run.mmio, gpa = Number(mmio.phys_addr);
    const dev = this.platform.bus.mmioDevice(gpa);
    const data = mmio.data.subarray(0, mmio.len);
    if (!dev) { if (!mmio.is_write) data.fill(0xff); return; }
    if (mmio.is_write) dev.mmioWrite(gpa, data); else dev.mmioRead(gpa, data);
  }

  private describe(run: U.kvm_run): string {
    switch (run.exit_reason) {
      case U.KVM_EXIT_IO: return `${run.io.direction ? 'out' : 'in'} port=0x${run.io.port.toString(16)} size=${run.io.size}`;
      case U.KVM_EXIT_MMIO: return `${run.mmio.is_write ? 'write' : 'read'} gpa=0x${run.mmio.phys_addr.toString(16)} len=${run.mmio.len}`;
      case U.KVM_EXIT_HYPERCALL: return `nr=${run.hypercall.nr} args=${run.hypercall.args.slice(0, 3).map((a) => '0x' + a.toString(16)).join(',')}`;
      case U.KVM_EXIT_INTERNAL_ERROR: return `suberror=${run.internal.suberror}`;
    }
    return '';
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
