// Guest sources the ELF tests build: C (two units, an inline header in a subdirectory),
// GNU as (AT&T) and NASM.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { workDir, write } from './elf-toolchain';

export function writeCSources(): { main: string; util: string } {
  mkdirSync(join(workDir(), 'inc'), { recursive: true });
  write('inc/mathx.h', `static inline int square(int x) {
  return x * x;
}
`);
  const main = write('main.c', `#include "inc/mathx.h"
int counter;
int table[64];
const char banner[] = "hello";
int accumulate(int n);
static int helper(int x) {
  int y = square(x) + 3;
  return y;
}
void _start(void) {
  for (int i = 0; i < 10; i++) {
    counter += helper(i);
    if (counter & 1) table[i] = counter; else table[i + 1] = -counter;
  }
  counter += accumulate(counter) + banner[1];
  for (;;) { __asm__ volatile("hlt"); }
}
`);
  const util = write('util.c', `#include "inc/mathx.h"
int scratch = 7;
int accumulate(int n) {
  int s = 0;
  while (n > 0) {
    s += square(n % 7);
    n /= 3;
  }
  return s + scratch;
}
`);
  return { main, util };
}

export function writeGasSource(name: string, bits: 32 | 64): string {
  const reg = bits === 64 ? '%rax' : '%eax';
  return write(name, `    .text
    .globl _start
_start:
    mov $1, %eax
    add %eax, %ebx
    call func
loop:
    nop
    jmp loop
    .type func, @function
func:
    push ${reg}
    pop ${reg}
    ret
    .size func, . - func
    .data
value: .long 0x12345678
    .bss
    .lcomm buffer, 64
`);
}

export function writeNasmSource(name: string, bits: 32 | 64): string {
  const reg = bits === 64 ? 'rax' : 'eax';
  return write(name, `bits ${bits}
section .text
global _start
_start:
    mov eax, 1
    add ebx, eax
    call func
.loop:
    nop
    jmp .loop
func:
    push ${reg}
    pop ${reg}
    ret
section .data
value: dd 0x12345678
section .bss
buffer: resb 64
`);
}
