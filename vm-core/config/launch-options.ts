// One schema for every way a guest is launched: `kvm-guest run` flags, a `--config FILE.json`, and
// the DAP launch configuration (launch.json). Each option has one name (camelCase in JSON, kebab-case
// on the command line), one parser and one description, so the three faces cannot drift apart.

export type EntryMode = 'auto' | 'reset' | 'real' | 'protected' | 'long';
export type HypercallPolicy = 'patch' | 'patch-fixed' | 'ud' | 'emulate';

/** A `KVM_CAP_*` to enable: name as given (prefix optional) and its argument (args[0]). */
export interface CapRequest { name: string; value: bigint; }

export interface LaunchOptions {
  program: string;
  format: 'auto' | 'asm' | 'flat' | 'elf';
  load?: number;
  placement: 'load' | 'reset';
  entry: EntryMode;
  memory: number;
  vendor: 'intel' | 'amd';
  caps: CapRequest[];
  disableQuirks: string[];
  hypercallPolicy?: HypercallPolicy;
  vcpus: number;
  irqchip: boolean;
  maxInstructions: number;
  maxExits: number;
  stopOnEntry: boolean;
  console: 'debugConsole' | 'none';
  hyperv: boolean;
  hypervOverlay: boolean;
  notifyWindow?: number;
  notifyUser: boolean;
  tripleFaultEvent: boolean;
  notifyPolicy: 'stop' | 'shutdown' | 'resume';
  interceptAcDb: boolean;
  tscKhz: number;
  vcpuQuantum: number;
  unrestrictedGuest: boolean;
  nested: boolean;
  preFixSeed001: boolean;
  cpuidBeforeReset: boolean;
  exitLog: 'userspace' | 'all';
  exitLogSize: number;
  defines: Record<string, string>;
  append?: string;
  initrd?: string;
  symbols?: string;
  hideHypervisor: boolean;
  gdbPort?: number;
  jit: boolean;
  exitDevice: 'auto' | 'isa-debug-exit' | 'byte';
}

export interface OptionError { option: string; message: string; }

type Kind = 'string' | 'boolean' | 'integer' | 'size' | 'address' | 'enum' | 'list' | 'map';

export interface OptionSpec {
  name: keyof LaunchOptions;
  kind: Kind;
  description: string;
  default?: unknown;
  values?: readonly string[];
  /** Shown in --help: the value's placeholder. */
  arg?: string;
  /** Only meaningful for the debug adapter (ignored by `kvm-guest run`). */
  dapOnly?: boolean;
  repeatable?: boolean;
}

export const OPTION_SPECS: readonly OptionSpec[] = [
  { name: 'program', kind: 'string', arg: 'IMAGE', description: 'Guest image: NASM-syntax assembly (.asm/.nasm, assembled on the fly), an ELF32/ELF64 executable, a Linux bzImage or vmlinux (booted by the Linux boot protocol), or a flat binary.' },
  { name: 'format', kind: 'enum', values: ['auto', 'asm', 'flat', 'elf'], default: 'auto', description: 'Image format; auto detects ELF by its magic, a Linux bzImage by its setup header ("HdrS") and assembly by its extension, anything else is flat.' },
  { name: 'load', kind: 'address', arg: 'ADDR', description: 'Guest-physical load address of a flat image (default 0x7C00, like a boot sector).' },
  { name: 'placement', kind: 'enum', values: ['load', 'reset'], default: 'load', description: "Flat images: 'load' places the image at `load`; 'reset' places it so its last byte is at 0xFFFFFFFF, like firmware started from the RESET vector." },
  { name: 'entry', kind: 'enum', values: ['auto', 'reset', 'real', 'protected', 'long'], default: 'auto', description: "How the boot vCPU starts: 'reset' (the architectural RESET state, CS:IP F000:FFF0), 'real' (real mode at the entry point), 'protected' (flat 32-bit protected mode), 'long' (64-bit mode with identity-mapped page tables and a GDT, as KVM selftests prepare vCPUs); auto picks from the image (ELF64 long, ELF32 protected, bits 64/32 sources long/protected, else real)." },
  { name: 'memory', kind: 'size', arg: 'SIZE', default: 64 * 1024 * 1024, description: 'Guest RAM size: a number with an optional K, M or G suffix (hex allowed), e.g. 64M.' },
  { name: 'vendor', kind: 'enum', values: ['intel', 'amd'], default: 'intel', description: 'Processor vendor the VM models: Intel VMX (VMCALL, VMCS, VMX exit reasons) or AMD SVM (VMMCALL, VMCB, SVM exit codes).' },
  { name: 'caps', kind: 'list', arg: 'NAME[=VALUE]', repeatable: true, default: [], description: 'Capabilities to enable with KVM_ENABLE_CAP, by KVM name with the KVM_CAP_ prefix optional, e.g. KVM_CAP_EXIT_HYPERCALL=0x1000 or X86_NOTIFY_VMEXIT=0x100000003.' },
  { name: 'disableQuirks', kind: 'list', arg: 'NAME|BITS', repeatable: true, default: [], description: 'Quirks to disable (KVM_CAP_DISABLE_QUIRKS2): names like FIX_HYPERCALL_INSN (KVM_X86_QUIRK_ prefix optional) or a bit mask.' },
  { name: 'hypercallPolicy', kind: 'enum', values: ['patch', 'patch-fixed', 'ud', 'emulate'], description: "What KVM does with the other vendor's hypercall instruction (seed 000): 'patch' (quirk FIX_HYPERCALL_INSN, KVM today), 'patch-fixed' (Sean's proposal: #UD instead of #PF), 'ud' (quirk off), 'emulate' (the v2 patch: emulate without patching). Default follows the quirk." },
  { name: 'vcpus', kind: 'integer', arg: 'N', default: 1, description: 'Number of vCPUs; APs wait for INIT-SIPI-SIPI.' },
  { name: 'irqchip', kind: 'boolean', default: true, description: "Create the in-kernel irqchip (KVM_CREATE_IRQCHIP: LAPICs, INIT/SIPI, HLT handled in the kernel). false: no in-kernel LAPIC, so HLT exits to userspace (KVM_EXIT_HLT) and the VMM keeps the vCPU halted until it has an NMI to deliver, as QEMU does with kernel-irqchip=off; one vCPU only (this VMM has no userspace LAPIC to start APs with INIT/SIPI)." },
  { name: 'maxInstructions', kind: 'integer', arg: 'N', default: 0, description: 'Stop after this many guest instructions (0: no limit).' },
  { name: 'maxExits', kind: 'integer', arg: 'N', default: 0, description: 'Stop after this many exits to userspace (0: no limit).' },
  { name: 'stopOnEntry', kind: 'boolean', default: false, dapOnly: true, description: 'Stop at the first instruction.' },
  { name: 'console', kind: 'enum', values: ['debugConsole', 'none'], default: 'debugConsole', dapOnly: true, description: 'Where the guest\'s debug-port (0xE9) and serial (0x3F8) output goes.' },
  { name: 'hyperv', kind: 'boolean', default: false, description: 'Enable Hyper-V enlightenments for the vCPUs (KVM_CAP_HYPERV, Hyper-V CPUID leaves, synthetic MSRs).' },
  { name: 'hypervOverlay', kind: 'boolean', default: false, description: 'Seed 002: the hypercall page is an overlay placed by userspace (KVM_EXIT_HYPERV type OVERLAY) instead of being written into guest memory.' },
  { name: 'gdbPort', kind: 'integer', arg: 'PORT', description: 'Also serve the GDB remote protocol on 127.0.0.1:PORT (gdb: target remote :PORT), for gdb, lldb and other RSP clients (kvm-guest run --gdb PORT).' },
  { name: 'notifyWindow', kind: 'integer', arg: 'N', description: 'Enable Notify VM exits (KVM_CAP_X86_NOTIFY_VMEXIT) with this window, in the processor\'s deterministic units (Intel only).' },
  { name: 'notifyUser', kind: 'boolean', default: false, description: 'With notifyWindow: set KVM_X86_NOTIFY_VMEXIT_USER so every notify exit reaches userspace.' },
  { name: 'tripleFaultEvent', kind: 'boolean', default: false, description: 'Enable KVM_CAP_X86_TRIPLE_FAULT_EVENT so userspace can inject a triple fault (shutdown).' },
  { name: 'notifyPolicy', kind: 'enum', values: ['stop', 'shutdown', 'resume'], default: 'stop', description: "What the default VMM does with KVM_EXIT_NOTIFY: stop the VM, synthesize a SHUTDOWN through KVM_SET_VCPU_EVENTS (triple_fault.pending; needs tripleFaultEvent), or resume the guest." },
  { name: 'vcpuQuantum', kind: 'integer', arg: 'N', default: 100_000, description: 'Guest instructions a vCPU runs before the round-robin scheduler moves to the next vCPU (vCPUs run one at a time, deterministically). Smaller is closer to vCPUs running in parallel: spin-wait handshakes between vCPUs (kvm-unit-tests apic, vmexit_ipi) finish sooner, at some cost in speed. An IPI to another vCPU always ends the sender\'s turn.' },
  { name: 'tscKhz', kind: 'integer', arg: 'KHZ', default: 2_000_000, description: 'Virtual TSC frequency in kHz (KVM_SET_TSC_KHZ). Time is virtual: one guest instruction is one TSC cycle, so the default 2 GHz makes an instruction 0.5 ns for kvmclock, the LAPIC timer and HLT with a timer armed.' },
  { name: 'interceptAcDb', kind: 'boolean', default: true, description: 'KVM intercepts #AC and #DB (as since the 2015 CVE fixes), turning endless #AC/#DB delivery chains into exit storms; off, the processor delivers them itself and only a Notify VM exit can break the loop (seed 004).' },
  { name: 'unrestrictedGuest', kind: 'boolean', default: true, description: 'Model VMX unrestricted guest; off, KVM emulates real mode and invalid guest state (seed 000 flaw #4).' },
  { name: 'nested', kind: 'boolean', default: false, description: 'kvm_intel.nested: VMX for the guest (CPUID VMX bit, IA32_FEATURE_CONTROL, IA32_VMX_* MSRs, VMXON and the VMX instructions), so it can run an L2 guest. Intel only; off by default as before Linux 4.20.' },
  { name: 'preFixSeed001', kind: 'boolean', default: false, description: 'Reproduce KVM before the seed 001 fixes: CR3 not cleared on RESET/INIT, GUEST_CR0 read before it is ever written.' },
  { name: 'cpuidBeforeReset', kind: 'boolean', default: false, description: 'Set the vCPU\'s CPUID before RESET, so RDX holds CPUID.1.EAX instead of 0x600.' },
  { name: 'exitLog', kind: 'enum', values: ['userspace', 'all'], default: 'userspace', description: "Which exits are logged: only exits to userspace, or every hardware exit too." },
  { name: 'append', kind: 'string', arg: 'TEXT', description: 'Kernel command line (QEMU -append): for a Linux kernel the whole command line (e.g. "console=ttyS0"), for a multiboot kernel the text after the kernel path in the multiboot information.' },
  { name: 'initrd', kind: 'string', arg: 'FILE[,FILE...]', description: "Multiboot kernels: modules loaded after the kernel, comma-separated, each 'FILE[ ARGS]' (QEMU -initrd); kvm-unit-tests reads its environment from the first. Linux kernels: the initrd (several files are concatenated)." },
  { name: 'symbols', kind: 'string', arg: 'FILE', description: "A System.map (nm -n output) whose symbols name functions for breakpoints, disassembly and the call stack, e.g. a kernel's /boot/System.map (Debian ships the real one in linux-image-*-dbg); 64-bit addresses are exact." },
  { name: 'hideHypervisor', kind: 'boolean', default: false, description: "Bare-metal mode: the vCPUs' CPUID has no hypervisor leaves (0x40000000-0x4FFFFFFF, no \"KVMKVMKVM\") and CPUID.1:ECX.HYPERVISOR clear, so a Linux guest uses no KVM paravirtual feature (kvmclock, PV EOI, PV IPIs...), as QEMU's -cpu ...,kvm=off,-hypervisor." },
  { name: 'jit', kind: 'boolean', default: false, description: 'Compile hot guest code to WebAssembly (the block compiler, vm-core/cpu/jit) instead of interpreting it: the same instruction counts, exits, faults and state as the interpreter. It covers the common integer instructions of 32- and 64-bit code (MOV, ALU, INC/DEC, LEA, shifts by an immediate, MOVZX/MOVSX, SETcc, CMOVcc, PUSH/POP, Jcc/JMP) so far; everything else is interpreted.' },
  { name: 'exitDevice', kind: 'enum', values: ['auto', 'isa-debug-exit', 'byte'], default: 'auto', description: "How a write of V to the exit device (port 0xF4) becomes the exit status: 'isa-debug-exit' as QEMU's, (V << 1) | 1 (kvm-unit-tests: 1 pass, 3 fail, 77 skip); 'byte' the low byte of V; auto: isa-debug-exit for multiboot kernels (what QEMU -kernel runs), byte for other images." },
  { name: 'exitLogSize', kind: 'integer', arg: 'N', default: 10_000, description: 'How many of the newest exits the exit log keeps (the VM Exits view, `run --json` exits); counts by reason always cover every exit.' },
  { name: 'defines', kind: 'map', arg: 'NAME=VALUE', repeatable: true, default: {}, description: 'Preprocessor definitions for assembly sources (%define NAME VALUE).' },
];

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase());
}

/** Parse a size: decimal or hex, optional K/M/G suffix (binary units). */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([kmg]i?b?|b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mul = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const r = n * mul;
  return Number.isSafeInteger(r) && r > 0 ? r : undefined;
}

/** Parse an address or integer: decimal, 0x hex, 0b binary, trailing h hex, underscores allowed. */
export function parseInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().replace(/_/g, '');
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^[0-9a-f]+h$/i.test(s) && /^[0-9]/.test(s)) n = parseInt(s.slice(0, -1), 16);
  else if (/^0b[01]+$/i.test(s)) n = parseInt(s.slice(2), 2);
  else if (/^\d+$/.test(s)) n = parseInt(s, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parse a 64-bit value (caps arguments), as BigInt. */
export function parseU64(s: string): bigint | undefined {
  const t = s.trim().replace(/_/g, '');
  try {
    let v: bigint;
    if (/^0x[0-9a-f]+$/i.test(t)) v = BigInt(t);
    else if (/^0b[01]+$/i.test(t)) v = BigInt(t);
    else if (/^\d+$/.test(t)) v = BigInt(t);
    else return undefined;
    return v < 1n << 64n ? v : undefined;
  } catch {
    return undefined;
  }
}

/** NAME[=VALUE] with the KVM_CAP_ prefix optional; VALUE defaults to 1. */
export function parseCap(s: unknown): CapRequest | string {
  if (typeof s !== 'string' || !s.trim()) return 'expected NAME[=VALUE]';
  const [rawName, rawValue] = s.split('=', 2);
  const name = rawName.trim().toUpperCase();
  if (!/^[A-Z0-9_]+$/.test(name)) return `bad capability name "${rawName}"`;
  const full = name.startsWith('KVM_CAP_') ? name : 'KVM_CAP_' + name;
  if (rawValue === undefined) return { name: full, value: 1n };
  const v = parseU64(rawValue);
  if (v === undefined) return `bad value "${rawValue}" for ${full} (expected a 64-bit number)`;
  return { name: full, value: v };
}

function defaults(): LaunchOptions {
  const o: Record<string, unknown> = {};
  for (const s of OPTION_SPECS) if (s.default !== undefined) o[s.name] = Array.isArray(s.default) ? [...s.default] : (typeof s.default === 'object' ? { ...(s.default as object) } : s.default);
  o.program = '';
  return o as unknown as LaunchOptions;
}

const SPEC_BY_NAME = new Map(OPTION_SPECS.map((s) => [s.name as string, s]));

/**
 * Validate a raw configuration object (launch.json, --config file, or collected CLI flags).
 * Unknown keys in `ignore` (DAP's type/request/name...) are skipped; other unknown keys are errors.
 */
export function resolveLaunchOptions(raw: Record<string, unknown>, ignore: readonly string[] = []):
  { options: LaunchOptions; errors: OptionError[] } {
  const o = defaults() as unknown as Record<string, unknown>;
  const errors: OptionError[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { options: o as unknown as LaunchOptions, errors: [{ option: '(config)', message: 'expected an object' }] };
  }
  for (const [key, value] of Object.entries(raw)) {
    if (ignore.includes(key) || key.startsWith('__')) continue;
    const spec = SPEC_BY_NAME.get(key);
    if (!spec) { errors.push({ option: key, message: `unknown option "${key}"${suggest(key)}` }); continue; }
    if (value === undefined || value === null) continue;
    const r = parseValue(spec, value);
    if (typeof r === 'object' && r !== null && 'error' in r) errors.push({ option: key, message: (r as { error: string }).error });
    else o[key] = r;
  }
  if (typeof o.program !== 'string' || o.program === '') errors.push({ option: 'program', message: 'missing: the guest image to run' });
  if (typeof o.gdbPort === 'number' && (o.gdbPort < 0 || o.gdbPort > 65535)) errors.push({ option: 'gdbPort', message: 'must be a TCP port between 0 (any free port) and 65535' });
  if (typeof o.vcpus === 'number' && (o.vcpus < 1 || o.vcpus > 64)) errors.push({ option: 'vcpus', message: 'must be between 1 and 64' });
  if (typeof o.exitLogSize === 'number' && (o.exitLogSize < 1 || o.exitLogSize > 10_000_000)) errors.push({ option: 'exitLogSize', message: 'must be between 1 and 10000000' });
  if (o.irqchip === false && typeof o.vcpus === 'number' && o.vcpus > 1) {
    errors.push({ option: 'irqchip', message: `false supports one vCPU (vcpus is ${o.vcpus}): without the in-kernel LAPIC the APs would need a userspace LAPIC for INIT/SIPI, which this VMM does not have` });
  }
  if (typeof o.vcpuQuantum === 'number' && (o.vcpuQuantum < 100 || o.vcpuQuantum > 100_000_000)) errors.push({ option: 'vcpuQuantum', message: 'must be between 100 and 100000000 instructions' });
  if (typeof o.tscKhz === 'number' && (o.tscKhz < 1000 || o.tscKhz > 0xffffffff)) errors.push({ option: 'tscKhz', message: 'must be between 1000 (1 MHz) and 4294967295 kHz' });
  if (typeof o.memory === 'number' && o.memory > 16 * 1024 ** 3) errors.push({ option: 'memory', message: 'at most 16G of guest RAM' });
  if (typeof o.memory === 'number' && o.memory < 64 * 1024) errors.push({ option: 'memory', message: 'at least 64K of guest RAM' });
  return { options: o as unknown as LaunchOptions, errors };
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  for (const s of OPTION_SPECS) if (s.name.toLowerCase() === lower) return ` (did you mean "${s.name}"?)`;
  return '';
}

function parseValue(spec: OptionSpec, value: unknown): unknown {
  const bad = (what: string) => ({ error: `expected ${what}, got ${JSON.stringify(value)}` });
  switch (spec.kind) {
    case 'string': return typeof value === 'string' ? value : bad('a string');
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      return bad('true or false');
    case 'integer': { const n = parseInteger(value); return n === undefined ? bad('a non-negative integer') : n; }
    case 'address': { const n = parseInteger(value); return n === undefined || n > 0xffffffffffff ? bad('an address like 0x7c00') : n; }
    case 'size': { const n = parseSize(value); return n === undefined ? bad('a size like 64M') : n; }
    case 'enum': return typeof value === 'string' && spec.values!.includes(value) ? value : bad(`one of ${spec.values!.join(', ')}`);
    case 'list': {
      const arr = Array.isArray(value) ? value : [value];
      if (spec.name === 'caps') {
        const out: CapRequest[] = [];
        for (let k = 0; k < arr.length; k++) {
          const c = parseCap(arr[k]);
          if (typeof c === 'string') return { error: `[${k}]: ${c}` };
          out.push(c);
        }
        return out;
      }
      const out: string[] = [];
      for (let k = 0; k < arr.length; k++) {
        const v = arr[k];
        if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out.push('0x' + v.toString(16));
        else if (typeof v === 'string' && /^[A-Za-z0-9_]+$/.test(v.trim())) out.push(v.trim().toUpperCase().replace(/^0X/, '0x'));
        else return { error: `[${k}]: expected a quirk name or bit mask, got ${JSON.stringify(v)}` };
      }
      return out;
    }
    case 'map': {
      if (typeof value === 'object' && !Array.isArray(value)) {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(value as object)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return { error: `bad name "${k}"` };
          out[k] = String(v);
        }
        return out;
      }
      const arr = Array.isArray(value) ? value : [value];
      const out: Record<string, string> = {};
      for (const item of arr) {
        const m = typeof item === 'string' ? /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(item) : null;
        if (!m) return bad('NAME=VALUE');
        out[m[1]] = m[2] ?? '';
      }
      return out;
    }
  }
}

/** A JSON schema for launch.json (package.json configurationAttributes is generated from it). */
export function launchJsonSchema(): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const s of OPTION_SPECS) {
    const p: Record<string, unknown> = { description: s.description };
    switch (s.kind) {
      case 'string': p.type = 'string'; break;
      case 'boolean': p.type = 'boolean'; break;
      case 'integer': p.type = ['integer', 'string']; break;
      case 'address': case 'size': p.type = ['integer', 'string']; break;
      case 'enum': p.type = 'string'; p.enum = [...s.values!]; break;
      case 'list': p.type = 'array'; p.items = { type: ['string', 'integer'] }; break;
      case 'map': p.type = 'object'; p.additionalProperties = { type: 'string' }; break;
    }
    if (s.default !== undefined) p.default = s.default;
    props[s.name] = p;
  }
  return { required: ['program'], properties: props };
}
