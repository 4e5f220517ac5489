// Native side of the x87 differential test (test/cpu/x87-native.ts): loads an FXSAVE image with
// FXRSTOR, sets RAX and RFLAGS, points RSI at a 128-byte memory buffer, runs one instruction on the
// host CPU, then FXSAVEs and clears the x87 state with FNINIT (both non-waiting, so an unmasked
// exception the instruction left pending never traps here).
// stdin: records of [len u8][code 15][fxsave image 512][rax 8][rflags 8][mem 128];
// stdout: records of [fxsave image 512][rax 8][rflags 8][mem 128].
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct io {
  uint8_t fx[512];   // offset 0: 16-byte aligned (the struct is)
  uint64_t rax;      // 512
  uint64_t rflags;   // 520
  uint8_t mem[128];  // 528
} __attribute__((aligned(64)));

static void run(void *fn, struct io *s) {
  __asm__ volatile(
    "fxrstor 0(%0)\n\t"
    "movq 512(%0), %%rax\n\t"
    "leaq 528(%0), %%rsi\n\t"
    "pushq %0\n\t"
    "pushq 520(%0)\n\t"
    "popfq\n\t"
    "call *%1\n\t"
    "pushfq\n\t"
    "popq %%rsi\n\t"
    "popq %0\n\t"
    "fxsave 0(%0)\n\t"
    "fninit\n\t"
    "movq %%rax, 512(%0)\n\t"
    "movq %%rsi, 520(%0)\n\t"
    : : "r"(s), "r"(fn)
    : "rax", "rsi", "memory", "cc");
}

int main(void) {
  uint8_t *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 2; }
  static uint8_t rec[1 + 15 + 512 + 8 + 8 + 128];
  static struct io s;
  while (fread(rec, sizeof rec, 1, stdin) == 1) {
    unsigned len = rec[0] > 15 ? 15 : rec[0];
    memcpy(page, rec + 1, len);
    page[len] = 0xc3; // ret
    memcpy(s.fx, rec + 16, 512);
    memcpy(&s.rax, rec + 528, 8);
    memcpy(&s.rflags, rec + 536, 8);
    memcpy(s.mem, rec + 544, 128);
    run(page, &s);
    fwrite(s.fx, 512, 1, stdout);
    fwrite(&s.rax, 8, 1, stdout);
    fwrite(&s.rflags, 8, 1, stdout);
    fwrite(s.mem, 128, 1, stdout);
  }
  return 0;
}
