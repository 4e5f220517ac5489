// DWARF numeric constants used by the loader (DWARF 5 §7, tables 7.3-7.27, plus the GNU
// extensions gcc and binutils emit). Only the values the loader reads are listed.

// DWARF 5 §7.5.5 table 7.6: forms.
export const DW_FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07,
  string: 0x08, block: 0x09, block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d,
  strp: 0x0e, udata: 0x0f, ref_addr: 0x10, ref1: 0x11, ref2: 0x12, ref4: 0x13, ref8: 0x14,
  ref_udata: 0x15, indirect: 0x16, sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19,
  strx: 0x1a, addrx: 0x1b, ref_sup4: 0x1c, strp_sup: 0x1d, data16: 0x1e, line_strp: 0x1f,
  ref_sig8: 0x20, implicit_const: 0x21, loclistx: 0x22, rnglistx: 0x23, ref_sup8: 0x24,
  strx1: 0x25, strx2: 0x26, strx3: 0x27, strx4: 0x28,
  addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
  GNU_addr_index: 0x1f01, GNU_str_index: 0x1f02, GNU_ref_alt: 0x1f20, GNU_strp_alt: 0x1f21,
} as const;

// DWARF 5 §7.5.4 table 7.5: attributes.
export const DW_AT = {
  sibling: 0x01, name: 0x03, stmt_list: 0x10, low_pc: 0x11, high_pc: 0x12, language: 0x13,
  comp_dir: 0x1b, producer: 0x25, abstract_origin: 0x31, decl_file: 0x3a, decl_line: 0x3b,
  declaration: 0x3c, specification: 0x47, ranges: 0x55, linkage_name: 0x6e,
  str_offsets_base: 0x72, addr_base: 0x73, rnglists_base: 0x74,
  MIPS_linkage_name: 0x2007, GNU_addr_base: 0x2133,
  location: 0x02, byte_size: 0x0b, bit_offset: 0x0c, bit_size: 0x0d, const_value: 0x1c, upper_bound: 0x2f,
  prototyped: 0x27, count: 0x37, data_member_location: 0x38, encoding: 0x3e, external: 0x3f,
  frame_base: 0x40, type: 0x49, entry_pc: 0x52, data_bit_offset: 0x6b, call_file: 0x58, call_line: 0x59,
  lower_bound: 0x22, loclists_base: 0x8c, artificial: 0x34,
} as const;

// DWARF 5 §7.8 table 7.11: base type encodings.
export const DW_ATE = {
  address: 0x1, boolean: 0x2, complex_float: 0x3, float: 0x4, signed: 0x5, signed_char: 0x6,
  unsigned: 0x7, unsigned_char: 0x8, UTF: 0x10,
} as const;

// DWARF 5 §7.5.3 table 7.3: tags.
export const DW_TAG = {
  compile_unit: 0x11, partial_unit: 0x3c, skeleton_unit: 0x4a, subprogram: 0x2e,
  inlined_subroutine: 0x1d, label: 0x0a,
  array_type: 0x01, enumeration_type: 0x04, formal_parameter: 0x05, lexical_block: 0x0b, member: 0x0d,
  pointer_type: 0x0f, structure_type: 0x13, subroutine_type: 0x15, typedef: 0x16, union_type: 0x17,
  unspecified_parameters: 0x18, variable: 0x34, volatile_type: 0x35, const_type: 0x26, base_type: 0x24,
  subrange_type: 0x21, enumerator: 0x28, restrict_type: 0x37, atomic_type: 0x47, unspecified_type: 0x3b,
  reference_type: 0x10, call_site: 0x48, GNU_call_site: 0x4109, namespace: 0x39, module: 0x1e,
} as const;

// DWARF 5 §7.5.1 table 7.2: unit header types.
export const DW_UT = {
  compile: 0x01, type: 0x02, partial: 0x03, skeleton: 0x04, split_compile: 0x05, split_type: 0x06,
} as const;

// DWARF 5 §7.22 table 7.25: standard line-number opcodes.
export const DW_LNS = {
  copy: 1, advance_pc: 2, advance_line: 3, set_file: 4, set_column: 5, negate_stmt: 6,
  set_basic_block: 7, const_add_pc: 8, fixed_advance_pc: 9, set_prologue_end: 10,
  set_epilogue_begin: 11, set_isa: 12,
} as const;

// DWARF 5 §7.22 table 7.26: extended line-number opcodes (define_file is DWARF 2-4 only).
export const DW_LNE = {
  end_sequence: 1, set_address: 2, define_file: 3, set_discriminator: 4,
} as const;

// DWARF 5 §7.22 table 7.27: line-number header entry content types.
export const DW_LNCT = {
  path: 1, directory_index: 2, timestamp: 3, size: 4, MD5: 5,
} as const;
