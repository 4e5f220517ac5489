// The guest's notion of elapsed time for the VMM's devices (RTC, PM timer), derived from retired
// instructions so that no wall-clock time reaches the guest: 1 instruction = 1 ns. One function, so
// the VM's virtual clock (the interrupt-controller work) can replace it in one place.

/** Nanoseconds of virtual time after `instructions` retired guest instructions (all vCPUs). */
export function virtualNanoseconds(instructions: number): number {
  return instructions;
}

/** The RTC's time at virtual time 0: 2000-01-01 00:00:00 UTC (a fixed date, never the host's). */
export const RTC_EPOCH_SECONDS = Date.UTC(2000, 0, 1) / 1000;
