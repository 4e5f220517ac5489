// Entry point of the DWARF reader: .debug_info first (unit context and functions), then
// every .debug_line program, giving the loader's line map and function list.
import type { LineEntry } from '../image';
import { readDebugInfo } from './debug-info';
import { LineProgramHeader, UnitContext, filePath, readLineTables } from './line-program';
import { normalizeLineEntries, rowsToEntries } from './line-map';
import { DebugSections, DwarfReport } from './sections';

export interface DwarfFunctionInfo { name: string; low: number; high: number; file?: string; line?: number; }

export interface DwarfResult {
  lines: LineEntry[];
  functions: DwarfFunctionInfo[];
  /** Number of line programs and compilation units seen (for diagnostics and tests). */
  lineUnits: number;
  infoUnits: number;
}

export function readDwarf(secs: DebugSections, defaultAddressSize: number, report: DwarfReport): DwarfResult {
  const info = readDebugInfo(secs, report);
  const contexts = new Map<number, UnitContext>();
  for (const u of info.units) {
    if (u.stmtList !== undefined && !contexts.has(u.stmtList)) contexts.set(u.stmtList, { compDir: u.compDir, name: u.name });
  }
  const tables = readLineTables(secs, contexts, defaultAddressSize, report);
  const entries: LineEntry[] = [];
  const headers = new Map<number, { header: LineProgramHeader; compDir?: string }>();
  for (const p of tables.programs) {
    rowsToEntries(p.header, p.rows, p.compDir, entries);
    headers.set(p.header.offset, p);
  }
  const functions: DwarfFunctionInfo[] = info.functions.map((f) => {
    const out: DwarfFunctionInfo = { name: f.name, low: f.low, high: f.high };
    const h = f.stmtList !== undefined ? headers.get(f.stmtList) : undefined;
    if (h && f.declFile !== undefined) out.file = filePath(h.header, f.declFile, h.compDir);
    if (f.declLine !== undefined) out.line = f.declLine;
    return out;
  });
  functions.sort((a, b) => a.low - b.low);
  return { lines: normalizeLineEntries(entries), functions, lineUnits: tables.programs.length, infoUnits: info.units.length };
}
