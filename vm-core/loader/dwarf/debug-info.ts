// Compilation units of .debug_info (DWARF 5 §7.5.1, DWARF 2-4 §7.5.1): the unit context
// line programs need (DW_AT_comp_dir, DW_AT_name, DW_AT_stmt_list) and DW_TAG_subprogram
// entries with their ranges (§3.3, §2.17) and declaration coordinates (§2.14).
import { ByteReader, TruncatedError, hex } from './byte-reader';
import { Abbrev, readAbbrevTable } from './abbrev';
import { DW_AT, DW_TAG } from './constants';
import { FormValue, UnitBases, UnitEncoding, formAddress, formConstant, formString, readForm } from './forms';
import { errText } from './line-program';
import { DebugSections, DwarfReport, readerFor } from './sections';
import { readUnitHeader } from './unit-length';

export interface DwarfFunction {
  name: string;
  low: number;
  high: number;
  /** decl_file index into the unit's line-program file table. */
  declFile?: number;
  declLine?: number;
  /** .debug_line offset of the owning unit, to resolve declFile. */
  stmtList?: number;
}

export interface DwarfUnit {
  offset: number;
  version: number;
  name?: string;
  compDir?: string;
  stmtList?: number;
  addressSize: number;
}

export interface DebugInfoResult {
  units: DwarfUnit[];
  functions: DwarfFunction[];
}

type Attrs = Map<number, FormValue>;

/** Walks every unit of .debug_info; a malformed unit is reported and the walk goes on with the next. */
export function readDebugInfo(secs: DebugSections, report: DwarfReport): DebugInfoResult {
  const out: DebugInfoResult = { units: [], functions: [] };
  const info = secs.info;
  if (!info) return out;
  const abbrevCache = new Map<number, Map<number, Abbrev>>();
  const r = readerFor(info);
  while (r.remaining >= 4) {
    const start = r.pos;
    let end: number;
    try {
      end = readUnit(r, secs, abbrevCache, out, report);
    } catch (e) {
      report(info, e instanceof TruncatedError ? e.offset : start, `${errText(e, 'compilation unit header')} (unit at ${hex(start)})`);
      break;
    }
    r.pos = end;
  }
  return out;
}

// §7.5.1.1: unit header (v2-4: length, version, abbrev offset, address size; v5: length, version, unit type, address size, abbrev offset).
function readUnit(r: ByteReader, secs: DebugSections, cache: Map<number, Map<number, Abbrev>>, out: DebugInfoResult, report: DwarfReport): number {
  const info = secs.info!;
  const start = r.pos;
  const { offsetSize, end, version, addressSize, abbrevOffset } = readUnitHeader(r);
  const enc: UnitEncoding = { version, addressSize, offsetSize };
  let abbrevs = cache.get(abbrevOffset);
  if (!abbrevs) {
    const ab = secs.abbrev;
    if (!ab) { report(info, start, 'unit needs .debug_abbrev, which is missing'); return end; }
    if (abbrevOffset >= ab.bytes.length) { report(info, start, `abbreviation offset ${hex(abbrevOffset)} is outside .debug_abbrev`); return end; }
    try {
      abbrevs = readAbbrevTable(readerFor(ab, abbrevOffset));
    } catch (e) {
      report(ab, e instanceof TruncatedError ? e.offset : abbrevOffset, errText(e, 'abbreviation table'));
      return end;
    }
    cache.set(abbrevOffset, abbrevs);
  }
  const unit: DwarfUnit = { offset: start, version, addressSize };
  const dies = r.sub(end - r.pos, 'compilation unit');
  // DIE offsets are relative to the unit start for DW_FORM_ref*; names of DIEs referenced by abstract_origin/specification.
  const named = new Map<number, { name?: string; declFile?: number; declLine?: number; ref?: number }>();
  const pending: { attrs: Attrs; }[] = [];
  let bases: UnitBases = {};
  let first = true;
  try {
    while (!dies.atEnd) {
      const dieOffset = dies.pos + (dies.base - start);
      const code = dies.uleb('DIE');
      if (code === 0) continue; // null entry ends a sibling chain
      const ab = abbrevs.get(code);
      if (!ab) throw new TruncatedError(dies.fileOffset, `unknown abbreviation code ${code}`);
      const attrs: Attrs = new Map();
      for (const a of ab.attrs) attrs.set(a.name, readForm(dies, a.form, enc, a.implicitConst));
      if (first) {
        first = false;
        bases = unitBases(attrs);
        unit.name = formString(attrs.get(DW_AT.name), secs, enc, bases);
        unit.compDir = formString(attrs.get(DW_AT.comp_dir), secs, enc, bases);
        const sl = attrs.get(DW_AT.stmt_list);
        if (sl && (sl.kind === 'secoff' || sl.kind === 'const')) unit.stmtList = sl.value;
        if (ab.tag !== DW_TAG.compile_unit && ab.tag !== DW_TAG.partial_unit && ab.tag !== DW_TAG.skeleton_unit) break;
        continue;
      }
      if (ab.tag === DW_TAG.subprogram || attrs.has(DW_AT.name)) {
        const ref = refOf(attrs.get(DW_AT.abstract_origin)) ?? refOf(attrs.get(DW_AT.specification));
        named.set(dieOffset, {
          name: dieName(attrs, secs, enc, bases),
          declFile: formConstant(attrs.get(DW_AT.decl_file)),
          declLine: formConstant(attrs.get(DW_AT.decl_line)),
          ref,
        });
      }
      if (ab.tag === DW_TAG.subprogram) pending.push({ attrs });
    }
  } catch (e) {
    report(info, e instanceof TruncatedError ? e.offset : dies.fileOffset, `${errText(e, 'debugging information entry')} (unit at ${hex(start)})`);
  }
  out.units.push(unit);
  for (const { attrs } of pending) {
    const f = subprogram(attrs, secs, enc, bases, named);
    if (f) { f.stmtList = unit.stmtList; out.functions.push(f); }
  }
  return end;
}

function unitBases(attrs: Attrs): UnitBases {
  return {
    strOffsetsBase: formConstant(attrs.get(DW_AT.str_offsets_base)),
    addrBase: formConstant(attrs.get(DW_AT.addr_base)) ?? formConstant(attrs.get(DW_AT.GNU_addr_base)),
  };
}

function refOf(v: FormValue | undefined): number | undefined {
  return v && v.kind === 'ref' && !v.global ? v.value : undefined;
}

function dieName(attrs: Attrs, secs: DebugSections, enc: UnitEncoding, bases: UnitBases): string | undefined {
  return formString(attrs.get(DW_AT.name), secs, enc, bases)
    ?? formString(attrs.get(DW_AT.linkage_name), secs, enc, bases)
    ?? formString(attrs.get(DW_AT.MIPS_linkage_name), secs, enc, bases);
}

// §2.17.2: DW_AT_high_pc of class address is the first address past the range; of class constant it is an offset from low_pc.
function subprogram(attrs: Attrs, secs: DebugSections, enc: UnitEncoding, bases: UnitBases,
  named: Map<number, { name?: string; declFile?: number; declLine?: number; ref?: number }>): DwarfFunction | undefined {
  const low = formAddress(attrs.get(DW_AT.low_pc), secs, enc, bases);
  const hv = attrs.get(DW_AT.high_pc);
  if (low === undefined || !hv) return undefined;
  let high: number | undefined;
  if (hv.kind === 'addr' || hv.kind === 'addrx') high = formAddress(hv, secs, enc, bases);
  else { const c = formConstant(hv); if (c !== undefined) high = low + c; }
  if (high === undefined || high <= low) return undefined;
  let name = dieName(attrs, secs, enc, bases);
  let declFile = formConstant(attrs.get(DW_AT.decl_file));
  let declLine = formConstant(attrs.get(DW_AT.decl_line));
  // §3.3.8.2 / §2.13.2: concrete instances and out-of-line definitions take name and declaration from their origin.
  let ref = refOf(attrs.get(DW_AT.abstract_origin)) ?? refOf(attrs.get(DW_AT.specification));
  for (let hops = 0; ref !== undefined && hops < 8 && (name === undefined || declFile === undefined); hops++) {
    const o = named.get(ref);
    if (!o) break;
    name ??= o.name;
    declFile ??= o.declFile;
    declLine ??= o.declLine;
    ref = o.ref;
  }
  if (!name) return undefined;
  return { name, low, high, declFile, declLine };
}
