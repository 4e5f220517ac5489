// A NASM-style listing: source line number, address, bytes (hex), source text. Long byte runs
// continue on following lines marked with '-', like `nasm -l`.
import type { StmtRecord } from './assembler';

const BYTES_PER_LINE = 9;

export function formatListing(records: StmtRecord[]): string {
  const out: string[] = [];
  for (const r of records) {
    const loc = r.stmt.line.loc;
    const lineNo = String(loc.line).padStart(6);
    const text = r.stmt.line.text;
    const addr = r.addr >= 0n ? BigInt.asUintN(32, r.addr).toString(16).toUpperCase().padStart(8, '0') : '';
    const hex = (bs: number[]) => bs.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
    if (r.bytes.length === 0) { out.push(`${lineNo} ${' '.repeat(8)} ${' '.repeat(BYTES_PER_LINE * 2 + 1)} ${text}`); continue; }
    if (r.nobits) { out.push(`${lineNo} ${addr} <res ${r.bytes.length.toString(16).toUpperCase()}h>${' '.repeat(Math.max(1, BYTES_PER_LINE * 2 - 8))} ${text}`); continue; }
    for (let i = 0; i < r.bytes.length; i += BYTES_PER_LINE) {
      const chunk = r.bytes.slice(i, i + BYTES_PER_LINE);
      const more = i + BYTES_PER_LINE < r.bytes.length;
      const a = BigInt.asUintN(32, r.addr + BigInt(i)).toString(16).toUpperCase().padStart(8, '0');
      const h = (hex(chunk) + (more ? '-' : '')).padEnd(BYTES_PER_LINE * 2 + 1);
      out.push(`${lineNo} ${a} ${h} ${i === 0 ? text : ''}`.trimEnd());
      if (i >= BYTES_PER_LINE * 64) { out.push(`${lineNo} ${' '.repeat(8)} ... ${r.bytes.length - i - BYTES_PER_LINE} more bytes`); break; }
    }
  }
  void ' ';
  return out.join('\n') + '\n';
}
