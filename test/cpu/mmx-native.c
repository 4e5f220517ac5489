// Native side of the MMX differential test (test/cpu/mmx-native.test.ts): loads an FXSAVE image
// (x87 control/status/tag words, ST0-7 = MM registers, XMM0-15) with FXRSTOR, sets RAX and points
// RSI and RDI at a 16-byte memory buffer, runs one instruction on the host CPU, then FXSAVEs.
// stdin: records of [len u8][code 15][fxsave image 512][rax 8][mem 16];
// stdout: records of [fxsave image 512][rax 8][mem 16].
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct io {
  uint8_t fx[512];   // offset 0: 16-byte aligned (the struct is)
  uint64_t rax;      // 512
  uint8_t mem[16];   // 520
} __attribute__((aligned(64)));

static void run(void *fn, struct io *s) {
  __asm__ volatile(
    "fxrstor 0(%0)\n\t"
    "movq 512(%0), %%rax\n\t"
    "leaq 520(%0), %%rsi\n\t"
    "movq %%rsi, %%rdi\n\t"
    "pushq %0\n\t"
    "call *%1\n\t"
    "popq %0\n\t"
    "fxsave 0(%0)\n\t"
    "movq %%rax, 512(%0)\n\t"
    "emms\n\t"
    : : "r"(s), "r"(fn)
    : "rax", "rsi", "rdi", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
      "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

int main(void) {
  uint8_t *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 2; }
  static uint8_t rec[1 + 15 + 512 + 8 + 16];
  static struct io s;
  while (fread(rec, sizeof rec, 1, stdin) == 1) {
    unsigned len = rec[0] > 15 ? 15 : rec[0];
    memcpy(page, rec + 1, len);
    page[len] = 0xc3; // ret
    memcpy(s.fx, rec + 16, 512);
    memcpy(&s.rax, rec + 528, 8);
    memcpy(s.mem, rec + 536, 16);
    run(page, &s);
    fwrite(s.fx, 512, 1, stdout);
    fwrite(&s.rax, 8, 1, stdout);
    fwrite(s.mem, 16, 1, stdout);
  }
  return 0;
}
