// A freestanding C workload for the gcc-guest SSE test (test/cpu/sse-gcc.test.ts). Built twice with
// gcc -O2 -ffreestanding -mno-red-zone: as a guest (entry _start, results at RESULTS, then HLT) and as a
// host program (-DHOST) printing the same results. gcc vectorises the loops with SSE2 (and with
// SSSE3/SSE4.1 when the test passes -msse4.1), so the emulator must run what gcc emits.
#include <stddef.h>
#include <stdint.h>

#define N 1000
static uint8_t b8[N + 64], c8[N + 64];
static uint16_t h16[N], g16[N];
static uint32_t w32[N], v32[N];
static uint64_t q64[N];
struct blob { uint64_t a[7]; uint32_t tail[3]; };

void *memcpy(void *d, const void *s, size_t n) { uint8_t *p = d; const uint8_t *q = s; while (n--) *p++ = *q++; return d; }
void *memset(void *d, int v, size_t n) { uint8_t *p = d; while (n--) *p++ = (uint8_t)v; return d; }

static uint32_t lcg(uint32_t *s) { *s = *s * 1664525u + 1013904223u; return *s; }

static size_t my_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

__attribute__((noinline)) static void compute(uint64_t *out) {
  uint32_t seed = 12345;
  for (int i = 0; i < N + 64; i++) { b8[i] = (uint8_t)lcg(&seed); c8[i] = (uint8_t)(lcg(&seed) >> 8); }
  for (int i = 0; i < N; i++) { h16[i] = (uint16_t)lcg(&seed); g16[i] = (uint16_t)(lcg(&seed) >> 3); }
  for (int i = 0; i < N; i++) { w32[i] = lcg(&seed); v32[i] = lcg(&seed) ^ (uint32_t)i; }
  int k = 0;
  uint64_t s = 0;
  for (int i = 0; i < N; i++) s += b8[i];                         out[k++] = s;   // widening sum
  uint8_t mx = 0, mn = 255;
  for (int i = 0; i < N; i++) { if (b8[i] > mx) mx = b8[i]; if (c8[i] < mn) mn = c8[i]; }
  out[k++] = (uint64_t)mx << 8 | mn;                               // pmaxub/pminub
  for (int i = 0; i < N; i++) c8[i] = (uint8_t)(b8[i] + c8[i]) ^ 0x5a;
  s = 0; for (int i = 0; i < N; i++) s = s * 31 + c8[i];           out[k++] = s;
  for (int i = 0; i < N; i++) h16[i] = (uint16_t)(h16[i] * g16[i] + (h16[i] >> 3));
  s = 0; for (int i = 0; i < N; i++) s += h16[i];                  out[k++] = s;   // pmullw, psrlw
  int16_t smax = -32768;
  for (int i = 0; i < N; i++) { int16_t v = (int16_t)g16[i]; if (v > smax) smax = v; }
  out[k++] = (uint16_t)smax;                                        // pmaxsw
  for (int i = 0; i < N; i++) w32[i] = (w32[i] << 3) ^ (v32[i] >> 5) ^ (uint32_t)((int32_t)v32[i] >> 7);
  s = 0; for (int i = 0; i < N; i++) s += w32[i];                  out[k++] = s;   // pslld/psrld/psrad
  for (int i = 0; i < N; i++) q64[i] = (uint64_t)w32[i] * v32[i];
  s = 0; for (int i = 0; i < N; i++) s ^= q64[i] + (q64[i] >> 17); out[k++] = s;   // pmuludq, psrlq
  uint32_t cnt = 0;
  for (int i = 0; i < N; i++) cnt += w32[i] > v32[i];
  out[k++] = cnt;                                                   // compares
  int32_t imax = 0;
  for (int i = 0; i < N; i++) { int32_t v = (int32_t)(w32[i] - v32[i]); if (v > imax) imax = v; }
  out[k++] = (uint32_t)imax;                                        // pcmpgtd + blend / pmaxsd
  for (int i = 0; i < N; i++) b8[i] = b8[N - 1 - i] == 7 ? 1 : b8[i];
  s = 0; for (int i = 0; i < N; i++) s += (uint64_t)b8[i] * (uint64_t)(i + 1); out[k++] = s;
  struct blob x, y;
  for (int i = 0; i < 7; i++) x.a[i] = q64[i * 3];
  x.tail[0] = 1; x.tail[1] = 2; x.tail[2] = 3;
  y = x;                                                            // struct copy (movdqu)
  out[k++] = y.a[6] ^ y.tail[2];
  memset(c8, 0, sizeof c8);
  s = 0; for (int i = 0; i < N + 64; i++) s += c8[i];              out[k++] = s;
  char str[96];
  for (int i = 0; i < 95; i++) str[i] = (char)('a' + i % 26);
  str[77] = 0;
  out[k++] = my_strlen(str);
  uint32_t rev[64];
  for (int i = 0; i < 64; i++) rev[i] = w32[63 - i];              // pshufd reverse
  s = 0; for (int i = 0; i < 64; i++) s = s * 3 + rev[i];           out[k++] = s;
  out[k++] = 0xC0FFEE;                                              // end marker
}

#define NRESULTS 16
#ifdef HOST
#include <stdio.h>
int main(void) {
  uint64_t out[NRESULTS] = {0};
  compute(out);
  for (int i = 0; i < NRESULTS; i++) printf("%016llx\n", (unsigned long long)out[i]);
  return 0;
}
#else
#define RESULTS ((uint64_t *)0x8000)
__attribute__((section(".text.start"))) void _start(void) {
  compute(RESULTS);
  __asm__ volatile("1: hlt; jmp 1b");
}
#endif
