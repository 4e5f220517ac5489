// Names of the VMCS fields by encoding, for the debugger's VMCS view and observer events.
import * as F from './vmcs_fields';

// Bit constants share the prefixes of their fields: PIN_BASED_VM_EXEC_CONTROL (0x4000) and
// CPU_BASED_VM_EXEC_CONTROL (0x4002) are fields, PIN_BASED_NMI_EXITING etc. are bits.
const NOT_FIELDS = /^((CPU|PIN)_BASED_(?!VM_EXEC_CONTROL$)|SECONDARY_EXEC_|VM_ENTRY_(IA32E|LOAD)|VM_EXIT_(HOST|SAVE|LOAD)|GUEST_INTR_STATE_|GUEST_ACTIVITY_(ACTIVE|HLT|SHUTDOWN|WAIT)|INTR_|VMX_EXIT_REASONS|SEG_)/;

export const VMCS_FIELD_NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(F)) {
    if (typeof v === 'number' && /^[A-Z0-9_]+$/.test(k) && !NOT_FIELDS.test(k) && !m.has(v)) m.set(v, k);
  }
  return m;
})();

/** The VMCS as the SDM lays it out (Vol. 3C 24.4-24.9). */
export const VMCS_AREAS = ['Guest-state area (SDM 24.4)', 'Host-state area (SDM 24.5)', 'VM-execution control fields (SDM 24.6)',
  'VM-exit control fields (SDM 24.7)', 'VM-entry control fields (SDM 24.8)', 'VM-exit information fields (SDM 24.9)'] as const;

/**
 * The area of a VMCS field: the encoding's type (bits 11:10, SDM Appendix B: 0 control, 1 VM-exit
 * information, 2 guest state, 3 host state); controls split into execution, exit and entry controls
 * as 24.6-24.8 list them (the exit and entry ones are the VM_EXIT_* and VM_ENTRY_* fields).
 */
export function vmcsArea(enc: number): string {
  switch ((enc >>> 10) & 3) {
    case 1: return VMCS_AREAS[5];
    case 2: return VMCS_AREAS[0];
    case 3: return VMCS_AREAS[1];
  }
  const name = vmcsFieldName(enc);
  if (name.startsWith('VM_EXIT_')) return VMCS_AREAS[3];
  if (name.startsWith('VM_ENTRY_')) return VMCS_AREAS[4];
  return VMCS_AREAS[2];
}

export function vmcsFieldName(enc: number): string {
  return VMCS_FIELD_NAMES.get(enc) ?? `0x${enc.toString(16)}`;
}
