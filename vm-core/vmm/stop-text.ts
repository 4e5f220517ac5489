// What a run's end means, in words that name the place: an internal error with no message from
// KVM (an instruction fetch from memory nothing backs, nothing at the RESET vector) and a triple
// fault (the chain of faults and where it started). Used by `kvm-guest run` and the debugger.
import type { KvmVcpu } from '../kvm/vcpu';
import { ACC_FETCH } from '../cpu/mmu';
import type { Machine } from './machine';

const hex = (n: number) => '0x' + (n < 0 ? BigInt.asUintN(64, BigInt(n)) : n).toString(16);
const VECTOR_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coprocessor segment overrun', '#TS', '#NP', '#SS', '#GP', '#PF', 'vector 15', '#MF', '#AC', '#MC', '#XM', '#VE', '#CP'];
const vectorName = (v: number) => VECTOR_NAMES[v] ?? `vector ${v}`;

/** The linear address of RIP on `v`, and where RIP is (CS:IP outside 64-bit mode). */
function where(v: KvmVcpu): { lin: number; text: string } {
  const c = v.cpu;
  const rip = v.peekRip();
  const lin = c.codeBits === 64 ? rip : (c.seg[1].base + rip) >>> 0;
  const text = c.codeBits === 64 ? `RIP ${hex(rip)}` : `CS:IP ${c.seg[1].selector.toString(16).padStart(4, '0')}:${rip.toString(16).padStart(4, '0')} (linear ${hex(lin)})`;
  return { lin, text };
}

/** KVM_EXIT_INTERNAL_ERROR without a message of KVM's: what the vCPU was doing and where. */
export function describeInternalError(m: Machine, v: KvmVcpu): string {
  const { lin, text } = where(v);
  const gpa = v.cpu.tryTranslate(lin, ACC_FETCH);
  const ram = m.mem.length;
  if (gpa >= 0 && !v.cpu.bus.regionAt(gpa)) {
    let s = `instruction fetch at ${text} from guest-physical ${hex(gpa)}, which no memory backs (guest RAM is 0-${hex(ram - 1)})`;
    if (gpa >= 0xfff00000 && m.image?.segments.every((g) => g.addr + g.bytes.length <= ram)) {
      s += `: nothing is at the RESET vector 0xFFFFFFF0 (the image is at ${hex(m.image.segments[0]?.addr ?? 0)}): --placement reset places a flat image so it ends at 4 GiB, like firmware, or --entry real starts at its load address`;
    }
    return s;
  }
  return `KVM could not emulate the instruction at ${text}${gpa >= 0 ? ` (guest-physical ${hex(gpa)})` : ''}`;
}

/** KVM_EXIT_SHUTDOWN: the fault chain that made the triple fault, and where it began. */
export function describeTripleFault(v: KvmVcpu): string {
  const c = v.cpu, n = c.faultChainLen;
  if (!c.faultChain.subarray(0, n).includes(8) || n < 2) return `triple fault at ${where(v).text} (requested or injected: no fault chain)`;
  const chain = Array.from(c.faultChain.subarray(0, n), vectorName).join(' -> ');
  const addr = Number.isNaN(c.faultChainAddr) ? '' : ` (CR2 ${hex(c.faultChainAddr)})`;
  const at = c.codeBits === 64 ? `RIP ${hex(c.faultChainRip)}` : `IP ${hex(c.faultChainRip)}`;
  return `triple fault: ${chain}${addr} while delivering #DF; the first fault was raised at ${at}`;
}
