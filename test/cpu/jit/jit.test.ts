// The block compiler (vm-core/cpu/jit) against the interpreter: random integer loops, the fuzz
// streams, self-modifying code, faults in the middle of a block, breakpoints and budget slices.
// Every case runs twice from the same state, compiler off and on, and must agree on every run()
// result, instruction count and RIP after each slice, and on the final state and memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../vm-core/loader/assemble';
import { Cpu, PhysBus, RUN_BUDGET, RUN_HALTED, RUN_STOPPED } from '../../../vm-core/cpu';
import { setupMode, CODE, FuzzMode } from '../../fuzz/modes';
import { RAM_SIZE, rng, streamMachine, streamAt } from '../../fuzz/fuzz-core';
import { differential, stateOf } from './differential';

const DATA = 0x30000;

function asm(source: string, bits: 32 | 64, org = CODE): Uint8Array {
  const r = assemble({ path: 'jit-test.asm', source, defaultBits: bits, defaultOrg: org });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n') + '\n' + source);
  const out = new Uint8Array(0x10000);
  for (const s of r.image.segments) out.set(s.bytes, s.addr - org);
  return out;
}

/** A processor in `mode` (fuzz/modes.ts tables) with `code` at CODE. */
function machineWith(mode: FuzzMode, code: Uint8Array): () => { cpu: Cpu; mem: Uint8Array } {
  return () => {
    const mem = new Uint8Array(RAM_SIZE);
    const bus = new PhysBus();
    bus.setRegion(0, 0, mem, false);
    const cpu = new Cpu(bus);
    setupMode(mode, cpu, mem);
    mem.set(code, CODE);
    for (let k = 0; k < 0x2000; k++) mem[DATA + k] = (k * 37 + 11) & 0xff;
    return { cpu, mem };
  };
}

const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const ALU = ['add', 'sub', 'and', 'or', 'xor', 'cmp', 'test'];

/** A random loop of integer instructions (mostly ones the compiler handles, some it leaves to the interpreter). */
function randomLoop(seed: number, bits: 32 | 64): string {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const imm = () => (r() < 0.5 ? Math.floor(r() * 256) - 128 : (Math.floor(r() * 4294967296) | 0));
  const r32 = bits === 64 ? ['eax', 'ebx', 'edx', 'r8d', 'r9d', 'r10d', 'r11d'] : ['eax', 'ebx', 'edx', 'ebp'];
  const r64 = ['rax', 'rbx', 'rdx', 'r8', 'r9', 'r10', 'r11'];
  const P = bits === 64 ? 'r' : 'e';
  const reg = (): [string, 4 | 8] => (bits === 64 && r() < 0.5 ? [pick(r64), 8] : [pick(r32), 4]);
  const same = (size: number) => (size === 8 ? pick(r64) : pick(r32));
  const disp = () => 4 * Math.floor(r() * 0x7f0);
  const mem = (size: number) => `${size === 8 ? 'qword' : 'dword'} [${P}di + ${r() < 0.3 ? `${P}si*8 + ` : ''}${disp()}]`;
  const lines: string[] = [];
  let label = 0;
  const item = (depth: number): void => {
    const p = r();
    const [d, size] = reg();
    const s = same(size);
    if (p < 0.22) lines.push(`${pick(ALU)} ${d}, ${r() < 0.5 ? s : imm()}`);
    else if (p < 0.30) lines.push(`mov ${d}, ${r() < 0.5 ? s : imm()}`);
    else if (p < 0.40) lines.push(`${pick(['mov', ...ALU])} ${d}, ${mem(size)}`);
    else if (p < 0.50) lines.push(`${pick(['mov', 'add', 'sub', 'and', 'or', 'xor', 'cmp', 'test'])} ${mem(size)}, ${s}`);
    else if (p < 0.54) lines.push(`${pick(['mov', 'add', 'cmp', 'and'])} ${mem(size)}, ${imm()}`);
    else if (p < 0.62) lines.push(`${pick(['inc', 'dec'])} ${d}`);
    else if (p < 0.68) lines.push(`lea ${d}, [${same(bits === 64 ? 8 : 4)} + ${same(bits === 64 ? 8 : 4)}*${pick([1, 2, 4, 8])} + ${imm()}]`);
    else if (p < 0.76 && depth === 0) {
      const l = `skip${label++}`;
      lines.push(`j${pick(CC)} ${l}`);
      item(1); if (r() < 0.5) item(1);
      lines.push(`${l}:`);
    } else if (p < 0.80 && bits === 64) lines.push(`mov ${pick(r64)}, 0x${Math.floor(r() * 2 ** 32).toString(16)}${Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')}`);
    else if (p < 0.84) lines.push(`mov eax, [${P}di + 0xffe]`); // crosses a page: the interpreter's access
    else if (p < 0.88) lines.push('nop');
    else if (p < 0.90) lines.push(pick([`${pick(['shl', 'shr', 'sar', 'sal'])} ${d}, ${pick([1, 3, 31, 32, 33, 63, 0, Math.floor(r() * 256)])}`,
      `${pick(['not', 'neg'])} ${d}`, `cmov${pick(CC)} ${d}, ${s}`, `set${pick(CC)} ${pick(['al', 'bl', 'ah', 'dh', 'dl'])}`,
      `${pick(['movzx', 'movsx'])} ${d}, ${pick(['al', 'bh', 'dx', 'bx', `byte [${P}di + ${disp()}]`, `word [${P}di + ${disp() + 1}]`])}`,
      ...(bits === 64 ? [`movsxd ${pick(r64)}, ${pick(r32)}`, `movsxd ${pick(r64)}, dword [rdi + ${disp()}]`, `push ${pick(r64)}`, `pop ${pick(r64)}`, 'push rsp', 'pop rsp'] : [])]));
    else lines.push(pick([`shl ${d}, 3`, `imul ${d}, ${s}`, `adc ${d}, ${s}`, `sbb ${d}, ${s}`, `neg ${d}`, `cmovl ${d}, ${s}`,
      'setc al', `movzx ${d}, byte [${P}di + 5]`, 'add al, bl', 'add bx, 0x1234', `push ${P}ax`, `pop ${P}bx`,
      `pushf`, `pop ${P}dx`, 'stc', 'clc', 'cmc']));
  };
  const n = 3 + Math.floor(r() * 14);
  for (let k = 0; k < n; k++) item(0);
  const inits = (bits === 64 ? r64 : r32).map((x) => `mov ${x}, ${imm()}`).join('\n');
  return `${inits}\nmov ${P}di, ${DATA}\nmov ${P}si, 3\nmov ecx, ${20 + Math.floor(r() * 60)}\n` +
    `top:\n${lines.join('\n')}\ndec ecx\njnz top\nhlt\n`;
}

const SLICES = [1, 7, 100, 3, 1000, 2, 50_000];

function assertSame(off: ReturnType<typeof differential>['off'], on: ReturnType<typeof differential>['on'], what: string): void {
  assert.deepEqual(on.steps, off.steps, `${what}: run() results, instruction counts and RIPs per slice`);
  assert.deepEqual(on.state, off.state, `${what}: final state`);
}

test('random integer loops: the compiler retires the same instructions to the same state (64- and 32-bit)', () => {
  let retired = 0, total = 0;
  for (let seed = 1; seed <= 160; seed++) {
    const bits = seed % 2 ? 64 : 32;
    const src = randomLoop(seed, bits);
    const { off, on } = differential(machineWith(bits, asm(src, bits)), SLICES, 2);
    assertSame(off, on, `loop seed ${seed} (${bits}-bit):\n${src}`);
    assert.equal(off.steps[off.steps.length - 1].r, RUN_HALTED, `seed ${seed} ends in HLT`);
    retired += on.jitRetired; total += on.state.icount as number;
  }
  // Most of the work must actually have run compiled, or this test proves nothing.
  assert.ok(retired > total / 4, `compiled code retired ${retired} of ${total} instructions`);
});

test('fuzz streams (16-, 32-, 64-bit): compiled from their first instruction, same endings and state', () => {
  let retired = 0;
  const mem = new Uint8Array(RAM_SIZE);
  for (let k = 0; k < 600; k++) {
    const { mode, seed } = streamAt(0x71, k);
    const make = () => { const { cpu } = streamMachine(mode, seed, mem); return { cpu, mem }; };
    const { off, on } = differential(make, [3, 1, 40, 500], 1, 8);
    assertSame(off, on, `stream --mode ${mode} --seed ${seed}`);
    retired += on.jitRetired;
  }
  assert.ok(retired > 500, `compiled code retired ${retired} instructions of the streams`);
});

test('self-modifying code: a store into the running block rewrites the next iteration', () => {
  // The loop patches the immediate of its own `mov ebx, imm32`: each iteration must see the value the
  // previous one stored (the block leaves after the store and its page is compiled again).
  const src = `mov ecx, 10
mov eax, 100
top:
patch: mov ebx, 1
add edx, ebx
add eax, 1
mov [rel patch + 1], eax
dec ecx
jnz top
hlt`;
  const { off, on } = differential(machineWith(64, asm(src, 64)), [100_000], 1);
  assertSame(off, on, 'self-modifying loop');
  const R = on.state.R as number[];
  // ebx takes 1, then 101..109: edx = 1 + (101 + ... + 109) = 946.
  assert.equal(R[2 * 2], 946);
  assert.ok(on.jitRetired > 0);
});

test('a fault in the middle of a compiled block is precise: RIP, instruction count and CR2 of the interpreter', () => {
  // The load walks up in 256 KiB steps until it leaves the 1 GiB mapped by the page tables: #PF
  // (delivered to the HLT handler). The block has run many passes before that.
  const src = `mov rdi, ${DATA}
mov ecx, 100000
top:
add eax, 3
mov edx, [rdi]
add rdi, 0x40000
xor ebx, eax
dec ecx
jnz top
hlt`;
  const { off, on } = differential(machineWith(64, asm(src, 64)), [64, 1000], 4);
  assertSame(off, on, 'faulting loop');
  assert.equal(on.state.cr2, 0x40000000 + DATA, 'CR2 is the first unmapped address');
  assert.deepEqual(on.state.faultChain, [14]);
  assert.ok(on.jitRetired > 1000, `compiled code ran (${on.jitRetired})`);
});

test('a breakpoint set inside a compiled loop stops there, at the interpreter\'s instruction count', () => {
  const src = `mov ecx, 1000
top:
add eax, ecx
sub ebx, eax
target: xor edx, ebx
dec ecx
jnz top
hlt`;
  const code = asm(src, 64);
  const r = assemble({ path: 'bp.asm', source: src, defaultBits: 64, defaultOrg: CODE });
  assert.ok(r.ok);
  const addr = r.image.symbols.find((s) => s.name === 'target')!.addr;
  const outcome = (jit: boolean) => {
    const { cpu, mem } = machineWith(64, code)();
    if (jit) { cpu.setJit(true); cpu.jit!.threshold = 2; }
    const first = cpu.run(500); // 500 instructions: the loop is hot (and compiled)
    cpu.setCodeBreakpoints([addr]);
    const hit = cpu.run(100_000);
    const at = { r: hit, icount: cpu.icount, rip: cpu.rip };
    cpu.bpSkip = addr; // resume over it, as the debugger does
    const again = cpu.run(100_000);
    return { first, at, again, icount: cpu.icount, rip: cpu.rip, state: stateOf(cpu, mem), retired: cpu.jit?.retired ?? 0 };
  };
  const off = outcome(false), on = outcome(true);
  assert.equal(on.at.r, RUN_STOPPED);
  assert.equal(on.at.rip, addr);
  assert.deepEqual({ ...on, retired: 0 }, { ...off, retired: 0 });
  assert.ok(on.retired > 0, 'the loop ran compiled before the breakpoint was set');
});

test('budgets: every slice size stops compiled code at the same instruction as the interpreter', () => {
  const src = randomLoop(7, 64);
  for (const slice of [1, 2, 3, 5, 8, 13, 21, 34]) {
    const { off, on } = differential(machineWith(64, asm(src, 64)), [slice], 1, 100_000);
    assertSame(off, on, `slice ${slice}`);
    assert.ok(on.steps.every((s, k) => k === on.steps.length - 1 || s.icount === (k + 1) * slice), 'each slice retires exactly its budget');
  }
});

test('compiled blocks are dropped with their page: a write by the VMM (bus) recompiles', () => {
  const src = `mov ecx, 50
top:
patch: add eax, 1
dec ecx
jnz top
hlt`;
  const code = asm(src, 64);
  const { cpu, mem } = machineWith(64, code)();
  cpu.setJit(true); cpu.jit!.threshold = 1;
  assert.equal(cpu.run(40), RUN_BUDGET);
  const compiled = cpu.jit!.compiled;
  assert.ok(compiled >= 1);
  // The VMM rewrites `add eax, 1` (83 C0 01) into `add eax, 2` through the bus, as KVM's hypercall patching does.
  const at = CODE + code.indexOf(0x83);
  assert.equal(mem[at + 2], 1);
  cpu.bus.write(at + 2, Uint8Array.of(2));
  const eaxBefore = cpu.R[0];
  const left = cpu.R[2];
  assert.equal(cpu.run(100_000), RUN_HALTED);
  assert.equal(cpu.R[0], eaxBefore + 2 * left, 'the remaining iterations add 2');
  assert.ok(cpu.jit!.compiled > compiled, 'the block was compiled again from the new bytes');
});

test('every form the compiler handles runs compiled (one loop of each), to the interpreter\'s state', () => {
  const forms64 = ['add eax, ebx', 'sub rax, 0x12345', 'and r8d, [rdi + 16]', 'or [rdi + 8], rbx', 'xor rdx, rdx', 'cmp eax, [rdi + rsi*8 + 4]',
    'test r9, r10', 'mov r11, [rdi + 24]', 'mov [rdi + 32], r11d', 'mov qword [rdi + 40], -5', 'inc r8', 'dec ebx', 'lea rax, [rbx + rdx*4 + 7]',
    'lea eax, [rel top]', 'shl eax, 5', 'shr rbx, 33', 'sar edx, 1', 'not r9', 'neg eax', 'cmovl ebx, eax', 'cmovae rax, rdx', 'setg al',
    'setb ah', 'movzx eax, bl', 'movsx rbx, word [rdi + 6]', 'movsxd rdx, eax', 'movzx r8d, byte [rdi + 3]', 'push rbx', 'pop rdx', 'nop'];
  for (const form of forms64) {
    const src = `mov rdi, ${DATA}\nmov esi, 2\nmov ecx, 40\ntop:\n${form}\nadd eax, ecx\ndec ecx\njnz top\nhlt`;
    const { off, on } = differential(machineWith(64, asm(src, 64)), [100_000], 2);
    assertSame(off, on, form);
    // 40 iterations of 4 instructions; the first two passes run interpreted before the block is hot.
    assert.ok(on.jitRetired >= 4 * 37, `${form}: ${on.jitRetired} instructions compiled`);
  }
});
