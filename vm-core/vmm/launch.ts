// From launch options (the schema shared by the CLI, --config files and launch.json) to a running
// Machine: load the image, translate KVM capability and quirk names into numbers, and report every
// problem as a message that names the option or the file location.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadImage } from '../loader/load-image';
import { formatDiagnostic, hex64, type GuestImage } from '../loader/image';
import type { LaunchOptions } from '../config/launch-options';
import { addSystemMap, parseSystemMap } from '../loader/system-map';
import * as U from '../kvm/uapi';
import { Machine, MachineConfigError, type MachineOptions } from './machine';

export type LaunchResult =
  | { ok: true; machine: Machine; image: GuestImage; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

/** Capabilities enabled per vCPU (KVM_ENABLE_CAP on the vCPU fd) rather than per VM. */
const VCPU_CAPS = new Set([U.KVM_CAP_ENFORCE_PV_FEATURE_CPUID, U.KVM_CAP_HYPERV_ENFORCE_CPUID]);

/** KVM_CAP_* name -> number (the uapi table). */
export function capNumber(name: string): number | undefined {
  const v = (U as Record<string, unknown>)[name];
  return name.startsWith('KVM_CAP_') && typeof v === 'number' ? v : undefined;
}

/** Quirk names (KVM_X86_QUIRK_ prefix optional) or bit masks -> one mask. */
export function quirkMask(items: string[]): { mask: number; errors: string[] } {
  let mask = 0;
  const errors: string[] = [];
  items.forEach((q, k) => {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(q)) { mask |= Number(q); return; }
    const name = q.toUpperCase().startsWith('KVM_X86_QUIRK_') ? q.toUpperCase() : 'KVM_X86_QUIRK_' + q.toUpperCase();
    const v = (U as Record<string, unknown>)[name];
    if (typeof v === 'number') mask |= v;
    else errors.push(`disableQuirks[${k}]: unknown quirk "${q}" (known: ${knownQuirks().join(', ')})`);
  });
  return { mask, errors };
}

function knownQuirks(): string[] {
  return Object.keys(U).filter((k) => k.startsWith('KVM_X86_QUIRK_')).map((k) => k.slice('KVM_X86_QUIRK_'.length));
}

/** Turn launch options into Machine options; errors name the option. */
export function machineOptions(o: LaunchOptions): { opts: MachineOptions; errors: string[] } {
  const errors: string[] = [];
  const caps: NonNullable<MachineOptions['caps']> = [];
  o.caps.forEach((c, k) => {
    const n = capNumber(c.name);
    if (n === undefined) { errors.push(`caps[${k}]: unknown capability ${c.name}`); return; }
    caps.push({ cap: n, args: [c.value], vcpu: VCPU_CAPS.has(n) });
  });
  const q = quirkMask(o.disableQuirks);
  errors.push(...q.errors);
  const opts: MachineOptions = {
    vendor: o.vendor,
    memSize: o.memory,
    entry: o.entry === 'auto' ? undefined : o.entry,
    vcpus: o.vcpus,
    irqchip: o.irqchip,
    disableQuirks: q.mask || undefined,
    caps,
    vm: { hypercallPolicy: o.hypercallPolicy, unrestrictedGuest: o.unrestrictedGuest, preFixSeed001: o.preFixSeed001, interceptAcDb: o.interceptAcDb, tscKhz: o.tscKhz, nested: o.nested },
    maxInsns: o.maxInstructions > 0 ? o.maxInstructions : Infinity,
    slice: o.vcpuQuantum,
    logHardwareExits: o.exitLog === 'all',
    exitLogSize: o.exitLogSize,
    cpuidBeforeReset: o.cpuidBeforeReset,
    hyperv: o.hyperv,
    hypervOverlay: o.hypervOverlay,
    notifyWindow: o.notifyWindow,
    notifyUser: o.notifyUser,
    tripleFaultEvent: o.tripleFaultEvent,
    notifyPolicy: o.notifyPolicy,
    jit: o.jit,
    hideHypervisor: o.hideHypervisor || undefined,
  };
  if (o.memory > 0xc0000000) errors.push('memory: at most 3G below the 4 GiB firmware/MMIO hole');
  return { opts, errors };
}

/** Load the image and build the Machine; never throws. */
export function launch(o: LaunchOptions, baseDir = process.cwd(), extra: Partial<MachineOptions> = {}): LaunchResult {
  const warnings: string[] = [];
  const path = resolve(baseDir, o.program);
  const loaded = loadImage(path, {
    format: o.format,
    loadAddress: o.load,
    placement: o.placement === 'reset' ? 'reset' : 'address',
    defines: o.defines,
  });
  for (const d of loaded.diagnostics) if (d.severity === 'warning') warnings.push(formatDiagnostic(d));
  if (!loaded.ok) {
    return { ok: false, errors: loaded.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), warnings };
  }
  const { opts, errors } = machineOptions(o);
  if (o.symbols) {
    const file = resolve(baseDir, o.symbols);
    let text: string | undefined;
    try { text = readFileSync(file, 'latin1'); } catch (e) { errors.push(`symbols: cannot read ${file}: ${(e as Error).message}`); }
    const map = text === undefined ? undefined : parseSystemMap(text, file);
    if (map && 'error' in map) errors.push(`symbols: ${map.error}`);
    else if (map) addSystemMap(loaded.image, map);
  }
  if (o.append !== undefined) opts.cmdline = o.append;
  if (o.initrd) {
    opts.modules = [];
    for (const [k, item] of o.initrd.split(',').entries()) {
      const file = item.trim().split(/\s+/)[0];
      if (!file) { errors.push(`initrd: module ${k} has no file name`); continue; }
      try { opts.modules.push({ name: item.trim(), bytes: new Uint8Array(readFileSync(resolve(baseDir, file))) }); }
      catch (e) { errors.push(`initrd: cannot read module ${k} ${file}: ${(e as Error).message}`); }
    }
  }
  // The exit device as QEMU's isa-debug-exit for the kernels QEMU -kernel runs (kvm-unit-tests' scripts read its statuses).
  opts.exitDevice = o.exitDevice === 'auto' ? (loaded.image.multiboot ? 'isa-debug-exit' : 'byte') : o.exitDevice;
  if ((o.append !== undefined || o.initrd) && !loaded.image.multiboot && !loaded.image.linux) warnings.push(`append/initrd: ${o.program} is not a multiboot or Linux kernel, so they are ignored`);
  errors.push(...imageFitsRam(loaded.image, o));
  if (errors.length) return { ok: false, errors, warnings };
  try {
    const machine = new Machine(loaded.image, { ...opts, ...extra });
    return { ok: true, machine, image: loaded.image, warnings };
  } catch (e) {
    const msg = e instanceof MachineConfigError ? e.message : `cannot create the VM: ${(e as Error).message}`;
    return { ok: false, errors: [msg], warnings };
  }
}

/** The firmware area below 4 GiB (BIOS flash): segments there are firmware, not RAM. */
const FIRMWARE_BASE = 0xff000000;
const mib = (n: number) => n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB` : `${n} bytes`;
const hexs = (n: number) => '0x' + n.toString(16);

/**
 * Every byte of the image must land in guest RAM (or, for firmware, in the top 16 MiB below 4 GiB):
 * a segment beyond RAM would silently run zeroed memory. Errors name the segment, the RAM size and --memory.
 */
export function imageFitsRam(img: GuestImage, o: LaunchOptions): string[] {
  const errors: string[] = [];
  img.segments.forEach((s, k) => {
    const end = s.addr + Math.max(s.memSize, s.bytes.length);
    if (s.addr < 0 || !Number.isSafeInteger(s.addr)) { errors.push(`${img.path}: segment ${k} is at ${hex64(s.addr)}, not a guest-physical address in RAM (${mib(o.memory)})`); return; }
    if (end <= o.memory) return;
    if (s.addr >= FIRMWARE_BASE && end <= 0x100000000) return; // firmware ending at 4 GiB
    const need = Math.ceil(end / 2 ** 20) * 2 ** 20;
    const fix = end <= 0xc0000000 ? `give --memory ${need / 2 ** 20}M or more (launch.json "memory")` : 'guest RAM ends below 3 GiB: link or load the image lower';
    if (img.format === 'flat') {
      errors.push(`${img.path}: the flat image is ${mib(s.bytes.length)} at ${hexs(s.addr)}, ending at ${hexs(end)}, past the end of guest RAM (${mib(o.memory)}): ${fix}, or --placement reset to place it as firmware ending at 4 GiB`);
    } else {
      errors.push(`${img.path}: ${img.format === 'asm' ? 'section' : 'ELF segment'} ${k}${s.name ? ` (${s.name})` : ''} at ${hexs(s.addr)}-${hexs(end)} lies beyond guest RAM (${mib(o.memory)}, up to ${hexs(o.memory)}): ${fix}`);
    }
  });
  return errors;
}
