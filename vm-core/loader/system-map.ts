// A kernel's System.map (`nm -n vmlinux` output: "ADDRESS TYPE NAME" per line) as symbols and
// function ranges for the debugger: function breakpoints, disassembly labels and call-stack names.
// Addresses are 64-bit: a higher-half kernel's 0xffffffff8... addresses are kept exact as the
// processor keeps RIP, sign-extended canonical numbers (vm-core/cpu/README.md "Values").
import type { GuestImage, ImageSymbol } from './image';

export interface SystemMap { symbols: ImageSymbol[]; functions: NonNullable<GuestImage['functions']>; }

/** An address from System.map (hex, up to 16 digits) as the processor's RIP numbers: sign-extended from bit 63. */
export function mapAddress(hex: string): number {
  return Number(BigInt.asIntN(64, BigInt('0x' + hex)));
}

/**
 * Parse System.map text. Types (nm(1)): T/t text → functions, D/d/B/b/R/r/G/g/S/s data → objects,
 * A/a absolute → constants, the rest (W/w weak, V/v, N, U, ?) → labels. Errors name the line.
 */
export function parseSystemMap(text: string, file: string): SystemMap | { error: string } {
  const symbols: ImageSymbol[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (!line || /^[Uuwv]\s+\S+$/.test(line)) continue; // undefined symbols have no address column
    const m = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?])\s+(\S+)/.exec(line);
    if (!m) return { error: `${file}:${k + 1}: not a System.map line ("ADDRESS TYPE NAME"): ${JSON.stringify(line.slice(0, 80))}` };
    const t = m[2];
    if (t === 'U' || t === 'u' || t === 'w' || t === 'v') continue; // undefined or weak-undefined: no address
    const kind: ImageSymbol['kind'] = /[Tt]/.test(t) ? 'function' : /[DdBbRrGgSs]/.test(t) ? 'object' : /[Aa]/.test(t) ? 'constant' : 'label';
    symbols.push({ name: m[3], addr: mapAddress(m[1]), size: 0, kind });
  }
  if (!symbols.length) return { error: `${file}: no symbols (Debian's /boot/System.map is a placeholder: the real one is in the linux-image-*-dbg package)` };
  symbols.sort((a, b) => a.addr - b.addr || a.name.localeCompare(b.name));
  // Sizes and function ranges: up to the next symbol at a higher address (System.map has no sizes).
  const functions: SystemMap['functions'] = [];
  for (let k = 0, next = 0; k < symbols.length; k++) {
    const s = symbols[k];
    if (next <= k) { next = k + 1; while (next < symbols.length && symbols[next].addr === s.addr) next++; }
    if (next < symbols.length && s.kind !== 'constant') s.size = symbols[next].addr - s.addr;
    if (s.kind === 'function' && s.size > 0) functions.push({ name: s.name, low: s.addr, high: s.addr + s.size });
  }
  return { symbols, functions };
}

/** Add a System.map's symbols and functions to an image (kept sorted; the image's own come first at equal addresses). */
export function addSystemMap(img: GuestImage, map: SystemMap): void {
  img.symbols = [...img.symbols, ...map.symbols].sort((a, b) => a.addr - b.addr);
  img.functions = [...(img.functions ?? []), ...map.functions].sort((a, b) => a.low - b.low);
}
