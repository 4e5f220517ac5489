// Abbreviation tables of .debug_abbrev (DWARF 5 §7.5.3).
import { ByteReader } from './byte-reader';
import { DW_FORM } from './constants';

export interface AbbrevAttr { name: number; form: number; implicitConst: number; }
export interface Abbrev { code: number; tag: number; hasChildren: boolean; attrs: AbbrevAttr[]; }

// §7.5.3: a series of (code, tag, children flag, (attribute, form[, implicit const])*, 0, 0) ended by code 0.
export function readAbbrevTable(r: ByteReader): Map<number, Abbrev> {
  const table = new Map<number, Abbrev>();
  for (;;) {
    const code = r.uleb('abbreviation table');
    if (code === 0) break;
    const tag = r.uleb('abbreviation table');
    const hasChildren = r.u8('abbreviation table') !== 0;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const name = r.uleb('abbreviation table');
      const form = r.uleb('abbreviation table');
      if (name === 0 && form === 0) break;
      const implicitConst = form === DW_FORM.implicit_const ? r.sleb('abbreviation table') : 0;
      attrs.push({ name, form, implicitConst });
    }
    table.set(code, { code, tag, hasChildren, attrs });
  }
  return table;
}
