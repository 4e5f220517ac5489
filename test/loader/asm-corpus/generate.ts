// Generates the instruction part of the NASM differential corpus (gen-*.asm in this folder).
// Run: node --import tsx test/loader/asm-corpus/generate.ts
// Lines NASM rejects are dropped (needs `nasm` on PATH), so the committed files are all valid
// NASM; the differential test (test/loader/asm-nasm.test.ts) then compares byte for byte.
import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';

type Bits = 16 | 32 | 64;
const here = __dirname;

const R8: Record<Bits, string[]> = { 16: ['al', 'cl', 'dh', 'bl', 'ah'], 32: ['al', 'cl', 'dh', 'bl', 'ah'], 64: ['al', 'cl', 'sil', 'dil', 'r8b', 'r15b', 'spl', 'ah'] };
const R16: Record<Bits, string[]> = { 16: ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'], 32: ['ax', 'cx', 'bx', 'sp', 'di'], 64: ['ax', 'cx', 'di', 'r8w', 'r15w'] };
const R32: Record<Bits, string[]> = { 16: ['eax', 'ecx', 'ebx', 'esp', 'edi'], 32: ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'], 64: ['eax', 'ecx', 'esp', 'edi', 'r8d', 'r13d', 'r15d'] };
const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r12', 'r13', 'r15'];
const MEM: Record<Bits, string[]> = {
  16: ['[bx]', '[bp]', '[si]', '[di]', '[bx+si]', '[bx+di+5]', '[bp+si-3]', '[bp+di+0x1234]', '[0x1234]', '[bx+0x80]', '[eax]', '[ebx+ecx*4+8]', 'es:[bx]'],
  32: ['[eax]', '[ebp]', '[esp]', '[ebx+esi]', '[eax+ebx*4]', '[ebx*8+0x10]', '[esp+8]', '[ebp-0x100]', '[0x1234]', '[eax+ecx*2+0x7f]', '[ecx+edx*8-0x80]', '[eax*2]', '[ebx*3+4]', '[bx+si]', '[fs:eax+4]', '[es:0x10]', '[edi+0x12345678]'],
  64: ['[rax]', '[rbp]', '[rsp]', '[r12]', '[r13]', '[rax+rbx*4+8]', '[r8+r9*8-0x80]', '[0x1234]', '[eax]', '[r12+r13]', '[rsp+rax*2+0x100]', '[rel $+0x40]', '[gs:rax]', '[fs:0x28]', '[r15d+r14d]', '[rbx*4]', '[abs 0x12345678]'],
};
const IMM = ['0', '1', '5', '-1', '0x7f', '0x80', '-0x80', '-0x81', '0xff', '0x1234', '-0x1234', '0x7fff', '0x12345678', '0xfffffff0'];

function sized(size: string, m: string): string { return `${size} ${m}`; }

function alu(bits: Bits): string[] {
  const out: string[] = [];
  const regs: [string, string[]][] = [['byte', R8[bits]], ['word', R16[bits]], ['dword', R32[bits]]];
  if (bits === 64) regs.push(['qword', R64]);
  for (const op of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'mov', 'test']) {
    for (const [size, rs] of regs) {
      for (const r of rs.slice(0, 4)) {
        for (const r2 of rs.slice(0, 3)) out.push(`${op} ${r}, ${r2}`);
        for (const m of MEM[bits].slice(0, 6)) { out.push(`${op} ${r}, ${m}`); out.push(`${op} ${m}, ${r}`); }
        for (const i of IMM) out.push(`${op} ${r}, ${i}`);
      }
      for (const m of MEM[bits]) for (const i of ['1', '-2', '0x100', '0x12345']) out.push(`${op} ${sized(size, m)}, ${i}`);
      out.push(`${op} ${rs[0]}, strict ${size} 1`);
    }
  }
  return out;
}

function unary(bits: Bits): string[] {
  const out: string[] = [];
  const regs: [string, string[]][] = [['byte', R8[bits]], ['word', R16[bits]], ['dword', R32[bits]]];
  if (bits === 64) regs.push(['qword', R64]);
  for (const op of ['inc', 'dec', 'not', 'neg', 'mul', 'imul', 'div', 'idiv']) {
    for (const [size, rs] of regs) {
      for (const r of rs) out.push(`${op} ${r}`);
      for (const m of MEM[bits]) out.push(`${op} ${size} ${m}`);
    }
  }
  for (const op of ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar']) {
    for (const [size, rs] of regs) {
      for (const r of rs.slice(0, 3)) for (const c of ['1', 'cl', '3', '0x1f']) out.push(`${op} ${r}, ${c}`);
      for (const m of MEM[bits].slice(0, 5)) for (const c of ['1', 'cl', '7']) out.push(`${op} ${size} ${m}, ${c}`);
    }
  }
  const wide: [string, string[]][] = regs.slice(1);
  for (const op of ['shld', 'shrd']) for (const [, rs] of wide) {
    for (const r of rs.slice(0, 2)) { out.push(`${op} ${r}, ${rs[2]}, 4`); out.push(`${op} ${r}, ${rs[2]}, cl`); }
    for (const m of MEM[bits].slice(0, 4)) { out.push(`${op} ${m}, ${rs[1]}, 9`); out.push(`${op} ${m}, ${rs[1]}, cl`); }
  }
  for (const [size, rs] of wide) {
    for (const r of rs.slice(0, 3)) {
      out.push(`imul ${r}, ${rs[3]}`); out.push(`imul ${r}, ${MEM[bits][1]}`);
      for (const i of ['3', '-1', '0x100', '0x7f', '0x80']) { out.push(`imul ${r}, ${rs[4] ?? rs[1]}, ${i}`); out.push(`imul ${r}, ${i}`); out.push(`imul ${r}, ${size} ${MEM[bits][5]}, ${i}`); }
      for (const op of ['bt', 'bts', 'btr', 'btc']) { out.push(`${op} ${r}, ${rs[1]}`); out.push(`${op} ${r}, 5`); out.push(`${op} ${size} ${MEM[bits][2]}, 31`); out.push(`${op} ${MEM[bits][3]}, ${r}`); }
      for (const op of ['bsf', 'bsr', 'popcnt', 'lzcnt', 'tzcnt']) { out.push(`${op} ${r}, ${rs[1]}`); out.push(`${op} ${r}, ${MEM[bits][4]}`); }
      for (const op of ['cmpxchg', 'xadd']) { out.push(`${op} ${r}, ${rs[1]}`); out.push(`${op} ${MEM[bits][0]}, ${r}`); out.push(`lock ${op} ${MEM[bits][1]}, ${r}`); }
      out.push(`movbe ${r}, ${MEM[bits][0]}`); out.push(`movbe ${MEM[bits][6]}, ${r}`);
      out.push(`xchg ${r}, ${rs[1]}`); out.push(`xchg ${rs[0]}, ${r}`); out.push(`xchg ${r}, ${MEM[bits][3]}`); out.push(`xchg ${MEM[bits][3]}, ${r}`);
      for (const cc of ['o', 'no', 'b', 'c', 'nae', 'ae', 'nb', 'nc', 'e', 'z', 'ne', 'nz', 'be', 'na', 'a', 'nbe', 's', 'ns', 'p', 'pe', 'np', 'po', 'l', 'nge', 'ge', 'nl', 'le', 'ng', 'g', 'nle']) {
        out.push(`cmov${cc} ${r}, ${rs[1]}`);
        out.push(`cmov${cc} ${r}, ${MEM[bits][2]}`);
      }
    }
  }
  for (const cc of ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g', 'z', 'nz', 'c', 'nc']) {
    out.push(`set${cc} ${R8[bits][1]}`); out.push(`set${cc} byte ${MEM[bits][2]}`);
  }
  out.push(`xchg ${R8[bits][0]}, ${R8[bits][1]}`, `xchg ${R8[bits][1]}, ${R8[bits][0]}`);
  for (const r of R16[bits]) { out.push(`xchg ax, ${r}`); out.push(`xchg ${r}, ax`); }
  for (const r of R32[bits]) { out.push(`xchg eax, ${r}`); out.push(`xchg ${r}, eax`); out.push(`bswap ${r}`); }
  if (bits === 64) for (const r of R64) { out.push(`xchg rax, ${r}`); out.push(`bswap ${r}`); }
  if (bits !== 64) for (const op of ['daa', 'das', 'aaa', 'aas', 'aam', 'aad', 'aam 16', 'aad 7', 'into', 'pusha', 'popa', 'pushad', 'popad', 'pushaw', 'popaw', 'salc']) out.push(op);
  return out;
}

function bmi(bits: Bits): string[] {
  if (bits === 16) return [];
  const out: string[] = [];
  const sets = bits === 64 ? [R32[64], R64] : [R32[32]];
  for (const rs of sets) {
    const [a, b, c] = [rs[0], rs[1], rs[3]];
    const m = MEM[bits][5];
    for (const op of ['andn', 'pdep', 'pext', 'mulx']) { out.push(`${op} ${a}, ${b}, ${c}`); out.push(`${op} ${a}, ${b}, ${m}`); }
    for (const op of ['bextr', 'bzhi', 'sarx', 'shlx', 'shrx']) { out.push(`${op} ${a}, ${b}, ${c}`); out.push(`${op} ${a}, ${m}, ${c}`); }
    for (const op of ['blsi', 'blsmsk', 'blsr']) { out.push(`${op} ${a}, ${b}`); out.push(`${op} ${a}, ${m}`); }
    out.push(`rorx ${a}, ${b}, 7`); out.push(`rorx ${a}, ${m}, 3`);
  }
  return out;
}

function movs(bits: Bits): string[] {
  const out: string[] = [];
  for (const r of R16[bits].slice(0, 3)) { out.push(`movzx ${r}, ${R8[bits][1]}`); out.push(`movsx ${r}, byte ${MEM[bits][1]}`); }
  for (const r of R32[bits].slice(0, 3)) {
    out.push(`movzx ${r}, ${R8[bits][2]}`, `movzx ${r}, ${R16[bits][1]}`, `movsx ${r}, byte ${MEM[bits][0]}`, `movsx ${r}, word ${MEM[bits][5]}`, `movzx ${r}, word ${MEM[bits][3]}`);
    out.push(`lea ${r}, ${MEM[bits][5]}`, `lea ${r}, ${MEM[bits][6]}`);
  }
  if (bits === 64) for (const r of R64.slice(0, 4)) {
    out.push(`movzx ${r}, byte [rax]`, `movsx ${r}, word [rbx]`, `movsxd ${r}, eax`, `movsxd ${r}, dword [rcx+8]`, `lea ${r}, [rel $]`, `lea ${r}, [rax+rbx*2+3]`);
    out.push(`mov ${r}, 0x123456789abcdef0`, `mov ${r}, -5`, `mov ${r}, 0x80000000`, `mov ${r}, 0xffffffff`, `mov ${r}, strict qword 1`);
  }
  for (const s of ['es', 'ss', 'ds', 'fs', 'gs']) {
    out.push(`mov ${s}, ax`, `mov ax, ${s}`, `mov ${s}, word ${MEM[bits][0]}`, `mov word ${MEM[bits][1]}, ${s}`, `mov ${s}, ${MEM[bits][2]}`, `mov ${MEM[bits][2]}, ${s}`);
    if (bits !== 16) out.push(`mov eax, ${s}`, `mov ${s}, eax`);
  }
  out.push(`mov ax, cs`);
  const acc = bits === 64 ? ['al', 'ax', 'eax', 'rax'] : ['al', 'ax', 'eax'];
  for (const a of acc) {
    if (bits === 64) { out.push(`mov ${a}, [qword 0x1122334455667788]`, `mov [qword 0x10], ${a}`); }
    else { out.push(`mov ${a}, [0x1234]`, `mov [0x10], ${a}`, `mov ${a}, [es:0x20]`); }
  }
  const crs = bits === 64 ? ['rax', 'r9'] : ['eax', 'ebx'];
  for (const r of crs) for (const c of ['cr0', 'cr2', 'cr3', 'cr4', ...(bits === 64 ? ['cr8'] : [])]) { out.push(`mov ${r}, ${c}`, `mov ${c}, ${r}`); }
  for (const r of crs) for (const d of ['dr0', 'dr3', 'dr6', 'dr7']) { out.push(`mov ${r}, ${d}`, `mov ${d}, ${r}`); }
  return out;
}

function stack(bits: Bits): string[] {
  const out: string[] = [];
  const natural = bits === 64 ? R64 : bits === 32 ? R32[32] : R16[16];
  for (const r of natural) { out.push(`push ${r}`, `pop ${r}`); }
  if (bits !== 64) for (const r of (bits === 32 ? R16[32] : R32[16])) out.push(`push ${r}`, `pop ${r}`);
  if (bits === 64) out.push('push r8w', 'pop r8w', 'push ax', 'pop ax');
  for (const i of ['0', '1', '-1', '0x7f', '0x80', '0x1234', '0x12345678', '-0x80', '-0x81']) { out.push(`push ${i}`); out.push(`push word ${i}`); if (bits !== 64) out.push(`push dword ${i}`); else out.push(`push qword ${i}`); }
  for (const m of MEM[bits].slice(0, 5)) {
    out.push(`push word ${m}`, `pop word ${m}`);
    out.push(bits === 64 ? `push qword ${m}` : `push dword ${m}`, bits === 64 ? `pop qword ${m}` : `pop dword ${m}`);
  }
  for (const s of bits === 64 ? ['fs', 'gs'] : ['es', 'cs', 'ss', 'ds', 'fs', 'gs']) { out.push(`push ${s}`); if (s !== 'cs') out.push(`pop ${s}`); }
  out.push('pushf', 'popf', 'pushfw', 'popfw', bits === 64 ? 'pushfq' : 'pushfd', bits === 64 ? 'popfq' : 'popfd');
  out.push('enter 16, 0', 'enter 0x1000, 1', 'enter 8, 3', 'leave', 'ret', 'ret 8', 'retf', 'retf 16', 'retn', 'retn 4', 'iret', 'iretw');
  if (bits !== 16) out.push('iretd', 'retfd'); else out.push('retfw');
  if (bits === 64) out.push('iretq', 'retfq', 'o64 retf');
  out.push('cbw', 'cwd', 'cwde', 'cdq');
  if (bits === 64) out.push('cdqe', 'cqo');
  return out;
}

function strings(bits: Bits): string[] {
  const out: string[] = [];
  const base = ['movsb', 'movsw', 'movsd', 'cmpsb', 'cmpsw', 'cmpsd', 'scasb', 'scasw', 'scasd', 'lodsb', 'lodsw', 'lodsd', 'stosb', 'stosw', 'stosd', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd'];
  if (bits === 64) base.push('movsq', 'cmpsq', 'scasq', 'lodsq', 'stosq');
  for (const s of base) {
    out.push(s);
    if (/^(cmps|scas)/.test(s)) out.push(`repe ${s}`, `repz ${s}`, `repne ${s}`, `repnz ${s}`); else out.push(`rep ${s}`);
    out.push(bits === 32 ? `a16 ${s}` : `a32 ${s}`);
  }
  out.push('xlatb', 'xlat', 'es movsb', 'fs lodsb');
  return out;
}

function system(bits: Bits): string[] {
  const out = ['clts', 'invd', 'wbinvd', 'rdmsr', 'wrmsr', 'rdtsc', 'rdtscp', 'rdpmc', 'cpuid', 'hlt', 'pause', 'cli', 'sti', 'clc', 'stc', 'cmc', 'cld', 'std', 'lahf', 'sahf',
    'xgetbv', 'xsetbv', 'vmcall', 'vmmcall', 'vmlaunch', 'vmresume', 'vmxoff', 'monitor', 'mwait', 'ud2', 'int3', 'int 3', 'int 0x80', 'int1', 'icebp', 'nop',
    'lfence', 'sfence', 'mfence', 'endbr64', 'endbr32', 'sysenter', 'sysexit', 'syscall', 'sysret', 'wait', 'fwait', 'rsm', 'stac', 'clac', 'rdrand eax', 'rdseed ecx', 'rdtscp'];
  if (bits === 64) out.push('swapgs', 'o64 sysret', 'o64 sysexit', 'cmpxchg16b [rax]', 'lock cmpxchg16b [rdi+8]', 'rdrand rax', 'rdfsbase rax', 'wrgsbase rbx');
  const m = MEM[bits];
  for (const x of m.slice(0, 4)) {
    out.push(`lgdt ${x}`, `lidt ${x}`, `sgdt ${x}`, `sidt ${x}`, `invlpg ${x}`, `clflush ${x}`, `prefetchnta ${x}`, `prefetcht0 ${x}`, `prefetcht1 ${x}`, `prefetcht2 ${x}`, `prefetchw ${x}`,
      `lldt ${x}`, `ltr ${x}`, `sldt ${x}`, `str ${x}`, `verr ${x}`, `verw ${x}`, `lmsw ${x}`, `smsw ${x}`, `cmpxchg8b ${x}`, `lock cmpxchg8b ${x}`, `fxsave ${x}`, `fxrstor ${x}`,
      `vmptrld ${x}`, `vmptrst ${x}`, `vmclear ${x}`, `vmxon ${x}`, `nop dword ${x}`, `nop word ${x}`, `ud1 eax, ${x}`, `ldmxcsr ${x}`, `stmxcsr ${x}`, `xsave ${x}`, `xrstor ${x}`, `clflushopt ${x}`);
    if (bits === 64) out.push(`fxsave64 ${x}`, `fxrstor64 ${x}`, `xsave64 ${x}`, `nop qword ${x}`);
  }
  for (const r of ['ax', 'bx', 'di']) out.push(`lldt ${r}`, `ltr ${r}`, `verr ${r}`, `verw ${r}`, `lmsw ${r}`, `smsw ${r}`, `sldt ${r}`, `str ${r}`, `lar ${r}, cx`, `lsl ${r}, dx`, `lar ${r}, ${m[0]}`, `lsl ${r}, ${m[1]}`);
  for (const r of ['eax', 'edx']) out.push(`smsw ${r}`, `sldt ${r}`, `str ${r}`, `lar ${r}, ecx`, `lsl ${r}, ebx`, `lar ${r}, cx`, `lar ${r}, ${m[0]}`, `nop ${r}`, `ud1 ${r}, ecx`, `ud0 ${r}, ebx`);
  if (bits === 64) out.push('smsw rax', 'sldt rax', 'str rcx', 'lar rax, rcx', 'lsl rdx, rbx', 'vmread rax, rbx', 'vmwrite rbx, [rax]', 'invept rax, [rbx]', 'invvpid rcx, [rdx]', 'invpcid rax, [rbx]');
  else out.push('vmread eax, ebx', 'vmwrite ebx, [eax]');
  for (const p of ['0x60', '0x80', '0']) out.push(`in al, ${p}`, `in ax, ${p}`, `in eax, ${p}`, `out ${p}, al`, `out ${p}, ax`, `out ${p}, eax`);
  out.push('in al, dx', 'in ax, dx', 'in eax, dx', 'out dx, al', 'out dx, ax', 'out dx, eax');
  if (bits !== 64) out.push('arpl ax, bx', 'arpl [bx+si], cx', 'bound ax, [bx]', 'les ax, [bx]', 'lds si, [bp+2]', 'les eax, [ebx]', 'lss sp, [bx]', 'lfs ax, [di]', 'lgs ebx, [esi]');
  else out.push('lss rsp, [rax]', 'lfs eax, [rbx]', 'lgs rbx, [rsi]');
  return out;
}

function sse(bits: Bits): string[] {
  if (bits === 16) return ['movaps xmm0, xmm1', 'pxor xmm2, [bx]', 'movd xmm0, eax', 'movd eax, xmm3'];
  const out: string[] = [];
  const xs = bits === 64 ? ['xmm0', 'xmm7', 'xmm8', 'xmm15'] : ['xmm0', 'xmm3', 'xmm7'];
  const m = MEM[bits];
  const ops = ['movaps', 'movups', 'movapd', 'movupd', 'movdqa', 'movdqu', 'pxor', 'xorps', 'xorpd', 'andps', 'andnps', 'orps', 'andpd', 'por', 'pand', 'pandn',
    'paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'pcmpeqb', 'pcmpeqd', 'pcmpgtb', 'punpcklbw', 'punpckldq', 'packuswb', 'pmullw', 'pmaddwd',
    'addps', 'addss', 'addsd', 'subps', 'mulps', 'mulsd', 'divps', 'sqrtps', 'minps', 'maxps', 'cvtdq2ps', 'cvtps2dq', 'unpcklps', 'shufps xmm1, xmm2, 0x1b|', 'pshufd xmm1, xmm2, 0x4e|', 'ucomiss', 'comisd', 'movss', 'movsd', 'movhlps', 'movlhps'];
  for (const op of ops) {
    if (op.endsWith('|')) { const [o] = op.split(' '); out.push(op.slice(0, -1)); out.push(`${o} xmm3, ${m[0]}, 5`); continue; }
    for (const a of xs.slice(0, 2)) for (const b of xs.slice(1)) out.push(`${op} ${a}, ${b}`);
    if (op !== 'movhlps' && op !== 'movlhps') { out.push(`${op} ${xs[1]}, ${m[1]}`); out.push(`${op} ${xs[0]}, ${m[5]}`); }
  }
  for (const op of ['movaps', 'movups', 'movdqa', 'movdqu', 'movss', 'movsd', 'movapd', 'movupd']) for (const mm of m.slice(0, 4)) out.push(`${op} ${mm}, ${xs[1]}`);
  for (const x of xs) {
    out.push(`movd ${x}, eax`, `movd eax, ${x}`, `movd ${x}, ${m[0]}`, `movd ${m[1]}, ${x}`, `movq ${x}, ${m[2]}`, `movq ${m[3]}, ${x}`, `movq ${x}, xmm1`);
    if (bits === 64) out.push(`movq ${x}, rax`, `movq rcx, ${x}`);
  }
  for (const mm of ['mm0', 'mm3', 'mm7']) out.push(`movq ${mm}, mm1`, `movq ${mm}, ${m[0]}`, `movq ${m[1]}, ${mm}`, `movd ${mm}, eax`, `movd eax, ${mm}`, `pxor ${mm}, mm2`, `paddd ${mm}, ${m[2]}`, `por ${mm}, mm1`, `pand ${mm}, mm4`);
  out.push('emms', 'maskmovq mm0, mm1', 'maskmovdqu xmm1, xmm2', 'movnti [rax], eax'.replace('rax', bits === 64 ? 'rax' : 'eax'), `movntdq ${m[0]}, xmm1`, `movntps ${m[1]}, xmm2`, `lddqu xmm1, ${m[2]}`);
  return out;
}

function branches(bits: Bits): string[] {
  const out: string[] = ['back:'];
  const ccs = ['jo', 'jno', 'jb', 'jc', 'jnae', 'jae', 'jnb', 'jnc', 'je', 'jz', 'jne', 'jnz', 'jbe', 'jna', 'ja', 'jnbe', 'js', 'jns', 'jp', 'jpe', 'jnp', 'jpo', 'jl', 'jnge', 'jge', 'jnl', 'jle', 'jng', 'jg', 'jnle'];
  for (const j of ccs) { out.push(`${j} back`, `${j} fwd_near`, `${j} fwd_short`, `${j} short fwd_short`, `${j} near back`); }
  out.push('jmp back', 'jmp fwd_near', 'jmp fwd_short', 'jmp short back', 'jmp near fwd_short', 'call back', 'call fwd_near', 'call fwd_short');
  out.push('loop back', 'loope back', 'loopne back', 'loopz fwd_short', 'loopnz fwd_short');
  if (bits === 16) out.push('jcxz back', 'jecxz back', 'a32 loop back');
  if (bits === 32) out.push('jecxz back', 'jcxz back', 'a16 loop back');
  if (bits === 64) out.push('jrcxz back', 'jecxz back', 'a32 loop back');
  const regs = bits === 64 ? ['rax', 'r11'] : bits === 32 ? ['eax', 'esi'] : ['ax', 'si'];
  for (const r of regs) out.push(`jmp ${r}`, `call ${r}`);
  for (const m of MEM[bits].slice(0, 5)) {
    out.push(`jmp ${m}`, `call ${m}`, `jmp far ${m}`, `call far ${m}`);
    out.push(bits === 64 ? `jmp qword ${m}` : bits === 32 ? `jmp dword ${m}` : `jmp word ${m}`);
  }
  if (bits !== 64) out.push('jmp 0x08:back', 'call 0x10:0x1234', 'jmp 0xf000:0xfff0', bits === 16 ? 'jmp dword 0x08:0x12345' : 'jmp word 0x08:0x1234', 'call far [bx]'.replace('bx', bits === 16 ? 'bx' : 'ebx'));
  out.push('fwd_short:', 'nop');
  out.push('times 200 nop');
  out.push('fwd_near:', 'ret');
  return out;
}

function prefixes(bits: Bits): string[] {
  const m = MEM[bits];
  const out = [`lock add ${m[0]}, eax`.replace(', eax', bits === 64 ? ', rax' : ', eax'), `lock inc dword ${m[1]}`, `lock xchg ${m[2]}, ecx`, `lock bts dword ${m[0]}, 3`, `lock or byte ${m[3]}, 1`,
    `fs mov eax, ${m[0]}`, `gs mov ${m[1]}, eax`, `es lodsb`, 'o16 nop', 'o32 nop', 'rep', 'lock', 'repne', 'a32 nop', `cs nop`, `mov eax, [cs:${bits === 64 ? 'rbx' : 'ebx'}]`];
  if (bits !== 64) out.push('o32 iret', 'o16 retf', 'o32 retf', 'o16 pushf', 'o32 pushf');
  else out.push('o16 iret', 'o64 iret', 'o16 retf', 'o16 pushf');
  return out;
}

function validate(bits: Bits, lines: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'asmgen-'));
  try {
    let cur = lines;
    for (let round = 0; round < 5; round++) {
      const src = [`bits ${bits}`, ...cur].join('\n') + '\n';
      writeFileSync(join(dir, 'a.asm'), src);
      const r = spawnSync('nasm', ['-f', 'bin', '-w-all', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')], { encoding: 'utf8' });
      if (r.error) throw new Error('nasm not found: ' + r.error.message);
      const bad = new Set<number>();
      for (const l of r.stderr.split('\n')) {
        const mm = /a\.asm:(\d+): (error|warning)/.exec(l);
        if (mm) bad.add(Number(mm[1]) - 2);
      }
      if (!bad.size) return cur;
      cur = cur.filter((_, i) => !bad.has(i));
    }
    return cur;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  let total = 0;
  for (const bits of [16, 32, 64] as Bits[]) {
    const groups: [string, string[]][] = [
      ['alu', alu(bits)], ['unary', [...unary(bits), ...bmi(bits)]], ['mov', movs(bits)], ['stack', stack(bits)], ['string', strings(bits)],
      ['system', system(bits)], ['sse', sse(bits)], ['branch', branches(bits)], ['prefix', prefixes(bits)],
    ];
    for (const [name, lines] of groups) {
      const uniq = [...new Set(lines)];
      const ok = validate(bits, uniq);
      const dropped = uniq.length - ok.length;
      total += ok.length;
      writeFileSync(join(here, `gen-${bits}-${name}.asm`), `; generated by generate.ts: ${name} forms, ${bits}-bit (${dropped} NASM-rejected lines dropped)\nbits ${bits}\n${ok.join('\n')}\n`);
    }
  }
  console.log(`wrote ${total} instruction lines`);
  void readFileSync;
}

main();
