// NASM numeric constants (NASM manual 3.4.1): 0x1F, 1Fh, 0h1F, $1F, 0b1010, 1010b, 0y1010,
// 0o17, 17q, 17o, 0q17, 0d99, 99d, 0t99, underscores anywhere after the first digit.

/** Parses a NASM integer literal; returns undefined when `text` is not one. Value is 64-bit wrapped. */
export function parseNasmInteger(text: string): bigint | undefined {
  let t = text.replace(/_/g, '');
  if (t.length === 0) return undefined;
  let radix = 10;
  let digits = t;
  const lower = t.toLowerCase();
  if (lower.startsWith('$')) {
    // $1F: hex, only when a digit follows the dollar sign
    if (!/^\$[0-9]/.test(lower)) return undefined;
    radix = 16; digits = lower.slice(1);
  } else if (/^0[xh]/.test(lower)) { radix = 16; digits = lower.slice(2); }
  else if (/^0[by]/.test(lower) && lower.length > 2 && !/[h]$/.test(lower)) { radix = 2; digits = lower.slice(2); }
  else if (/^0[oq]/.test(lower)) { radix = 8; digits = lower.slice(2); }
  else if (/^0[dt]/.test(lower) && lower.length > 2 && !/h$/.test(lower)) { radix = 10; digits = lower.slice(2); }
  else if (/^[0-9][0-9a-f]*h$/.test(lower)) { radix = 16; digits = lower.slice(0, -1); }
  else if (/^[01]+[by]$/.test(lower)) { radix = 2; digits = lower.slice(0, -1); }
  else if (/^[0-7]+[oq]$/.test(lower)) { radix = 8; digits = lower.slice(0, -1); }
  else if (/^[0-9]+[dt]$/.test(lower)) { radix = 10; digits = lower.slice(0, -1); }
  else digits = lower;
  if (digits.length === 0) return undefined;
  const valid = radix === 16 ? /^[0-9a-f]+$/ : radix === 8 ? /^[0-7]+$/ : radix === 2 ? /^[01]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return undefined;
  let v = 0n;
  const r = BigInt(radix);
  for (const ch of digits) v = v * r + BigInt(parseInt(ch, 16));
  return BigInt.asIntN(64, v);
}

/** True when `text` looks like a floating-point constant (1.5, 1e10, 1.0e-3). */
export function isNasmFloat(text: string): boolean {
  const t = text.replace(/_/g, '');
  return /^[0-9]+\.[0-9]*(e[+-]?[0-9]+)?$/i.test(t) || /^[0-9]+e[+-]?[0-9]+$/i.test(t);
}

/** Little-endian bytes of a float constant, for dd/dq/dt. */
export function floatBytes(text: string, size: number): number[] | undefined {
  const v = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(v)) return undefined;
  if (size === 4) { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, v, true); return [...new Uint8Array(b.buffer)]; }
  if (size === 8) { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, v, true); return [...new Uint8Array(b.buffer)]; }
  if (size === 2) return undefined;
  return undefined;
}
