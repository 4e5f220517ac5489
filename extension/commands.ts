// Commands that act as the VMM on the running guest. They go through the adapter's Debug Console
// commands (issue 6: `inject init|nmi|triple-fault`, `reset`), so they do exactly what typing
// them in the Debug Console does.
import * as vscode from 'vscode';
import { activeGuestSession } from './views/session';

export async function evaluateInRepl(command: string): Promise<string | undefined> {
  const session = activeGuestSession();
  if (!session) {
    void vscode.window.showWarningMessage('KVM Guest: no KVM Guest debug session is active.');
    return undefined;
  }
  try {
    const body = (await session.customRequest('evaluate', { expression: command, context: 'repl' })) as { result?: string };
    return body?.result ?? '';
  } catch (e) {
    void vscode.window.showErrorMessage(`KVM Guest: "${command}" failed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

export const VMM_COMMANDS: Record<string, string> = {
  'kvmGuest.injectInit': 'inject init',
  'kvmGuest.injectNmi': 'inject nmi',
  'kvmGuest.injectTripleFault': 'inject triple-fault',
  'kvmGuest.resetVm': 'reset',
};
