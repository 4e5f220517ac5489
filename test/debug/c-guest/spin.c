/* A C guest that never ends: for Ctrl-C (interrupt) over the GDB remote protocol. */
volatile unsigned long spins;

void _start(void) {
  for (;;) spins++;
}
