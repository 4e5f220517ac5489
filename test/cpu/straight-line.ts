// A guest of straight-line code for the decoded-instruction cache tests and the soak of `npm run fuzz`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A flat 32-bit image at 1 MiB: `n` one-byte instructions (INC ECX), then DEC EBX; JNZ back to the
 * start; MOV AL, 7; OUT 0xF4, AL (the exit device).
 */
export function straightLine(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-guest-icache-'));
  const code = new Uint8Array(n + 16);
  code.fill(0x41, 0, n);
  let k = n;
  code[k++] = 0x4b;
  code[k++] = 0x0f; code[k++] = 0x85; new DataView(code.buffer).setInt32(k, -(k + 4), true); k += 4;
  code[k++] = 0xb0; code[k++] = 7; code[k++] = 0xe6; code[k++] = 0xf4;
  const f = join(dir, 'line.bin');
  writeFileSync(f, code.subarray(0, k));
  return f;
}

