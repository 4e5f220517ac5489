// Turns line-number matrix rows into the loader's LineEntry map: each row covers the
// addresses up to the next row of its sequence (DWARF 5 §6.2.2), rows with line 0 have no
// source (§6.2.5.1), and the result is sorted and non-overlapping.
import type { LineEntry } from '../image';
import { LineProgramHeader, LineRow, filePath } from './line-program';

export function rowsToEntries(hdr: LineProgramHeader, rows: LineRow[], compDir?: string, out: LineEntry[] = []): LineEntry[] {
  const paths = new Map<number, string | undefined>();
  const pathOf = (i: number) => {
    if (!paths.has(i)) paths.set(i, filePath(hdr, i, compDir));
    return paths.get(i);
  };
  for (let i = 0; i + 1 < rows.length; i++) {
    const row = rows[i];
    if (row.endSequence) continue;
    const next = rows[i + 1];
    const size = next.address - row.address;
    if (size <= 0 || row.line === 0) continue; // several rows at one address: the last one wins
    const file = pathOf(row.file);
    if (file === undefined) continue;
    const e: LineEntry = { addr: row.address, size, file, line: row.line };
    if (row.column) e.column = row.column;
    if (!row.isStmt) e.isStmt = false;
    out.push(e);
  }
  return out;
}

/** Sorts by address, trims overlaps (the earlier entry keeps its bytes) and merges nothing else. */
export function normalizeLineEntries(entries: LineEntry[]): LineEntry[] {
  const sorted = entries.slice().sort((a, b) => a.addr - b.addr || b.size - a.size);
  const out: LineEntry[] = [];
  let end = -Infinity;
  for (const e of sorted) {
    let { addr, size } = e;
    if (addr < end) {
      const cut = end - addr;
      if (cut >= size) continue;
      addr += cut;
      size -= cut;
    }
    out.push(addr === e.addr ? e : { ...e, addr, size });
    end = addr + size;
  }
  return out;
}
