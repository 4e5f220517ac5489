/* A kvm-unit-tests-shaped multiboot kernel in C (built by the test with gcc -m32): the multiboot
 * header first in .text, _start sets a stack and calls main, main reports results and calls
 * report_fail for a failing check, then ends through the exit device. */
__asm__(".align 4\n"
        ".long 0x1BADB002, 0, -0x1BADB002\n"
        ".globl _start\n"
        "_start:\n"
        "  mov $0x90000, %esp\n"
        "  push %ebx\n"
        "  push %eax\n"
        "  call main\n"
        "  outb %al, $0xf4\n"
        "  hlt\n");

static void putc_e9(char c) { __asm__ volatile("outb %0, $0xe9" : : "a"(c)); }
static void puts_e9(const char *s) { while (*s) putc_e9(*s++); }

int failures;

void report_fail(const char *what)
{
	failures++;
	puts_e9("FAIL: ");
	puts_e9(what);
	putc_e9('\n');
}

int main(unsigned magic, unsigned mbi)
{
	(void)mbi;
	if (magic != 0x2BADB002)
		report_fail("multiboot magic");
	puts_e9("PASS: multiboot magic\n");
	if (1 + 1 != 3)
		report_fail("arithmetic");
	return failures;
}
