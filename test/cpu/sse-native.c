// Native side of the SSE differential test (test/cpu/sse-native.test.ts): runs one instruction on
// the host CPU from a given XMM0-2/RAX state and prints the resulting state.
// stdin: records of [len u8][code 15][xmm0 16][xmm1 16][xmm2 16][rax 8]; stdout: [xmm0..2 48][rax 8][rflags 8].
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct io { uint8_t xmm[48]; uint64_t rax; uint64_t rflags; };

static void run(void *fn, struct io *s) {
  __asm__ volatile(
    "movdqu 0(%0), %%xmm0\n\t"
    "movdqu 16(%0), %%xmm1\n\t"
    "movdqu 32(%0), %%xmm2\n\t"
    "movq 48(%0), %%rax\n\t"
    "pushq %0\n\t"
    "call *%1\n\t"
    "popq %0\n\t"
    "movdqu %%xmm0, 0(%0)\n\t"
    "movdqu %%xmm1, 16(%0)\n\t"
    "movdqu %%xmm2, 32(%0)\n\t"
    "movq %%rax, 48(%0)\n\t"
    "pushfq\n\t"
    "popq 56(%0)\n\t"
    : : "r"(s), "r"(fn) : "rax", "xmm0", "xmm1", "xmm2", "memory", "cc");
}

int main(void) {
  uint8_t *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 2; }
  uint8_t rec[1 + 15 + 48 + 8];
  while (fread(rec, sizeof rec, 1, stdin) == 1) {
    struct io s;
    unsigned len = rec[0] > 15 ? 15 : rec[0];
    memcpy(page, rec + 1, len);
    page[len] = 0xc3; // ret
    memcpy(s.xmm, rec + 16, 48);
    memcpy(&s.rax, rec + 64, 8);
    s.rflags = 0;
    run(page, &s);
    fwrite(&s, sizeof s, 1, stdout);
  }
  return 0;
}
