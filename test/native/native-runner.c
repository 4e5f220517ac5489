/*
 * Runs x86-64 instruction sequences natively in user mode, for the differential test of the
 * emulator core (test/cpu/differential.test.ts). Built with gcc at test time.
 *
 * stdin, per case (little-endian):  u32 code_len, u64 gpr[16] (SDM order rax..r15), u64 rflags,
 *                                   u8 data[DATA_SIZE], u8 code[code_len]
 * stdout, per case:                 u32 signal (0 = ran to the end), u64 fault_offset (RIP - code
 *                                   start at the fault), u64 gpr[16], u64 rflags, u8 data[DATA_SIZE]
 *
 * The data region is mapped at the fixed address DATA_ADDR so memory operands can use absolute
 * addresses; the code runs from an RWX page followed by "jmp [rip+0]; .quad harness_exit". The
 * trampolines load every GPR (RSP included) and RFLAGS, then save them all after the code, and
 * restore the C stack. A fault (SIGFPE for #DE, SIGSEGV, ...) is caught on an alternate stack and
 * reported with the register state at the faulting instruction.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define DATA_ADDR 0x10000000UL
#define DATA_SIZE 0x2000
#define CODE_SIZE 0x10000

uint64_t g_in[17];
uint64_t g_out[17];
uint64_t g_saved_rsp;
uint64_t g_target;

void harness_enter(void);
void harness_exit(void);

__asm__(
    ".text\n"
    ".globl harness_enter\n"
    "harness_enter:\n"
    "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  mov %rsp, g_saved_rsp(%rip)\n"
    "  pushq g_in+128(%rip)\n"
    "  popfq\n"
    "  mov g_in+0(%rip), %rax\n"
    "  mov g_in+8(%rip), %rcx\n"
    "  mov g_in+16(%rip), %rdx\n"
    "  mov g_in+24(%rip), %rbx\n"
    "  mov g_in+40(%rip), %rbp\n"
    "  mov g_in+48(%rip), %rsi\n"
    "  mov g_in+56(%rip), %rdi\n"
    "  mov g_in+64(%rip), %r8\n"
    "  mov g_in+72(%rip), %r9\n"
    "  mov g_in+80(%rip), %r10\n"
    "  mov g_in+88(%rip), %r11\n"
    "  mov g_in+96(%rip), %r12\n"
    "  mov g_in+104(%rip), %r13\n"
    "  mov g_in+112(%rip), %r14\n"
    "  mov g_in+120(%rip), %r15\n"
    "  mov g_in+32(%rip), %rsp\n"
    "  jmp *g_target(%rip)\n"
    ".globl harness_exit\n"
    "harness_exit:\n"
    "  mov %rax, g_out+0(%rip)\n"
    "  mov %rcx, g_out+8(%rip)\n"
    "  mov %rdx, g_out+16(%rip)\n"
    "  mov %rbx, g_out+24(%rip)\n"
    "  mov %rsp, g_out+32(%rip)\n"
    "  mov %rbp, g_out+40(%rip)\n"
    "  mov %rsi, g_out+48(%rip)\n"
    "  mov %rdi, g_out+56(%rip)\n"
    "  mov %r8, g_out+64(%rip)\n"
    "  mov %r9, g_out+72(%rip)\n"
    "  mov %r10, g_out+80(%rip)\n"
    "  mov %r11, g_out+88(%rip)\n"
    "  mov %r12, g_out+96(%rip)\n"
    "  mov %r13, g_out+104(%rip)\n"
    "  mov %r14, g_out+112(%rip)\n"
    "  mov %r15, g_out+120(%rip)\n"
    "  mov g_saved_rsp(%rip), %rsp\n"
    "  pushfq\n"
    "  popq g_out+128(%rip)\n"
    "  cld\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
    "  ret\n");

static sigjmp_buf g_jmp;
static volatile int g_sig;
static uint64_t g_fault_rip;
static uint8_t *g_code;

static void on_fault(int sig, siginfo_t *si, void *uctx) {
  (void)si;
  ucontext_t *uc = uctx;
  greg_t *r = uc->uc_mcontext.gregs;
  g_out[0] = r[REG_RAX]; g_out[1] = r[REG_RCX]; g_out[2] = r[REG_RDX]; g_out[3] = r[REG_RBX];
  g_out[4] = r[REG_RSP]; g_out[5] = r[REG_RBP]; g_out[6] = r[REG_RSI]; g_out[7] = r[REG_RDI];
  g_out[8] = r[REG_R8]; g_out[9] = r[REG_R9]; g_out[10] = r[REG_R10]; g_out[11] = r[REG_R11];
  g_out[12] = r[REG_R12]; g_out[13] = r[REG_R13]; g_out[14] = r[REG_R14]; g_out[15] = r[REG_R15];
  g_out[16] = r[REG_EFL];
  g_fault_rip = r[REG_RIP];
  g_sig = sig;
  siglongjmp(g_jmp, 1);
}

static int read_all(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n) {
    ssize_t k = read(0, p, n);
    if (k <= 0) return -1;
    p += k; n -= (size_t)k;
  }
  return 0;
}
static void write_all(const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) {
    ssize_t k = write(1, p, n);
    if (k <= 0) exit(2);
    p += k; n -= (size_t)k;
  }
}

int main(void) {
  uint8_t *data = mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (data != (uint8_t *)DATA_ADDR) { perror("mmap data"); return 1; }
  g_code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g_code == MAP_FAILED) { perror("mmap code"); return 1; }

  static uint8_t altstack[65536];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = { SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGTRAP };
  for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);

  for (;;) {
    uint32_t len;
    if (read_all(&len, 4)) break;
    if (len > CODE_SIZE - 16) { fprintf(stderr, "code too long\n"); return 1; }
    if (read_all(g_in, sizeof g_in) || read_all(data, DATA_SIZE) || read_all(g_code, len)) {
      fprintf(stderr, "truncated input\n");
      return 1;
    }
    uint8_t *p = g_code + len; /* jmp qword [rip+0]; dq harness_exit */
    p[0] = 0xff; p[1] = 0x25; p[2] = p[3] = p[4] = p[5] = 0;
    uint64_t target = (uint64_t)(uintptr_t)harness_exit;
    memcpy(p + 6, &target, 8);
    __builtin___clear_cache((char *)g_code, (char *)p + 14);
    g_target = (uint64_t)(uintptr_t)g_code;
    g_sig = 0;
    g_fault_rip = 0;
    if (sigsetjmp(g_jmp, 1) == 0) harness_enter();
    uint32_t sig = (uint32_t)g_sig;
    uint64_t off = sig ? g_fault_rip - (uint64_t)(uintptr_t)g_code : len;
    write_all(&sig, 4);
    write_all(&off, 8);
    write_all(g_out, sizeof g_out);
    write_all(data, DATA_SIZE);
  }
  return 0;
}
