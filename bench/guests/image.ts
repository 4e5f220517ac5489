// Benchmark guest images: bench/guests/boot.asm assembled at run time with the product's own
// assembler (NASM syntax; byte-identical to `nasm -f bin`), as a 512-byte boot sector and as a
// 1.44 MB floppy image for QEMU and Bochs. Nothing is stored in the repository.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assemble } from '../../vm-core/loader/assemble';
import { formatDiagnostic } from '../../vm-core/loader/image';

export interface Workload {
  name: string;
  /** WORKLOAD value in boot.asm. */
  id: number;
  /** Instructions per loop iteration. */
  perIter: number;
  what: string;
}

export const WORKLOADS: Workload[] = [
  { name: 'alu', id: 0, perIter: 5, what: 'add, xor, sub, dec, jnz (registers)' },
  { name: 'memory', id: 1, perIter: 6, what: 'load, add, store, add to memory, dec, jnz' },
  { name: 'out', id: 2, perIter: 3, what: 'out 0x80, dec, jnz' },
];

export interface BootImage {
  /** The 512-byte boot sector (loaded at 0x7C00). */
  sector: Uint8Array;
  /** Address of the 64-bit entry (after the real -> long mode switch). */
  longEntry: number;
}

/** bench/guests/boot.asm, found from the repository root (this module may run from a bundle elsewhere). */
export const BOOT_ASM = (() => {
  for (let d = __dirname; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return join(d, 'bench', 'guests', 'boot.asm');
    if (dirname(d) === d) return join(__dirname, 'boot.asm');
  }
})();

export function buildBootSector(w: Workload, iterations: number): BootImage {
  const r = assemble({ path: BOOT_ASM, defines: { ITER: String(iterations), WORKLOAD: String(w.id) } });
  if (!r.ok) throw new Error(`bench: cannot assemble ${BOOT_ASM}:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  const seg = r.image.segments[0];
  if (seg.addr !== 0x7c00 || seg.bytes.length !== 512) throw new Error(`bench: ${BOOT_ASM} is not a 512-byte boot sector at 0x7C00`);
  const entry = r.image.symbols.find((s) => s.name === 'long_entry');
  if (!entry) throw new Error(`bench: ${BOOT_ASM} has no long_entry label`);
  return { sector: seg.bytes, longEntry: entry.addr };
}

/** A 1.44 MB floppy image whose first sector is the boot sector. */
export function floppyImage(sector: Uint8Array): Uint8Array {
  const img = new Uint8Array(1474560);
  img.set(sector, 0);
  return img;
}
