// KVM oracle for the system-level guests: creates a VM on /dev/kvm, loads a flat image at
// 0x8000, starts it in real mode at 0000:8000 (like test/cpu/guests/guest.ts), runs until HLT,
// shutdown or an unexpected exit, and prints the final state as JSON.
// Usage: kvm-oracle IMAGE real|long [ADDR:LEN ...]   (memory ranges to dump, hex)
// "long" starts in 64-bit mode the way a KVM selftest does: identity-mapped 2 MiB pages over
// 4 GiB at 0x20000 (PML4) / 0x21000 (PDPT) / 0x22000 (PDs), the lib.inc GDT at 0x7000, CS 0x10.
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (8u << 20)
#define LOAD_ADDR 0x8000

static void fail(const char *what) {
  printf("{\"error\":\"%s\"}\n", what);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: kvm-oracle IMAGE real|long [ADDR:LEN ...]");
  int longMode = strcmp(argv[2], "long") == 0;
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) fail("cannot open /dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) fail("KVM_CREATE_VM");
  uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail("mmap guest memory");
  FILE *f = fopen(argv[1], "rb");
  if (!f) fail("cannot open image");
  size_t n = fread(mem + LOAD_ADDR, 1, MEM_SIZE - LOAD_ADDR, f);
  fclose(f);
  if (n == 0) fail("empty image");
  struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
    .userspace_addr = (uint64_t)(uintptr_t)mem };
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) fail("KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) fail("KVM_CREATE_VCPU");
  // Give the vCPU the host-supported CPUID like a selftest (1 GiB pages, NX, SYSCALL, ...).
  struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[256]; } cpuid;
  memset(&cpuid, 0, sizeof cpuid);
  cpuid.h.nent = 256;
  if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0) fail("KVM_GET_SUPPORTED_CPUID");
  if (ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0) fail("KVM_SET_CPUID2");
  int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) fail("mmap kvm_run");

  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) fail("KVM_GET_SREGS");
  struct kvm_segment *segs[] = { &sregs.cs, &sregs.ds, &sregs.es, &sregs.ss, &sregs.fs, &sregs.gs };
  for (int k = 0; k < 6; k++) { segs[k]->selector = 0; segs[k]->base = 0; segs[k]->limit = 0xffff; }
  if (longMode) {
    uint64_t *pml4 = (uint64_t *)(mem + 0x20000), *pdpt = (uint64_t *)(mem + 0x21000), *pd = (uint64_t *)(mem + 0x22000);
    pml4[0] = 0x21000 | 7;
    for (int k = 0; k < 4; k++) pdpt[k] = (0x22000 + k * 0x1000) | 7;
    for (uint64_t k = 0; k < 2048; k++) pd[k] = (k << 21) | 0x87;
    static const uint64_t gdt[] = { 0, 0x00cf9a000000ffffull, 0x00af9a000000ffffull, 0x00cf92000000ffffull,
      0x00cffa000000ffffull, 0x00cff2000000ffffull, 0x00affa000000ffffull };
    memcpy(mem + 0x7000, gdt, sizeof gdt);
    sregs.gdt.base = 0x7000; sregs.gdt.limit = sizeof gdt - 1;
    sregs.cr3 = 0x20000; sregs.cr4 = 0x20; sregs.efer = 0x500; sregs.cr0 = 0x80000011;
    for (int k = 0; k < 6; k++) {
      struct kvm_segment *s = segs[k];
      s->base = 0; s->limit = 0xffffffff; s->present = 1; s->dpl = 0; s->s = 1; s->g = 1; s->avl = 0; s->unusable = 0;
      if (k == 0) { s->selector = 0x10; s->type = 0xb; s->l = 1; s->db = 0; }
      else { s->selector = 0x18; s->type = 3; s->l = 0; s->db = 1; }
    }
  }
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) fail("KVM_SET_SREGS");
  struct kvm_regs regs;
  memset(&regs, 0, sizeof regs);
  regs.rip = LOAD_ADDR;
  regs.rflags = 2;
  if (longMode) regs.rsp = 0x7f000;
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");

  const char *stop = "budget";
  unsigned outs = 0, ins = 0;
  char outbuf[4096];
  size_t outlen = 0;
  for (int iter = 0; iter < 100000; iter++) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) { stop = "KVM_RUN failed"; break; }
    if (run->exit_reason == KVM_EXIT_HLT) { stop = "hlt"; break; }
    if (run->exit_reason == KVM_EXIT_SHUTDOWN) { stop = "shutdown"; break; }
    if (run->exit_reason == KVM_EXIT_IO) {
      // Port output is recorded (the guests' string I/O); input element n reads bytes n, n+1, ...
      // (the same pattern as test/cpu/system/smc-io.test.ts's CpuEnv).
      uint8_t *p = (uint8_t *)run + run->io.data_offset;
      for (unsigned k = 0; k < run->io.count; k++) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
          for (unsigned b = 0; b < run->io.size && outlen < sizeof outbuf; b++) outbuf[outlen++] = p[k * run->io.size + b];
          outs++;
        } else {
          for (unsigned b = 0; b < run->io.size; b++) p[k * run->io.size + b] = (uint8_t)(ins + b);
          ins++;
        }
      }
      continue;
    }
    if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) { stop = "internal-error"; break; }
    if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) { stop = "fail-entry"; break; }
    if (run->exit_reason == KVM_EXIT_MMIO) { stop = "mmio"; break; }
    stop = "other-exit";
    break;
  }
  ioctl(vcpu, KVM_GET_REGS, &regs);
  ioctl(vcpu, KVM_GET_SREGS, &sregs);
  printf("{\"stop\":\"%s\",\"exit_reason\":%u,", stop, run->exit_reason);
  if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) printf("\"suberror\":%u,", run->internal.suberror);
  const char *names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12",
    "r13", "r14", "r15", "rip", "rflags" };
  uint64_t vals[] = { regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rsp, regs.rbp, regs.r8, regs.r9,
    regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rip, regs.rflags };
  printf("\"regs\":{");
  for (int k = 0; k < 18; k++) printf("%s\"%s\":\"0x%llx\"", k ? "," : "", names[k], (unsigned long long)vals[k]);
  printf("},\"sregs\":{\"cr0\":\"0x%llx\",\"cr2\":\"0x%llx\",\"cr3\":\"0x%llx\",\"cr4\":\"0x%llx\",\"efer\":\"0x%llx\",\"cs\":%u,\"ss\":%u},",
    (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr2, (unsigned long long)sregs.cr3,
    (unsigned long long)sregs.cr4, (unsigned long long)sregs.efer, sregs.cs.selector, sregs.ss.selector);
  printf("\"out\":\"");
  for (size_t k = 0; k < outlen; k++) printf("%02x", (uint8_t)outbuf[k]);
  printf("\",\"mem\":{");
  for (int a = 3; a < argc; a++) {
    unsigned long addr = 0, len = 0;
    if (sscanf(argv[a], "%lx:%lx", &addr, &len) != 2 || addr + len > MEM_SIZE) fail("bad range");
    printf("%s\"%lx\":\"", a > 3 ? "," : "", addr);
    for (unsigned long k = 0; k < len; k++) printf("%02x", mem[addr + k]);
    printf("\"");
  }
  printf("}}\n");
  return 0;
}
