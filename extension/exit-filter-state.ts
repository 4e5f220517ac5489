// Exit filters (the adapter's exceptionBreakpointFilters: 'kvm-hypercall', 'hw-any',
// 'regcache-never-written', ...) as the "Toggle Exit Breakpoints" command sees them. VS Code's API
// cannot tick an exception filter in the Breakpoints view, so the command sends
// setExceptionBreakpoints to the adapter itself; this module computes what to send. No VS Code
// import (unit-tested).

/** One entry of the initialize response's exceptionBreakpointFilters. */
export interface ExitFilterInfo {
  filter: string;
  label: string;
  description?: string;
  supportsCondition?: boolean;
  conditionDescription?: string;
}

/** One enabled filter, as setExceptionBreakpoints' filterOptions carries it. */
export interface ExceptionFilterOption { filterId: string; condition?: string }

export interface SetExceptionBreakpointsArguments { filters: string[]; filterOptions: ExceptionFilterOption[] }

/**
 * The setExceptionBreakpoints arguments that enable exactly `picked`, keeping the condition each
 * already-enabled filter had (e.g. `nr == 12` typed in the Breakpoints view), in the adapter's
 * filter order. Unknown ids are dropped.
 */
export function toggledFilters(all: ExitFilterInfo[], enabled: ExceptionFilterOption[], picked: Iterable<string>): SetExceptionBreakpointsArguments {
  const want = new Set(picked);
  const conditions = new Map(enabled.map((e) => [e.filterId, e.condition]));
  const filterOptions: ExceptionFilterOption[] = [];
  for (const f of all) {
    if (!want.has(f.filter)) continue;
    const condition = conditions.get(f.filter);
    filterOptions.push(condition && condition.trim() ? { filterId: f.filter, condition } : { filterId: f.filter });
  }
  return { filters: [], filterOptions };
}

/** Quick-pick rows: every filter, ticked when enabled, its condition shown. */
export function filterPickItems(all: ExitFilterInfo[], enabled: ExceptionFilterOption[]): { id: string; label: string; description: string; detail?: string; picked: boolean }[] {
  const on = new Map(enabled.map((e) => [e.filterId, e.condition]));
  return all.map((f) => {
    const condition = on.get(f.filter);
    return {
      id: f.filter,
      label: f.label,
      description: condition ? `${f.filter}  when ${condition}` : f.filter,
      detail: f.description,
      picked: on.has(f.filter),
    };
  });
}
