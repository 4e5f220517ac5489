// Names of the VMCS fields by encoding, for the debugger's VMCS view and observer events.
import * as F from './vmcs_fields';

const NOT_FIELDS = /^(CPU_BASED_|SECONDARY_EXEC_|PIN_BASED_|VM_ENTRY_(IA32E|LOAD)|VM_EXIT_(HOST|SAVE|LOAD)|GUEST_INTR_STATE_|GUEST_ACTIVITY_(ACTIVE|HLT|SHUTDOWN|WAIT)|INTR_|VMX_EXIT_REASONS|SEG_)/;

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
