/* A C guest for the source-level debugger tests: structs, bit-fields, arrays, enums, unions,
   function pointers, typedefs, calls and inlined calls. Built with gcc at test time. */
typedef unsigned long long u64;
typedef struct node { int val; struct node *next; } node_t;
struct flags { unsigned a : 3; unsigned b : 5; int c : 4; };
enum color { RED, GREEN = 5, BLUE };
union word { int i; float f; };

node_t nodes[3];
int grid[2][3] = { { 1, 2, 3 }, { 4, 5, 6 } };
char name[8] = "kvm";
volatile int sink;
volatile u64 big = 0x1122334455667788ull;

static inline int twice(int x) {
  return x + x; /* @twice */
}

__attribute__((noinline)) int add(int a, int b) {
  int s = a + twice(b);
  sink = s; /* @add */
  return s;
}

__attribute__((noinline)) int walk(node_t *p, const char *tag, enum color c) {
  int sum = 0;
  struct flags fl = { 5, 17, -3 };
  union word w;
  double d = 2.5;
  int (*fp)(int, int) = add;
  w.i = 0x40490fdb;
  while (p) {
    sum += p->val; /* @loop */
    p = p->next;
  }
  sum += fp(sum, fl.c) + (tag[0] == 'h') + (int)c + (w.i & 1); /* @walk */
  return sum;
}

void _start(void) {
  unsigned long cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 0x600)); /* CR4.OSFXSR | OSXMMEXCPT: SSE for double */
  for (int i = 0; i < 3; i++) {
    nodes[i].val = 10 * (i + 1);
    nodes[i].next = i < 2 ? &nodes[i + 1] : 0;
  }
  sink = walk(&nodes[0], "hi", BLUE); /* @start */
  __asm__ volatile("outb %0, %1" : : "a"((unsigned char)'K'), "Nd"((unsigned short)0x3f8)); /* @out */
  for (;;) __asm__ volatile("hlt");
}
