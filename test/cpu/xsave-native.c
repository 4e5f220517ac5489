// Native side of the XSAVE differential test (test/cpu/xsave-native.test.ts): runs a short code
// sequence (XRSTOR of a random area, then XSAVE/XSAVEOPT/XSAVEC or a second XRSTOR and an XSAVE,
// then FXSAVE) on the host CPU with RSI -> in, RDI -> out, RCX -> aux, RBX -> fin.
// stdin: records of [len u8][code 63][in 576][out 576][aux 576];
// stdout: records of [out 576][aux 576][fin 512].
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct io {
  uint8_t in[576] __attribute__((aligned(64)));
  uint8_t out[576] __attribute__((aligned(64)));
  uint8_t aux[576] __attribute__((aligned(64)));
  uint8_t fin[512] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

static const uint32_t mxcsr_default = 0x1f80;

static void run(void *fn, struct io *s) {
  __asm__ volatile(
    "pushq %%rbx\n\t"
    "leaq 0(%0), %%rsi\n\t"
    "leaq 576(%0), %%rdi\n\t"
    "leaq 1152(%0), %%rcx\n\t"
    "leaq 1728(%0), %%rbx\n\t"
    "call *%1\n\t"
    "popq %%rbx\n\t"
    "fninit\n\t"            // the loaded x87 state may hold a pending exception: drop it unraised
    "ldmxcsr %2\n\t"        // and the C code after this runs with the default MXCSR
    : : "r"(s), "r"(fn), "m"(mxcsr_default)
    : "rax", "rcx", "rdx", "rsi", "rdi", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
}

int main(void) {
  uint8_t *page = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) { perror("mmap"); return 2; }
  static uint8_t rec[1 + 63 + 3 * 576];
  static struct io s;
  while (fread(rec, sizeof rec, 1, stdin) == 1) {
    unsigned len = rec[0] > 63 ? 63 : rec[0];
    memcpy(page, rec + 1, len);
    page[len] = 0xc3; // ret
    memcpy(s.in, rec + 64, 576);
    memcpy(s.out, rec + 64 + 576, 576);
    memcpy(s.aux, rec + 64 + 1152, 576);
    memset(s.fin, 0, sizeof s.fin);
    run(page, &s);
    fwrite(s.out, 576, 1, stdout);
    fwrite(s.aux, 576, 1, stdout);
    fwrite(s.fin, 512, 1, stdout);
  }
  return 0;
}
