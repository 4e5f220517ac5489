// Commands that act on the running guest as the VMM (inject INIT / NMI / triple fault, RESET) and
// that toggle exit breakpoints (the adapter's exit filters).
import * as vscode from 'vscode';
import { INJECT_REQUEST, RESET_REQUEST, type InjectArguments, type InjectKind, type ResultResponse } from './protocol';
import { activeGuestSession, ask } from './views/session';
import type { SessionTracker } from './session-tracker';
import { filterPickItems, toggledFilters } from './exit-filter-state';

export const INJECT_COMMANDS: Record<string, InjectKind> = {
  'kvmGuest.injectInit': 'init',
  'kvmGuest.injectNmi': 'nmi',
  'kvmGuest.injectTripleFault': 'triple-fault',
};

function needSession(): vscode.DebugSession | undefined {
  const session = activeGuestSession();
  if (!session) void vscode.window.showWarningMessage('KVM Guest: no KVM Guest debug session is active.');
  return session;
}

/** The vCPU the user looks at: the focused thread of the Call Stack (thread id = vCPU + 1). */
function focusedVcpu(session: vscode.DebugSession): number | undefined {
  const item = (vscode.debug as { activeStackItem?: { session: vscode.DebugSession; threadId: number } }).activeStackItem;
  return item && item.session.id === session.id && typeof item.threadId === 'number' ? item.threadId - 1 : undefined;
}

/** kvmGuest/inject or kvmGuest/reset; the adapter's answer is shown and echoed in the Debug Console. */
export async function vmmAction(what: InjectKind | 'reset'): Promise<boolean> {
  const session = needSession();
  if (!session) return false;
  const answer = what === 'reset'
    ? await ask<ResultResponse>(session, RESET_REQUEST, {})
    : await ask<ResultResponse>(session, INJECT_REQUEST, { kind: what, vcpu: focusedVcpu(session) } satisfies InjectArguments);
  if (!answer.ok) {
    void vscode.window.showErrorMessage(`KVM Guest: ${what === 'reset' ? 'RESET' : `inject ${what}`} failed: ${answer.message}`);
    return false;
  }
  const text = answer.body?.result ?? 'done';
  vscode.debug.activeDebugConsole.appendLine(`[${what === 'reset' ? 'reset' : `inject ${what}`}] ${text}`);
  void vscode.window.setStatusBarMessage(`KVM Guest: ${text}`, 5000);
  return true;
}

/**
 * Toggle exit breakpoints: a multi-select quick pick of the adapter's exit filters. VS Code's API
 * cannot tick exception filters in the Breakpoints view, so the chosen set goes to the adapter as
 * setExceptionBreakpoints (conditions typed in the Breakpoints view are kept). The Breakpoints
 * view's checkboxes stay as they were; a later change there sends VS Code's own set again.
 */
export async function toggleExitFilters(tracker: SessionTracker): Promise<void> {
  const session = needSession();
  if (!session) return;
  const info = tracker.info(session);
  if (!info?.filters.length) {
    void vscode.window.showInformationMessage('KVM Guest: the debug adapter has not listed its exit filters yet.');
    return;
  }
  const items = filterPickItems(info.filters, info.enabled);
  const picked = await vscode.window.showQuickPick(items, {
    canPickMany: true, matchOnDescription: true, matchOnDetail: true,
    title: 'Exit breakpoints: stop on these VM exits',
    placeHolder: 'Conditions: edit them on the exception breakpoint rows of the Breakpoints view',
  });
  if (!picked) return;
  const args = toggledFilters(info.filters, info.enabled, picked.map((p) => p.id));
  try {
    await session.customRequest('setExceptionBreakpoints', args);
    tracker.noteEnabled(session, args.filterOptions);
    void vscode.window.setStatusBarMessage(`KVM Guest: ${args.filterOptions.length} exit breakpoint${args.filterOptions.length === 1 ? '' : 's'} on`, 5000);
  } catch (e) {
    void vscode.window.showErrorMessage(`KVM Guest: setting exit breakpoints failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
