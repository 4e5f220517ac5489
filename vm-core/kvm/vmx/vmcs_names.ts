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

export function vmcsFieldName(enc: number): string {
  return VMCS_FIELD_NAMES.get(enc) ?? `0x${enc.toString(16)}`;
}
