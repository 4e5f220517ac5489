// Names shared by the extension's parts; they match package.json's contributions.
export const DEBUG_TYPE = 'kvm-guest';
export const SETTINGS_SECTION = 'kvmGuest';

export const COMMANDS = {
  debugFile: 'kvmGuest.debugFile',
  injectInit: 'kvmGuest.injectInit',
  injectNmi: 'kvmGuest.injectNmi',
  injectTripleFault: 'kvmGuest.injectTripleFault',
  resetVm: 'kvmGuest.resetVm',
  toggleExitFilters: 'kvmGuest.toggleExitFilters',
  filterExitsView: 'kvmGuest.filterExitsView',
  showStatistics: 'kvmGuest.showStatistics',
  showMemory: 'kvmGuest.showMemory',
  refreshViews: 'kvmGuest.refreshViews',
} as const;

export const VIEWS = {
  exits: 'kvmGuest.exitsView',
  regCache: 'kvmGuest.regCacheView',
} as const;

export type AdapterMode = 'inline' | 'process' | 'server';
