// Debug Console commands (beside the expression language): info exits, info vmcs, info regcache,
// x/NFU addr (examine memory, GDB style), inject init|nmi|triple-fault, reset, stats, help.
import type { DebugEngine } from '../vm-core/debug/engine';
import { Expression } from '../vm-core/debug/expr';
import { disassemble } from '../vm-core/debug/disasm';
import { exitFieldsText } from '../vm-core/debug/exit-events';
import { GPR_NAMES } from '../vm-core/cpu/state';

/** Keys of an exit-log record shown in their own columns, not among its fields. */
export const EXIT_LOG_KEYS = ['index', 'vcpu', 'reason', 'rip', 'pc', 'layer'];

export interface ConsoleResult { text: string; resumes?: boolean; invalidate?: boolean }

const COMMANDS = ['uart ', 'info exits', 'info vmcs', 'info regcache', 'info registers', 'info overlays', 'x/', 'inject init', 'inject nmi', 'inject triple-fault', 'reset', 'stats', 'help'];

export function isConsoleCommand(text: string): boolean {
  const t = text.trim();
  return /^(info\b|x\/|x\s|inject\b|uart\b|reset$|stats$|help$|\?$)/.test(t);
}

export function runConsoleCommand(e: DebugEngine, vi: number, text: string): ConsoleResult {
  const t = text.trim();
  const words = t.split(/\s+/);
  try {
    switch (words[0]) {
      case 'help': case '?': return { text: HELP };
      case 'stats': {
        const s = e.statistics();
        return { text: `${s.totalInstructions} instructions\n` + s.byReason.map((r) => `${String(r.count).padStart(8)}  ${r.reason}`).join('\n') };
      }
      case 'reset': e.resetVm(); return { text: 'VM RESET (every vCPU back to its RESET state, RAM reloaded)', invalidate: true };
      case 'inject': {
        const kind = words[1];
        if (kind !== 'init' && kind !== 'nmi' && kind !== 'triple-fault') return { text: 'usage: inject init|nmi|triple-fault [vcpu]' };
        const target = words[2] !== undefined ? Number(words[2]) : vi;
        if (!Number.isInteger(target) || target < 0 || target >= e.machine.vcpus.length) return { text: `no vCPU ${words[2]}` };
        return { text: e.inject(kind, target), invalidate: true };
      }
      case 'info': return info(e, vi, words.slice(1));
      case 'uart': return uartInput(e, text.trimStart().slice(4));
      default:
        if (/^x\//.test(words[0]) || words[0] === 'x') return examine(e, vi, t);
    }
  } catch (err) {
    return { text: `error: ${(err as Error).message}` };
  }
  return { text: `unknown command (try help)` };
}

/**
 * `uart TEXT`: type TEXT on COM1's line, then Enter ("\r", what a terminal sends); `uart -n TEXT`
 * without the Enter. Escapes: \r \n \t \e \\ \xHH. Works while the guest runs.
 */
function uartInput(e: DebugEngine, rest: string): ConsoleResult {
  let body = rest.replace(/^ /, ''), enter = true;
  if (/^-n(\s|$)/.test(body)) { enter = false; body = body.slice(3); }
  const bytes: number[] = [];
  for (let k = 0; k < body.length; k++) {
    const c = body[k];
    if (c !== '\\' || k + 1 >= body.length) { for (const b of new TextEncoder().encode(c)) bytes.push(b); continue; }
    const n = body[++k];
    if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(k + 1, k + 3))) { bytes.push(parseInt(body.slice(k + 1, k + 3), 16)); k += 2; }
    else bytes.push({ r: 13, n: 10, t: 9, e: 27, '\\': 92 }[n] ?? n.charCodeAt(0));
  }
  if (enter) bytes.push(13);
  if (e.state === 'ended') return { text: 'the guest has ended' };
  const n = e.serialInput(Uint8Array.from(bytes));
  return { text: n < bytes.length ? `COM1: ${n} of ${bytes.length} bytes taken (the guest has not read the earlier input)` : `COM1: ${n} byte${n === 1 ? '' : 's'} sent` };
}

function info(e: DebugEngine, vi: number, args: string[]): ConsoleResult {
  const what = args[0];
  const v = e.views[vi];
  switch (what) {
    case 'exits': {
      const n = args[1] ? Math.min(Number(args[1]) || 20, 1000) : 20;
      const log = e.exitLog();
      return { text: log.slice(-n).map((r) => `#${r.index} vcpu${r.vcpu} ${r.layer.padEnd(9)} ${r.reason.padEnd(22)} rip=${r.rip}${r.pc && r.pc !== r.rip ? ` pc=${r.pc}` : ''} ${exitFieldsText(r, EXIT_LOG_KEYS)}`).join('\n') || '(no exits yet)' };
    }
    case 'vmcs': case 'vmcb':
      return { text: v.controlBlockScope().map((g) => [`${g.name}: ${g.value}`, ...(g.children?.() ?? []).map((n) => `  ${n.name.padEnd(44)} ${n.value}`)].join('\n')).join('\n') };
    case 'regcache': return { text: regcacheTable(v) };
    case 'overlays': {
      const pages = v.overlayPages();
      return { text: pages.length ? pages.map((p) => `overlay page at GPA 0x${p.toString(16)}: x/16x gpa:0x${p.toString(16)} shows what the guest sees, x/16x under:0x${p.toString(16)} its own page beneath`).join('\n') : 'no overlay pages' };
    }
    case 'registers': case 'regs':
      return { text: v.registersScope().map((n) => `${n.name.padEnd(8)} ${n.value}`).join('\n') };
  }
  return { text: 'usage: info exits [N] | info vmcs | info regcache | info registers | info overlays' };
}

/** x/NFU ADDR: N units, format x (hex), d (decimal), i (instructions), u b|h|w|g. `gpa:` for physical. */
function examine(e: DebugEngine, vi: number, t: string): ConsoleResult {
  // GDB's x/NFU: the count first, then the format and unit letters in either order (x/4gx, x/4xg).
  const m = /^x(?:\/(\d*)([xdibhwg]{0,2}))?\s+(.+)$/.exec(t);
  const letters = m?.[2] ?? '';
  const fmtLetters = letters.replace(/[bhwg]/g, ''), unitLetters = letters.replace(/[xdi]/g, '');
  if (!m || fmtLetters.length > 1 || unitLetters.length > 1) return { text: 'usage: x/NFU ADDR   e.g. x/16x rsp, x/4gx gpa:0x1000, x/8i rip' };
  const n = Math.min(Number(m[1] || 8), 4096);
  const fmt = fmtLetters || 'x';
  const unit = { b: 1, h: 2, w: 4, g: 8 }[unitLetters || 'w'] as number;
  let addrText = m[3].trim();
  const underlying = /^under:/i.test(addrText);
  if (underlying) addrText = addrText.slice(6);
  const physical = underlying || /^gpa:/i.test(addrText);
  if (physical && !underlying) addrText = addrText.slice(4);
  const addr = Number(BigInt.asIntN(64, Expression.parse(addrText).evaluate(e.evalContext(vi))));
  const v = e.views[vi];
  if (fmt === 'i') {
    return { text: disassemble(v, e.image, addr, 0, n, v.codeBits()).map((l) => `0x${l.address.toString(16)}${l.symbol ? ` <${l.symbol}>` : ''}:  ${l.bytes.padEnd(24)} ${l.text}`).join('\n') };
  }
  const { bytes, unreadable } = underlying ? v.readUnderlying(addr, n * unit) : v.readMemory(addr, n * unit, physical);
  if (unreadable === n * unit) return { text: `0x${addr.toString(16)}: not mapped${physical ? ' (no RAM at that GPA)' : ''}` };
  const lines: string[] = [];
  const perLine = Math.max(1, 16 / unit);
  for (let k = 0; k < n; k += perLine) {
    const cells: string[] = [];
    for (let j = k; j < Math.min(n, k + perLine); j++) {
      let x = 0n;
      for (let b = unit - 1; b >= 0; b--) x = (x << 8n) | BigInt(bytes[j * unit + b]);
      cells.push(fmt === 'd' ? x.toString() : '0x' + x.toString(16).padStart(unit * 2, '0'));
    }
    lines.push(`0x${(addr + k * unit).toString(16)}:  ${cells.join(' ')}`);
  }
  return { text: lines.join('\n') };
}

/** Multi-word commands completing what was typed so far ("info e" -> "info exits"). */
export function commandCompletions(line: string): string[] {
  const t = line.trimStart();
  return /\s/.test(t) ? COMMANDS.filter((c) => c.startsWith(t) && c !== t) : [];
}

export function consoleCompletions(e: DebugEngine, line: string, word: string): string[] {
  const out = new Set<string>();
  if (!/\s/.test(line.trim()) || line.trim() === word) for (const c of COMMANDS) if (c.startsWith(word)) out.add(c);
  const names = [...GPR_NAMES, 'rip', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'dr6', 'dr7', 'eax', 'ebx', 'ecx', 'edx',
    'nr', 'port', 'msr', 'qual', 'reason', 'hypercall.ret', 'hypercall.nr', 'io.port', 'mmio.phys_addr', 'exit_reason', 'gpa(', 'qword [', 'dword [', 'byte ['];
  for (const n of names) if (n.startsWith(word)) out.add(n);
  for (const s of e.image.symbols) if (s.name.startsWith(word)) out.add(s.name);
  return [...out];
}

const HELP = `Expressions: registers (rax, eax, al, rip, rflags, cf, cr0, efer ...), [addr] (qword), byte/word/dword/qword [addr],
gpa(addr[, size]) for guest-physical memory, exit fields (nr, port, msr, qual, reason ...), kvm_run fields (hypercall.ret),
symbols, + - * / % & | ^ ~ << >> == != < <= > >= && || ! ?:
Commands:
  info exits [N]        the last N exits (userspace, and hardware with exitLog=all)
  info vmcs | info vmcb the VMCS/VMCB fields
  info regcache         KVM's register cache: regs_avail, regs_dirty, each kvm_reg
  info overlays         overlay pages (seed 002) in force
  info registers        general registers
  x/NFU ADDR            examine memory: F x|d|i, U b|h|w|g; ADDR may be gpa:EXPR, or under:EXPR
                        for the guest-physical RAM beneath an overlay page
  inject init|nmi|triple-fault [vcpu]
  uart [-n] TEXT        type TEXT on the serial line (COM1), then Enter ("\\r"; not with -n);
                        escapes \\r \\n \\t \\e \\\\ \\xHH; also while the guest runs
  reset                 RESET the whole VM
  stats                 exits by reason`;

/** `info regcache`: the bitmaps and counters, then one aligned row per kvm_reg (cached, VMCS/VMCB, avail, dirty). */
function regcacheTable(v: DebugEngine['views'][number]): string {
  const summary = v.registerCacheScope().filter((n) => !n.children);
  const w0 = Math.max(...summary.map((n) => n.name.length));
  const regs = v.registerCacheEntries();
  const head = ['kvm_reg', 'cached (vcpu->arch)', v.v.ops.view.controlBlockLabel, 'avail', 'dirty'];
  const rows = regs.map((r) => [r.name, r.cached, r.vmcs ?? '-', r.avail ? '1' : '0', r.dirty ? '1' : '0']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [...summary.map((n) => `${n.name.padEnd(w0)}  ${n.value}`), '', line(head), ...rows.map(line)].join('\n');
}
